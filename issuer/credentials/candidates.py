"""A practitioner's eligibility for a program: every requirement, met or not; and the
candidates of many practitioners at once, for bulk issuance."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple
from typing import cast as cast_type

from sqlalchemy import String, Text, cast, select, type_coerce
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


#: The practitioner columns a candidate and its credential read (:class:`Rows`), in this order.
PERSON_COLUMNS = ("id", "given_name", "family_name", "profession", "license_number", "license_jurisdiction",
                  "license_status", "license_expires_on", "license_checked_on", "license_checked_source")
_PERSON = [type_coerce(getattr(Practitioner, name), String) for name in PERSON_COLUMNS]
#: A record as :class:`Rows` holds it: practitioner id, kind, completion day, data (JSON
#: text), id, id of the record it supersedes.
_RECORD = [Record.practitioner_id, Record.kind, type_coerce(Record.completed_on, String),
           cast(Record.data, Text), Record.id, Record.supersedes_id]


@dataclass(frozen=True)
class Rows:
    """Practitioners and their records for one program, as the driver gives them: plain
    tuples, not ORM objects, with days as SQLite's text (PostgreSQL's driver gives dates) and
    record data as JSON text. Cheap to read and to send to another process;
    :func:`candidates_from` makes the candidates of them, wherever it runs.

    ``ids`` are the practitioners asked for, in order; ``people`` has the columns of
    :data:`PERSON_COLUMNS` (unknown ids have no row); ``records`` are in order of entry.
    """

    ids: list[str]
    people: list[tuple[Any, ...]]
    records: list[tuple[Any, ...]]


def rows_for(session: Session, practitioner_ids: Sequence[str], program_id: str) -> Rows:
    """The :class:`Rows` of ``practitioner_ids`` for ``program_id``: two queries for the
    whole batch, no ORM objects, no JSON parsed."""
    ids = list(practitioner_ids)
    conn = session.connection()
    people = [tuple(row) for row in conn.execute(select(*_PERSON).where(Practitioner.id.in_(ids)))]
    records = [tuple(row) for row in conn.execute(
        select(*_RECORD)
        .where(Record.practitioner_id.in_([p[0] for p in people]), Record.program_id.in_((program_id, "")))
        .order_by(Record.created_at)
    )]
    return Rows(ids=ids, people=people, records=records)


def _day(value: date | str) -> date:
    # SQLite's text ('YYYY-MM-DD') is parsed by date.fromisoformat, several times quicker than
    # SQLAlchemy's Date processor for SQLite; PostgreSQL's driver already gives a date.
    return value if isinstance(value, date) else date.fromisoformat(value)


class Person(NamedTuple):
    """A practitioner as :func:`candidates_from` gives it: the columns of
    :data:`PERSON_COLUMNS`, days parsed. A tuple, not an ORM object (a tenth of the cost);
    it has every attribute :func:`candidate_from` and :func:`issuance.credential_data` read."""

    id: str
    given_name: str
    family_name: str
    profession: str
    license_number: str
    license_jurisdiction: str
    license_status: str
    license_expires_on: date
    license_checked_on: date
    license_checked_source: str

    def as_practitioner(self) -> Practitioner:
        """This person where a :class:`Practitioner` is read (its columns, not its relations)."""
        return cast_type(Practitioner, self)


def _json_values(texts: list[str]) -> list[Any]:
    """Each of ``texts`` (JSON as the database stored it) parsed, in one call of the parser
    (parsing many small documents one call each costs about twice as much)."""
    values = json.loads("[" + ",".join(texts) + "]") if texts else []
    if not isinstance(values, list) or len(values) != len(texts):  # a text that was not one value
        return [json.loads(text) for text in texts]
    return values


def candidates_from(rows: Rows) -> list[tuple[Person, Candidate]]:
    """Each practitioner of ``rows.ids`` that has a row (order kept) with the facts
    eligibility reads, as :func:`candidate_of` gives them. Pure: runs in any process."""
    found: dict[str, Person] = {}
    for pid, given, family, profession, number, jurisdiction, status, expires, checked, source in rows.people:
        found[pid] = Person(pid, given, family, profession, number, jurisdiction, status, _day(expires),
                            _day(checked), source)
    facts: dict[str, list[RecordFacts]] = {pid: [] for pid in found}
    datas = _json_values([row[3] for row in rows.records])
    days: dict[date | str, date] = {}  # records share their days: each is parsed once
    for (pid, kind, on, _, record_id, supersedes), data in zip(rows.records, datas, strict=True):
        day = days.get(on)
        if day is None:
            day = days[on] = _day(on)
        facts[pid].append(RecordFacts(kind=kind, on=day, data=data, id=record_id, supersedes=supersedes))
    return [(found[pid], candidate_from(found[pid].as_practitioner(), facts[pid]))
            for pid in rows.ids if pid in found]


def candidates_for(
    session: Session, practitioner_ids: Sequence[str], program_id: str
) -> list[tuple[Person, Candidate]]:
    """Each practitioner of ``practitioner_ids`` (unknown ids left out, order kept) with the
    facts eligibility reads for ``program_id``, as :func:`candidate_of` gives them, read with
    two queries for the whole batch instead of one per practitioner (:func:`rows_for`,
    :func:`candidates_from`). The practitioners are :class:`Person` tuples, not the session's objects."""
    return candidates_from(rows_for(session, practitioner_ids, program_id))
