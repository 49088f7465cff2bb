"""Practitioners: registration with the license as checked, lookup, the API form, and the
facts eligibility reads of them (:func:`candidate_of`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.errors import NotFound
from issuer.records.schemas import PractitionerIn
from issuer.rules.facts import Candidate, LicenseFacts, RecordFacts, current_license
from issuer.store.models import Practitioner, Record
from vc import credential as vcc


def new_practitioner(body: PractitionerIn, now: datetime, actor: str) -> Practitioner:
    """A practitioner row from a validated registration (not yet added to a session)."""
    lic = body.license
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


def create_practitioner(
    session: Session, ctx: IssuerContext, body: PractitionerIn, actor: str
) -> Practitioner:
    """Register a practitioner with their license as checked."""
    practitioner = new_practitioner(body, ctx.now(), actor)
    session.add(practitioner)
    session.add(initial_license_check(practitioner))
    session.commit()
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
    records = tuple(
        RecordFacts(kind=r.kind, on=r.completed_on, data=r.data, id=r.id, supersedes=r.supersedes_id)
        for r in practitioner.records
        if program_id is None or r.program_id in (program_id, "")
    )
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


def candidate_of(practitioner: Practitioner, program_id: str) -> Candidate:
    """The facts eligibility reads: the license as last checked, and the practitioner's
    records for ``program_id`` and practitioner-wide ones (superseded ones are kept here
    and left out by :meth:`Candidate.of_kind`)."""
    return _facts(practitioner, program_id)
