"""Reading a QR code from an uploaded photo or screenshot, on the server, with limits.

Pillow opens the image lazily, so its size is checked before any pixel is decoded; the
upload itself is bounded by :data:`MAX_UPLOAD_BYTES` in the view.
"""

from __future__ import annotations

import io
import warnings

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000
MAX_QR_TEXT = 4096


class UnreadableImage(Exception):
    """The upload is not an image we can read, is too large, or holds no QR code."""


def decode_qr(data: bytes) -> str:
    """The text of the first QR code in ``data`` (PNG, JPEG, WebP, GIF...).

    Raises :class:`UnreadableImage` with a sentence for the page.
    """
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise UnreadableImage("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnreadableImage("The image is larger than 5 MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UnreadableImage("The image has too many pixels; send a smaller picture.") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnreadableImage("The file is not an image we can read.") from exc
    try:
        with image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadableImage("The image has too many pixels; send a smaller picture.")
            image.draft("L", (2000, 2000))  # JPEG: decode at a reduced size when possible
            grey = image.convert("L")
    except UnreadableImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableImage("The file is not an image we can read.") from exc
    codes = [c for c in zxingcpp.read_barcodes(grey) if c.format == zxingcpp.BarcodeFormat.QRCode]
    if not codes:
        raise UnreadableImage("No QR code was found in the image. Try a sharper, closer picture.")
    text = str(codes[0].text)
    if not text or len(text) > MAX_QR_TEXT:
        raise UnreadableImage("The QR code does not hold a verification link or credential.")
    return text
