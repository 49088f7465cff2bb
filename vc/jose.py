"""Compact JWS signing and verification for our tokens (RFC 7515, RFC 8725).

Signing goes through the :class:`Signer` protocol (``kid``, ``alg``, ``sign(bytes)``), so
a KMS or HSM can stand in for a local key. Verification uses PyJWT for the cryptography
and adds the checks PyJWT leaves to its caller: the algorithm allow-list comes from the
caller (never from the token), ``typ`` is matched exactly, key-injection headers and
``crit`` are refused, the size and alphabet of the token are bounded, and the JSON is
parsed strictly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from jwt.api_jwk import PyJWK

from vc._json import b64url_decode, b64url_encode, compact_json, strict_json_object
from vc.errors import (
    BadSignature,
    ForbiddenHeader,
    MalformedToken,
    UnknownKey,
    UnsupportedAlgorithm,
    WrongType,
)

#: The algorithms this code base can ever accept; configuration picks a subset.
SUPPORTED_ALGORITHMS = frozenset({"ES256", "EdDSA"})
#: Largest compact token accepted anywhere (a credential is about 3 KB).
MAX_TOKEN_CHARS = 16_384
#: Header parameters we never honour: key injection, URLs to fetch, critical extensions.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit", "zip", "b64"})

_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class Signer(Protocol):
    """Anything that can produce a raw JWS signature with one key and one algorithm."""

    @property
    def kid(self) -> str:
        """Key id put in the JOSE header (an RFC 7638 thumbprint)."""
        ...

    @property
    def alg(self) -> str:
        """The one JOSE algorithm this key is used with."""
        ...

    def sign(self, signing_input: bytes) -> bytes:
        """Return the JWS signature bytes over ``signing_input``."""
        ...


@dataclass(frozen=True)
class Verified:
    """A token whose signature checked out: its header and payload."""

    header: dict[str, Any]
    payload: dict[str, Any]


KeyLookup = Callable[[str], PyJWK | None]


@dataclass(frozen=True, slots=True)
class Signed:
    """A compact JWS just made: its header and payload as the JSON bytes signed, the raw
    signature, and the compact form (their base64url, joined by dots)."""

    header: bytes
    payload: bytes
    signature: bytes
    token: str


def sign_parts(
    payload: Mapping[str, Any], signer: Signer, *, typ: str, cty: str | None = None, kid: str | None = None
) -> Signed:
    """:func:`sign`, with the parts it encoded at hand (for a caller that stores them
    decoded, so that it need not decode the token again)."""
    if signer.alg not in SUPPORTED_ALGORITHMS:
        raise UnsupportedAlgorithm(f"signing algorithm {signer.alg} is not supported")
    header: dict[str, str] = {"alg": signer.alg, "typ": typ}
    if cty is not None:
        header["cty"] = cty
    header["kid"] = signer.kid if kid is None else kid
    header_json, payload_json = compact_json(header), compact_json(dict(payload))
    signing_input = f"{b64url_encode(header_json)}.{b64url_encode(payload_json)}"
    signature = signer.sign(signing_input.encode("ascii"))
    return Signed(header_json, payload_json, signature, f"{signing_input}.{b64url_encode(signature)}")


def sign(
    payload: Mapping[str, Any], signer: Signer, *, typ: str, cty: str | None = None, kid: str | None = None
) -> str:
    """Sign ``payload`` as a compact JWS with header ``alg``, ``typ``, ``cty``, ``kid``.

    ``kid`` defaults to the signer's (an RFC 7638 thumbprint); a profile that wants a
    dereferenceable key URL (Open Badges 3.0) passes that URL instead.
    """
    return sign_parts(payload, signer, typ=typ, cty=cty, kid=kid).token


def split(token: object, *, max_chars: int = MAX_TOKEN_CHARS) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the *unverified* header and payload of a compact JWS, checking only its shape.

    Use it to route a token (which issuer, which key), never to trust what it says.
    ``max_chars`` bounds the token (a credential's limit by default; a status list has its
    own, :func:`vc.status_list.max_list_token_chars`). Raises :class:`MalformedToken`.
    """
    if not isinstance(token, str):
        raise MalformedToken("the credential must be a string")
    if len(token) > max_chars:
        raise MalformedToken(f"the credential is longer than {max_chars} characters")
    if not _COMPACT.fullmatch(token):
        raise MalformedToken("the credential is not a compact JWS (three base64url parts)")
    head, body, _ = token.split(".")
    return strict_json_object(b64url_decode(head)), strict_json_object(b64url_decode(body))


def verify(
    token: object,
    *,
    typ: str,
    algorithms: Collection[str],
    key_for: KeyLookup,
    max_chars: int = MAX_TOKEN_CHARS,
) -> Verified:
    """Verify a compact JWS and return its header and payload.

    ``algorithms`` is the configured allow-list: do **not** derive it from the token.
    ``key_for(kid)`` must look the key up only among the trusted issuer's published keys
    and return ``None`` when there is none. ``max_chars`` is as for :func:`split`. Raises a
    :class:`vc.errors.CredentialError` subclass on any failure.
    """
    header, payload = split(token, max_chars=max_chars)
    alg = header.get("alg")
    allowed = SUPPORTED_ALGORITHMS.intersection(algorithms)
    if not isinstance(alg, str) or alg not in allowed:
        raise UnsupportedAlgorithm(
            f"algorithm {alg!r} is not accepted (accepted: {sorted(allowed)})"
        )
    if header.get("typ") != typ:
        raise WrongType(f"header typ is {header.get('typ')!r}, expected {typ!r}")
    refused = sorted(FORBIDDEN_HEADERS.intersection(header))
    if refused:
        raise ForbiddenHeader(f"header parameters {refused} are not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= 128:
        raise UnknownKey("header has no usable kid")
    key = key_for(kid)
    if key is None:
        raise UnknownKey(f"no published key of the issuer has kid {kid!r}")
    if key.algorithm_name != alg:
        raise UnsupportedAlgorithm(f"key {kid!r} is for {key.algorithm_name}, token says {alg}")
    try:
        jwt.api_jws.PyJWS().decode_complete(str(token), key=key.key, algorithms=[alg])
    except jwt.InvalidSignatureError as exc:
        raise BadSignature("the signature does not match the content") from exc
    except jwt.PyJWTError as exc:
        raise MalformedToken(f"the token could not be checked: {exc}") from exc
    return Verified(header=header, payload=payload)


def jwk_to_key(jwk: Mapping[str, Any]) -> PyJWK:
    """Turn one public JWK into a PyJWT key bound to a single algorithm.

    Raises :class:`UnknownKey` if the JWK is malformed, private, or of an unsupported type.
    """
    if "d" in jwk:
        raise UnknownKey("a published key must not contain private members")
    alg = jwk.get("alg")
    if alg not in SUPPORTED_ALGORITHMS:
        raise UnknownKey(f"published key has unsupported alg {alg!r}")
    try:
        return PyJWK(dict(jwk), algorithm=str(alg))
    except jwt.PyJWTError as exc:
        raise UnknownKey(f"published key is not usable: {exc}") from exc
