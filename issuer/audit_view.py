"""The console's window on the audit trail, where one exists.

The audit log itself belongs to ``issuer.audit`` (another change adds it). This adapter
imports it when present and shows nothing otherwise, so the console works with and without
it. It asks the module for the entries about one credential or practitioner through the
first of :data:`FUNCTIONS` it defines, called as ``fn(session, target_id)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

FUNCTIONS = ("entries_for", "events_for", "trail_for", "for_target")
FIELDS = ("at", "created_at", "actor", "action", "target", "target_id", "detail", "reason")


def _finder() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("issuer.audit")
    except ImportError:
        return None
    for name in FUNCTIONS:
        found = getattr(module, name, None)
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


def available() -> bool:
    """Whether an audit trail exists to show."""
    return _finder() is not None


def entries(session: Session, target_id: str) -> list[dict[str, str]] | None:
    """The audit entries about ``target_id`` as plain text fields, or ``None`` if no trail."""
    finder = _finder()
    if finder is None:
        return None
    try:
        found = finder(session, target_id)
    except (TypeError, ValueError, LookupError):
        return None
    rows: list[dict[str, str]] = []
    for item in found or []:
        data = item if isinstance(item, dict) else {f: getattr(item, f, None) for f in FIELDS}
        rows.append({k: str(v) for k, v in data.items() if k in FIELDS and v is not None})
    return rows
