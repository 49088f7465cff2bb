"""The employer view, the signed verification receipt, QR uploads and the page's safety."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import qrcode
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import EnvironBuilder

from tests.unit.verifier.fake_issuer import LICENSE_NUMBER, Clock, FakeIssuer, Network, credential_uuid
from vc import jose
from verifier import create_app
from verifier.config import DEFAULTS, settings_from
from verifier.core import Check, Verdict
from verifier.receipt import RECEIPT_TYP
from verifier.registry import ConfigError
from verifier.views import _render_verdict

pytestmark = pytest.mark.http


def link(issuer: FakeIssuer, token: str) -> str:
    return f"/v/{credential_uuid(token)}?issuer={quote(issuer.id, safe='')}"


def test_patient_view_links_to_employer_view(client: FlaskClient, issuer: FakeIssuer) -> None:
    html = client.get(link(issuer, issuer.issue())).get_data(as_text=True)

    assert "view=employer" in html
    assert LICENSE_NUMBER not in html
    assert "not a license to" in html
    assert "the Texas licensing board" in html


def test_employer_view_shows_checks_evidence_kid_and_positions(
    client: FlaskClient, issuer: FakeIssuer
) -> None:
    token = issuer.issue(index=7)
    header, _ = jose.split(token)

    html = client.get(link(issuer, token) + "&view=employer").get_data(as_text=True)

    assert LICENSE_NUMBER in html
    assert header["kid"] in html
    assert issuer.list_url("revocation") in html
    assert "index 7" in html
    for check in ("signature", "claims", "validity", "revocation", "suspension"):
        assert f'data-check="{check}"' in html
    assert "Download signed verification receipt" in html
    assert "https://www.bon.texas.gov/" in html


def test_receipt_verifies_with_the_verifiers_published_key(
    client: FlaskClient, issuer: FakeIssuer
) -> None:
    token = issuer.issue(index=9)

    response = client.get(f"/v/{credential_uuid(token)}/receipt?issuer={quote(issuer.id, safe='')}")

    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.get_data(as_text=True))
    jwks = client.get("/.well-known/jwks.json").json
    assert all("d" not in key for key in jwks["keys"])
    keys_by_kid = {k["kid"]: jose.jwk_to_key(k) for k in jwks["keys"]}
    verified = jose.verify(
        document["receipt"],
        typ=RECEIPT_TYP,
        algorithms=frozenset({"ES256"}),
        key_for=keys_by_kid.get,
    )
    claims = verified.payload
    assert verified.header["kid"] == document["kid"]
    assert claims["result"] == "valid"
    assert claims["credential_id"] == credential_uuid(token)
    assert claims["credential_kid"] == jose.split(token)[0]["kid"]
    assert {"purpose": "revocation", "list_url": issuer.list_url("revocation"), "index": 9,
            "as_of": "2026-11-15T12:00:00Z"} in claims[
        "status_lists"
    ]
    assert claims["checked_at"] == "2026-11-15T12:00:00Z"
    assert [c["id"] for c in claims["checks"]][-2:] == ["revocation", "suspension"]
    assert claims == document["verification"]


def test_receipt_for_a_forgery_says_not_authentic_and_names_nothing(
    client: FlaskClient, issuer: FakeIssuer
) -> None:
    token = issuer.issue()
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")

    response = client.post("/receipt", data={"credential": forged})

    claims = json.loads(response.get_data(as_text=True))["verification"]
    assert claims["result"] == "not_authentic"
    assert claims["credential_id"] is None and claims["status_lists"] == []


def test_tampered_credential_page_shows_nothing_from_it(client: FlaskClient, issuer: FakeIssuer) -> None:
    token = issuer.issue(given_name="Mallory")
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")

    html = client.post("/", data={"credential": forged}).get_data(as_text=True)

    assert "Not authentic" in html
    assert "Mallory" not in html and "US-TX" not in html and "verdict-good" not in html
    assert "view=employer" not in html and "Employer view" not in html


def test_html_in_a_name_is_shown_as_text(client: FlaskClient, issuer: FakeIssuer) -> None:
    token = issuer.issue(given_name="<script>alert(1)</script>", family_name='"><img src=x>')

    html = client.get(link(issuer, token)).get_data(as_text=True)

    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _qr_png(text: str, scale: int = 6) -> bytes:
    code = qrcode.QRCode(box_size=scale, border=4)
    code.add_data(text)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


def test_upload_of_a_qr_screenshot_gives_the_verdict(client: FlaskClient, issuer: FakeIssuer) -> None:
    token = issuer.issue()
    # A "screenshot": the QR code pasted onto a larger, busier canvas, as JPEG.
    qr = Image.open(io.BytesIO(_qr_png("http://verifier.example" + link(issuer, token))))
    canvas = Image.new("RGB", (900, 1400), (235, 238, 244))
    canvas.paste(qr, (120, 300))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=90)

    response = client.post(
        "/upload", data={"image": (io.BytesIO(buffer.getvalue()), "shot.jpg")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Valid certification" in html and "Jane Doe" in html


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not an image at all", "not an image we can read"),
        (b"", "empty"),
    ],
)
def test_upload_refuses_what_is_not_a_picture(client: FlaskClient, payload: bytes, message: str) -> None:
    response = client.post(
        "/upload", data={"image": (io.BytesIO(payload), "x.png")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_upload_of_a_picture_without_a_qr_code(client: FlaskClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (255, 255, 255)).save(buffer, format="PNG")

    response = client.post(
        "/upload", data={"image": (io.BytesIO(buffer.getvalue()), "blank.png")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "No QR code was found" in response.get_data(as_text=True)


def test_upload_larger_than_the_limit_is_refused(client: FlaskClient) -> None:
    big = b"\x89PNG" + b"0" * (6 * 1024 * 1024)
    builder = EnvironBuilder(
        path="/upload", method="POST", data={"image": (io.BytesIO(big), "big.png")}
    )
    environ = builder.get_environ()
    try:
        response = client.open(environ)
    finally:  # the test client spools a large body to a file it does not close
        environ["wsgi.input"].close()
        builder.close()

    assert response.status_code in (400, 413)
    assert "Valid" not in response.get_data(as_text=True)


def test_upload_of_a_decompression_bomb_is_refused(client: FlaskClient) -> None:
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")  # 100 Mpx, a few kB

    response = client.post(
        "/upload", data={"image": (io.BytesIO(buffer.getvalue()), "bomb.png")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "too many pixels" in response.get_data(as_text=True)


class _LaterVerdict(Verdict):
    """A verdict shaped as after issue 4 (superseded status, notes, superseded_by)."""

    def to_json(self) -> dict[str, object]:
        body = super().to_json()
        body["notes"] = [{"id": "expiring_soon", "detail": "Expires in 30 days."}]
        body["superseded_by"] = "https://verifier.example/v/new"
        return body


def test_superseded_and_notes_are_rendered_and_never_green(app: Flask) -> None:
    credential = {
        "id": "x", "name": "Jane Doe", "profession": "RN", "profession_name": "Registered Nurse",
        "license": {"jurisdiction": "US-TX", "number": "RN-1234"},
        "program": {"name": "Botox"}, "issuer_name": "Institute",
        "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2027-11-01T00:00:00Z",
    }
    verdict = _LaterVerdict(
        "superseded", (Check("format", True, "ok"),), credential, datetime(2026, 11, 15, tzinfo=UTC)
    )

    with app.test_request_context("/v/x"):
        html = _render_verdict(verdict)

    assert "Replaced by a newer certificate" in html
    assert "verdict-good" not in html
    assert 'href="https://verifier.example/v/new"' in html
    assert 'data-note="expiring_soon"' in html and "Expires in 30 days." in html


def test_unknown_future_status_is_never_green(app: Flask) -> None:
    verdict = Verdict("something_new", (), None, datetime(2026, 11, 15, tzinfo=UTC))

    with app.test_request_context("/v/x"):
        html = _render_verdict(verdict)

    assert "verdict-unknown" in html and "verdict-good" not in html


def test_verify_page_headers(client: FlaskClient, issuer: FakeIssuer) -> None:
    response = client.get(link(issuer, issuer.issue()))

    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script" not in response.get_data(as_text=True)


def _receipt_claims(client: FlaskClient, issuer: FakeIssuer, token: str, **kwargs: Any) -> dict[str, Any]:
    url = f"/v/{credential_uuid(token)}/receipt?issuer={quote(issuer.id, safe='')}"
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.get_data(as_text=True))
    claims = jose.split(document["receipt"])[1]
    assert claims == document["verification"]
    return document


def test_receipt_names_who_was_verified_and_how_fresh_the_status_was(
    client: FlaskClient, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue(index=11)
    client.get(f"/v/{credential_uuid(token)}?issuer={quote(issuer.id, safe='')}")  # lists at 12:00
    clock.advance(120)

    claims = _receipt_claims(client, issuer, token)["verification"]

    assert claims["practitioner"] == {
        "name": "Jane Doe", "profession": "RN", "profession_name": "Registered Nurse",
        "license_jurisdiction": "US-TX", "license_number": LICENSE_NUMBER,
    }
    assert claims["program"] == {
        "id": "botox-cosmetic-injector", "name": "Botox Cosmetic Injector Certification"
    }
    assert claims["credential_id"] == credential_uuid(token)
    assert claims["checked_at"] == "2026-11-15T12:02:00Z"
    assert claims["status_as_of"] == "2026-11-15T12:00:00Z"
    assert {e["purpose"]: e["as_of"] for e in claims["status_lists"]} == {
        "revocation": "2026-11-15T12:00:00Z", "suspension": "2026-11-15T12:00:00Z"
    }


def test_receipt_names_the_configured_verifier_whatever_the_host_header(
    registry_file: Path, network: Network, clock: Clock, issuer: FakeIssuer
) -> None:
    app = create_app(
        {"TESTING": True, "TRUSTED_ISSUERS": str(registry_file), "URL": "https://verify.example.org/"},
        fetch=network.fetch,
        clock=clock,
    )
    forged_host = {"headers": {"Host": "evil.example"}}

    document = _receipt_claims(app.test_client(), issuer, issuer.issue(), **forged_host)

    assert document["verification"]["iss"] == "https://verify.example.org"
    assert document["jwks_url"] == "https://verify.example.org/.well-known/jwks.json"
    assert "evil.example" not in json.dumps(document)


def test_the_verifier_url_defaults_to_the_local_service_and_refuses_nonsense() -> None:
    assert settings_from({**DEFAULTS}).verifier_url == "http://127.0.0.1:5001"
    assert settings_from({**DEFAULTS, "URL": None}).verifier_url == "http://127.0.0.1:5001"
    for bad in ("verify.example.org", "ftp://verify.example", "https://v.example/?x=1", " "):
        with pytest.raises(ConfigError, match="VERIFIER_URL"):
            settings_from({**DEFAULTS, "URL": bad})
