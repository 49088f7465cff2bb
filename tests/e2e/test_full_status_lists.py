"""Status lists at every fill level, through the whole stack: a revocation list with all
131,072 bits set, or random fills of 12,000 and 65,536, is signed by the issuer, served,
read by an independent decoder and by the verifier, and re-signed by ``keys rotate`` and
``keys compromised`` (each all or nothing, with its audit entry)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, update

from issuer.store.models import AuditEntry, Credential, StatusEntry, StatusList
from tests.e2e.conftest import Stack, http
from tests.e2e.test_issue_scan_verify import certify, verify
from tests.e2e.test_lifecycle import TTL_SECONDS, cli, keys_dir, kid_of  # noqa: F401 - fixture
from tests.unit.vc.test_status_list import _inflate

pytestmark = [pytest.mark.e2e, pytest.mark.db]
SIZE = 131_072


def _fill(database_url: str, list_id: str, indexes: set[int], like: str) -> None:
    """Revoked stand-in credentials at ``indexes`` of the list (only their status matters).

    They are written through SQL, behind the service's back, so the signed list does not
    hold their bits (a status change flips only its own bits, from the signed list). The
    list's signature is dated two days back, so the next fetch re-signs it as the daily
    re-signing does, re-deriving its bits from the credential statuses.
    """
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            model = conn.execute(select(Credential).where(Credential.id == like)).one()
            now = datetime.now(UTC)
            ids = [str(uuid.uuid4()) for _ in indexes]
            conn.execute(insert(Credential), [
                {"id": i, "practitioner_id": model.practitioner_id, "program_id": "filler", "kid": "filler",
                 "token": "", "issued_at": now, "valid_from": now, "valid_until": now + timedelta(days=1),
                 "status": "revoked", "issued_by": "test", "is_current": None}
                for i in ids])
            conn.execute(insert(StatusEntry), [
                {"list_id": list_id, "index": index, "purpose": "revocation", "credential_id": i}
                for i, index in zip(ids, sorted(indexes), strict=True)])
            conn.execute(update(StatusList).where(StatusList.id == list_id)
                         .values(signed_at=now - timedelta(days=2)))
    finally:
        engine.dispose()


def _served_bits(stack: Stack, list_url: str) -> tuple[str, set[int]]:
    """The list as the issuer serves it: its signing key and its set bits (decoded by the
    W3C algorithm: multibase 'u', base64url, GZIP, most significant bit first)."""
    import jwt

    reply = http("GET", list_url)
    assert reply.status == 200, reply.body
    token = reply.body.decode()
    encoded = jwt.decode(token, options={"verify_signature": False})["credentialSubject"]["encodedList"]
    raw = _inflate(encoded)
    assert len(raw) * 8 == SIZE
    return kid_of(token), {i for i in range(SIZE) if raw[i // 8] & (0x80 >> (i % 8))}


def _verdict(stack: Stack, token: str) -> str:
    stack.verifier_clock.advance(seconds=TTL_SECONDS + 1)  # the verifier's cached lists are stale
    return str(verify(stack, credential=token)["status"])


def _audited(database_url: str, action: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(AuditEntry.seq).where(AuditEntry.action == action)).all())
    finally:
        engine.dispose()


@pytest.mark.parametrize("fill", ["all", 12_000, 65_536])
def test_a_list_at_any_fill_is_served_verified_and_resigned_on_rotation_and_compromise(
    stack: Stack, database_url: str, keys_dir: Path, fill: str | int  # noqa: F811
) -> None:
    issued = certify(stack, "jane.doe@example.org")
    token, credential_id = issued["credential"], issued["id"]
    entry = next(e for e in issued["status_entries"] if e["purpose"] == "revocation")
    list_url, own = entry["list_url"], int(entry["index"])
    others = set(range(SIZE)) - {own}
    filler = others if fill == "all" else set(random.Random(fill).sample(sorted(others), int(fill)))
    _fill(database_url, list_url.rsplit("/", 1)[1], filler, credential_id)
    assert _served_bits(stack, list_url)[1] == filler  # re-derived on this fetch

    cli(stack, database_url, keys_dir, "credentials", "revoke", credential_id, "--reason", "fraud")
    first_kid, bits = _served_bits(stack, list_url)
    assert bits == filler | {own}
    assert _verdict(stack, token) == "revoked"

    out = cli(stack, database_url, keys_dir, "keys", "rotate")
    rotated_kid, bits = _served_bits(stack, list_url)
    assert rotated_kid != first_kid and rotated_kid in out
    assert bits == filler | {own}
    assert _audited(database_url, "key_rotate") == 1
    assert _verdict(stack, token) == "revoked"

    cli(stack, database_url, keys_dir, "keys", "compromised", rotated_kid, "--reason", "drill")
    newest_kid, bits = _served_bits(stack, list_url)
    assert newest_kid not in (first_kid, rotated_kid)
    assert bits == filler | {own}
    assert _audited(database_url, "key_compromised") == 1
    assert _verdict(stack, token) == "revoked"
