"""The stored form of a signed credential (:mod:`issuer.store.compact`) gives back exactly
the string it was given; canonical compact JWS take version 1, anything else version 0."""

from __future__ import annotations

import base64
import zlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import keys
from issuer.store import compact
from vc import credential as vcc
from vc import jose

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


#: Three parts of the base64url alphabet, of any length: canonical or not (a length of 1
#: mod 4, stray low bits in the last character).
jws_shaped = st.tuples(*[st.text(B64URL, max_size=40)] * 3).map(".".join)
#: Three parts that are base64url of some bytes (what signing makes).
canonical = st.tuples(*[st.binary(max_size=300).map(b64url)] * 3).map(".".join)
#: Near misses: padding, the standard alphabet, whitespace, a fourth part, non-ASCII.
near_misses = st.tuples(st.text(B64URL + "=+/ .\n\x00é", max_size=60), canonical).map("".join)


@given(st.one_of(jws_shaped, canonical, near_misses, st.text()))
@example("")
@example("..")
@example("a.b.c")  # "a" is not base64 of anything
@example("AA.AA.AB")  # "AB" decodes to what "AA" does: not canonical
@example("AA==.AA.AA")
@example("e30.e30.")
def test_any_string_reads_back_exactly(token: str) -> None:
    assert compact.unpack(compact.pack(token)) == token


@given(canonical)
def test_canonical_compact_jws_take_version_1(token: str) -> None:
    assert compact.pack(token)[0] == compact.JWS


@pytest.mark.parametrize("token", ["", "AA.AA.AB", "AA==.AA.AA", "a.b", "a.b.c.d", "e30.e30.e30 ",
                                   "é.e30.e30"])
def test_what_version_1_would_alter_is_stored_as_text(token: str) -> None:
    packed = compact.pack(token)
    assert packed[0] == compact.TEXT and zlib.decompress(packed[1:]) == token.encode()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_signed_credential_takes_a_third_of_its_text(alg: str) -> None:
    """A real token (claims of the shape we issue) packs to version 1 and reads back the
    same; the signature is stored raw after the zlib stream."""
    signer = keys.generate(alg)
    claims = {"iss": "http://127.0.0.1:5000", "sub": "urn:uuid:1", "nbf": 1, "exp": 2,
              "vc": {"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "Botox " * 200}}
    token = jose.sign(claims, signer, typ=vcc.TYP, cty=vcc.CTY)
    packed = compact.pack(token)
    assert packed[0] == compact.JWS and compact.unpack(packed) == token
    assert len(packed) < len(token) / 3
    assert packed.endswith(base64.urlsafe_b64decode(token.split(".")[2] + "=="))


@pytest.mark.parametrize("damaged", [b"", b"\x02abc", b"\x01not zlib", b"\x00not zlib",
                                     b"\x01" + zlib.compress(b"\x00\x00\x00\x09{}"),
                                     b"\x01" + zlib.compress(b"\x00\x00\x00\x02{}\x00\x00\x00\x02{}")[:-3]])
def test_damaged_or_unknown_bytes_are_refused(damaged: bytes) -> None:
    with pytest.raises(ValueError):
        compact.unpack(damaged)
