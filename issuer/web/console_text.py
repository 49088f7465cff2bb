"""How the console words stored values for people: records as readable fields ("passed",
"—" rather than ``True``, ``None``) and actors as the staff e-mail or the token's label
rather than ``staff:<uuid>`` / ``token:<uuid>``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.store.models import ApiToken, StaffAccount

#: What a missing value looks like.
NOTHING = "—"

#: Record fields that are bookkeeping, shown in their own columns or not at all.
RECORD_META = ("id", "kind", "program_id", "created_at", "created_by", "supersedes", "superseded_by")

#: Words for fields whose name alone reads badly.
FIELD_WORDS = {
    "max_score": "out of",
    "supervised_injections": "supervised injections",
    "live_models": "live models",
    "credit_type": "credit type",
    "physician_name": "physician",
    "physician_license_number": "physician's license",
    "physician_jurisdiction": "physician's jurisdiction",
    "supervisor_credential": "supervisor's credential",
    "checked_on": "checked on",
    "checked_source": "checked at",
    "expires_on": "expires on",
    "completed_on": "completed on",
    "taken_on": "taken on",
}


def field_words(name: str) -> str:
    """A field name as words (``live_models`` -> ``live models``)."""
    return FIELD_WORDS.get(name, name.replace("_", " "))


def shown(value: Any, name: str = "") -> str:
    """``value`` as a person reads it: ``—`` for nothing, ``passed``/``failed`` for the
    ``passed`` field, ``yes``/``no`` for other truth values, lists joined with commas,
    whole floats without ``.0``."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        if name == "passed":
            return "passed" if value else "failed"
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(shown(v) for v in value) or NOTHING
    if isinstance(value, dict):
        return "; ".join(f"{field_words(str(k))}: {shown(v, str(k))}" for k, v in value.items()) or NOTHING
    return str(value)


def record_details(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The fields of a record (API form) worth showing, as (words, value) pairs; empty
    fields are left out, a superseded or superseding record says so."""
    out = [
        (field_words(k), shown(v, k))
        for k, v in record.items()
        if k not in RECORD_META and v is not None and v != ""
    ]
    if record.get("supersedes"):
        out.append(("replaces record", str(record["supersedes"])))
    if record.get("superseded_by"):
        out.append(("replaced by record", str(record["superseded_by"])))
    return out


def actor_names(session: Session, actors: Iterable[str | None]) -> dict[str, str]:
    """Readable names of ``actors`` (``staff:<id>`` -> e-mail, ``token:<id>`` -> ``token
    "<label>"``, ``cli`` -> ``command line``); an unknown one is shown as stored."""
    wanted = {a for a in actors if a}
    staff_ids = [a.partition(":")[2] for a in wanted if a.startswith("staff:")]
    token_ids = [a.partition(":")[2] for a in wanted if a.startswith("token:")]
    names = {a: a for a in wanted}
    if staff_ids:
        for account_id, email in session.execute(
            select(StaffAccount.id, StaffAccount.email).where(StaffAccount.id.in_(staff_ids))
        ):
            names[f"staff:{account_id}"] = email
    if token_ids:
        for token_id, label in session.execute(
            select(ApiToken.id, ApiToken.label).where(ApiToken.id.in_(token_ids))
        ):
            names[f"token:{token_id}"] = f"API token “{label}”"
    if "cli" in names:
        names["cli"] = "command line"
    return names
