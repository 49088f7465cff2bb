"""The certification path end to end, over real HTTP: records, issue, scan the QR code,
verify, revoke, suspend, reinstate, and an unreachable issuer."""

from __future__ import annotations

import io
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from tests.conftest import PROGRAM, complete_records, practitioner_body
from tests.e2e.conftest import Stack, http

pytestmark = pytest.mark.e2e


def certify(stack: Stack, email: str) -> dict[str, Any]:
    """Register, record every step, issue; return the issue response."""
    base, tokens = stack.issuer.url, stack.tokens
    created = http(
        "POST", f"{base}/api/v1/practitioners", practitioner_body(email=email), tokens["registrar"]
    )
    assert created.status == 201, created.body
    practitioner_id = created.json()["id"]
    for record in complete_records():
        added = http(
            "POST", f"{base}/api/v1/practitioners/{practitioner_id}/records", record, tokens["registrar"]
        )
        assert added.status == 201, added.body
    ready = http(
        "GET",
        f"{base}/api/v1/practitioners/{practitioner_id}/eligibility?program={PROGRAM}",
        token=tokens["certifier"],
    )
    assert ready.json()["eligible"] is True
    issued = http(
        "POST",
        f"{base}/api/v1/credentials",
        {"practitioner_id": practitioner_id, "program_id": PROGRAM},
        tokens["certifier"],
    )
    assert issued.status == 201, issued.body
    body: dict[str, Any] = issued.json()
    return body


def scan(stack: Stack, credential_id: str) -> str:
    """Download the QR PNG over HTTP and decode it with zxing-cpp, as a phone would."""
    png = http("GET", f"{stack.issuer.url}/credentials/{credential_id}/qr.png")
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body)))
    text: str = code.text
    return text


def verify(stack: Stack, **body: str) -> dict[str, Any]:
    reply = http("POST", f"{stack.verifier.url}/api/v1/verify", body)
    assert reply.status == 200, reply.body
    verdict: dict[str, Any] = reply.json()
    return verdict


def admin(stack: Stack, credential_id: str, action: str, reason: str | None = None) -> None:
    reply = http(
        "POST",
        f"{stack.issuer.url}/api/v1/credentials/{credential_id}/{action}",
        {"reason": reason} if reason else {},
        stack.tokens["admin"],
    )
    assert reply.status == 200, reply.body


def test_issue_scan_verify_revoke(stack: Stack) -> None:
    issued = certify(stack, "jane.doe@example.org")
    qr_text = scan(stack, issued["id"])
    assert qr_text.startswith(f"{stack.verifier.url}/v/{issued['id']}?issuer=")

    verdict = verify(stack, qr=qr_text)
    assert verdict["status"] == "valid", verdict
    assert verdict["credential"]["name"] == "Jane Doe"
    assert verdict["credential"]["issuer_name"] == "Test Aesthetic Academy"
    assert all(check["ok"] for check in verdict["checks"])
    assert verify(stack, credential=issued["credential"])["status"] == "valid"

    page = http("GET", qr_text)
    assert page.status == 200 and b"Jane Doe" in page.body

    admin(stack, issued["id"], "revoke", "issued in error")
    stack.verifier_clock.advance(seconds=61)  # past the status list's ttl (60 s)
    verdict = verify(stack, qr=qr_text)
    assert verdict["status"] == "revoked", verdict
    assert verify(stack, credential=issued["credential"])["status"] == "revoked"


def test_suspend_then_reinstate(stack: Stack) -> None:
    first = certify(stack, "first@example.org")
    second = certify(stack, "second@example.org")
    admin(stack, second["id"], "suspend", "license under review")
    stack.verifier_clock.advance(seconds=61)
    assert verify(stack, qr=scan(stack, second["id"]))["status"] == "suspended"
    assert verify(stack, qr=scan(stack, first["id"]))["status"] == "valid"
    admin(stack, second["id"], "reinstate")
    stack.verifier_clock.advance(seconds=61)
    assert verify(stack, qr=scan(stack, second["id"]))["status"] == "valid"


def test_issuer_down_and_ttl_passed_is_status_unknown(stack: Stack) -> None:
    issued = certify(stack, "jane.doe@example.org")
    assert verify(stack, credential=issued["credential"])["status"] == "valid"
    stack.issuer.stop()
    # Within the ttl the cached list still answers.
    stack.verifier_clock.advance(seconds=30)
    assert verify(stack, credential=issued["credential"])["status"] == "valid"
    stack.verifier_clock.advance(seconds=31)
    verdict = verify(stack, credential=issued["credential"])
    assert verdict["status"] == "status_unknown", verdict
    assert any(not check["ok"] for check in verdict["checks"])
