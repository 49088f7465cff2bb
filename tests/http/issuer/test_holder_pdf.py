"""The holder's page and the PDF certificate: plain words, downloads, sharing, a QR that
scans from the printed page."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from issuer.store.models import CredentialDocument
from tests.conftest import auth, enrol, issue
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


def test_pdf_is_rendered_once_and_cached(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    first = _pdf(issuer_client, body["id"], "a4")
    second = _pdf(issuer_client, body["id"], "a4")

    assert first == second
    with issuer_app.extensions["issuer"].sessions() as session:
        stored = session.scalar(select(func.count()).select_from(CredentialDocument))
    assert stored == 1


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

    width = re.match(r'<svg width="(\d+(?:\.\d+)?)mm"', svg)
    assert width and float(width.group(1)) >= 25
