"""Revoke (final), suspend and reinstate, with a public category and a private reason;
and the public lifecycle record anyone may read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from issuer import audit
from issuer.context import IssuerContext
from issuer.credentials.issuance import effective_status, get_credential, lock_credential
from issuer.credentials.status_lists import apply_status_changes
from issuer.errors import Conflict, ValidationFailed
from issuer.store.models import Credential
from vc.protocol import CATEGORIES, PublicStatus, Successor


def check_category(category: str | None) -> str:
    """``category`` if known (``unspecified`` when absent); :class:`ValidationFailed` otherwise."""
    if category is None:
        return "unspecified"
    if category not in CATEGORIES:
        raise ValidationFailed(
            f"unknown category {category!r} (use one of {', '.join(CATEGORIES)})",
            errors=[{"field": "category", "detail": "unknown category"}],
        )
    return category


ACTIONS = {
    # action: (allowed from, new status); the bits that change follow from the two statuses
    "revoke": (("active", "suspended", "superseded"), "revoked"),
    "suspend": (("active",), "suspended"),
    "reinstate": (("suspended",), "active"),
}


def change_status(
    session: Session,
    ctx: IssuerContext,
    credential_id: str,
    action: str,
    reason: str | None,
    actor: str,
    *,
    category: str | None = None,
    note: str | None = None,
) -> Credential:
    """Revoke (final), suspend or reinstate a credential, flip its bits that change and
    re-sign only the lists that hold them (revoking an active credential re-signs its
    revocation list alone).

    ``category`` is public (one of :data:`vc.protocol.CATEGORIES`; when absent a ``reason``
    that is itself a category name is taken as the category), ``reason`` and ``note`` are
    private: staff API and audit log only.
    """
    if action == "reinstate":
        category = None
    elif category is None and reason is not None and reason.strip().replace(" ", "_").lower() in CATEGORIES:
        category = reason.strip().replace(" ", "_").lower()
    else:
        category = check_category(category)
    allowed, new_status = ACTIONS[action]
    row = lock_credential(session, credential_id)
    if row.status not in allowed:
        raise Conflict(f"cannot {action} a credential that is {row.status}", current_status=row.status)
    previous = row.status
    row.status = new_status
    if new_status == "revoked":
        row.is_current = None
    row.status_reason = reason
    row.status_category = category
    row.status_note = note
    row.status_changed_at = ctx.now()
    session.flush()
    audit.record(
        session,
        at=ctx.now(),
        actor=actor,
        action=action,
        target=f"credential:{row.id}",
        category=category,
        reason="\n".join(part for part in (reason, note) if part) or None,
        data={"previous_status": previous, "status": new_status},
    )
    apply_status_changes(session, ctx, [(row, previous)])
    session.commit()
    return row


#: Longest chain of successors followed.
MAX_CHAIN = 32


def current_of(session: Session, row: Credential) -> Credential:
    """The credential at the end of ``row``'s chain of successors (``row`` if none)."""
    for _ in range(MAX_CHAIN):
        if row.superseded_by is None:
            return row
        successor = session.get(Credential, row.superseded_by)
        if successor is None:
            return row
        row = successor
    return row


def public_status(session: Session, ctx: IssuerContext, credential_id: str) -> dict[str, Any]:
    """What anyone may know of a credential's lifecycle (:class:`vc.protocol.PublicStatus`):
    status, public category, successor; never the private note or the free-text reason.
    Raises :class:`NotFound`."""
    row = get_credential(session, credential_id)
    successor = None
    if row.status == "superseded":
        current = current_of(session, row)
        successor = Successor(current.id, ctx.holder_url(current.id), ctx.verify_url(current.id))
    return PublicStatus(
        id=row.id,
        status=effective_status(row, ctx.now()),
        category=row.status_category,
        superseded_by=row.superseded_by if row.status == "superseded" else None,
        current=successor,
    ).to_json()
