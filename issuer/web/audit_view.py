"""The console's window on the audit trail (:mod:`issuer.audit`): entries about one target,
as plain text fields for a template."""

from __future__ import annotations

from sqlalchemy.orm import Session

from issuer import audit
from vc.credential import timestamp


def available() -> bool:
    """Whether an audit trail exists to show (it always does since migration 0003)."""
    return True


def entries(session: Session, target_id: str) -> list[dict[str, str]]:
    """The audit entries about ``target_id``, oldest first, as text fields."""
    rows = []
    for entry in audit.entries_for(session, target_id):
        row = {
            "at": timestamp(entry.at),
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
        }
        if entry.category:
            row["category"] = entry.category
        if entry.reason:
            row["reason"] = entry.reason
        rows.append(row)
    return rows
