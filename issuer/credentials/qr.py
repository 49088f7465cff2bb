"""QR codes of the verify link, as PNG and SVG (rendered once per credential)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(text)
    code.make(fit=True)
    return code


def png(text: str) -> bytes:
    """A PNG QR code of ``text`` (10 px per module, quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    _code(text).make_image().save(buffer)
    return buffer.getvalue()


def svg(text: str) -> str:
    """An SVG QR code of ``text`` (one path; scales to any print size)."""
    image = _code(text).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return str(image.to_string(encoding="unicode"))
