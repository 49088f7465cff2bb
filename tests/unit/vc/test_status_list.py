"""W3C Bitstring Status List v1.0 (DESIGN §3, standards.md §4): codec, entries, list credential."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vc._json import b64url_decode, b64url_encode
from vc.errors import StatusListError
from vc.status_list import (
    MAX_DECODED_BYTES,
    MIN_ENTRIES,
    BitstringStatusList,
    list_credential,
    read_entries,
    read_list_credential,
    status_entry,
)

#: standards.md §4: 131,072 entries, only index 94567 set (gzip mtime 0); byte 11820 = 0x01.
ONLY_94567 = "uH4sIAAAAAAAC_-3QAQ0AAAwCIO1f2hz_IAIJAAAAAAAAAAAAAADfVAEAAADAOQNQdb5gAEAAAA"
LIST_URL = "https://issuer.example.org/status/revocation/1"
EMPTY = BitstringStatusList().encode()


def _inflate(encoded: str) -> bytes:
    """Independent decoder: strip the multibase 'u', base64url-decode, gunzip."""
    assert encoded[0] == "u"
    return gzip.decompress(b64url_decode(encoded[1:]))


def _encode_raw(raw: bytes) -> str:
    return "u" + b64url_encode(gzip.compress(raw, mtime=0))


def test_spec_example_list_decodes_to_131072_unset_entries(vectors_dir):
    example = json.loads(
        (vectors_dir / "w3c-bitstring-status-list" / "spec-example-status-list-credential.json")
        .read_text("utf-8")
    )
    parsed = read_list_credential(example, list_url=example["id"])
    assert parsed.purposes == ("revocation",)
    assert parsed.ttl_ms is None
    assert parsed.bits.size == 131_072
    assert parsed.bits.encode() == EMPTY  # same bits as our own empty list


def test_standards_vector_with_index_94567_decodes_to_that_single_bit():
    raw = _inflate(ONLY_94567)
    assert len(raw) == 16_384
    assert raw[11_820] == 0x01
    assert sum(1 for b in raw if b) == 1
    decoded = BitstringStatusList.decode(ONLY_94567)
    assert decoded.get(94_567)
    assert not decoded.get(94_566) and not decoded.get(94_568)
    assert decoded.encode() == BitstringStatusList.with_set([94_567]).encode()


def test_our_encoder_produces_the_standards_vector_byte_for_byte():
    assert BitstringStatusList.with_set([94_567]).encode() == ONLY_94567


@pytest.mark.parametrize(
    ("index", "byte", "value"),
    [(0, 0, 0x80), (1, 0, 0x40), (7, 0, 0x01), (8, 1, 0x80), (131_071, 16_383, 0x01)],
)
def test_index_zero_is_the_most_significant_bit_of_byte_zero(index, byte, value):
    raw = _inflate(BitstringStatusList.with_set([index]).encode())
    assert raw[byte] == value
    assert sum(1 for b in raw if b) == 1


@settings(max_examples=60, database=None, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=50))
def test_any_set_of_indexes_survives_encode_then_decode(indexes):
    decoded = BitstringStatusList.decode(BitstringStatusList.with_set(indexes).encode())
    assert decoded.size == MIN_ENTRIES
    raw = _inflate(decoded.encode())
    set_bits = {i for i in range(MIN_ENTRIES) if raw[i // 8] & (0x80 >> (i % 8))}
    assert set_bits == indexes


def test_clearing_a_bit_unsets_only_that_entry():
    bits = BitstringStatusList.with_set([5, 6])
    bits.set(5, False)
    assert not bits.get(5) and bits.get(6)


def test_a_list_shorter_than_131072_entries_is_refused():
    with pytest.raises(StatusListError, match="fewer than the minimum"):
        BitstringStatusList.decode(_encode_raw(bytes(16_383)))
    with pytest.raises(ValueError, match="at least"):
        BitstringStatusList(size=MIN_ENTRIES - 8)
    assert BitstringStatusList.decode(_encode_raw(bytes(16_384))).size == MIN_ENTRIES


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(EMPTY[1:], id="no multibase prefix"),
        pytest.param("z" + EMPTY[1:], id="base58btc prefix"),
        pytest.param("U" + EMPTY[1:], id="uppercase U prefix"),
        pytest.param(None, id="not a string"),
        pytest.param(EMPTY.encode(), id="bytes"),
    ],
)
def test_encoded_list_without_the_u_prefix_is_refused(encoded):
    with pytest.raises(StatusListError, match="starting with 'u'"):
        BitstringStatusList.decode(encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param("u" + b64url_encode(zlib.compress(bytes(16_384))), id="zlib not gzip"),
        pytest.param("u" + b64url_encode(bytes(16_384)), id="raw bitstring"),
        pytest.param("u" + b64url_encode(b"\x1f\x8b\x08garbage"), id="gzip magic then garbage"),
    ],
)
def test_encoded_list_that_is_not_gzip_is_refused(encoded):
    with pytest.raises(StatusListError, match="not GZIP"):
        BitstringStatusList.decode(encoded)


def test_encoded_list_that_is_not_base64url_is_refused():
    with pytest.raises(StatusListError, match="base64url"):
        BitstringStatusList.decode("u" + "A" * 5)


def test_truncated_gzip_is_refused():
    compressed = gzip.compress(bytes(16_384), mtime=0)
    for cut in (len(compressed) // 2, len(compressed) - 4):  # mid-stream, and CRC trailer lost
        with pytest.raises(StatusListError, match="truncated"):
            BitstringStatusList.decode("u" + b64url_encode(compressed[:cut]))


def _gzip_of_zeros(total: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [packer.compress(chunk) for _ in range(total // len(chunk))]
    return b"".join([*parts, packer.flush()])


def test_gzip_bomb_is_refused_without_inflating_it_all():
    bomb = "u" + b64url_encode(_gzip_of_zeros(50 << 20))  # 50 MiB of zeros, ~70 KB encoded
    assert len(bomb) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(StatusListError, match="expands beyond"):
            BitstringStatusList.decode(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_DECODED_BYTES  # a few MiB, never the 50 MiB the bomb expands to


def test_oversized_encoded_list_is_refused_before_decoding():
    with pytest.raises(StatusListError, match="too large"):
        BitstringStatusList.decode("u" + "A" * 2_000_000)


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES, MIN_ENTRIES + 8, 10**12])
def test_index_outside_the_list_is_a_status_list_error(index):
    bits = BitstringStatusList()
    with pytest.raises(StatusListError, match="outside the list"):
        bits.get(index)
    with pytest.raises(StatusListError, match="outside the list"):
        bits.set(index)


def test_status_entry_points_at_one_index_of_one_list():
    assert status_entry(LIST_URL, "revocation", 94_567) == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }


def test_status_entry_refuses_an_unknown_purpose():
    with pytest.raises(ValueError, match="purpose"):
        status_entry(LIST_URL, "message", 1)


def test_read_entries_returns_our_entries_and_ignores_other_status_types():
    entries = [
        status_entry(LIST_URL, "revocation", 7),
        {"type": "StatusList2021Entry", "statusListIndex": "not-a-number"},
        {"type": "TokenStatusList", "idx": 3},
        "not even an object",
        status_entry(LIST_URL.replace("revocation", "suspension"), "suspension", 0),
    ]
    pointers = read_entries({"credentialStatus": entries})
    assert [(p.purpose, p.index, p.list_url) for p in pointers] == [
        ("revocation", 7, LIST_URL),
        ("suspension", 0, LIST_URL.replace("revocation", "suspension")),
    ]


def test_read_entries_accepts_a_single_entry_object_and_no_status_at_all():
    single = read_entries({"credentialStatus": status_entry(LIST_URL, "revocation", 3)})
    assert [p.index for p in single] == [3]
    assert read_entries({}) == []


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(12, id="integer not string"),
        pytest.param("-1", id="negative"),
        pytest.param("1.5", id="decimal"),
        pytest.param("0x10", id="hex"),
        pytest.param("1e3", id="exponent"),
        pytest.param(" 5", id="whitespace"),
        pytest.param("", id="empty"),
        pytest.param("1234567890123", id="13 digits"),
        pytest.param("²", id="superscript two"),
        pytest.param("١٢", id="arabic-indic digits"),
        pytest.param(None, id="missing"),
    ],
)
def test_read_entries_rejects_a_malformed_status_list_index(index):
    entry: dict[str, Any] = status_entry(LIST_URL, "revocation", 1)
    entry["statusListIndex"] = index
    with pytest.raises(StatusListError, match="base-10"):
        read_entries({"credentialStatus": [entry]})


@pytest.mark.parametrize("missing", ["statusPurpose", "statusListCredential"])
def test_read_entries_rejects_an_entry_without_purpose_or_list(missing):
    entry = status_entry(LIST_URL, "revocation", 1)
    del entry[missing]
    with pytest.raises(StatusListError, match="lacks"):
        read_entries({"credentialStatus": [entry]})


def _list_payload(**overrides: Any) -> dict[str, Any]:
    return {
        **list_credential(
            issuer={"id": "https://issuer.example.org", "type": ["Profile"], "name": "Demo"},
            list_url=LIST_URL,
            purpose="revocation",
            bits=BitstringStatusList.with_set([42, 94_567]),
            valid_from="2026-11-02T09:30:15Z",
            valid_until="2026-11-03T09:30:15Z",
            ttl_ms=300_000,
        ),
        **overrides,
    }


def test_list_credential_round_trips_through_read_list_credential():
    payload = _list_payload()
    assert payload["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert payload["credentialSubject"]["type"] == "BitstringStatusList"
    parsed = read_list_credential(payload, list_url=LIST_URL)
    assert parsed.purposes == ("revocation",)
    assert parsed.ttl_ms == 300_000
    assert parsed.bits.get(42) and parsed.bits.get(94_567) and not parsed.bits.get(43)


def _subject(**changes: Any) -> dict[str, Any]:
    return {**_list_payload()["credentialSubject"], **changes}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"type": ["VerifiableCredential"]}, "BitstringStatusListCredential", id="type"),
        pytest.param({"type": "BitstringStatusListCredential"}, "Bitstring", id="type not list"),
        pytest.param({"id": LIST_URL + "0"}, "does not match", id="id mismatch"),
        pytest.param(
            {"credentialSubject": _subject(type="StatusList2021")}, "BitstringStatusList",
            id="subject type",
        ),
        pytest.param({"credentialSubject": "u..."}, "BitstringStatusList", id="subject not object"),
        pytest.param({"credentialSubject": _subject(ttl=-1)}, "ttl", id="negative ttl"),
        pytest.param({"credentialSubject": _subject(ttl="300")}, "ttl", id="string ttl"),
        pytest.param({"credentialSubject": _subject(ttl=1.5)}, "ttl", id="float ttl"),
        pytest.param({"credentialSubject": _subject(ttl=True)}, "ttl", id="boolean ttl"),
        pytest.param(
            {"credentialSubject": _subject(statusPurpose=[])}, "statusPurpose", id="no purpose"
        ),
        pytest.param(
            {"credentialSubject": _subject(encodedList=ONLY_94567[1:])}, "'u'", id="bad list"
        ),
    ],
)
def test_read_list_credential_rejects_a_malformed_list_credential(overrides, message):
    with pytest.raises(StatusListError, match=message):
        read_list_credential(_list_payload(**overrides), list_url=LIST_URL)


def test_ietf_token_status_list_is_a_different_codec_and_is_refused(vectors_dir):
    """IETF TSL is zlib, LSB-first, no multibase prefix: not interchangeable with W3C BSL."""
    vector = json.loads(
        (vectors_dir / "ietf-token-status-list" / "status_list_encoding_json.json")
        .read_text("utf-8")
    )
    lst = vector["status_list"]["lst"]
    assert zlib.decompress(b64url_decode(lst)) == bytes([0xB9, 0xA3])  # LSB-first, zlib
    with pytest.raises(StatusListError, match="starting with 'u'"):
        BitstringStatusList.decode(lst)
    with pytest.raises(StatusListError, match="not GZIP"):
        BitstringStatusList.decode("u" + lst)
