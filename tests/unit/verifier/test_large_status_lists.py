"""Status lists work at every fill level, up to all 131,072 bits set.

Lists signed as the issuer signs them, served over real HTTP by a fake issuer, judged by the
verifier's resolver and core (with the default fetch), and cross-checked by decoding the
same served token with the W3C Bitstring Status List algorithm, independently of ``vc``.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator

import pytest

from tests.unit.verifier.fake_issuer import Clock
from tests.unit.verifier.http_issuer import HttpIssuer
from vc import jose
from vc._json import b64url_decode
from vc.status_list import MAX_LIST_TOKEN_CHARS, MIN_ENTRIES
from verifier.core import Policy, Verifier
from verifier.registry import parse_registry
from verifier.resolver import MAX_LIST_BODY_BYTES, Resolver, http_fetch

ALL = "all"


@pytest.fixture
def server(clock: Clock) -> Iterator[HttpIssuer]:
    with HttpIssuer(clock, "Busy Academy") as running:
        yield running


def _verifier(clock: Clock, server: HttpIssuer) -> Verifier:
    registry = parse_registry({"issuers": [server.entry()]})
    resolver = Resolver(registry, clock=clock, algorithms={"ES256"})
    return Verifier(registry, resolver, Policy(frozenset({"ES256"})), clock)


def _w3c_bits(token: str) -> bytes:
    """The bitstring of a list token by the W3C algorithm (as tests/unit/vc does it): the
    payload's ``encodedList`` without its multibase ``u``, base64url-decoded, GZIP-expanded."""
    _, payload = jose.split(token, max_chars=MAX_LIST_TOKEN_CHARS)
    encoded: str = payload["credentialSubject"]["encodedList"]
    assert encoded[0] == "u"
    return gzip.decompress(b64url_decode(encoded[1:]))


def _is_set(bitstring: bytes, index: int) -> bool:
    """W3C: index 0 is the left-most bit (the most significant bit of the first byte)."""
    return bool(bitstring[index // 8] >> (7 - index % 8) & 1)


@pytest.mark.parametrize("fill", [ALL, 12_000, 65_536])
def test_a_list_at_any_fill_gives_the_right_verdicts(
    clock: Clock, server: HttpIssuer, fill: int | str
) -> None:
    everything = range(MIN_ENTRIES)
    chosen = set(everything) if fill == ALL else set(random.Random(fill).sample(everything, fill))
    server.issuer.revoked.update(chosen)
    set_index = min(chosen)
    unset_index = next((i for i in everything if i not in chosen), None)

    token = http_fetch(
        server.issuer.list_url("revocation"), {}, max_bytes=MAX_LIST_BODY_BYTES
    ).body.decode("ascii")
    bitstring = _w3c_bits(token)
    assert len(bitstring) * 8 == MIN_ENTRIES
    assert {i for i in everything if _is_set(bitstring, i)} == chosen
    if fill != ALL:
        assert len(token) > jose.MAX_TOKEN_CHARS  # beyond what a credential may be

    verifier = _verifier(clock, server)
    assert verifier.verify_credential(server.issuer.issue(index=set_index)).status == "revoked"
    if unset_index is not None:
        assert verifier.verify_credential(server.issuer.issue(index=unset_index)).status == "valid"


def _padded_to(server: HttpIssuer, chars: int) -> str:
    """Pad the issuer's signed lists (an extra claim in each) to ``chars`` characters, or
    one or two fewer: base64url cannot make every length. Returns the revocation list."""
    padding = 0
    for _ in range(8):  # converges in two or three rounds (4 characters per 3 bytes)
        server.issuer.list_payload_changes = {"padding": "p" * padding}
        token = server.issuer.list_token("revocation")
        if chars - 2 <= len(token) <= chars:
            return token
        padding += (chars - len(token)) * 3 // 4
    raise AssertionError(f"could not pad the list to {chars} characters")


@pytest.mark.parametrize(
    "chars",
    [MAX_LIST_TOKEN_CHARS + 3, MAX_LIST_BODY_BYTES + 3],
    ids=["token-over-bound", "body-over-fetch-limit"],
)
def test_a_list_token_over_the_bound_is_refused(
    clock: Clock, server: HttpIssuer, chars: int
) -> None:
    token = _padded_to(server, chars)
    assert len(token) > chars - 3
    verifier = _verifier(clock, server)

    verdict = verifier.verify_credential(server.issuer.issue())

    assert verdict.status == "status_unknown"
    assert [c.id for c in verdict.checks if not c.ok] == ["revocation", "suspension"]


def test_a_list_token_at_the_bound_is_read(clock: Clock, server: HttpIssuer) -> None:
    assert len(_padded_to(server, MAX_LIST_TOKEN_CHARS)) > MAX_LIST_TOKEN_CHARS - 3

    assert _verifier(clock, server).verify_credential(server.issuer.issue()).status == "valid"


def test_a_credential_over_16384_characters_is_still_refused(
    clock: Clock, server: HttpIssuer
) -> None:
    claims = server.issuer.claims()
    claims["padding"] = "p" * jose.MAX_TOKEN_CHARS
    token = server.issuer.sign(claims)
    assert len(token) > jose.MAX_TOKEN_CHARS

    verdict = _verifier(clock, server).verify_credential(token)

    assert verdict.status == "unreadable"  # never green; over the bound it is not read at all
    assert [(c.id, c.ok) for c in verdict.checks] == [("format", False)]
