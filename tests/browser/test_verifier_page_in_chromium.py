"""The verifier page in a real browser: how fresh the status is, what a red verdict says
happened, and an honest paste that is not a certificate. Screenshots at phone and desktop
size go to ``test-artifacts/``."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Pages, shoot
from tests.browser.test_pages_in_chromium import verdict_of
from tests.e2e.conftest import Stack, http
from tests.e2e.test_issue_scan_verify import certify, scan

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.db]


def test_valid_page_says_how_fresh_the_status_is_and_what_it_means(stack: Stack, pages: Pages) -> None:
    issued = certify(stack, "fresh@example.org")
    url = scan(stack, issued["id"])
    page = pages.new()
    page.goto(url)
    first = stack.verifier_clock.now.strftime("%H:%M UTC")
    stack.verifier_clock.advance(seconds=45)  # within the list's 60 s ttl: the same lists

    page.goto(url)

    text = page.inner_text("main")
    assert verdict_of(page) == "valid"
    assert f"Status as of {first} (refreshed at least every minute)." in text
    assert "checked at" not in text.lower()
    assert "What this means: this person completed a training certification" in text
    shoot(page, "verifier-valid-status-as-of")


def test_revoked_page_says_why_in_the_verdict_and_not_what_it_means(stack: Stack, pages: Pages) -> None:
    issued = certify(stack, "withdrawn@example.org")
    reply = http(
        "POST",
        f"{stack.issuer.url}/api/v1/credentials/{issued['id']}/revoke",
        {"category": "issued_in_error", "reason": "duplicate record, do not show"},
        stack.tokens["admin"],
    )
    assert reply.status == 200, reply.body
    page = pages.new()

    page.goto(scan(stack, issued["id"]))

    assert verdict_of(page) == "revoked"
    box = page.locator("section.verdict").inner_text()
    assert "Withdrawn by the issuer: issued in error" in box
    text = page.inner_text("main")
    assert "What this means" not in text and "duplicate record" not in text
    shoot(page, "verifier-revoked-reason")


def test_pasting_a_greeting_or_the_holder_page_gets_an_honest_answer(stack: Stack, pages: Pages) -> None:
    issued = certify(stack, "paste@example.org")
    page = pages.new(viewport={"width": 390, "height": 844})
    page.goto(f"{stack.verifier.url}/")

    page.fill("#credential", "hello world")
    page.click("form:not(.upload) button[type=submit]")

    assert verdict_of(page) == "unreadable"
    assert page.locator("h1").inner_text() == "This is not a certificate or verification link"
    assert "forged" not in page.inner_text("main")
    shoot(page, "verifier-unreadable")

    page.goto(f"{stack.verifier.url}/")
    page.fill("#credential", issued["holder_url"])
    page.click("form:not(.upload) button[type=submit]")
    assert verdict_of(page) == "valid"
