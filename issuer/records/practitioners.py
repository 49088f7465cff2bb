"""Practitioners: registration with the license as checked, lookup, the API form, and the
facts eligibility reads of them (:func:`candidate_of`).

A license (jurisdiction + number, :func:`license_key`) identifies a practitioner: the API
and the CSV import find people by it, and a unique constraint refuses a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, String, Table, and_, bindparam, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.errors import Conflict, NotFound
from issuer.records.schemas import PractitionerIn, refuse_future_check
from issuer.rules.facts import Candidate, LicenseFacts, RecordFacts, current_license
from issuer.store.models import Practitioner, Record
from vc import credential as vcc


def new_practitioner(body: PractitionerIn, now: datetime, actor: str) -> Practitioner:
    """A practitioner row from a validated registration (not yet added to a session);
    :class:`ValidationFailed` if the license was checked after ``now``."""
    lic = body.license
    refuse_future_check(lic, now.date())
    return Practitioner(
        id=str(uuid.uuid4()),
        given_name=body.given_name,
        family_name=body.family_name,
        email=body.email,
        profession=body.profession,
        license_number=lic.number,
        license_jurisdiction=lic.jurisdiction,
        license_status=lic.status,
        license_expires_on=lic.expires_on,
        license_checked_on=lic.checked_on,
        license_checked_source=lic.checked_source,
        created_at=now,
        created_by=actor,
    )


LicenseKey = tuple[str, str]


def license_key(jurisdiction: str, number: str) -> LicenseKey:
    """The identity of a practitioner: their license's (jurisdiction, number)."""
    return (jurisdiction, number)


def by_licenses(session: Session, keys: Iterable[LicenseKey]) -> dict[LicenseKey, Practitioner]:
    """The practitioners registered with any of ``keys``, by license."""
    wanted = set(keys)
    if not wanted:
        return {}
    found: dict[LicenseKey, Practitioner] = {}
    numbers = sorted({number for _, number in wanted})
    for start in range(0, len(numbers), 500):
        query = select(Practitioner).where(Practitioner.license_number.in_(numbers[start : start + 500]))
        for p in session.scalars(query):
            key = license_key(p.license_jurisdiction, p.license_number)
            if key in wanted:
                found[key] = p
    return found


def already_registered(existing: Practitioner) -> Conflict:
    """The answer to a registration of a license that is already on file."""
    return Conflict(
        f"license {existing.license_jurisdiction} {existing.license_number} is already registered "
        f"to practitioner {existing.id}",
        practitioner_id=existing.id,
    )


def create_practitioner(
    session: Session, ctx: IssuerContext, body: PractitionerIn, actor: str
) -> Practitioner:
    """Register a practitioner with their license as checked. Raises :class:`Conflict`
    (``practitioner_id``: the existing one) if the license is already registered; the
    unique constraint decides between concurrent registrations."""
    key = license_key(body.license.jurisdiction, body.license.number)
    existing = by_licenses(session, [key]).get(key)
    if existing is not None:
        raise already_registered(existing)
    practitioner = new_practitioner(body, ctx.now(), actor)
    session.add(practitioner)
    session.add(initial_license_check(practitioner))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = by_licenses(session, [key]).get(key)
        if winner is None:
            raise
        raise already_registered(winner) from None
    return practitioner


def initial_license_check(practitioner: Practitioner) -> Record:
    """The registration's license check, kept as the first ``license_check`` record."""
    return Record(
        id=str(uuid.uuid4()),
        practitioner_id=practitioner.id,
        program_id="",
        kind="license_check",
        completed_on=practitioner.license_checked_on,
        data={
            "status": practitioner.license_status,
            "expires_on": practitioner.license_expires_on.isoformat(),
            "checked_on": practitioner.license_checked_on.isoformat(),
            "checked_source": practitioner.license_checked_source,
        },
        created_at=practitioner.created_at,
        created_by=practitioner.created_by,
    )


def get_practitioner(session: Session, practitioner_id: str) -> Practitioner:
    """A practitioner by id, or :class:`NotFound`."""
    practitioner = session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise NotFound(f"no practitioner {practitioner_id!r}")
    return practitioner


