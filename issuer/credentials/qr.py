"""QR codes of the verify link, as PNG and SVG, rendered on request (nothing is stored).

Rendering is deterministic: the same link gives the same bytes, so a response is named by
:func:`etag`, computed from the link without rendering. PNG: ``qrcode`` with Pillow (the
bytes earlier versions stored at issuance; as fast as segno's PNG writer). SVG: ``segno``
(``bench/storage.py``: 1.5 to 2 times as fast as qrcode's SVG path, a quarter of the size).

Both are opaque: dark modules on white, with a white quiet zone of 4 modules, so the code
scans wherever it is placed (a dark page, dark mode, a coloured print background); a
transparent code there shows dark modules on a dark ground and no decoder finds it.
"""

from __future__ import annotations

import hashlib
import io
import re
from importlib.metadata import version

import qrcode
import segno
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE_MODULES = 4
#: Changes whenever the rendered bytes would change for the same link (a library upgrade
#: that draws differently, another size): it is part of every ETag.
RENDERER = f"qr-1/qrcode-{version('qrcode')}/segno-{version('segno')}"
KINDS = ("png", "svg")
_BACKGROUND = '<rect fill="white" x="0" y="0" width="100%" height="100%"/>'
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def png(text: str) -> bytes:
    """A PNG QR code of ``text`` (10 px per module, white quiet zone of 4 modules)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=QUIET_ZONE_MODULES)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


def svg(text: str) -> str:
    """An SVG QR code of ``text``, 1 mm per module: one path on a white background that
    includes the quiet zone; scales to any print size."""
    code = segno.make(text, error="m", micro=False, boost_error=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=1, border=QUIET_ZONE_MODULES, unit="mm", xmldecl=False)
    return with_background(buffer.getvalue().decode())


def with_background(svg_text: str) -> str:
    """``svg_text`` with the opaque white background first; unchanged if it has one."""
    opened = _SVG_OPEN.search(svg_text)
    if opened is None or _BACKGROUND in svg_text:
        return svg_text
    return svg_text[: opened.end()] + _BACKGROUND + svg_text[opened.end() :]


def etag(kind: str, text: str) -> str:
    """The strong entity tag (unquoted) of the ``kind`` (``png`` or ``svg``) QR code of
    ``text``: SHA-256 of the renderer, the kind and the text, known without rendering."""
    digest = hashlib.sha256("\n".join((RENDERER, kind, text)).encode()).hexdigest()
    return f"qr-{kind}-{digest[:40]}"
