"""What the issuer does, independent of HTTP: practitioners, records, eligibility,
issuance, status changes and status lists. Views and the CLI are thin shells over it.

Each public function takes a SQLAlchemy ``Session`` and an :class:`IssuerContext`, does
its work in one transaction and commits, or raises an :class:`~issuer.errors.IssuerError`
and leaves nothing half-written.
"""

from __future__ import annotations

import calendar
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer import audit, qr
from issuer.config import Config
from issuer.errors import ConfigurationError, Conflict, NotEligible, NotFound, ValidationFailed
from issuer.models import ApiToken, Credential, Practitioner, Record, StatusEntry, StatusList
from issuer.programs import Candidate, LicenseFacts, Outcome, Program, RecordFacts, current_license
from issuer.schemas import DATE_FIELDS, PractitionerIn
from keys import KeyStore
from vc import credential as vcc
from vc import jose
from vc.status_list import MIN_ENTRIES, PURPOSES, BitstringStatusList, list_credential, status_entry

ROLES = ("registrar", "certifier", "admin")
#: A status list is signed for this long; it is re-signed when a status changes, or when
#: served and older than STATUS_LIST_RESIGN_AFTER.
STATUS_LIST_VALIDITY = timedelta(days=7)
STATUS_LIST_RESIGN_AFTER = timedelta(days=1)
#: Indexes are drawn at random; a list takes new entries until half full, so a random
#: draw finds a free index quickly, then a new list is started.
STATUS_LIST_FILL = 0.5


@dataclass
class IssuerContext:
    """What the service needs besides the database: settings, rules, keys, clock."""

    config: Config
    programs: dict[str, Program]
    keystore: KeyStore
    signer: jose.Signer
    clock: Callable[[], datetime]

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        return self.clock().astimezone(UTC)

    def issuer_profile(self) -> dict[str, Any]:
        """The ``issuer`` object of our credentials."""
        return {"id": self.config.issuer_url, "type": ["Profile"], "name": self.config.issuer_name}

    def program(self, program_id: str) -> Program:
        """A program by id, or :class:`ValidationFailed`."""
        try:
            return self.programs[program_id]
        except KeyError:
            raise ValidationFailed(
                f"unknown program {program_id!r} (known: {', '.join(sorted(self.programs))})",
                errors=[{"field": "program_id", "detail": "unknown program"}],
            ) from None

    def verify_url(self, credential_id: str) -> str:
        """The link in the QR code: the verifier's page for this credential."""
        return f"{self.config.verifier_url}/v/{credential_id}?issuer={quote(self.config.issuer_url, safe='')}"

    def holder_url(self, credential_id: str) -> str:
        """The holder's page."""
        return f"{self.config.issuer_url}/credentials/{credential_id}"

    def list_url(self, purpose: str, list_id: str) -> str:
        """Public URL of a status list."""
        return f"{self.config.issuer_url}/status/{purpose}/{list_id}"


# --- practitioners and records ------------------------------------------------------


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


