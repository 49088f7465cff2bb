"""What people see, in a real browser: the verification page from a scanned QR code, its
verdicts, the upload path, the holder's page and the staff console driven by keyboard."""

from __future__ import annotations

import io
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from issuer import demo
from tests.browser.conftest import STAFF_PASSWORD, Pages, add_staff, shoot
from tests.e2e.conftest import Stack, http
from tests.e2e.test_issue_scan_verify import admin, certify, scan

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.db]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def verdict_of(page: Any) -> str:
    status: str = page.locator("section.verdict").get_attribute("data-status")
    return status


def sign_in(page: Any, stack: Stack, email: str) -> None:
    page.goto(f"{stack.issuer.url}/console/login")
    page.fill("#email", email)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.issuer.url}/console/")


def test_demo_qr_opens_valid_page_then_revoked_in_console_after_ttl(
    stack: Stack, pages: Pages
) -> None:
    rt = stack.issuer.server.app.extensions["issuer"]
    with rt.sessions() as session:
        issued = {"id": demo.load(session, rt.ctx).id}  # what `make run` shows
    url = scan(stack, issued["id"])
    page = pages.new()

    page.goto(url)

    assert verdict_of(page) == "valid"
    assert page.locator("h1").inner_text() == "Valid certification"
    assert "Jane Doe" in page.inner_text("main")
    assert "Test Aesthetic Academy" in page.inner_text("main")  # from the registry
    assert "Status as of" in page.inner_text("main")
    shoot(page, "verify-valid")
    page.click("a.employer-link")
    assert "RN-884512" in page.inner_text("main")  # the full number, employer view only
    shoot(page, "verify-employer")
    with page.expect_download() as download:
        page.click("a.button")
    assert download.value.suggested_filename.startswith("verification-receipt-")

    console = pages.new()
    sign_in(console, stack, add_staff(stack, "admin"))
    console.goto(f"{stack.issuer.url}/console/credentials/{issued['id']}")
    console.select_option("#category-revoke", "issued_in_error")
    console.fill("#reason-revoke", "issued in error")
    console.check("#confirm-revoke")
    console.click("button.danger")
    expect(console.locator("main")).to_contain_text("Credential revoked.")
    shoot(console, "console-credential-revoked")

    page.goto(url)
    assert verdict_of(page) == "valid"  # the status list is cached for its ttl (60 s)
    stack.verifier_clock.advance(seconds=61)
    page.goto(url)
    assert verdict_of(page) == "revoked"
    assert "verdict-good" not in page.content()
    shoot(page, "verify-revoked")


def test_suspended_and_expired_show_their_verdicts(stack: Stack, pages: Pages) -> None:
    suspended = certify(stack, "s@example.org")
    admin(stack, suspended["id"], "suspend", "license under review")
    page = pages.new()

    page.goto(scan(stack, suspended["id"]))
    assert verdict_of(page) == "suspended"
    assert "Suspended" in page.locator("h1").inner_text()
    shoot(page, "verify-suspended")

    current = certify(stack, "e@example.org")
    stack.verifier_clock.advance(days=800)
    page.goto(scan(stack, current["id"]))
    assert verdict_of(page) == "expired"
    assert "Expired" in page.locator("h1").inner_text()
    assert "verdict-good" not in page.content()
    shoot(page, "verify-expired")


def test_tampered_credential_shows_nothing_from_it(stack: Stack, pages: Pages) -> None:
    issued = certify(stack, "t@example.org")
    head, body, signature = issued["credential"].split(".")
    forged = ".".join((head, body, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))
    page = pages.new(viewport={"width": 390, "height": 844})
    page.goto(f"{stack.verifier.url}/")

    page.fill("#credential", forged)
    page.click("form:not(.upload) button[type=submit]")

    assert verdict_of(page) == "not_authentic"
    text = page.inner_text("main")
    assert "Jane" not in text and "US-TX" not in text and "Test Aesthetic Academy" not in text
    shoot(page, "verify-tampered")


def test_upload_a_real_screenshot_of_the_holder_page(stack: Stack, pages: Pages, tmp_path: Any) -> None:
    issued = certify(stack, "u@example.org")
    holder = pages.new()
    holder.goto(issued["holder_url"])
    assert "This certification is current." in holder.inner_text("main")
    shoot(holder, "holder-page")
    holder.set_viewport_size({"width": 390, "height": 844})
    shot = tmp_path / "holder-screenshot.png"
    holder.screenshot(path=str(shot), full_page=True)
    (code,) = zxingcpp.read_barcodes(Image.open(shot))  # the screenshot really holds the QR
    assert code.text == issued["verify_url"]

    page = pages.new(viewport={"width": 390, "height": 844})
    page.goto(f"{stack.verifier.url}/")
    shoot(page, "verify-index")
    page.set_input_files("#image", str(shot))
    page.click("form.upload button[type=submit]")

    assert verdict_of(page) == "valid"
    assert "u@example.org" not in page.content()


def test_holder_page_copy_link_button_runs_from_the_static_script(stack: Stack, pages: Pages) -> None:
    issued = certify(stack, "c@example.org")
    page = pages.new()
    page.goto(issued["holder_url"])

    button = page.locator("button.copy-button")
    assert button.is_visible()  # shown by copy-link.js; hidden without JavaScript
    button.click()
    expect(page.locator(".copy-status")).to_have_text("Link copied.")  # waits for the promise


def test_console_by_keyboard_only(stack: Stack, pages: Pages) -> None:
    issued = certify(stack, "k@example.org")
    email = add_staff(stack, "admin")
    page = pages.new()
    page.goto(f"{stack.issuer.url}/console/login")
    shoot(page, "console-login")

    def tab_to(element_id: str) -> None:
        for _ in range(15):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == element_id:
                return
        raise AssertionError(f"#{element_id} cannot be reached with Tab")

    tab_to("email")
    page.keyboard.type(email)
    tab_to("password")
    page.keyboard.type(STAFF_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{stack.issuer.url}/console/")
    tab_to("q")
    page.keyboard.type("k@example")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/?q=**")
    shoot(page, "console-search")
    for _ in range(20):
        page.keyboard.press("Tab")
        if "/console/practitioners/" in (page.evaluate("document.activeElement.href") or ""):
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/practitioners/**")
    assert "Eligibility" in page.inner_text("main")
    shoot(page, "console-practitioner")
    page.goto(f"{stack.issuer.url}/console/credentials/{issued['id']}")
    tab_to("category-suspend")
    page.keyboard.type("Administrative")  # type-ahead picks the option
    tab_to("reason-suspend")
    page.keyboard.type("license under review")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("Credential suspended.")
    shoot(page, "console-credential")


def test_pages_send_security_headers(stack: Stack) -> None:
    issued = certify(stack, "h@example.org")
    verify = http("GET", issued["verify_url"])
    assert verify.headers["Referrer-Policy"] == "no-referrer"
    console = http("GET", f"{stack.issuer.url}/console/login")
    for reply in (verify, http("GET", issued["holder_url"]), console):
        csp = reply.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert "<script>" not in reply.body.decode()
    png = http("GET", f"{stack.issuer.url}/credentials/{issued['id']}/qr.png")
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body)))
