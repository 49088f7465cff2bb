"""An image with several QR codes: the one verification link is judged when exactly one is
ours; otherwise the page says so and asks for a picture with one code. The images are
rendered for real (qrcode + Pillow) and read by zxing-cpp, as an upload is."""

from __future__ import annotations

import io

import pytest
import qrcode
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image

from tests.unit.verifier.fake_issuer import FakeIssuer, Network, credential_uuid, verification_link

pytestmark = pytest.mark.http


def poster(*texts: str) -> bytes:
    """A PNG with one QR code per text, side by side (a flyer, a menu, a certificate...)."""
    codes = [qrcode.make(text, box_size=6).convert("RGB") for text in texts]
    canvas = Image.new("RGB", (sum(c.width for c in codes) + 40 * len(codes), 700), "white")
    x = 20
    for code in codes:
        canvas.paste(code, (x, 40))
        x += code.width + 40
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    found = {c.text for c in zxingcpp.read_barcodes(Image.open(io.BytesIO(buffer.getvalue())))}
    assert found == set(texts)  # the image really holds every code
    return buffer.getvalue()


def upload(client: FlaskClient, png: bytes) -> tuple[int, str]:
    response = client.post(
        "/upload", data={"image": (io.BytesIO(png), "poster.png")}, content_type="multipart/form-data"
    )
    return response.status_code, response.get_data(as_text=True)


def test_the_one_verification_link_among_several_codes_is_judged(
    client: FlaskClient, issuer: FakeIssuer
) -> None:
    link = verification_link(issuer, credential_uuid(issuer.issue()))

    status, html = upload(client, poster("https://www.example.com/menu", link))

    assert status == 200
    assert "Valid certification" in html and "Jane Doe" in html


def test_two_verification_links_in_one_image_ask_for_one_code(
    client: FlaskClient, issuer: FakeIssuer, network: Network
) -> None:
    first, second = (verification_link(issuer, credential_uuid(issuer.issue())) for _ in range(2))

    status, html = upload(client, poster(first, second))

    assert status == 400
    assert "The image holds 2 QR codes, 2 of them verification links or credentials." in html
    assert "only the certificate&#39;s QR code" in html
    assert network.log == []  # nothing was judged


def test_several_codes_none_of_them_ours_ask_for_one_code(client: FlaskClient) -> None:
    status, html = upload(client, poster("https://www.example.com/menu", "WIFI:S:cafe;T:WPA;P:x;;"))

    assert status == 400
    assert "The image holds 2 QR codes." in html
