"""W3C Bitstring Status List v1.0: the bitstring codec and the list credential's shape.

Index 0 is the left-most bit, i.e. the most significant bit of byte 0. ``encodedList`` is
the multibase prefix ``u`` followed by base64url (no padding) of the GZIP of the bitstring.
Decompression is bounded so a hostile list cannot exhaust memory.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vc._json import b64url_decode, b64url_encode
from vc.errors import MalformedToken, StatusListError

#: Minimum number of entries of a list (16 KiB of bits), as the specification requires.
MIN_ENTRIES = 131_072
#: Largest bitstring we will inflate (1 MiB = 8,388,608 entries).
MAX_DECODED_BYTES = 1 << 20
#: Largest ``encodedList`` string we will look at.
MAX_ENCODED_CHARS = 2_000_000
#: The purposes of our status entries: ``revocation`` (final), ``suspension`` (reversible)
#: and ``refresh`` ("an updated credential is available": this one was superseded).
PURPOSES = ("revocation", "suspension", "refresh")
#: Room in a signed list for everything but ``encodedList``: header, issuer profile, dates,
#: URLs and the signature (a list we sign uses well under 1 KiB of it).
LIST_TOKEN_OVERHEAD_CHARS = 8_192
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
ENTRY_TYPE = "BitstringStatusListEntry"


class BitstringStatusList:
    """A fixed-size list of one-bit statuses."""

    def __init__(self, size: int = MIN_ENTRIES) -> None:
        if size < MIN_ENTRIES or size % 8:
            raise ValueError(f"a status list holds a multiple of 8 entries, at least {MIN_ENTRIES}")
        self._bits = bytearray(size // 8)

    @property
    def size(self) -> int:
        """Number of entries."""
        return len(self._bits) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.size:
            raise StatusListError(f"status index {index} is outside the list (0..{self.size - 1})")
        return index // 8, 0x80 >> (index % 8)

    def get(self, index: int) -> bool:
        """Whether the bit at ``index`` is set."""
        byte, mask = self._locate(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        """Set or clear the bit at ``index``."""
        byte, mask = self._locate(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def apply(self, changes: Iterable[tuple[int, bool]]) -> list[int]:
        """Set each ``(index, value)``; returns the indexes whose bit changed, in order.

        Raises :class:`StatusListError` for an index outside the list (nothing is changed
        then: every index is checked first).
        """
        pending = [(self._locate(index), index, bool(value)) for index, value in changes]
        changed = []
        for (byte, mask), index, value in pending:
            if bool(self._bits[byte] & mask) != value:
                self._bits[byte] ^= mask
                changed.append(index)
        return changed

    def set_indexes(self) -> list[int]:
        """The indexes whose bit is set, ascending (skips zero bytes, so a sparse list is fast)."""
        found: list[int] = []
        for byte, value in enumerate(self._bits):
            if value:
                found.extend(byte * 8 + bit for bit in range(8) if value & (0x80 >> bit))
        return found

    @classmethod
    def with_set(cls, indexes: Iterable[int], size: int = MIN_ENTRIES) -> BitstringStatusList:
        """A list of ``size`` entries with exactly ``indexes`` set."""
        result = cls(size)
        for index in indexes:
            result.set(index)
        return result

    def encode(self) -> str:
        """``u`` + base64url(GZIP(bitstring)), deterministic (GZIP mtime 0, OS byte 255).

        ``gzip.compress`` is not used: its header's OS byte differs between Python
        versions (3 from zlib on 3.11, 255 elsewhere), so the same list would encode
        differently depending on the interpreter. ``GzipFile`` always writes 255.
        """
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as packer:
            packer.write(self._bits)
        return "u" + b64url_encode(buffer.getvalue())

    @classmethod
    def decode(cls, encoded: object, *, max_bytes: int = MAX_DECODED_BYTES) -> BitstringStatusList:
        """Parse an ``encodedList``; raises :class:`StatusListError` if it is unusable."""
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise StatusListError(
                "encodedList must be a multibase base64url string starting with 'u'"
            )
        if len(encoded) > MAX_ENCODED_CHARS:
            raise StatusListError("encodedList is too large")
        try:
            compressed = b64url_decode(encoded[1:])
        except MalformedToken as exc:
            raise StatusListError("encodedList is not base64url") from exc
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP container only
        try:
            raw = inflater.decompress(compressed, max_bytes + 1)
        except zlib.error as exc:
            raise StatusListError("encodedList is not GZIP data") from exc
        if len(raw) > max_bytes or inflater.unconsumed_tail:
            raise StatusListError(f"status list expands beyond {max_bytes} bytes")
        if not inflater.eof:
            raise StatusListError("encodedList GZIP data is truncated")
        if len(raw) * 8 < MIN_ENTRIES:
            raise StatusListError(
                f"status list has {len(raw) * 8} entries, fewer than the minimum {MIN_ENTRIES}"
            )
        result = cls.__new__(cls)
        result._bits = bytearray(raw)
        return result


def _b64_chars(n: int) -> int:
    return -(-4 * n // 3)


def max_list_token_chars(entries: int) -> int:
    """Largest compact token a signed list of ``entries`` entries can be, at any fill.

    A random fill barely compresses, so the bound is the bitstring's size plus GZIP's
    worst-case growth (stored blocks: 5 bytes a 64 KiB block, 18 of header and trailer;
    ``n // 1000 + 64`` covers it), base64url twice (the ``encodedList``, then the JWS
    payload) and :data:`LIST_TOKEN_OVERHEAD_CHARS`. A list of 131,072 entries is at most
    about 40,000 characters, more than twice the credential limit.
    """
    raw = entries // 8
    encoded = 1 + _b64_chars(raw + raw // 1000 + 64)
    return _b64_chars(encoded + LIST_TOKEN_OVERHEAD_CHARS) + LIST_TOKEN_OVERHEAD_CHARS


#: Largest status-list token a verifier accepts: a list of the largest size it will inflate.
MAX_LIST_TOKEN_CHARS = max_list_token_chars(MAX_DECODED_BYTES * 8)


def status_entry(list_url: str, purpose: str, index: int) -> dict[str, str]:
    """The ``credentialStatus`` entry pointing at ``index`` of the list at ``list_url``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