def add_record(session: Session, ctx: IssuerContext, practitioner_id: str, body: Any, actor: str) -> Record:
    """Store one record (validated by :mod:`issuer.schemas`) and commit.

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


# --- eligibility ------------------------------------------------------------------------


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


# --- issuance ---------------------------------------------------------------------------


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
        ce_credits=sum(float(r.data["credits"]) for r in candidate.of_kind("ce_credits")),
    )


def _new_list(session: Session, ctx: IssuerContext, purpose: str) -> StatusList:
    now = ctx.now()
    status_list = StatusList(
        id=secrets.token_hex(8),
        purpose=purpose,
        size=MIN_ENTRIES,
        token="",
        etag="",
        signed_at=now,
        created_at=now,
    )
    session.add(status_list)
    session.flush()
    _sign_list(session, ctx, status_list)
    return status_list


def _current_list(session: Session, ctx: IssuerContext, purpose: str) -> StatusList:
    """The newest list of ``purpose`` that is not yet filled to ``STATUS_LIST_FILL``, or a new one.

    Any list with room qualifies (not only the newest), so processes that started new
    lists at the same moment all fill them instead of starting more.
    """
    with_room = session.scalars(
        select(StatusList)
        .outerjoin(StatusEntry, StatusEntry.list_id == StatusList.id)
        .where(StatusList.purpose == purpose)
        .group_by(StatusList.id)
        .having(func.count(StatusEntry.index) < StatusList.size * STATUS_LIST_FILL)
        .order_by(StatusList.created_at.desc(), StatusList.id)
        .limit(1)
    ).first()
    if with_room is not None:
        return with_room
    return _new_list(session, ctx, purpose)


def _allocate(session: Session, ctx: IssuerContext, purpose: str, credential_id: str) -> dict[str, str]:
    """Give the credential a random, never reused index in the current list of ``purpose``."""
    status_list = _current_list(session, ctx, purpose)
    for _ in range(64):
        index = secrets.randbelow(status_list.size)
        if session.get(StatusEntry, (status_list.id, index)) is not None:
            continue
        try:
            with session.begin_nested():
                session.add(
                    StatusEntry(
                        list_id=status_list.id, index=index, purpose=purpose, credential_id=credential_id
                    )
                )
        except IntegrityError:  # taken by a concurrent issuer between our check and insert
            continue
        return status_entry(ctx.list_url(purpose, status_list.id), purpose, index)
    raise Conflict("could not allocate a status list index; try again")


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


def insert_current(session: Session, row: Credential) -> None:
    """Insert ``row`` as the current credential of its (practitioner, program).

    The unique index decides between concurrent issuers (processes, or PostgreSQL
    transactions that both saw the place free): the loser gets :class:`Conflict` with
    the winner's id, and its transaction stays usable (the insert ran in a savepoint).
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = session.scalars(
            select(Credential.id).where(
                Credential.practitioner_id == row.practitioner_id,
                Credential.program_id == row.program_id,
                Credential.is_current.is_(True),
            )
        ).first()
        raise already_holds(winner or "(unknown)") from None


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
    practitioner = get_practitioner(session, practitioner_id)
    now = ctx.now()
    candidate = candidate_of(practitioner, program_id)
    outcomes = program.evaluate(candidate, now.date())
    unmet = [o.as_dict() for o in outcomes if not o.ok]
    if unmet:
        raise NotEligible(
            f"{len(unmet)} requirement(s) not met: " + "; ".join(u["detail"] for u in unmet),
            unmet=unmet,
            requirements=[o.as_dict() for o in outcomes],
        )
    free_current_slot(session, practitioner.id, program_id, now, replacing)
    credential_id = str(uuid.uuid4())
    valid_from = now.replace(microsecond=0)
    valid_until = add_months(valid_from, program.validity_months)
    verify_url = ctx.verify_url(credential_id)
    row = Credential(
        id=credential_id,
        practitioner_id=practitioner.id,
        program_id=program_id,
        kid=ctx.signer.kid,
        token="",
        issued_at=valid_from,
        valid_from=valid_from,
        valid_until=valid_until,
        status="active",
        issued_by=actor,
        qr_png=qr.png(verify_url),
        qr_svg=qr.svg(verify_url),
        is_current=True,
    )
    insert_current(session, row)
    entries = [_allocate(session, ctx, purpose, credential_id) for purpose in PURPOSES]
    data = vcc.CredentialData(
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
        results=_results(program, candidate, now.date()),
        issued_at=valid_from,
        valid_from=valid_from,
        valid_until=valid_until,
        status=entries,
    )
    row.token = jose.sign(vcc.build_claims(data), ctx.signer, typ=vcc.TYP, cty=vcc.CTY)
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


def credential_json(ctx: IssuerContext, row: Credential) -> dict[str, Any]:
    """API form of a credential's metadata and current status."""
    now = ctx.now()
    state = row.status
    if state == "active" and row.valid_until.astimezone(UTC) < now:
        state = "expired"
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
        "jwt_url": f"{ctx.holder_url(row.id)}/jwt",
        "qr_png_url": f"{ctx.holder_url(row.id)}/qr.png",
        "qr_svg_url": f"{ctx.holder_url(row.id)}/qr.svg",
    }


# --- status: revoke, suspend, reinstate, status lists ---------------------------------------


def require_signer(ctx: IssuerContext) -> None:
    """Raise :class:`ConfigurationError` when no key is active (every key retired)."""
    if not ctx.signer.kid:
        raise ConfigurationError("no active signing key: run 'issuer keys rotate'")


