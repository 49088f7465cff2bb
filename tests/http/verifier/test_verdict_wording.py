"""Red and amber verdicts say what happened: the public reason is in the verdict box, and
"What this means: this person completed a training certification" is said only when true."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from tests.http.verifier.test_pages import page_for
from tests.unit.verifier.fake_issuer import VALID_UNTIL, Clock, FakeIssuer, credential_uuid
from vc import protocol

pytestmark = pytest.mark.http

MEANS = "What this means:</strong> this person completed a training certification"


def verdict_box(html: str) -> str:
    match = re.search(r'<section class="verdict.*?</section>', html, re.S)
    assert match, html
    return match.group()


def test_valid_says_what_it_means(client: FlaskClient, issuer: FakeIssuer) -> None:
    html = page_for(client, issuer, issuer.issue())

    assert MEANS in html
    assert "not a license" in html


@pytest.mark.parametrize(
    ("purpose", "words"),
    [("revoked", "Withdrawn by the issuer: issued in error"),
     ("suspended", "Suspended by the issuer: action against the holder&#39;s professional license")],
)
def test_withdrawn_says_why_in_the_verdict_box_and_not_what_it_means(
    client: FlaskClient, issuer: FakeIssuer, purpose: str, words: str
) -> None:
    token = issuer.issue(index=5)
    uuid = credential_uuid(token)
    getattr(issuer, purpose).add(5)
    category = "issued_in_error" if purpose == "revoked" else "license_action"
    issuer.lifecycle[uuid] = protocol.PublicStatus(uuid, purpose, category)

    html = page_for(client, issuer, token)

    assert words in verdict_box(html)
    assert "What this means" not in html
    assert "not a license" in html  # still worth saying: a check of the license is separate


def test_withdrawn_without_a_public_reason_says_no_reason(client: FlaskClient, issuer: FakeIssuer) -> None:
    issuer.revoked.add(6)

    html = page_for(client, issuer, issuer.issue(index=6))

    assert "Withdrawn by the issuer" not in html
    assert "What this means" not in html


def test_expired_says_what_it_meant_in_the_past_tense(
    client: FlaskClient, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue()
    clock.now = VALID_UNTIL + timedelta(days=3)

    html = page_for(client, issuer, token)

    assert "Expired" in verdict_box(html)
    assert "What this meant:</strong> this person completed a training certification" in html
    assert "it has since expired" in html
    assert "What this means" not in html


def test_status_unknown_does_not_say_what_it_means(client: FlaskClient, issuer: FakeIssuer) -> None:
    token = issuer.issue()
    issuer.unreachable.add(issuer.list_url("suspension"))

    html = page_for(client, issuer, token)

    assert "verdict-unknown" in html
    assert "What this means" not in html and "What this meant" not in html
