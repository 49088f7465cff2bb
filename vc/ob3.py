"""The Open Badges 3.0 profile of a credential (1EdTech "JSON Web Token Proof Format").

The primary form of a credential stays VC-JOSE-COSE ``application/vc+jwt``. Badge backpacks
and 1EdTech's validator want different JWT rules, so the same signed record is also offered
in the OB 3.0 shape, made by :func:`profile_claims` from the primary payload:

- ``@context``: the VC 2.0 base context, then the OB 3.0.3 context, then ours (the order
  1EdTech's validator checks; ours defines the terms the other two lack);
- one ``credentialStatus`` object (the revocation entry: the AchievementCredential schema
  allows one), and the ``refreshService`` of the profile;
- ``credentialSubject.id`` and the JWT claims OB 3.0 requires: ``iss`` = ``issuer.id``,
  ``jti`` = ``id``, ``nbf`` = ``validFrom``, ``sub`` = ``credentialSubject.id``, ``exp`` =
  ``validUntil``;
- header ``{"alg", "typ": "JWT", "kid": <URL that dereferences to one public JWK>}`` and no
  other parameter.

Pure: no Flask, no database, no network.
"""

from __future__ import annotations

import copy
from typing import Any

from vc import jose
from vc.credential import OB_CONTEXT, VC_V2_CONTEXT, context_url, parse_timestamp
from vc.errors import InvalidClaims, UnsupportedAlgorithm

#: ``typ`` of the OB 3.0 JWT ("If present, MUST be set to JWT").
TYP = "JWT"
#: What the route serves: a compact JWS whose payload is the credential.
MEDIA_TYPE = "application/jwt"
#: Algorithms OB 3.0 names (RS256 as the minimum, ES256 accepted by its validator).
ALGORITHMS = ("RS256", "ES256")
#: The revocation entry is the one status entry the profile carries.
STATUS_PURPOSE = "revocation"


def _numeric(value: object, name: str) -> int:
    return int(parse_timestamp(value, name).timestamp())


def profile_claims(
    primary: dict[str, Any], *, subject_id: str, refresh_url: str | None = None
) -> dict[str, Any]:
    """The OB 3.0 JWT claims of a credential, from its primary (``vc+jwt``) payload.

    ``subject_id`` is the URI the profile names the holder by (``credentialSubject.id``
    and ``sub``); ``refresh_url`` the profile's ``refreshService`` id. Raises
    :class:`InvalidClaims` if the payload lacks what the profile needs.
    """
    claims = copy.deepcopy(primary)
    issuer = claims.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or not isinstance(claims.get("id"), str):
        raise InvalidClaims("the credential has no issuer id or no id")
    entries = claims.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries]
    revocation = [e for e in entries if isinstance(e, dict) and e.get("statusPurpose") == STATUS_PURPOSE]
    if len(revocation) != 1:
        raise InvalidClaims("the credential has no single revocation status entry")
    subject = claims.get("credentialSubject")
    if not isinstance(subject, dict):
        raise InvalidClaims("credentialSubject must be an object")
    for claim in ("iat", "exp", "nbf", "sub", "jti", "refreshService"):
        claims.pop(claim, None)
    claims["@context"] = [VC_V2_CONTEXT, OB_CONTEXT, context_url(issuer_id)]
    claims["credentialSubject"] = {"id": subject_id, **subject}
    claims["credentialStatus"] = revocation[0]
    if refresh_url is not None:
        refresh = dict(primary.get("refreshService") or {"type": "1EdTechCredentialRefresh"})
        claims["refreshService"] = {**refresh, "id": refresh_url}
    claims["iss"] = issuer_id
    claims["jti"] = claims["id"]
    claims["sub"] = subject_id
    claims["nbf"] = _numeric(claims.get("validFrom"), "validFrom")
    if "validUntil" in claims:
        claims["exp"] = _numeric(claims["validUntil"], "validUntil")
    return claims


def sign(claims: dict[str, Any], signer: jose.Signer, *, key_url: str) -> str:
    """Sign ``claims`` as an OB 3.0 JWT: header ``alg``, ``typ: JWT``, ``kid`` = ``key_url``.

    Raises :class:`vc.errors.UnsupportedAlgorithm` for a key OB 3.0 does not name.
    """
    if signer.alg not in ALGORITHMS:
        raise UnsupportedAlgorithm(
            f"Open Badges 3.0 JWTs are signed with {' or '.join(ALGORITHMS)}, not {signer.alg}"
        )
    return jose.sign(claims, signer, typ=TYP, kid=key_url)