def _sign_list(session: Session, ctx: IssuerContext, status_list: StatusList) -> None:
    """Rebuild the list's bits from credential statuses and store the newly signed list."""
    require_signer(ctx)
    flag = {"revocation": "revoked", "suspension": "suspended", "refresh": "superseded"}[status_list.purpose]
    indexes = session.scalars(
        select(StatusEntry.index)
        .join(Credential, Credential.id == StatusEntry.credential_id)
        .where(StatusEntry.list_id == status_list.id, Credential.status == flag)
    ).all()
    now = ctx.now().replace(microsecond=0)
    url = ctx.list_url(status_list.purpose, status_list.id)
    payload = list_credential(
        issuer=ctx.issuer_profile(),
        list_url=url,
        purpose=status_list.purpose,
        bits=BitstringStatusList.with_set(indexes, status_list.size),
        valid_from=vcc.timestamp(now),
        valid_until=vcc.timestamp(now + STATUS_LIST_VALIDITY),
        ttl_ms=ctx.config.status_list_ttl * 1000,
    )
    payload.update(
        iss=ctx.config.issuer_url,
        iat=int(now.timestamp()),
        exp=int((now + STATUS_LIST_VALIDITY).timestamp()),
        jti=url,
    )
    token = jose.sign(payload, ctx.signer, typ=vcc.TYP, cty=vcc.CTY)
    status_list.token = token
    status_list.etag = '"' + hashlib.sha256(token.encode("ascii")).hexdigest()[:32] + '"'
    status_list.signed_at = now


def _lock_lists(session: Session, credential: Credential, purposes: tuple[str, ...]) -> list[StatusList]:
    ids = [e.list_id for e in credential.entries if e.purpose in purposes]
    return list(
        session.scalars(
            select(StatusList).where(StatusList.id.in_(ids)).order_by(StatusList.id)
            .with_for_update(key_share=True)
        )
    )


ACTIONS = {
    # action: (allowed from, new status, lists to re-sign)
    "revoke": (("active", "suspended", "superseded"), "revoked", ("revocation", "suspension", "refresh")),
    "suspend": (("active",), "suspended", ("suspension",)),
    "reinstate": (("suspended",), "active", ("suspension",)),
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
    """Revoke (final), suspend or reinstate a credential and re-sign the affected lists.

    ``category`` is public (one of ``issuer.lifecycle.CATEGORIES``; when absent a ``reason``
    that is itself a category name is taken as the category), ``reason`` and ``note`` are
    private: staff API and audit log only.
    """
    from issuer.lifecycle import CATEGORIES, check_category

    if action == "reinstate":
        category = None
    elif category is None and reason is not None and reason.strip().replace(" ", "_").lower() in CATEGORIES:
        category = reason.strip().replace(" ", "_").lower()
    else:
        category = check_category(category)
    allowed, new_status, purposes = ACTIONS[action]
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
    for status_list in _lock_lists(session, row, purposes):
        _sign_list(session, ctx, status_list)
    session.commit()
    return row


def status_list(session: Session, ctx: IssuerContext, purpose: str, list_id: str) -> StatusList:
    """The stored signed list (read only), or :class:`NotFound`."""
    if purpose not in PURPOSES or len(list_id) > 32:
        raise NotFound("no such status list")
    found = session.get(StatusList, list_id)
    if found is None or found.purpose != purpose:
        raise NotFound("no such status list")
    return found


def signature_getting_old(ctx: IssuerContext, found: StatusList) -> bool:
    """Whether a served list should be re-signed first (its validity runs out in days)."""
    return ctx.now() - found.signed_at.astimezone(UTC) > STATUS_LIST_RESIGN_AFTER


def resign_list(session: Session, ctx: IssuerContext, list_id: str) -> StatusList:
    """Re-sign one list under its lock (unless a concurrent request just did) and commit."""
    locked = session.scalars(
        select(StatusList).where(StatusList.id == list_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    if signature_getting_old(ctx, locked):
        _sign_list(session, ctx, locked)
        session.commit()
    return locked


# --- API tokens -------------------------------------------------------------------------------


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, ctx: IssuerContext, role: str, label: str, actor: str = "cli") -> str:
    """Create a bearer token for ``role``; returns the secret, which is stored only hashed."""
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r} (use one of {', '.join(ROLES)})")
    secret = "bxc_" + secrets.token_urlsafe(32)
    token_id = str(uuid.uuid4())
    session.add(
        ApiToken(
            id=token_id,
            role=role,
            token_hash=_hash_token(secret),
            label=label[:100],
            created_at=ctx.now(),
        )
    )
    audit.record(
        session, at=ctx.now(), actor=actor, action="token_create", target=f"token:{token_id}",
        data={"role": role, "label": label[:100]},
    )
    session.commit()
    return secret


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The token record for a presented secret, or ``None``."""
    if not secret or len(secret) > 200:
        return None
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret))).first()
