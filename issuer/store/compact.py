"""The stored form of a signed credential: its compact JWS kept compact, losslessly.

A compact JWS is three base64url parts; stored as text it takes a third more than the bytes
it encodes, and its JSON is never compressed. :class:`CompactJWS` stores it instead as
bytes whose first byte says how the rest reads:

- **version 1**: ``zlib(len(header) | header | len(payload) | payload)`` (lengths 4 bytes,
  big-endian; header and payload the *decoded* JSON bytes, exactly as signed) followed by the
  raw signature, which zlib could not shrink: it is what follows the end of the zlib stream.
- **version 0**: ``zlib(UTF-8 of the string)``, for any string that version 1 would not give
  back exactly (not three parts, base64url that is not canonical, ...).

:func:`pack` rebuilds the string from the version 1 form before choosing it, so every
string reads back exactly as it was written, byte for byte; the signature checks
out as before and the JWT endpoint serves the same bytes. Code that reads or writes
``Credential.token`` sees only strings. Compare tokens in Python (or by credential id),
never in SQL: the same string need not pack to the same bytes under another zlib.

Migration 0010 converts the column with its own copy of these functions (so that a later
change here cannot change what it wrote); a new version gets a new number here and in a
migration, and :func:`unpack` keeps reading the old ones.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

TEXT = 0
JWS = 1
_LEVEL = 9


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _pack_jws(token: str) -> bytes | None:
    """Version 1 of ``token``, or ``None`` when it is not three base64url parts."""
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        return None
    try:
        header, payload, signature = (_b64url_decode(part) for part in parts)
    except (binascii.Error, ValueError):
        return None
    return pack_parts(header, payload, signature)


def pack_parts(header: bytes, payload: bytes, signature: bytes) -> bytes:
    """The stored form of the compact JWS whose decoded parts are ``header``, ``payload``
    and ``signature``: the same bytes :func:`pack` gives for
    ``b64url(header) + "." + b64url(payload) + "." + b64url(signature)``, made without that
    string and without :func:`pack`'s read-back (canonical base64url of these very bytes is
    the string, so version 1 gives it back exactly). For a signer that has the parts at hand
    (bulk issuance); :func:`unpack` reads it like any other."""
    framed = b"".join((len(header).to_bytes(4, "big"), header, len(payload).to_bytes(4, "big"), payload))
    return bytes([JWS]) + zlib.compress(framed, _LEVEL) + signature


def _unpack_jws(data: bytes) -> str:
    stream = zlib.decompressobj()
    try:
        framed = stream.decompress(data)
    except zlib.error as exc:
        raise ValueError(f"a stored token (version 1) is damaged: {exc}") from exc
    if not stream.eof:
        raise ValueError("a stored token (version 1) is cut short")
    header_end = 4 + int.from_bytes(framed[:4], "big")
    payload_end = header_end + 4 + int.from_bytes(framed[header_end:header_end + 4], "big")
    if len(framed) < 8 or payload_end != len(framed):
        raise ValueError("a stored token (version 1) has inconsistent lengths")
    header, payload = framed[4:header_end], framed[header_end + 4:]
    return ".".join(_b64url_encode(part) for part in (header, payload, stream.unused_data))


def pack(token: str) -> bytes:
    """The stored form of ``token``: version 1 when it gives back exactly ``token``,
    otherwise version 0."""
    packed = _pack_jws(token)
    if packed is not None and _unpack_jws(packed[1:]) == token:
        return packed
    return bytes([TEXT]) + zlib.compress(token.encode("utf-8"), _LEVEL)


def unpack(data: bytes) -> str:
    """The string :func:`pack` was given. Raises ``ValueError`` on an unknown version or
    damaged bytes."""
    if not data:
        raise ValueError("a stored token is empty (not even its version byte)")
    version, body = data[0], bytes(data[1:])
    if version == JWS:
        return _unpack_jws(body)
    if version == TEXT:
        try:
            return zlib.decompress(body).decode("utf-8")
        except zlib.error as exc:
            raise ValueError(f"a stored token (version 0) is damaged: {exc}") from exc
    raise ValueError(f"a stored token has an unknown format version {version}")


class CompactJWS(TypeDecorator[str]):
    """A compact JWS string stored as :func:`pack` bytes and read back as the same string."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else pack(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else unpack(value)
