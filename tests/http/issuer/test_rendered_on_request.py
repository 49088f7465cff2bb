"""QR codes are rendered on request from the verify link, not stored: they decode to it,
the same bytes every time, and a strong ETag known without rendering answers
``If-None-Match`` with ``304``."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image

from issuer.credentials import qr
from tests.conftest import enrol, issue

pytestmark = [pytest.mark.http, pytest.mark.db]

IMMUTABLE = "public, max-age=31536000, immutable"


def svg_modules(svg: str) -> Image.Image:
    """The SVG QR code drawn as pixels (10 per module): its path is horizontal runs of dark
    modules (``M``/``m`` move, ``h`` draws a run on the row the pen is on)."""
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    path = re.search(r'<path\b[^>]*\bd="([^"]+)"', svg)
    assert view is not None and path is not None, svg[:300]
    size = int(view.group(1))
    image = Image.new("L", (size, size), 255)
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([^MmHh]*)", path.group(1)):
        numbers = [float(n) for n in args.replace(",", " ").split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = numbers[0] if command == "H" else x + numbers[0]
            for column in range(int(x), int(end)):
                image.putpixel((column, int(y)), 0)
            x = end
    return image.resize((size * 10, size * 10), Image.Resampling.NEAREST)


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_decodes_to_the_verify_link_and_is_the_same_every_time(
    issuer_client: FlaskClient, tokens: dict[str, str], kind: str
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))

    first = issuer_client.get(f"/credentials/{body['id']}/qr.{kind}")
    second = issuer_client.get(f"/credentials/{body['id']}/qr.{kind}")

    assert first.status_code == 200 and first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Cache-Control"] == IMMUTABLE
    if kind == "png":
        assert first.mimetype == "image/png"
        image = Image.open(io.BytesIO(first.data))
    else:
        assert first.mimetype == "image/svg+xml"
        text = first.get_data(as_text=True)
        assert text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')  # a file, not inline
        image = svg_modules(text)
    (code,) = zxingcpp.read_barcodes(image)
    assert code.text == body["verify_url"]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_if_none_match_gets_304_without_rendering(
    issuer_client: FlaskClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    url = f"/credentials/{body['id']}/qr.{kind}"
    etag = issuer_client.get(url).headers["ETag"]
    assert re.fullmatch(rf'"qr-{kind}-[0-9a-f]{{40}}"', etag)

    rendered: list[str] = []
    draw = getattr(qr, kind)
    monkeypatch.setattr(qr, kind, lambda text: rendered.append(text) or draw(text))

    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = issuer_client.get(url, headers={"If-None-Match": sent})
        assert cached.status_code == 304 and cached.data == b"", sent
        assert cached.headers["ETag"] == etag and cached.headers["Cache-Control"] == IMMUTABLE
    assert rendered == []
    assert issuer_client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert rendered == [body["verify_url"]]


def test_each_credential_and_kind_has_its_own_etag(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    one = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    two = issue(issuer_client, tokens, enrol(issuer_client, tokens, email="two@example.org"))

    tags = {issuer_client.get(f"/credentials/{c['id']}/qr.{kind}").headers["ETag"]
            for c in (one, two) for kind in ("png", "svg")}

    assert len(tags) == 4


def test_qr_of_an_unknown_credential_is_404(issuer_client: FlaskClient) -> None:
    for kind in ("png", "svg"):
        assert issuer_client.get(f"/credentials/nope/qr.{kind}").status_code == 404
