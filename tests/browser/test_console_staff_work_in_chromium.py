"""The console for staff work in a real browser at phone and desktop size: axe-core finds no
scroll region a keyboard cannot reach (and no serious or critical violation) on the pages
with tables, revoke needs its confirmation box, ready-to-certify and the CSV dry run work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE, STAFF_PASSWORD, add_staff, shoot
from tests.conftest import practitioner_body
from tests.e2e.conftest import Stack, http
from tests.e2e.test_issue_scan_verify import certify

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.db]

DATA = Path(__file__).resolve().parents[1] / "data"
AXE = DATA / "axe" / "axe.min.js"
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample-cohort.csv"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    # bypass_csp: the console's CSP (script-src 'self') would refuse the injected axe script.
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the current page (WCAG 2.x A/AA rules and best practices)."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document)).violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return found


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert not [v for v in violations if v["id"] == "scrollable-region-focusable"], violations
    assert not [v for v in violations if v["impact"] in ("serious", "critical")], violations


def test_console_staff_work_at_390_px(stack: Stack, phone: Any) -> None:
    issued = certify(stack, "held@example.org")
    waiting = http(
        "POST", f"{stack.issuer.url}/api/v1/practitioners",
        practitioner_body(email="waiting@example.org", family_name="Waiting"), stack.tokens["registrar"],
    ).json()["id"]
    page = phone
    page.goto(f"{stack.issuer.url}/console/login")
    page.fill("#email", add_staff(stack, "admin"))
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.issuer.url}/console/")

    assert_accessible(page)
    page.goto(f"{stack.issuer.url}/console/practitioners/{issued['practitioner_id']}")
    assert "True" not in page.inner_text("table.records") and "None" not in page.inner_text("table.records")
    assert page.locator("div.table-scroll").first.evaluate("e => e.scrollWidth > e.clientWidth")
    assert_accessible(page)
    shoot(page, "console-practitioner-records")
    page.goto(f"{stack.issuer.url}/console/practitioners/{waiting}")
    assert page.locator("ul.unmet li").count() > 0 and page.locator("form[action$='/issue']").count() == 0
    shoot(page, "console-practitioner-unmet")

    page.set_viewport_size(PHONE)
    page.goto(f"{stack.issuer.url}/console/credentials/{issued['id']}")
    page.select_option("#category-revoke", "issued_in_error")
    page.fill("#reason-revoke", "wrong person")
    page.click("button.danger")  # the confirmation box is required: the browser stops here
    assert page.locator("[data-status]").get_attribute("data-status") == "active"
    page.check("#confirm-revoke")
    page.click("button.danger")
    page.wait_for_selector("text=Credential revoked.")
    assert_accessible(page)
    shoot(page, "console-credential-revoke-confirmed")

    page.set_viewport_size(PHONE)
    page.goto(f"{stack.issuer.url}/console/import")
    page.set_input_files("#file", str(SAMPLE))
    page.click("text=Check (dry run, nothing written)")
    page.wait_for_selector("table.import-report")
    assert "Dry run, nothing written" in page.inner_text("main")
    assert_accessible(page)
    shoot(page, "console-import-dry-run")
    page.set_viewport_size(PHONE)
    page.click("text=Import this file")
    page.wait_for_selector("text=Imported:")

    page.goto(f"{stack.issuer.url}/console/awaiting")
    assert page.locator("table.awaiting tbody tr").count() >= 1
    assert_accessible(page)
    shoot(page, "console-ready-to-certify")
    page.set_viewport_size(PHONE)
    page.click("text=Issue to the selected")
    page.wait_for_selector("text=credential(s).")
    assert "Issued" in page.inner_text("main")
