"""The Open Badges 3.0 profile of an issued credential, its refresh chain and the public key
an OB 3.0 ``kid`` URL names.

The profile is made on request from the stored, signed ``vc+jwt`` (the same record), and
signed with the active key; nothing is stored, so it always names the key set of today.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.credentials.issuance import get_credential
from issuer.credentials.signing_keys import published_jwks
from issuer.credentials.status_lists import require_signer
from issuer.errors import ConfigurationError, NotFound
from issuer.store.models import Credential
from vc import jose, ob3, protocol
from vc.errors import InvalidClaims, UnsupportedAlgorithm

#: Longest supersession chain followed (a chain is one renewal a validity period).
MAX_CHAIN = 64


def subject_id(issuer_url: str, practitioner_id: str) -> str:
    """The URI a profile names its holder by: stable for one practitioner at one issuer,
    and not the internal practitioner id itself (a name-based UUID of it)."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{issuer_url}/practitioners/{practitioner_id}"))


def current_of(session: Session, credential_id: str) -> Credential:
    """The current credential of ``credential_id``'s chain: itself, or the last credential
    that superseded it. Raises :class:`NotFound` for an unknown id."""
    row = get_credential(session, credential_id)
    for _ in range(MAX_CHAIN):
        if row.superseded_by is None:
            return row
        row = get_credential(session, row.superseded_by)
    return row


def profile_token(session: Session, ctx: IssuerContext, credential_id: str) -> str:
    """The OB 3.0 JWT of a credential (see :mod:`vc.ob3`). Raises :class:`NotFound` for
    an unknown credential or one without a revocation entry, and
    :class:`issuer.errors.ConfigurationError` without an active ES256 key."""
    require_signer(ctx)
    row = get_credential(session, credential_id)
    _, payload = jose.split(row.token)
    base = ctx.config.issuer_url
    try:
        claims = ob3.profile_claims(
            payload,
            subject_id=subject_id(base, row.practitioner_id),
            refresh_url=base + protocol.ob3_path(row.id) + "/refresh",
        )
    except InvalidClaims as exc:
        raise NotFound(f"credential {credential_id!r} has no Open Badges 3.0 profile: {exc}") from exc
    try:
        return ob3.sign(claims, ctx.signer, key_url=base + protocol.key_path(ctx.signer.kid))
    except UnsupportedAlgorithm as exc:
        raise ConfigurationError(str(exc)) from exc


def public_jwk(session: Session, ctx: IssuerContext, kid: str) -> dict[str, Any]:
    """The one published public JWK with this ``kid``; :class:`NotFound` otherwise (a
    retired key no longer needed, a compromised one, or an unknown id)."""
    for key in published_jwks(session, ctx)["keys"]:
        if key.get("kid") == kid:
            return key
    raise NotFound(f"no published key {kid!r}")
