"""One error tree for everything that can be wrong with a token or a status list.

Each class carries a stable ``code`` that an API may return verbatim and that a
verifier maps onto its verdict vocabulary.
"""

from __future__ import annotations

from typing import ClassVar


class CredentialError(Exception):
    """Base of every credential-format error; ``detail`` is safe to show to a person."""

    code: ClassVar[str] = "credential_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MalformedToken(CredentialError):
    """The input is not a compact JWS of the expected shape or size."""

    code = "malformed"


class UnsupportedAlgorithm(CredentialError):
    """The header names an algorithm outside the configured allow-list."""

    code = "unsupported_algorithm"


class WrongType(CredentialError):
    """The header ``typ`` is not the one expected for this kind of token."""

    code = "wrong_typ"


class ForbiddenHeader(CredentialError):
    """The header carries a parameter we refuse (``jku``, ``x5u``, ``jwk``, ``crit``...)."""

    code = "forbidden_header"


class UnknownKey(CredentialError):
    """No key with this ``kid`` is published by the trusted issuer."""

    code = "unknown_kid"


class BadSignature(CredentialError):
    """The signature does not verify with the issuer's key."""

    code = "bad_signature"


class InvalidClaims(CredentialError):
    """The payload is not a credential of the shape this system issues."""

    code = "invalid_claims"


class StatusListError(CredentialError):
    """A status list credential or its bitstring is unusable."""

    code = "status_list_invalid"
