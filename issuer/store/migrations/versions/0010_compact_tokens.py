"""signed credentials stored compact: credentials.token becomes bytes (zlib of the decoded
header and payload + the raw signature), read back as the same string

Revision ID: 0010
Revises: 0009

The compact JWS was two thirds of a credential's bytes in the database (4.6 KB of 6.2 KB on
SQLite). ``issuer.store.compact.CompactJWS`` now stores it as a format-version byte and
then, for version 1, zlib of the length-prefixed decoded header and payload followed by the
raw signature (about 1.5 KB); any string that version 1 would not give back exactly (base64url
that is not canonical, not three parts) is stored as version 0, zlib of its UTF-8. Every
token reads back byte for byte as it was signed.

Upgrade adds a binary column, fills it in Python ``CHUNK`` rows at a time (in id order, so
no cursor stays open across the updates), then drops the text column and renames the new
one (SQLite batch mode: the table is copied once). Downgrade converts back the same way. The
conversion is copied here, not imported, so that later changes to ``issuer.store.compact``
cannot change what this migration writes or reads.
"""
import base64
import binascii
import zlib
from collections.abc import Callable
from typing import Any

from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CHUNK = 1_000


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unpack_v1(data: bytes) -> str:
    stream = zlib.decompressobj()
    framed = stream.decompress(data)
    if not stream.eof:
        raise ValueError("a stored token (version 1) is cut short")
    header_end = 4 + int.from_bytes(framed[:4], "big")
    payload_end = header_end + 4 + int.from_bytes(framed[header_end:header_end + 4], "big")
    if len(framed) < 8 or payload_end != len(framed):
        raise ValueError("a stored token (version 1) has inconsistent lengths")
    header, payload = framed[4:header_end], framed[header_end + 4:]
    return ".".join(_b64url_encode(part) for part in (header, payload, stream.unused_data))


def pack(token: str) -> bytes:
    """Version 1 (``0x01 | zlib(len | header | len | payload) | signature``) when it gives
    back exactly ``token``, else version 0 (``0x00 | zlib(UTF-8)``)."""
    parts = token.split(".")
    if len(parts) == 3 and token.isascii():
        try:
            header, payload, signature = (_b64url_decode(part) for part in parts)
        except (binascii.Error, ValueError):
            pass
        else:
            framed = len(header).to_bytes(4, "big") + header + len(payload).to_bytes(4, "big") + payload
            body = zlib.compress(framed, 9) + signature
            if _unpack_v1(body) == token:
                return b"\x01" + body
    return b"\x00" + zlib.compress(token.encode("utf-8"), 9)


def unpack(data: bytes) -> str:
    """The string :func:`pack` was given."""
    data = bytes(data)
    if data[:1] == b"\x01":
        return _unpack_v1(data[1:])
    if data[:1] == b"\x00":
        return zlib.decompress(data[1:]).decode("utf-8")
    raise ValueError(f"credentials.token: unknown stored format {data[:1]!r}")


def _convert(
    source: str, target: str, target_type: sa.types.TypeEngine[Any], convert: Callable[[Any], Any]
) -> None:
    """Fill ``credentials.<target>`` with ``convert(<source>)``, ``CHUNK`` rows at a time."""
    bind = op.get_bind()
    select = sa.text(f"SELECT id, {source} FROM credentials WHERE id > :after ORDER BY id LIMIT {CHUNK}")
    update = sa.text(f"UPDATE credentials SET {target} = :value WHERE id = :id").bindparams(
        sa.bindparam("value", type_=target_type)
    )
    after = ""
    while True:
        rows = bind.execute(select, {"after": after}).all()
        if not rows:
            return
        bind.execute(update, [{"id": row[0], "value": convert(row[1])} for row in rows])
        after = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("token_packed", sa.LargeBinary(), nullable=True))
    _convert("token", "token_packed", sa.LargeBinary(), pack)
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("token")
        batch.alter_column("token_packed", new_column_name="token", existing_type=sa.LargeBinary(),
                           nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("token_text", sa.Text(), nullable=True))
    _convert("token", "token_text", sa.Text(), unpack)
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("token")
        batch.alter_column("token_text", new_column_name="token", existing_type=sa.Text(), nullable=False)
