"""The contract between an issuer and a verifier, written once and used by both (and by
the tests' fake issuer): the public URL paths, the verification link a QR code holds, the
public reason categories and their words, and the public lifecycle record of a credential.

Pure: no Flask, no database, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

#: Where an issuer publishes its public keys (RFC 8615 well-known path).
JWKS_PATH = "/.well-known/jwks.json"
#: Every status list (and public lifecycle record) of an issuer lives under this path.
STATUS_PREFIX = "/status/"
#: Longest verification link considered.
MAX_LINK_CHARS = 2048

#: Public reason categories of a revocation or suspension: a key and the words an issuer's
#: staff pick it by (capitalised, as a label). Only these fixed words are ever shown to the
#: public: free text from an issuer never reaches a verifier's page.
CATEGORIES: dict[str, str] = {
    "training_requirements_not_met": "Training requirements were not met",
    "license_action": "Action against the holder's professional license",
    "issued_in_error": "Issued in error",
    "fraud": "Obtained by fraud",
    "holder_request": "At the holder's request",
    "administrative": "Administrative reason",
    "unspecified": "No public reason given",
}
#: States in a public lifecycle record.
PUBLIC_STATES = ("active", "suspended", "revoked", "superseded", "expired")


def category_words(category: object) -> str | None:
    """The public words of a category, in running text ("issued in error"); ``None`` for
    an unknown category and for ``unspecified`` (nothing to say)."""
    if not isinstance(category, str) or category == "unspecified" or category not in CATEGORIES:
        return None
    words = CATEGORIES[category]
    return words[0].lower() + words[1:]


def holder_path(credential_id: str) -> str:
    """The holder's page of a credential, under the issuer's URL."""
    return f"/credentials/{credential_id}"


def credential_jwt_path(credential_id: str) -> str:
    """The credential as issued (``application/vc+jwt``), under the issuer's URL."""
    return f"{holder_path(credential_id)}/jwt"


def refresh_path(credential_id: str) -> str:
    """Path of a credential's ``refreshService``: the current credential of its chain."""
    return f"/credentials/{credential_id}/refresh"


def ob3_path(credential_id: str) -> str:
    """Path of a credential's Open Badges 3.0 profile (1EdTech JWT rules)."""
    return f"/credentials/{credential_id}/ob3"


def key_path(kid: str) -> str:
    """Path of one public JWK (the OB 3.0 ``kid`` URL dereferences to it)."""
    return f"/keys/{kid}"


def public_status_path(credential_id: str) -> str:
    """The public lifecycle record of a credential, under the issuer's URL."""
    return f"{STATUS_PREFIX}credentials/{credential_id}"


def status_list_path(purpose: str, list_id: str) -> str:
    """A signed Bitstring Status List credential, under the issuer's URL."""
    return f"{STATUS_PREFIX}{purpose}/{list_id}"


def verify_link(verifier_url: str, issuer_url: str, credential_id: str) -> str:
    """The link a QR code holds: ``<verifier>/v/<id>?issuer=<url-encoded issuer URL>``."""
    return f"{verifier_url}/v/{credential_id}?issuer={quote(issuer_url, safe='')}"


def parse_verify_link(text: str) -> tuple[str, str | None] | None:
    """The credential id and ``issuer`` parameter of a verification link, or ``None``.

    Any verifier's base is accepted (the id and issuer are what matter); the id is returned
    unchecked, the issuer ``None`` unless given exactly once.
    """
    if len(text) > MAX_LINK_CHARS:
        return None
    try:
        parts = urlsplit(text)
        query = parse_qs(parts.query, keep_blank_values=True, max_num_fields=10)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    _, sep, credential_id = parts.path.rpartition("/v/")
    if not sep or not credential_id or "/" in credential_id:
        return None
    issuers = query.get("issuer", [])
    return credential_id, issuers[0] if len(issuers) == 1 else None


def parse_holder_url(text: str) -> tuple[str, str] | None:
    """The issuer URL and credential id of a holder's page link
    (``<issuer URL>/credentials/<id>``, as an issuer serves it), or ``None``.

    The issuer URL is everything before ``/credentials/`` (query and fragment dropped); the
    id is returned unchecked. Whether that issuer is trusted is for the caller to decide.
    """
    if len(text) > MAX_LINK_CHARS:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    base, sep, credential_id = parts.path.removesuffix("/").rpartition(holder_path(""))
    if not sep or not credential_id or "/" in credential_id:
        return None
    return f"{parts.scheme}://{parts.netloc}{base}", credential_id


@dataclass(frozen=True)
class Successor:
    """The credential that replaced a superseded one."""

    id: str
    holder_url: str
    verify_url: str


@dataclass(frozen=True)
class PublicStatus:
    """What anyone may know of a credential's lifecycle (``GET /status/credentials/<id>``):
    never a private reason or note."""

    id: str
    status: str
    category: str | None = None
    superseded_by: str | None = None
    current: Successor | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body an issuer serves."""
        public_reason = self.status in ("revoked", "suspended")
        return {
            "id": self.id,
            "status": self.status,
            "category": self.category if public_reason else None,
            "category_text": CATEGORIES.get(self.category or "") if public_reason else None,
            "superseded_by": self.superseded_by,
            "current": None if self.current is None else {
                "id": self.current.id, "holder_url": self.current.holder_url,
                "verify_url": self.current.verify_url,
            },
        }

    @classmethod
    def from_json(cls, body: object, credential_id: str) -> PublicStatus | None:
        """Read an issuer's answer about ``credential_id``; ``None`` if it is not one (wrong
        id, unknown state, wrong types). Unknown categories are dropped, not shown."""
        if not isinstance(body, dict) or body.get("id") != credential_id:
            return None
        status, category, current = body.get("status"), body.get("category"), body.get("current")
        if status not in PUBLIC_STATES:
            return None
        successor = None
        if isinstance(current, dict) and all(
            isinstance(current.get(k), str) for k in ("id", "holder_url", "verify_url")
        ):
            successor = Successor(current["id"], current["holder_url"], current["verify_url"])
        superseded_by = body.get("superseded_by")
        return cls(
            id=credential_id,
            status=str(status),
            category=category if isinstance(category, str) and category in CATEGORIES else None,
            superseded_by=superseded_by if isinstance(superseded_by, str) else None,
            current=successor,
        )
