"""A practitioner's eligibility for a program: every requirement, met or not; and the
candidates of many practitioners at once, for bulk issuance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.records.practitioners import candidate_from, candidate_of, get_practitioner
from issuer.rules.facts import Candidate, Outcome, RecordFacts
from issuer.store.models import Practitioner, Record


def eligibility(session: Session, ctx: IssuerContext, practitioner_id: str, program_id: str) -> list[Outcome]:
    """Every requirement of ``program_id`` for this practitioner, met or not."""
    program = ctx.program(program_id)
    practitioner = get_practitioner(session, practitioner_id)
    return program.evaluate(candidate_of(practitioner, program_id), ctx.now().date())


def eligibility_json(program_id: str, outcomes: list[Outcome]) -> dict[str, Any]:
    """API form of an eligibility answer."""
    unmet = [o.as_dict() for o in outcomes if not o.ok]
    return {
        "program_id": program_id,
        "eligible": not unmet,
        "requirements": [o.as_dict() for o in outcomes],
        "unmet": unmet,
    }


def candidates_for(
    session: Session, practitioner_ids: Sequence[str], program_id: str
) -> list[tuple[Practitioner, Candidate]]:
    """Each practitioner of ``practitioner_ids`` (unknown ids left out, order kept) with the
    facts eligibility reads for ``program_id``, as :func:`candidate_of` gives them, read with
    two queries for the whole batch instead of one per practitioner."""
    query = select(Practitioner).where(Practitioner.id.in_(list(practitioner_ids)))
    found = {p.id: p for p in session.scalars(query)}
    facts: dict[str, list[RecordFacts]] = {pid: [] for pid in found}
    # Plain rows, no ORM result processing. The date is read as the driver gives it: SQLite's
    # text ('YYYY-MM-DD') is parsed by date.fromisoformat, several times quicker than
    # SQLAlchemy's Date processor for SQLite; PostgreSQL's driver already gives a date.
    completed_on = type_coerce(Record.completed_on, String)
    rows = session.connection().execute(
        select(Record.practitioner_id, Record.kind, completed_on, Record.data, Record.id,
               Record.supersedes_id)
        .where(Record.practitioner_id.in_(list(found)), Record.program_id.in_((program_id, "")))
        .order_by(Record.created_at)
    )
    for pid, kind, on, data, record_id, supersedes in rows:
        day = on if isinstance(on, date) else date.fromisoformat(on)
        facts[pid].append(RecordFacts(kind=kind, on=day, data=data, id=record_id, supersedes=supersedes))
    return [(found[pid], candidate_from(found[pid], facts[pid])) for pid in practitioner_ids if pid in found]
