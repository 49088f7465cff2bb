"""Completion records (didactic modules, hands-on sessions, exams, CE credits, license
checks, supervision): never edited; a correction is a new record that supersedes one.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.errors import Conflict, ValidationFailed
from issuer.records.practitioners import get_practitioner
from issuer.records.schemas import DATE_FIELDS
from issuer.store.models import Practitioner, Record
from vc import credential as vcc


def add_record(session: Session, ctx: IssuerContext, practitioner_id: str, body: Any, actor: str) -> Record:
    """Store one record (validated by :mod:`issuer.records.schemas`) and commit.

    Raises :class:`ValidationFailed` for an unknown program, a future date or a bad
    ``supersedes``; :class:`Conflict` if the superseded record already has a correction.
    """
    practitioner = get_practitioner(session, practitioner_id)
    record = new_record(session, ctx, practitioner, body, actor)
    session.add(record)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"record {body.supersedes} has already been superseded") from None
    return record


def new_record(
    session: Session,
    ctx: IssuerContext,
    practitioner: Practitioner,
    body: Any,
    actor: str,
    import_key: str | None = None,
) -> Record:
    """Check ``body`` against the practitioner's records and build (not add) the row."""
    if body.program_id:
        ctx.program(body.program_id)
    program_id = body.program_id or ""
    date_field = DATE_FIELDS[body.kind]
    on: date = getattr(body, date_field)
    if on > ctx.now().date():
        raise ValidationFailed(
            "a completion date cannot be in the future",
            errors=[{"field": date_field, "detail": "date is in the future"}],
        )
    if body.supersedes is not None:
        _check_supersedes(session, practitioner, body.kind, program_id, body.supersedes)
    data = body.model_dump(mode="json", exclude={"program_id", "kind", "supersedes"}, exclude_none=True)
    return Record(
        id=str(uuid.uuid4()),
        practitioner_id=practitioner.id,
        program_id=program_id,
        kind=body.kind,
        completed_on=on,
        data=data,
        created_at=ctx.now(),
        created_by=actor,
        supersedes_id=body.supersedes,
        import_key=import_key,
    )


def _check_supersedes(
    session: Session, practitioner: Practitioner, kind: str, program_id: str, old_id: str
) -> None:
    old = session.get(Record, old_id)
    problem = None
    if old is None or old.practitioner_id != practitioner.id:
        problem = "no such record for this practitioner"
    elif old.kind != kind or old.program_id != program_id:
        problem = f"a {kind} record can only supersede a {kind} record of the same program"
    if problem:
        raise ValidationFailed(
            f"supersedes: {problem}", errors=[{"field": "supersedes", "detail": problem}]
        )
    taken = session.scalars(select(Record.id).where(Record.supersedes_id == old_id)).first()
    if taken is not None:
        raise Conflict(f"record {old_id} has already been superseded by {taken}", superseded_by=taken)


def record_json(record: Record, superseded_by: str | None = None) -> dict[str, Any]:
    """API form of a record (``program_id`` is null for practitioner-wide records)."""
    return {
        "id": record.id,
        "program_id": record.program_id or None,
        "kind": record.kind,
        **record.data,
        "supersedes": record.supersedes_id,
        "superseded_by": superseded_by,
        "created_at": vcc.timestamp(record.created_at),
        "created_by": record.created_by,
    }


def records_json(practitioner: Practitioner) -> dict[str, list[dict[str, Any]]]:
    """Every record of a practitioner, superseded ones included (with ``superseded_by``):
    ``records`` (evidence) and ``license_checks``."""
    replaced = {r.supersedes_id: r.id for r in practitioner.records if r.supersedes_id}
    out: dict[str, list[dict[str, Any]]] = {"records": [], "license_checks": []}
    for r in practitioner.records:
        out["license_checks" if r.kind == "license_check" else "records"].append(
            record_json(r, replaced.get(r.id))
        )
    return out
