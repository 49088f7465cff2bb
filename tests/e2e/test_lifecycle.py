"""The lifecycle over real HTTP with the real CLI in separate processes: rotation picked up by
the running issuer, compromise, re-issue, renewal, and how long a revocation takes to reach
the verifier (measured and printed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
import pytest

from keys import KeyStore
from tests.e2e.conftest import Stack, http
from tests.e2e.test_issue_scan_verify import certify, verify

pytestmark = pytest.mark.e2e

ISSUER_CLI = Path(sys.executable).parent / "issuer"
TTL_SECONDS = 60  # the stack's ISSUER_STATUS_LIST_TTL


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    """A key directory of this test only (the tests rotate and compromise keys)."""
    path = tmp_path / "keys"
    KeyStore(path).generate("ES256")
    return path


def cli(stack: Stack, database_url: str, keys_dir: Path, *args: str) -> str:
    """Run the issuer CLI in its own process against the running issuer's database and keys."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ISSUER_DATABASE_URL": database_url,
        "ISSUER_KEYS_DIR": str(keys_dir),
        "ISSUER_URL": stack.issuer.url,
        "ISSUER_STATUS_LIST_TTL": str(TTL_SECONDS),
    }
    done = subprocess.run([str(ISSUER_CLI), *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def link(stack: Stack, credential_id: str) -> str:
    return f"{stack.verifier.url}/v/{credential_id}?issuer={quote(stack.issuer.url, safe='')}"


def test_rotate_compromise_reissue_renew_over_http(stack: Stack, database_url: str, keys_dir: Path) -> None:
    a = certify(stack, "a@example.org")
    first = kid_of(a["credential"])
    out = cli(stack, database_url, keys_dir, "keys", "rotate")
    second = out.split()[5]
    b = certify(stack, "b@example.org")  # the running issuer picked the new key up, no restart
    assert kid_of(b["credential"]) == second != first
    assert verify(stack, credential=a["credential"])["status"] == "valid"
    assert verify(stack, credential=b["credential"])["status"] == "valid"

    out = cli(stack, database_url, keys_dir, "keys", "compromised", first, "--reason", "backup tape lost")
    assert a["id"] in out and b["id"] not in out
    jwks = http("GET", f"{stack.issuer.url}/.well-known/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == [second]  # at once, on the served set
    stack.verifier_clock.advance(seconds=TTL_SECONDS + 1)  # the verifier's cached key set expires
    assert verify(stack, credential=a["credential"])["status"] == "not_authentic"
    assert verify(stack, credential=b["credential"])["status"] == "valid"

    out = cli(stack, database_url, keys_dir, "credentials", "reissue", "--kid", first)
    [(old, new)] = [tuple(line.split(" -> ")) for line in out.splitlines() if " -> " in line]
    assert old == a["id"]
    verdict = verify(stack, qr=link(stack, new))
    assert verdict["status"] == "valid", verdict
    assert verdict["credential"]["name"] == "Jane Doe"

    renewed = http("POST", f"{stack.issuer.url}/api/v1/credentials/{b['id']}/renew", {},
                   stack.tokens["certifier"])
    assert renewed.status == 201, renewed.body
    stack.verifier_clock.advance(seconds=TTL_SECONDS + 1)
    verdict = verify(stack, qr=link(stack, b["id"]))
    assert verdict["status"] == "superseded", verdict
    assert verdict["superseded_by"] == f"{stack.issuer.url}/credentials/{renewed.json()['id']}"
    assert http("GET", verdict["superseded_by"]).status == 200
    page = http("GET", link(stack, b["id"]))
    assert page.status == 200

    assert cli(stack, database_url, keys_dir, "audit", "verify").startswith("audit log intact")


def test_revocation_reaches_the_verifier_within_the_ttl(stack: Stack) -> None:
    issued = certify(stack, "jane.doe@example.org")
    # The worst case: the verifier cached the list just before the revocation.
    assert verify(stack, credential=issued["credential"])["status"] == "valid"
    reply = http("POST", f"{stack.issuer.url}/api/v1/credentials/{issued['id']}/revoke",
                 {"reason": "board action", "category": "license_action", "note": "private"},
                 stack.tokens["admin"])
    assert reply.status == 200, reply.body
    delay = 0
    verdict: dict[str, Any] = verify(stack, credential=issued["credential"])
    while verdict["status"] != "revoked" and delay <= 2 * TTL_SECONDS:
        stack.verifier_clock.advance(seconds=1)
        delay += 1
        verdict = verify(stack, credential=issued["credential"])
    print(f"\nrevocation reached the verifier {delay} s after it was made (status list ttl {TTL_SECONDS} s, "
          "list cached by the verifier just before the revocation)")
    assert verdict["status"] == "revoked"
    assert 0 < delay <= TTL_SECONDS
    revocation = next(c for c in verdict["checks"] if c["id"] == "revocation")
    assert "professional license" in revocation["detail"]
    assert "private" not in str(verdict)