def practitioner_json(p: Practitioner) -> dict[str, Any]:
    """API form of a practitioner, with the license as last checked."""
    lic = license_of(p)
    return {
        "id": p.id,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "email": p.email,
        "profession": p.profession,
        "license": {
            "number": lic.number,
            "jurisdiction": lic.jurisdiction,
            "status": lic.status,
            "expires_on": lic.expires_on.isoformat(),
            "checked_on": lic.checked_on.isoformat(),
            "checked_source": lic.checked_source,
        },
        "created_at": vcc.timestamp(p.created_at),
        "created_by": p.created_by,
    }


def _facts(practitioner: Practitioner, program_id: str | None) -> Candidate:
    return candidate_from(practitioner, (
        RecordFacts(kind=r.kind, on=r.completed_on, data=r.data, id=r.id, supersedes=r.supersedes_id)
        for r in practitioner.records
        if program_id is None or r.program_id in (program_id, "")
    ))


def candidate_from(practitioner: Practitioner, facts: Iterable[RecordFacts]) -> Candidate:
    """The candidate of ``practitioner`` with these records (in order of entry), loaded by
    the caller: :func:`candidate_of` for one practitioner, a batch query for many."""
    records = tuple(facts)
    registered = LicenseFacts(
        number=practitioner.license_number,
        jurisdiction=practitioner.license_jurisdiction,
        status=practitioner.license_status,
        expires_on=practitioner.license_expires_on,
        checked_on=practitioner.license_checked_on,
        checked_source=practitioner.license_checked_source,
    )
    bare = Candidate(profession=practitioner.profession, license=registered, records=records)
    return Candidate(
        profession=practitioner.profession,
        license=current_license(registered, bare.current()),
        records=records,
    )


def license_of(practitioner: Practitioner) -> LicenseFacts:
    """The practitioner's license as last checked (latest current ``license_check``)."""
    return _facts(practitioner, None).license


_PEOPLE: Table = Practitioner.__table__  # type: ignore[assignment]
_RECORDS: Table = Record.__table__  # type: ignore[assignment]
#: One practitioner and their records for a program (and practitioner-wide ones) in one
#: statement, records in order of entry. ``completed_on`` is read as the driver gives it
#: (SQLite's text is parsed by ``date.fromisoformat``, quicker than SQLAlchemy's processor).
_WITH_RECORDS = (
    select(*_PEOPLE.columns, _RECORDS.c.kind, type_coerce(_RECORDS.c.completed_on, String).label("on"),
           _RECORDS.c.data, _RECORDS.c.id.label("record_id"), _RECORDS.c.supersedes_id)
    .select_from(_PEOPLE.outerjoin(_RECORDS, and_(
        _RECORDS.c.practitioner_id == _PEOPLE.c.id,
        _RECORDS.c.program_id.in_([bindparam("program_id"), ""]))))
    .where(_PEOPLE.c.id == bindparam("practitioner_id"))
    .order_by(_RECORDS.c.created_at)
)


def read_candidate(connection: Connection, practitioner_id: str, program_id: str
                   ) -> tuple[Practitioner, Candidate]:
    """A practitioner (detached: its columns only) and the facts eligibility reads for
    ``program_id`` (as :func:`candidate_of` gives them), read with one statement; or
    :class:`NotFound`. The path of a single issuance."""
    rows = connection.execute(
        _WITH_RECORDS, {"practitioner_id": practitioner_id, "program_id": program_id}).all()
    if not rows:
        raise NotFound(f"no practitioner {practitioner_id!r}")
    person = Practitioner(**{column.key: getattr(rows[0], column.key) for column in _PEOPLE.columns})
    facts = [
        RecordFacts(kind=row.kind, on=row.on if isinstance(row.on, date) else date.fromisoformat(row.on),
                    data=row.data, id=row.record_id, supersedes=row.supersedes_id)
        for row in rows if row.record_id is not None
    ]
    return person, candidate_from(person, facts)


def candidate_of(practitioner: Practitioner, program_id: str) -> Candidate:
    """The facts eligibility reads: the license as last checked, and the practitioner's
    records for ``program_id`` and practitioner-wide ones (superseded ones are kept here
    and left out by :meth:`Candidate.of_kind`)."""
    return _facts(practitioner, program_id)
