"""Expiry at the edges, the expiring_soon note, and superseded credentials, with a fixed clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.unit.verifier.fake_issuer import VALID_UNTIL, Clock, FakeIssuer, Network
from vc.status_list import status_entry
from verifier.core import Verdict, Verifier


def with_refresh(issuer: FakeIssuer, index: int = 4242) -> list[dict[str, str]]:
    return [
        status_entry(issuer.list_url(purpose), purpose, index)
        for purpose in ("revocation", "suspension", "refresh")
    ]


def check(verdict: Verdict, check_id: str) -> tuple[bool, str]:
    found = [c for c in verdict.checks if c.id == check_id]
    assert len(found) == 1, verdict.checks
    return found[0].ok, found[0].detail


# -- expiry: the last second and the leeway -------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (timedelta(seconds=-1), "valid"),  # the last second before validUntil
        (timedelta(0), "valid"),  # validUntil itself
        (timedelta(seconds=60), "valid"),  # the end of the 60 s leeway
        (timedelta(seconds=61), "expired"),  # one second past the leeway
        (timedelta(days=400), "expired"),
    ],
)
def test_expiry_edges_with_leeway(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, offset: timedelta, status: str
) -> None:
    token = issuer.issue()
    clock.now = VALID_UNTIL + offset
    issuer.list_valid_until = clock.now + timedelta(days=1)
    verdict = verifier.verify_credential(token)
    assert verdict.status == status
    if status == "expired":
        assert "expired on 2027-11-01 00:00 UTC" in check(verdict, "validity")[1]


def test_expired_verdict_json_has_empty_notes_and_no_successor(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue()
    clock.now = VALID_UNTIL + timedelta(days=1)
    body = verifier.verify_credential(token).to_json()
    assert body["status"] == "expired"
    assert body["notes"] == []
    assert body["superseded_by"] is None


# -- expiring soon: a note, not a different verdict -----------------------------------------------


def test_no_note_more_than_60_days_before_expiry(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue()
    clock.now = VALID_UNTIL - timedelta(days=60, seconds=1)
    verdict = verifier.verify_credential(token)
    assert verdict.status == "valid"
    assert verdict.notes == ()


@pytest.mark.parametrize(
    ("before", "words"),
    [
        (timedelta(days=60), "in 60 days"),
        (timedelta(days=1, hours=1), "in 1 day,"),
        (timedelta(hours=3), "today"),
    ],
)
def test_expiring_soon_note_within_60_days_keeps_the_verdict_valid(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, before: timedelta, words: str
) -> None:
    token = issuer.issue()
    clock.now = VALID_UNTIL - before
    body = verifier.verify_credential(token).to_json()
    assert body["status"] == "valid"
    assert [note["id"] for note in body["notes"]] == ["expiring_soon"]
    assert words in body["notes"][0]["detail"]
    assert "2027-11-01 00:00 UTC" in body["notes"][0]["detail"]


def test_forged_credential_gets_no_notes(verifier: Verifier, issuer: FakeIssuer, clock: Clock) -> None:
    forger = FakeIssuer(clock, issuer.id)
    clock.now = VALID_UNTIL - timedelta(days=3)
    body = verifier.verify_credential(forger.issue()).to_json()
    assert body["status"] == "not_authentic"
    assert body["notes"] == [] and body["credential"] is None


# -- superseded ------------------------------------------------------------------------------------


def test_not_superseded_credential_with_refresh_entry_is_valid(
    verifier: Verifier, issuer: FakeIssuer
) -> None:
    verdict = verifier.verify_credential(issuer.issue(status=with_refresh(issuer)))
    assert verdict.status == "valid"
    assert check(verdict, "supersession")[0] is True
    assert verdict.superseded_by is None


def test_superseded_credential_links_to_the_current_one(
    verifier: Verifier, issuer: FakeIssuer, network: Network
) -> None:
    old_id, new_id = str(uuid.uuid4()), str(uuid.uuid4())
    token = issuer.issue(credential_id=old_id, status=with_refresh(issuer, 77))
    issuer.superseded.add(77)
    issuer.lifecycle[old_id] = {
        "id": old_id,
        "status": "superseded",
        "superseded_by": new_id,
        "current": {"id": new_id, "holder_url": "https://elsewhere.example/evil"},
    }
    body = verifier.verify_credential(token).to_json()
    assert body["status"] == "superseded"
    # Built from the trusted issuer's id, never from a URL in the issuer's answer.
    assert body["superseded_by"] == f"{issuer.id}/credentials/{new_id}"
    assert body["credential"]["id"] == old_id
    assert f"{issuer.id}/status/credentials/{old_id}" in network.urls()


def test_successor_lookup_failing_still_says_superseded(verifier: Verifier, issuer: FakeIssuer) -> None:
    token = issuer.issue(status=with_refresh(issuer, 78))
    issuer.superseded.add(78)  # the issuer answers 404 for the lifecycle record
    body = verifier.verify_credential(token).to_json()
    assert body["status"] == "superseded"
    assert body["superseded_by"] is None
    assert "could not be looked up" in check(verifier.verify_credential(token), "supersession")[1]


def test_revoked_wins_over_superseded_and_shows_only_the_public_category(
    verifier: Verifier, issuer: FakeIssuer
) -> None:
    old_id = str(uuid.uuid4())
    token = issuer.issue(credential_id=old_id, status=with_refresh(issuer, 79))
    issuer.superseded.add(79)
    issuer.revoked.add(79)
    issuer.lifecycle[old_id] = {"id": old_id, "status": "revoked", "category": "license_action",
                                "note": "board order 2026-114, do not show"}
    verdict = verifier.verify_credential(token)
    assert verdict.status == "revoked"
    assert verdict.superseded_by is None
    detail = check(verdict, "revocation")[1]
    assert "action against the holder's professional license" in detail
    assert "board order" not in str(verdict.to_json())


def test_unknown_category_text_is_never_shown(verifier: Verifier, issuer: FakeIssuer) -> None:
    old_id = str(uuid.uuid4())
    token = issuer.issue(credential_id=old_id, index=80)
    issuer.revoked.add(80)
    issuer.lifecycle[old_id] = {"id": old_id, "status": "revoked", "category": "<script>call 555</script>"}
    verdict = verifier.verify_credential(token)
    assert verdict.status == "revoked"
    assert check(verdict, "revocation")[1].endswith("(refreshed at least every 5 minutes).")


def test_refresh_list_unreachable_is_status_unknown(verifier: Verifier, issuer: FakeIssuer) -> None:
    token = issuer.issue(status=with_refresh(issuer))
    issuer.unreachable.add(issuer.list_url("refresh"))
    verdict = verifier.verify_credential(token)
    assert verdict.status == "status_unknown"
    assert check(verdict, "supersession")[0] is False
