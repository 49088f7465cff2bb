"""Reading QR codes from an uploaded photo or screenshot, on the server, with limits.

Memory is bounded three ways, so that simultaneous uploads cannot exhaust the service:

* size before pixels: Pillow opens the image lazily, so its byte size
  (:data:`MAX_UPLOAD_BYTES`, also enforced by the view) and pixel count
  (:data:`MAX_PIXELS`) are checked before any pixel is decoded;
* small before searching: JPEGs are decoded at a reduced size (``draft``), and any image is
  box-reduced to at most :data:`DECODE_SIDE` pixels on its long side *before* it is made
  grey and searched, so the QR search never runs on a 25-megapixel copy;
* few at a time: at most :data:`MAX_CONCURRENT_DECODES` images are decoded at once (a
  semaphore); others wait up to :data:`DECODE_WAIT_SECONDS`, then are told to try again.

Measured (``tests/http/verifier/test_upload_memory.py``): eight simultaneous uploads of the
largest accepted image (5,000 x 5,000 RGB PNG) grew the process by about 1.9 GiB before
these bounds, and by about 250 MiB with them (130 MiB with one decode at a time).
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from typing import Any

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000
MAX_QR_TEXT = 4096
#: Longest side, in pixels, of the copy searched for QR codes.
DECODE_SIDE = 2000
#: Images decoded at the same time; each takes up to about 100 MiB while it is decoded.
MAX_CONCURRENT_DECODES = 2
#: How long an upload waits for a decoding slot before it is asked to try again.
DECODE_WAIT_SECONDS = 20.0

_decoding = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)


class UnreadableImage(Exception):
    """The upload is not an image we can read, is too large, or holds no QR code."""


def read_qr_codes(data: bytes) -> list[str]:
    """The text of every QR code in ``data`` (PNG, JPEG, WebP, GIF...), in the order found.

    Raises :class:`UnreadableImage` with a sentence for the page (also when there is none).
    """
    if not data:
        raise UnreadableImage("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnreadableImage("The image is larger than 5 MB.")
    if not _decoding.acquire(timeout=DECODE_WAIT_SECONDS):
        raise UnreadableImage("Too many images are being read right now; please try again.")
    try:
        texts = _decode(data)
    finally:
        _decoding.release()
    if not texts:
        raise UnreadableImage("No QR code was found in the image. Try a sharper, closer picture.")
    if any(not text or len(text) > MAX_QR_TEXT for text in texts):
        raise UnreadableImage("The QR code does not hold a verification link or credential.")
    return texts


def _decode(data: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

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
            grey = _small_grey(image)
    except UnreadableImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableImage("The file is not an image we can read.") from exc
    codes = zxingcpp.read_barcodes(grey)
    return [str(c.text) for c in codes if c.format == zxingcpp.BarcodeFormat.QRCode]


def _small_grey(image: Any) -> Any:
    """A greyscale copy at most :data:`DECODE_SIDE` on its long side, made without ever
    holding more than the decoded image and its reduced copy."""
    image.draft("L", (DECODE_SIDE, DECODE_SIDE))  # JPEG: decode at a reduced size
    image.load()
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("L")
    factor = math.ceil(max(image.size) / DECODE_SIDE)
    if factor > 1:
        image = image.reduce(factor)
    return image.convert("L")
