"""Verification and signing speed, measured side by side in one run.

Compares, on the same credential and key:
  1. bare PyJWT: ``jwt.decode`` with the ES256 public key (signature + exp only);
  2. our pure core: ``vc.jose.verify`` + ``vc.credential.check_claims`` (all token checks);
  3. our verifier endpoint: ``POST /api/v1/verify`` through the WSGI app, keys and status lists
     already cached (the steady state: the verify path touches no database and no network);
(Over real HTTP, served as ``verifier serve`` serves it, at several connections:
``bench/verify_http.py``.)
and for signing: bare PyJWT ``jwt.encode`` vs ``vc.jose.sign``.

Run: ``make bench`` (or ``.venv/bin/python bench/verify_speed.py [--seconds 2]``). It prints
operations per second and each ratio to the bare library. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import jwt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import verifier  # noqa: E402
from issuer import create_app, demo  # noqa: E402
from issuer.store.db import upgrade  # noqa: E402
from keys import KeyStore  # noqa: E402
from vc import credential as vcc  # noqa: E402
from vc import jose  # noqa: E402
from verifier.resolver import FetchResponse  # noqa: E402


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (after a short warm-up)."""
    for _ in range(20):
        fn()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            fn()
        count += 20
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bxc-bench-"))
    db_url = f"sqlite:///{work / 'issuer.db'}"
    upgrade(db_url)
    KeyStore(work / "keys").generate("ES256")
    issuer_app = create_app({"database_url": db_url, "keys_dir": str(work / "keys")})
    rt = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        row = demo.load(session, rt.ctx)
    token = row.token
    issuer_client = issuer_app.test_client()

    def fetch(url: str, headers: dict[str, str]) -> FetchResponse:
        parts = urlsplit(url)
        reply = issuer_client.get(parts.path, headers=headers)
        return FetchResponse(reply.status_code, dict(reply.headers), reply.data)

    verifier_app = verifier.create_app(fetch=fetch)
    verifier_client = verifier_app.test_client()
    body = {"credential": token}
    first = verifier_client.post("/api/v1/verify", json=body).get_json()
    assert first["status"] == "valid", first

    jwk = rt.jwks["keys"][0]
    public_key = jwt.PyJWK(jwk).key
    lookup_key = jose.jwk_to_key(jwk)

    def bare_pyjwt() -> object:
        return jwt.decode(token, public_key, algorithms=["ES256"], options={"verify_aud": False})

    def core() -> object:
        verified = jose.verify(token, typ=vcc.TYP, algorithms={"ES256"}, key_for=lambda kid: lookup_key)
        return vcc.check_claims(verified.payload)

    def endpoint() -> object:
        return verifier_client.post("/api/v1/verify", json=body)

    claims = jwt.decode(token, options={"verify_signature": False})
    signer = rt.ctx.signer
    private_key = signer._private_key  # the bench compares signing with the same key

    def bare_sign() -> object:
        return jwt.encode(
            claims, private_key, algorithm="ES256", headers={"kid": signer.kid, "typ": "vc+jwt"}
        )

    def our_sign() -> object:
        return jose.sign(claims, signer, typ=vcc.TYP, cty=vcc.CTY)

    print(f"credential: {len(token)} characters, ES256, {args.seconds:g} s per measurement")
    results = [
        ("verify  bare PyJWT jwt.decode", rate(bare_pyjwt, args.seconds)),
        ("verify  vc core (all token checks)", rate(core, args.seconds)),
        ("verify  verifier endpoint, WSGI in-process", rate(endpoint, args.seconds)),
    ]
    base = results[0][1]
    for name, value in results:
        print(f"{name:50} {value:9.0f} /s   ratio to bare {value / base:5.2f}")
    sign_base = rate(bare_sign, args.seconds)
    sign_ours = rate(our_sign, args.seconds)
    print(f"{'sign    bare PyJWT jwt.encode':50} {sign_base:9.0f} /s   ratio to bare  1.00")
    print(
        f"{'sign    vc.jose.sign':50} {sign_ours:9.0f} /s   ratio to bare {sign_ours / sign_base:5.2f}"
    )
    rt.engine.dispose()


if __name__ == "__main__":
    main()
