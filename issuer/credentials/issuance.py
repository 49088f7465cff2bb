"""Issuing a credential: only when every requirement is met, and only one current
credential per practitioner and program (a unique index decides between racing issuers).
"""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Integer, LargeBinary, String, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from issuer import audit
from issuer.context import IssuerContext
from issuer.credentials.status_lists import require_signer
from issuer.credentials.status_slots import allocate_each, entry_rows, status_entries
from issuer.errors import ConfigurationError, Conflict, NotEligible, NotFound
from issuer.records.practitioners import read_candidate
from issuer.rules.facts import Candidate
from issuer.rules.programs import Program
from issuer.store import compact
from issuer.store.db import read_phase
from issuer.store.models import Credential, Practitioner, StatusEntry
from vc import credential as vcc
from vc import jose, protocol


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months (the day is clamped to the month's end)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _results(program: Program, candidate: Candidate, today: date) -> vcc.TrainingResults:
    """What the credential reports: totals, and the exam attempts eligibility counted."""
    didactic = candidate.of_kind("didactic")
    hands_on = candidate.of_kind("hands_on")
    best_written = program.counted_exam("written_exam", candidate, today)
    practical = program.counted_exam("practical_exam", candidate, today)
    if best_written is None or practical is None:
        raise ConfigurationError(f"program {program.id} must have written_exam and practical_exam rules")
    return vcc.TrainingResults(
        didactic_hours=sum(float(r.data["hours"]) for r in didactic),
        didactic_modules=tuple(sorted({str(r.data["module"]) for r in didactic})),
        hands_on_hours=sum(float(r.data["hours"]) for r in hands_on),
        supervised_injections=sum(int(r.data["supervised_injections"]) for r in hands_on),
        live_models=sum(int(r.data["live_models"]) for r in hands_on),
        written_exam=vcc.ExamResult(taken_on=best_written.on),
        practical_exam=vcc.ExamResult(taken_on=practical.on, examiner=str(practical.data["examiner"])),
        # creditsEarned: the CME credits this program awards on completion, the same number as
        # the achievement's creditsAvailable and every page; continuing-education credits earned
        # elsewhere are eligibility evidence (a ce_credits rule), not credits of this program.
        ce_credits=program.cme_credits,
    )


def credential_data(
    ctx: IssuerContext,
    program: Program,
    practitioner: Practitioner,
    candidate: Candidate,
    credential_id: str,
    valid_from: datetime,
    valid_until: datetime,
    entries: list[dict[str, str]],
) -> vcc.CredentialData:
    """What a new credential says: the practitioner, the license as checked, the program and
    the results eligibility counted (as of ``valid_from``), with its status ``entries``."""
    return vcc.CredentialData(
        credential_id=credential_id,
        issuer_id=ctx.config.issuer_url,
        issuer_name=ctx.config.issuer_name,
        given_name=practitioner.given_name,
        family_name=practitioner.family_name,
        profession=practitioner.profession,
        license=vcc.LicenseEvidence(
            jurisdiction=candidate.license.jurisdiction,
            number=candidate.license.number,
            status=candidate.license.status,
            expires_on=candidate.license.expires_on,
            checked_on=candidate.license.checked_on,
            checked_source=candidate.license.checked_source,
        ),
        achievement=vcc.Achievement(
            program_id=program.id,
            name=program.name,
            description=program.description,
            criteria=program.criteria,
            accreditation_body=program.accreditation_body,
            accreditation_id=program.accreditation_id,
            cme_credits=program.cme_credits,
        ),
        results=_results(program, candidate, valid_from.date()),
        issued_at=valid_from,
        valid_from=valid_from,
        valid_until=valid_until,
        status=entries,
    )


def current_credential(session: Session, practitioner_id: str, program_id: str, now: datetime
                       ) -> Credential | None:
    """The practitioner's current credential for the program: active or suspended, not
    superseded, within its validity period. The one rule every path asks."""
    return session.scalars(
        select(Credential).where(
            Credential.practitioner_id == practitioner_id,
            Credential.program_id == program_id,
            Credential.is_current.is_(True),
            Credential.valid_until > now,
        )
    ).first()


def already_holds(credential_id: str) -> Conflict:
    """The answer to a request that would make a second current credential."""
    return Conflict(
        f"practitioner already holds credential {credential_id} for this program", credential_id=credential_id
    )


def free_current_slot(
    session: Session, practitioner_id: str, program_id: str, now: datetime, replacing: str | None = None
) -> None:
    """Make room for a new current credential of (practitioner, program), or raise
    :class:`Conflict` naming the one held. An expired holder, or ``replacing`` (the one a
    renewal supersedes), gives up its place; anything else keeps it."""
    holder = session.scalars(
        select(Credential)
        .where(
            Credential.practitioner_id == practitioner_id,
            Credential.program_id == program_id,
            Credential.is_current.is_(True),
        )
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if holder is None:
        return
    if holder.id != replacing and holder.valid_until.astimezone(UTC) > now:
        raise already_holds(holder.id)
    holder.is_current = None
    session.flush()


#: INSERT of a credential that does nothing when its (practitioner, program) already has a
#: current one (the unique index decides), per dialect; built once.
_CREDENTIALS: Table = Credential.__table__  # type: ignore[assignment]
_INSERT_IF_FREE = {
    "postgresql": postgresql.insert(_CREDENTIALS).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(_CREDENTIALS).on_conflict_do_nothing(),
}
#: Every column's value as a parameter, the token given in its stored form
#: (:func:`compact.pack_parts` bytes: made from the parts just signed, not packed again).
_STORED = {column.key: bindparam(column.key, type_=LargeBinary() if column.key == "token" else column.type)
           for column in _CREDENTIALS.columns}
_INSERTED = {dialect: insert.values(_STORED).returning(_CREDENTIALS.c.id)
             for dialect, insert in _INSERT_IF_FREE.items()}
_ENTRIES: Table = StatusEntry.__table__  # type: ignore[assignment]
_INSERT_ENTRIES = _ENTRIES.insert()
#: PostgreSQL: the same INSERT of a credential and, in the same statement (one round trip),
#: its status entries (given as three arrays), which follow it only if it was inserted.
_NEW_CREDENTIAL = (
    postgresql.insert(_CREDENTIALS)
    .values(_STORED)
    .on_conflict_do_nothing()
    .returning(_CREDENTIALS.c.id)
    .cte("new_credential")
)
_INSERTED_WITH_ENTRIES = (
    _ENTRIES.insert()
    .from_select(
        ["list_id", "index", "purpose", "credential_id"],
        select(
            func.unnest(bindparam("entry_list_ids", type_=postgresql.ARRAY(String))),
            func.unnest(bindparam("entry_indexes", type_=postgresql.ARRAY(Integer))),
            func.unnest(bindparam("entry_purposes", type_=postgresql.ARRAY(String))),
            _NEW_CREDENTIAL.c.id,
        ),
    )
    .returning(_ENTRIES.c.credential_id)
)


def insert_if_free(session: Session) -> Any:
    """The INSERT of new credentials that skips any whose place is taken (see :data:`_INSERT_IF_FREE`)."""
    return _INSERT_IF_FREE[session.get_bind().dialect.name]


def insert_current(session: Session, row: Credential) -> None:
    """Insert ``row`` (signed, with its status entries) as the current credential of its
    (practitioner, program) and join it to the session as if loaded; see :func:`_insert`.
    Changes made before (a holder giving up its place) are written first."""
    session.flush()
    values = {column.key: getattr(row, column.key) for column in _CREDENTIALS.columns}
    for entry in row.entries:
        entry.credential_id = row.id
    _insert(session, {**values, "token": compact.pack(row.token)},
            [_entry_values(e.purpose, e.list_id, e.index, row.id) for e in row.entries])
    for key, value in values.items():  # every column set, so none is read back
        setattr(row, key, value)
    for stored in (*row.entries, row):
        make_transient_to_detached(stored)
    session.add(row)


def _entry_values(purpose: str, list_id: str, index: int, credential_id: str) -> dict[str, Any]:
    return {"list_id": list_id, "index": index, "purpose": purpose, "credential_id": credential_id}


def _insert(session: Session, values: dict[str, Any], entries: list[dict[str, Any]],
            now: datetime | None = None) -> None:
    """Insert a credential's row (``values``, every column; the token in its stored form,
    :mod:`issuer.store.compact`) and its status ``entries`` with
    Core on the session's connection (:func:`_insert_if_free`; the ORM's flush of the same
    objects took several times as long).

    The unique index decides between concurrent issuers (processes, or PostgreSQL
    transactions that both saw the place free): the loser gets :class:`Conflict` with
    the winner's id, and its transaction stays usable (the insert did nothing). The status
    slots the loser claimed stay unused. Given ``now``, a holder whose credential has expired
    gives up its place (:func:`free_current_slot`) and the insert is tried once more; so
    the common case, a place that is free, costs no read before the insert.
    """
    if _insert_if_free(session.connection(), values, entries):
        return
    if now is not None:
        free_current_slot(session, values["practitioner_id"], values["program_id"], now)
        if _insert_if_free(session.connection(), values, entries):
            return
    winner = session.scalars(
        select(Credential.id).where(
            Credential.practitioner_id == values["practitioner_id"],
            Credential.program_id == values["program_id"],
            Credential.is_current.is_(True),
        )
    ).first()
    raise already_holds(winner or "(unknown)")


def _insert_if_free(connection: Connection, values: dict[str, Any], entries: list[dict[str, Any]]) -> bool:
    """Insert a credential and its status entries unless its place is taken; whether it was
    inserted. One statement on PostgreSQL, two on SQLite."""
    if connection.dialect.name == "postgresql" and entries:
        arrays = {"entry_list_ids": [entry["list_id"] for entry in entries],
                  "entry_indexes": [entry["index"] for entry in entries],
                  "entry_purposes": [entry["purpose"] for entry in entries]}
        return connection.execute(_INSERTED_WITH_ENTRIES, {**values, **arrays}).first() is not None
    if connection.execute(_INSERTED[connection.dialect.name], values).first() is None:
        return False
    if entries:
        connection.execute(_INSERT_ENTRIES, entries)
    return True


def issue(
    session: Session,
    ctx: IssuerContext,
    practitioner_id: str,
    program_id: str,
    actor: str,
    *,
    replacing: str | None = None,
    commit: bool = True,
) -> Credential:
    """Sign a credential if, and only if, every requirement is met.

    Raises :class:`NotEligible` listing the unmet requirements, :class:`Conflict` if the
    practitioner already holds a current credential for the program (other than
    ``replacing``, the one a renewal supersedes). With ``commit=False`` the caller commits.
    """
    require_signer(ctx)
    program = ctx.program(program_id)
    now = ctx.now()
    with read_phase(session) as reader:  # SQLite: read, check and claim indexes without the write lock
        practitioner, candidate = read_candidate(reader, practitioner_id, program_id)
        outcomes = program.evaluate(candidate, now.date())
        unmet = [o.as_dict() for o in outcomes if not o.ok]
        if unmet:
            raise NotEligible(
                f"{len(unmet)} requirement(s) not met: " + "; ".join(u["detail"] for u in unmet),
                unmet=unmet,
                requirements=[o.as_dict() for o in outcomes],
            )
        slots = allocate_each(session, ctx)
    credential_id = str(uuid.uuid4())
    valid_from = now.replace(microsecond=0)
    valid_until = add_months(valid_from, program.validity_months)
    data = credential_data(ctx, program, practitioner, candidate, credential_id, valid_from, valid_until,
                           status_entries(ctx, slots))
    signed = jose.sign_parts(vcc.build_claims(data), ctx.signer, typ=vcc.TYP, cty=vcc.CTY)
    values: dict[str, Any] = {column.key: None for column in _CREDENTIALS.columns}
    values.update(
        id=credential_id,
        practitioner_id=practitioner.id,
        program_id=program_id,
        kid=ctx.signer.kid,
        token=signed.token,
        issued_at=valid_from,
        valid_from=valid_from,
        valid_until=valid_until,
        status="active",
        issued_by=actor,
        is_current=True,
    )
    if replacing is not None:
        free_current_slot(session, practitioner.id, program_id, now, replacing)
    _insert(session, {**values, "token": compact.pack_parts(signed.header, signed.payload, signed.signature)},
            [_entry_values(*slot, credential_id) for slot in slots], now)
    row = Credential(**values)  # joined to the session as if loaded: nothing is read back
    entries = entry_rows(slots, credential_id)
    set_committed_value(row, "entries", entries)
    for stored in (*entries, row):
        make_transient_to_detached(stored)
    session.add(row)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="issue",
        target=f"credential:{credential_id}",
        category="renewal" if replacing else None,
        data={"kid": row.kid, "program_id": program_id, "practitioner_id": practitioner.id,
              "valid_until": vcc.timestamp(valid_until), **({"replaces": replacing} if replacing else {})},
    )
    if commit:
        session.commit()
    return row


def lock_credential(session: Session, credential_id: str) -> Credential:
    """A credential by id, locked for a change (row lock on PostgreSQL; SQLite's write
    lock is already held), read afresh; or :class:`NotFound`."""
    row = (
        session.scalars(
            select(Credential)
            .where(Credential.id == credential_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).first()
        if len(credential_id) <= 36
        else None
    )
    if row is None:
        raise NotFound(f"no credential {credential_id!r}")
    return row


def get_credential(session: Session, credential_id: str) -> Credential:
    """A credential by id, or :class:`NotFound`."""
    row = session.get(Credential, credential_id) if len(credential_id) <= 36 else None
    if row is None:
        raise NotFound(f"no credential {credential_id!r}")
    return row


def effective_status(row: Credential, now: datetime) -> str:
    """The status a reader is told: ``expired`` for an active credential past its
    ``validUntil``, otherwise the stored one."""
    if row.status == "active" and row.valid_until.astimezone(UTC) < now:
        return "expired"
    return row.status


def credential_json(ctx: IssuerContext, row: Credential) -> dict[str, Any]:
    """API form of a credential's metadata and current status."""
    state = effective_status(row, ctx.now())
    return {
        "id": row.id,
        "practitioner_id": row.practitioner_id,
        "program_id": row.program_id,
        "status": state,
        "status_reason": row.status_reason,
        "status_category": row.status_category,
        "status_note": row.status_note,
        "superseded_by": row.superseded_by,
        "status_changed_at": vcc.timestamp(row.status_changed_at) if row.status_changed_at else None,
        "issued_at": vcc.timestamp(row.issued_at),
        "valid_from": vcc.timestamp(row.valid_from),
        "valid_until": vcc.timestamp(row.valid_until),
        "kid": row.kid,
        "status_entries": [
            {"purpose": e.purpose, "list_url": ctx.list_url(e.purpose, e.list_id), "index": e.index}
            for e in sorted(row.entries, key=lambda e: e.purpose)
        ],
        "holder_url": ctx.holder_url(row.id),
        "verify_url": ctx.verify_url(row.id),
        "jwt_url": ctx.config.issuer_url + protocol.credential_jwt_path(row.id),
        "qr_png_url": f"{ctx.holder_url(row.id)}/qr.png",
        "qr_svg_url": f"{ctx.holder_url(row.id)}/qr.svg",
    }
