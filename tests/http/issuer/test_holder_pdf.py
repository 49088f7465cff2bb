"""The holder's page and the PDF certificate: plain words, downloads, sharing, a QR that
scans from the printed page."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from issuer.credentials import certificate
from tests.conftest import FakeClock, auth, enrol, issue
from tests.system_tools import require_tool

pytestmark = [pytest.mark.http, pytest.mark.db]


def test_holder_page_has_downloads_copy_button_and_linkedin(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    html = issuer_client.get(f"/credentials/{body['id']}").get_data(as_text=True)

    assert "This certification is current." in html
    for suffix in ("certificate.pdf?paper=a4", "certificate.pdf?paper=letter", "qr.png", "qr.svg", "/jwt"):
        assert f"/credentials/{body['id']}/{suffix}".replace("//", "/") in html or suffix in html
    assert 'data-copy-target="verify-link"' in html
    assert "copy-link.js" in html and "<script>" not in html
    start = html.index("https://www.linkedin.com/profile/add?")
    link = html[start : html.index('"', start)].replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["issueYear"] == ["2026"] and query["issueMonth"] == ["11"]
    assert query["expirationYear"] and query["expirationMonth"]
    assert query["certId"] == [body["id"]]
    assert query["certUrl"] == [body["verify_url"]]
    assert query["organizationName"] == ["Demo Aesthetic Training Institute"]


@pytest.mark.parametrize(
    ("action", "words"),
    [("revoke", "has been revoked"), ("suspend", "is suspended")],
)
def test_holder_page_says_revoked_or_suspended(
    issuer_client: FlaskClient, tokens: dict[str, str], action: str, words: str
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    changed = issuer_client.post(
        f"/api/v1/credentials/{body['id']}/{action}", json={"reason": "test"}, headers=auth(tokens["admin"])
    )
    assert changed.status_code == 200

    html = issuer_client.get(f"/credentials/{body['id']}").get_data(as_text=True)

    assert words in html and "This certification is current." not in html
    assert "linkedin.com" not in html


def test_holder_page_says_expired(issuer_client: FlaskClient, tokens: dict[str, str], clock) -> None:  # type: ignore[no-untyped-def]
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    clock.advance(days=800)

    html = issuer_client.get(f"/credentials/{body['id']}").get_data(as_text=True)

    assert "expired on" in html and "no longer current" in html


def test_holder_page_escapes_names(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    pid = enrol(issuer_client, tokens, given_name="<script>alert(1)</script>")
    body = issue(issuer_client, tokens, pid)

    html = issuer_client.get(f"/credentials/{body['id']}").get_data(as_text=True)

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _pdf(issuer_client: FlaskClient, credential_id: str, paper: str) -> bytes:
    response = issuer_client.get(f"/credentials/{credential_id}/certificate.pdf?paper={paper}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    data: bytes = response.get_data()
    assert data.startswith(b"%PDF")
    return data


@pytest.mark.parametrize(("paper", "size_pt"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_pdf_certificate_is_one_page_whose_qr_scans_from_paper(
    issuer_client: FlaskClient, tokens: dict[str, str], tmp_path: Path, paper: str, size_pt: tuple[int, int]
) -> None:
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    pdfinfo = require_tool("pdfinfo", "poppler-utils")
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens, given_name="Zoë"))
    path = tmp_path / "certificate.pdf"
    path.write_bytes(_pdf(issuer_client, body["id"], paper))

    info = subprocess.run([pdfinfo, str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    width, height = (float(x) for x in info.split("Page size:")[1].split("pts")[0].split(" x "))
    assert (round(width), round(height)) == size_pt
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for words in ("Zoë Doe", "CME credits", body["id"], "live status", "Demo Aesthetic Training Institute"):
        assert words in text, words
    # Rasterise at 150 dpi, as a printer-and-phone would see it, and decode the QR code.
    raster = [pdftoppm, "-r", "150", "-png", "-singlefile", str(path), str(tmp_path / "page")]
    subprocess.run(raster, check=True)
    page = Image.open(tmp_path / "page.png")
    (code,) = zxingcpp.read_barcodes(page)
    assert code.text == body["verify_url"]
    # At least 25 mm wide on paper: 150 dpi -> 25 mm is 148 px.
    xs = [p.x for p in (code.position.top_left, code.position.top_right, code.position.bottom_left)]
    assert max(xs) - min(xs) >= 148


def test_pdf_is_rendered_on_request_and_the_same_bytes_every_time(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str], clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(certificate, "RENDERED_KEPT", 0)  # every request renders
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    first = _pdf(issuer_client, body["id"], "a4")
    clock.advance(hours=5)  # the document's dates are the credential's, never the clock's
    second = _pdf(issuer_client, body["id"], "a4")

    assert first == second
    assert first != _pdf(issuer_client, body["id"], "letter")
    with issuer_app.extensions["issuer"].sessions() as session:
        tables = set(sa.inspect(session.get_bind()).get_table_names())
    assert "credential_documents" not in tables  # nothing rendered is stored


def test_pdf_etag_gets_304_without_rendering_and_changes_when_revoked(
    issuer_client: FlaskClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    url = f"/credentials/{body['id']}/certificate.pdf"
    first = issuer_client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('"pdf-') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "public, max-age=60"  # the status list ttl
    assert issuer_client.get(url + "?paper=letter").headers["ETag"] != etag

    rendered: list[str] = []
    draw = certificate.render
    with monkeypatch.context() as patched:
        patched.setattr(certificate, "render", lambda *a, **k: rendered.append(k["state"]) or draw(*a, **k))
        again = issuer_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and rendered == []
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "public, max-age=60"

    revoked = issuer_client.post(
        f"/api/v1/credentials/{body['id']}/revoke", json={"reason": "test"}, headers=auth(tokens["admin"])
    )
    assert revoked.status_code == 200
    after = issuer_client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag  # the stamped one, not a 304
    assert after.data != first.data


def test_a_rendered_pdf_is_kept_in_memory_by_its_etag(
    issuer_client: FlaskClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    rendered: list[str] = []
    draw = certificate.render
    monkeypatch.setattr(certificate, "render", lambda *a, **k: rendered.append(a[3]) or draw(*a, **k))

    first = _pdf(issuer_client, body["id"], "a4")
    assert _pdf(issuer_client, body["id"], "a4") == first
    _pdf(issuer_client, body["id"], "letter")

    assert rendered == ["a4", "letter"]


def test_pdf_unknown_paper_or_credential_is_404(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    assert issuer_client.get(f"/credentials/{body['id']}/certificate.pdf?paper=a3").status_code == 404
    assert issuer_client.get("/credentials/nope/certificate.pdf").status_code == 404


def test_holder_page_qr_svg_is_print_size(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    png = issuer_client.get(f"/credentials/{body['id']}/qr.png").get_data()

    image = Image.open(io.BytesIO(png))
    assert image.size[0] >= 290  # 10 px a module: 300 dpi prints it at >= 25 mm


def test_qr_svg_prints_at_least_25_mm(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    svg = issuer_client.get(f"/credentials/{body['id']}/qr.svg").get_data(as_text=True)

    width = re.match(r'<svg\b[^>]*\bwidth="(\d+(?:\.\d+)?)mm"', svg)
    assert width and float(width.group(1)) >= 25
