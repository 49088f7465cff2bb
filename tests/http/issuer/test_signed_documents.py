"""The holder page and the PDF say what was signed, never the live database row; a
certificate that is not current is stamped; names print in any script; the QR SVG is opaque.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient
from PIL import Image, ImageChops, ImageDraw, ImageFont

from issuer.credentials.certificate import MAIN_FONTS, SCRIPT_FONTS
from tests.conftest import auth, enrol, issue
from tests.system_tools import require_file, require_tool

pytestmark = [pytest.mark.http, pytest.mark.db]

BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _pdf_text(client: FlaskClient, credential_id: str, tmp_path: Path, paper: str = "a4") -> str:
    pdftotext = require_tool("pdftotext", "poppler-utils")
    response = client.get(f"/credentials/{credential_id}/certificate.pdf?paper={paper}")
    assert response.status_code == 200
    path = tmp_path / f"{credential_id}-{paper}.pdf"
    path.write_bytes(response.get_data())
    text = subprocess.run([pdftotext, str(path), "-"], capture_output=True, text=True, check=True).stdout
    return BIDI_MARKS.sub("", text)


def _claims(client: FlaskClient, credential_id: str) -> dict[str, Any]:
    token = client.get(f"/credentials/{credential_id}/jwt").get_data(as_text=True)
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_after_a_name_correction_the_old_page_and_pdf_say_the_signed_name_and_link_to_the_current(
    issuer_client: FlaskClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    practitioner = enrol(issuer_client, tokens, given_name="Grace", family_name="Kim")
    old = issue(issuer_client, tokens, practitioner)
    corrected = issuer_client.post(
        f"/api/v1/practitioners/{practitioner}/correction",
        json={"family_name": "Kim-Lee", "profession": "NP", "reason": "married name; now an NP"},
        headers=auth(tokens["admin"]),
    )
    assert corrected.status_code == 200, corrected.json
    [new] = corrected.json["reissued"]

    page = issuer_client.get(f"/credentials/{old['id']}").get_data(as_text=True)
    assert "<h1>Grace Kim</h1>" in page and "Kim-Lee" not in page
    assert "Registered Nurse" in page and "Nurse Practitioner" not in page
    assert f'href="{new["holder_url"]}"' in page and "See the current certificate" in page
    assert _claims(issuer_client, old["id"])["credentialSubject"]["name"] == "Grace Kim"

    old_pdf = _pdf_text(issuer_client, old["id"], tmp_path)
    assert "Grace Kim\n" in old_pdf and "Kim-Lee" not in old_pdf and "Registered Nurse" in old_pdf
    assert "SUPERSEDED" in old_pdf and "not valid" in old_pdf
    assert new["holder_url"] in old_pdf

    new_page = issuer_client.get(f"/credentials/{new['id']}").get_data(as_text=True)
    assert "<h1>Grace Kim-Lee</h1>" in new_page and "Nurse Practitioner" in new_page
    new_pdf = _pdf_text(issuer_client, new["id"], tmp_path)
    assert "Grace Kim-Lee" in new_pdf and "Nurse Practitioner" in new_pdf
    assert "SUPERSEDED" not in new_pdf and "not valid" not in new_pdf


@pytest.mark.parametrize(("action", "stamp"), [("revoke", "REVOKED"), ("suspend", "SUSPENDED")])
def test_a_revoked_or_suspended_certificate_is_never_offered_clean(
    issuer_client: FlaskClient, tokens: dict[str, str], tmp_path: Path, action: str, stamp: str
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    clean = _pdf_text(issuer_client, body["id"], tmp_path)  # rendered while current
    assert stamp not in clean

    changed = issuer_client.post(
        f"/api/v1/credentials/{body['id']}/{action}", json={"reason": "test"}, headers=auth(tokens["admin"])
    )
    assert changed.status_code == 200

    for paper in ("a4", "letter"):
        text = _pdf_text(issuer_client, body["id"], tmp_path, paper)
        assert f"{stamp}: This certificate" in text and "not valid" in text
    page = issuer_client.get(f"/credentials/{body['id']}").get_data(as_text=True)
    assert f"stamped {stamp}: not a valid certificate" in page
    assert "Certificate to print" not in page
    pdf = issuer_client.get(f"/credentials/{body['id']}/certificate.pdf")
    assert pdf.headers["Cache-Control"] == "public, max-age=60"  # the status list ttl


def test_credits_earned_are_the_programs_credits_everywhere(
    issuer_client: FlaskClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    subject = _claims(issuer_client, body["id"])["credentialSubject"]
    available = subject["achievement"]["creditsAvailable"]
    assert subject["creditsEarned"] == available == 16
    page = issuer_client.get(f"/credentials/{body['id']}").get_data(as_text=True)
    assert "for 16 CME credits" in page
    assert "16 CME credits" in _pdf_text(issuer_client, body["id"], tmp_path)


def test_qr_svg_is_opaque_with_its_quiet_zone(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    svg = issuer_client.get(f"/credentials/{body['id']}/qr.svg").get_data(as_text=True)

    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert view is not None
    # The first thing drawn is white and covers the whole view box, quiet zone included.
    first = re.search(r"<svg\b[^>]*>\s*<(\w+)([^>]*)>", svg)
    assert first is not None and first.group(1) == "rect", svg[:200]
    assert 'fill="white"' in first.group(2) and 'width="100%"' in first.group(2)
    assert re.search(r'd="M4[ ,]4', svg)  # modules start after 4 modules of quiet zone


# --- names in any script -------------------------------------------------------------------

NAMES = {
    "chinese": ("王", "小明"),
    "japanese": ("山田", "さくら"),
    "korean": ("김", "민준"),
    "arabic": ("محمد", "العلي"),
    "hebrew": ("שרה", "כהן"),
}


def _font_for(name: str) -> Path:
    for script, (_, _, bold) in SCRIPT_FONTS.items():
        if script == "CJK" and any(ord(c) > 0x2E80 for c in name):
            return bold
        if script == "ARABIC" and any(0x0600 <= ord(c) <= 0x06FF for c in name):
            return bold
        if script == "HEBREW" and any(0x0590 <= ord(c) <= 0x05FF for c in name):
            return bold
    return MAIN_FONTS[0][2]


def _ink(image: Image.Image) -> Image.Image:
    """The part of a grayscale image that has ink (dark pixels), or fail if none."""
    mask = image.point(lambda v: 255 if v < 140 else 0)
    box = mask.getbbox()
    assert box is not None, "no ink where the name should be"
    return image.crop(box)


def _similarity(a: Image.Image, b: Image.Image) -> float:
    """1 - mean absolute difference of two ink crops scaled to one size (1.0: identical)."""
    size = (320, 48)
    a, b = a.resize(size), b.resize(size)
    diff = ImageChops.difference(a, b)
    histogram = diff.histogram()
    mean = sum(i * n for i, n in enumerate(histogram)) / (size[0] * size[1])
    return 1 - mean / 255


def _reference(text: str, font: Path) -> Image.Image:
    """``text`` set by HarfBuzz and FriBiDi (Pillow's raqm layout), the way it must look."""
    face = ImageFont.truetype(str(font), 96, layout_engine=ImageFont.Layout.RAQM)
    canvas = Image.new("L", (1600, 200), 255)
    ImageDraw.Draw(canvas).text((20, 30), text, font=face, fill=0)
    return _ink(canvas)


def _name_on_page(pdf: Path, tmp_path: Path, dpi: int = 200) -> Image.Image:
    """The rasterised line below 'This certifies that' (found with pdftotext -bbox-layout)."""
    layout = subprocess.run(
        [require_tool("pdftotext", "poppler-utils"), "-bbox-layout", str(pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout
    lines = re.findall(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>',
                       layout, re.S)
    after = [i for i, line in enumerate(lines) if "certifies" in line[4]][0] + 1
    x0, y0, x1, y1 = (float(v) * dpi / 72 for v in lines[after][:4])
    # Only that line (not below its box: the next line's ascenders start just under it).
    left, top = int(x0) - 8, int(y0) - 4
    area = ["-x", str(left), "-y", str(top), "-W", str(int(x1) + 8 - left), "-H", str(int(y1) - top)]
    subprocess.run([require_tool("pdftoppm", "poppler-utils"), "-r", str(dpi), "-gray", "-png", *area,
                    "-singlefile", str(pdf), str(tmp_path / "name")], check=True)
    return _ink(Image.open(tmp_path / "name.png").convert("L"))


def test_pdf_prints_names_in_five_scripts_as_text_and_as_shaped_glyphs(
    issuer_client: FlaskClient, tokens: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("fonts, not the database: once, on SQLite")
    packages = {"CJK": "fonts-noto-cjk", "ARABIC": "fonts-noto-core", "HEBREW": "fonts-noto-core"}
    for script, (_, _, bold) in SCRIPT_FONTS.items():
        require_file(bold, packages[script])
    require_file(MAIN_FONTS[0][2], "fonts-noto-core")
    for script, (given, family) in NAMES.items():
        full = f"{given} {family}"
        body = issue(issuer_client, tokens, enrol(
            issuer_client, tokens, given_name=given, family_name=family, email=f"{script}@example.org"))
        text = _pdf_text(issuer_client, body["id"], tmp_path)
        pdf = tmp_path / f"{body['id']}-a4.pdf"
        assert full in text.splitlines(), (script, text[:400])
        drawn = _name_on_page(pdf, tmp_path)
        font = _font_for(full)
        right = _similarity(drawn, _reference(full, font))

        # Letters in logical order drawn left to right (unshaped Arabic, reversed Hebrew)
        # must look clearly different from the correct rendering.
        wrong = _similarity(drawn, _reference(full[::-1], font)) if full[::-1] != full else 0.0
        assert right > 0.85 and right > wrong + 0.1, (script, right, wrong)


def test_the_home_page_links_to_the_staff_console(issuer_client: FlaskClient) -> None:
    home = issuer_client.get("/").get_data(as_text=True)

    assert '<a href="/console/">Staff console (sign in)</a>' in home
    assert issuer_client.get("/console/").status_code in (200, 302, 303)