@dataclass(frozen=True)
class StatusPointer:
    """A parsed ``credentialStatus`` entry."""

    purpose: str
    index: int
    list_url: str


def read_entries(credential: dict[str, Any]) -> list[StatusPointer]:
    """The credential's Bitstring status entries; other types are ignored (VC-JOSE-COSE §5.4).

    Raises :class:`StatusListError` if an entry of our type is malformed.
    """
    raw = credential.get("credentialStatus", [])
    entries = raw if isinstance(raw, list) else [raw]
    pointers = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != ENTRY_TYPE:
            continue
        purpose, index, url = (
            entry.get("statusPurpose"),
            entry.get("statusListIndex"),
            entry.get("statusListCredential"),
        )
        if not isinstance(purpose, str) or not isinstance(url, str):
            raise StatusListError("status entry lacks statusPurpose or statusListCredential")
        if (
            not isinstance(index, str)
            or not (index.isascii() and index.isdigit())
            or len(index) > 12
        ):
            raise StatusListError("statusListIndex must be a base-10 string")
        pointers.append(StatusPointer(purpose=purpose, index=int(index), list_url=url))
    return pointers


def list_credential(
    *,
    issuer: str | dict[str, Any],
    list_url: str,
    purpose: str,
    bits: BitstringStatusList,
    valid_from: str,
    valid_until: str,
    ttl_ms: int,
    context: list[str] | None = None,
) -> dict[str, Any]:
    """The ``BitstringStatusListCredential`` payload for one list (sign it like a credential).

    ``context`` is the ``@context`` (default: the VC 2.0 base context alone); an issuer
    whose ``issuer`` object or JWT claims use terms beyond the base context names the
    contexts that define them.
    """
    return {
        "@context": list(context) if context else ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "validUntil": valid_until,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": bits.encode(),
            "ttl": ttl_ms,
        },
    }


@dataclass(frozen=True)
class ParsedList:
    """What a verifier needs from a status list credential."""

    purposes: tuple[str, ...]
    bits: BitstringStatusList
    ttl_ms: int | None


def read_list_credential(payload: dict[str, Any], *, list_url: str) -> ParsedList:
    """Check a (signature-verified) status list credential's shape and decode its list.

    Raises :class:`StatusListError`.
    """
    types = payload.get("type")
    if not isinstance(types, list) or LIST_CREDENTIAL_TYPE not in types:
        raise StatusListError(f"not a {LIST_CREDENTIAL_TYPE}")
    if payload.get("id") not in (None, list_url):
        raise StatusListError("status list id does not match the URL it was fetched from")
    subject = payload.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        raise StatusListError("credentialSubject is not a BitstringStatusList")
    raw_purpose = subject.get("statusPurpose")
    purposes = tuple(raw_purpose) if isinstance(raw_purpose, list) else (raw_purpose,)
    if not purposes or not all(isinstance(p, str) for p in purposes):
        raise StatusListError("status list has no statusPurpose")
    ttl = subject.get("ttl")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
        raise StatusListError("ttl must be a non-negative integer of milliseconds")
    return ParsedList(
        purposes=tuple(str(p) for p in purposes),
        bits=BitstringStatusList.decode(subject.get("encodedList")),
        ttl_ms=ttl,
    )
