"""The human pages: what a patient sees after scanning a QR code or pasting a credential."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.unit.verifier.fake_issuer import (
    LICENSE_NUMBER,
    Clock,
    FakeIssuer,
    Network,
    credential_uuid,
)

pytestmark = pytest.mark.http


def page_for(client: FlaskClient, issuer: FakeIssuer, token: str) -> str:
    uuid = credential_uuid(token)
    response = client.get(f"/v/{uuid}?issuer={quote(issuer.id, safe='')}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_qr_page_valid_shows_practitioner(client: FlaskClient, issuer: FakeIssuer) -> None:
    html = page_for(client, issuer, issuer.issue())

    assert "Valid certification" in html
    assert 'class="verdict verdict-good"' in html
    assert "Jane Doe" in html
    assert "Registered Nurse" in html
    assert "US-TX" in html
    assert "•••••4512" in html
    assert LICENSE_NUMBER not in html  # only the last four characters are shown
    assert "Botox Cosmetic Injector Certification" in html
    assert "Registry Name Of The Institute" in html
    assert "Name The Token Claims" not in html
    assert "1 November 2026, 00:00 UTC" in html
    assert "1 November 2027, 00:00 UTC" in html
    assert "Status as of 12:00 UTC (refreshed at least every 5 minutes)." in html


def test_page_states_when_the_status_lists_were_fetched_not_the_request_time(
    client: FlaskClient, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue()
    page_for(client, issuer, token)  # the lists are fetched at 12:00, fresh for 5 minutes
    clock.advance(4 * 60)

    html = page_for(client, issuer, token)

    assert "Status as of 12:00 UTC (refreshed at least every 5 minutes)." in html
    assert "12:04" not in html
    assert "checked at" not in html.lower()


def test_qr_page_revoked(client: FlaskClient, issuer: FakeIssuer) -> None:
    issuer.revoked.add(3)

    html = page_for(client, issuer, issuer.issue(index=3))

    assert "Revoked — do not rely on this certificate" in html
    assert 'class="verdict verdict-bad"' in html


def test_qr_page_status_unknown_is_amber(client: FlaskClient, issuer: FakeIssuer) -> None:
    token = issuer.issue()
    issuer.unreachable.add(issuer.list_url("revocation"))

    html = page_for(client, issuer, token)

    assert "Could not check status right now" in html
    assert 'class="verdict verdict-unknown"' in html
    assert "verdict-good" not in html


def test_qr_page_untrusted_issuer(client: FlaskClient, network: Network) -> None:
    link = "/v/0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e?issuer=https%3A%2F%2Fevil.example"

    html = client.get(link).get_data(as_text=True)

    assert "Issuer not recognised" in html
    assert "evil.example" not in html
    assert network.log == []


def test_qr_page_bad_id_is_unreadable(client: FlaskClient, network: Network) -> None:
    response = client.get("/v/nonsense?issuer=https%3A%2F%2Fissuer.example")

    assert response.status_code == 200
    assert "This is not a certificate or verification link" in response.get_data(as_text=True)
    assert network.log == []


def test_form_page(client: FlaskClient) -> None:
    response = client.get("/")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<textarea id="credential" name="credential"' in html
    assert "<script" not in html
    assert "style=" not in html and "<style" not in html  # the CSP forbids inline styles


def test_form_post_valid_shows_name(client: FlaskClient, issuer: FakeIssuer) -> None:
    response = client.post("/", data={"credential": issuer.issue()})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Valid certification" in html
    assert "Jane Doe" in html


def test_form_post_accepts_a_verification_link(client: FlaskClient, issuer: FakeIssuer) -> None:
    uuid = credential_uuid(issuer.issue())
    link = f"https://verify.example/v/{uuid}?issuer={quote(issuer.id, safe='')}"

    html = client.post("/", data={"credential": link}).get_data(as_text=True)

    assert "Valid certification" in html


def test_form_post_not_authentic_hides_everything(client: FlaskClient, issuer: FakeIssuer) -> None:
    head, _, sig = issuer.issue(given_name="Original").split(".")
    forged_payload = issuer.sign(issuer.claims(given_name="Mallory")).split(".")[1]

    response = client.post("/", data={"credential": f"{head}.{forged_payload}.{sig}"})

    html = response.get_data(as_text=True)
    assert "Not authentic — do not rely on this certificate" in html
    assert "Mallory" not in html
    assert "Original" not in html
    assert "Botox Cosmetic Injector" not in html
    assert "4512" not in html
    assert '<dl class="facts">' not in html


def test_form_post_empty_is_400_page(client: FlaskClient) -> None:
    response = client.post("/", data={"credential": "  "})

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Paste a credential" in response.get_data(as_text=True)


def test_form_post_huge_is_413_page(client: FlaskClient) -> None:
    response = client.post("/", data={"credential": "a" * (70 * 1024)})

    assert response.status_code == 413
    assert response.mimetype == "text/html"


def test_html_injection_in_name_is_escaped(client: FlaskClient, issuer: FakeIssuer) -> None:
    html = page_for(client, issuer, issuer.issue(given_name="<script>alert(1)</script>"))

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html


def test_unknown_page_is_html_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not Found" in response.get_data(as_text=True)


def test_wrong_method_on_page_is_html_405(client: FlaskClient) -> None:
    response = client.delete("/")

    assert response.status_code == 405
    assert response.mimetype == "text/html"


def test_stylesheet_served_with_security_headers(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert href is not None

    response = client.get(href.group(1))

    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    response.close()


@pytest.mark.parametrize("path", ["/", "/v/x?issuer=y", "/missing"])
def test_page_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_page_and_api_agree(client: FlaskClient, issuer: FakeIssuer) -> None:
    issuer.suspended.add(8)
    token = issuer.issue(index=8)

    api = client.post("/api/v1/verify", json={"credential": token}).get_json()
    html = page_for(client, issuer, token)

    assert api["status"] == "suspended"
    assert 'data-status="suspended"' in html


@pytest.mark.parametrize("text", ["hello world", "https://verify.example/v/0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e"])
def test_pasting_something_that_is_not_a_certificate_says_so_in_amber(
    client: FlaskClient, text: str
) -> None:
    html = client.post("/", data={"credential": text}).get_data(as_text=True)

    assert "This is not a certificate or verification link" in html
    assert "Check what you pasted" in html
    assert 'data-status="unreadable"' in html and "verdict-unknown" in html
    assert "forged" not in html and "Not authentic" not in html


def test_pasting_the_holder_page_address_shows_the_credential(
    client: FlaskClient, issuer: FakeIssuer
) -> None:
    uuid = credential_uuid(issuer.issue())

    html = client.post("/", data={"credential": f"{issuer.id}/credentials/{uuid}"}).get_data(as_text=True)

    assert "Valid certification" in html and "Jane Doe" in html
