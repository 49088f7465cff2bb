"""QR codes of the verify link, as PNG and SVG (rendered once per credential).

Both are opaque: dark modules on white, with a white quiet zone of 4 modules, so the code
scans wherever it is placed (a dark page, dark mode, a coloured print background); a
transparent code there shows dark modules on a dark ground and no decoder finds it.
"""

from __future__ import annotations

import io
import re

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE_MODULES = 4
_BACKGROUND = '<rect fill="white" x="0" y="0" width="100%" height="100%"/>'
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def _code(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=QUIET_ZONE_MODULES)
    code.add_data(text)
    code.make(fit=True)
    return code


def png(text: str) -> bytes:
    """A PNG QR code of ``text`` (10 px per module, white quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    _code(text).make_image().save(buffer)
    return buffer.getvalue()


def svg(text: str) -> str:
    """An SVG QR code of ``text``: one path on a white background that includes the quiet
    zone; scales to any print size."""
    image = _code(text).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return with_background(str(image.to_string(encoding="unicode")))


def with_background(svg_text: str) -> str:
    """``svg_text`` with the opaque white background (SVGs stored by earlier versions had
    none); unchanged if it has one."""
    opened = _SVG_OPEN.search(svg_text)
    if opened is None or _BACKGROUND in svg_text:
        return svg_text
    return svg_text[: opened.end()] + _BACKGROUND + svg_text[opened.end() :]
