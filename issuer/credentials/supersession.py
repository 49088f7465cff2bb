"""Renewal, re-issue and correction: a new credential that supersedes the old one, whose
``refresh`` status bit is then set ("an updated credential is available").
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer import audit
from issuer.context import IssuerContext
from issuer.credentials.issuance import insert_current, issue, lock_credential
from issuer.credentials.status_lists import apply_status_changes
from issuer.credentials.status_slots import allocate_each, entry_rows, status_entries
from issuer.errors import ConfigurationError, Conflict
from issuer.keyring import NoActiveKey
from issuer.records.practitioners import get_practitioner
from issuer.store.models import Credential, Practitioner
from vc import credential as vcc
from vc import jose
from vc.credential import PROFESSIONS

#: A credential whose status changed and its status before (``None``: issued just now).
Change = tuple[Credential, str | None]


def _supersede(session: Session, ctx: IssuerContext, old: Credential, new: Credential, actor: str,
               why: str, reason: str | None) -> Change:
    """Mark ``old`` superseded by ``new``; returns ``(old, its status before)`` for
    :func:`apply_status_changes`, which the caller runs."""
    previous = old.status
    old.status = "superseded"
    old.is_current = None
    old.superseded_by = new.id
    old.status_category = None
    old.status_note = reason
    old.status_reason = why
    old.status_changed_at = ctx.now()
    audit.record(session, at=ctx.now(), actor=actor, action="supersede", target=f"credential:{old.id}",
                 category=why, reason=reason,
                 data={"superseded_by": new.id, "previous_status": previous, "kid": old.kid})
    return old, previous


def renew(
    session: Session, ctx: IssuerContext, credential_id: str, actor: str, reason: str | None = None
) -> Credential:
    """Issue a new credential for the same practitioner and program (eligibility checked
    again, a new validity period) that supersedes ``credential_id``.

    Raises :class:`NotEligible`, :class:`NotFound`, :class:`Conflict` (revoked or already
    superseded).
    """
    old = lock_credential(session, credential_id)
    if old.status not in ("active",):
        raise Conflict(f"cannot renew a credential that is {old.status}", current_status=old.status)
    new = issue(
        session, ctx, old.practitioner_id, old.program_id, actor, replacing=old.id, commit=False
    )
    change = _supersede(session, ctx, old, new, actor, "renewal", reason)
    session.flush()
    apply_status_changes(session, ctx, [change])  # the new one is active: no bit of its own
    session.commit()
    return new


def _subject_from(practitioner: Practitioner, subject: dict[str, Any]) -> dict[str, Any]:
    """The old credential subject with the practitioner's current name, profession, license."""
    updated = copy.deepcopy(subject)
    full_name = f"{practitioner.given_name} {practitioner.family_name}"
    updated.update(
        name=full_name,
        givenName=practitioner.given_name,
        familyName=practitioner.family_name,
        profession=practitioner.profession,
        professionName=PROFESSIONS.get(practitioner.profession, practitioner.profession),
    )
    for identifier in updated.get("identifier", []):
        if isinstance(identifier, dict) and identifier.get("identityType") == "name":
            identifier["identityHash"] = full_name
    return updated


def _reissue_one(session: Session, ctx: IssuerContext, old: Credential, actor: str, why: str,
                 reason: str | None) -> tuple[Credential, list[Change]]:
    """A copy of ``old`` with a new id, new status entries, the practitioner's current name,
    signed with the active key; ``old`` becomes superseded. Same validity period. Returns
    the new credential and the status changes whose bits the caller flips (the new one
    is suspended if ``old`` was: its own suspension bit is set)."""
    _, payload = jose.split(old.token)
    credential_id = str(uuid.uuid4())
    was_current, old.is_current = old.is_current, None  # the new one takes its place
    session.flush()
    now = ctx.now().replace(microsecond=0)
    slots = allocate_each(session, ctx)
    claims = vcc.with_current_shape(payload, ctx.config.issuer_url, credential_id)
    claims.update(
        id=f"urn:uuid:{credential_id}",
        jti=f"urn:uuid:{credential_id}",
        iat=int(now.timestamp()),
        credentialStatus=status_entries(ctx, slots),
        credentialSubject=_subject_from(old.practitioner, claims["credentialSubject"]),
    )
    new = Credential(
        id=credential_id,
        practitioner_id=old.practitioner_id,
        program_id=old.program_id,
        kid=ctx.signer.kid,
        token=jose.sign(claims, ctx.signer, typ=vcc.TYP, cty=vcc.CTY),
        issued_at=now,
        valid_from=old.valid_from,
        valid_until=old.valid_until,
        status="suspended" if old.status == "suspended" else "active",
        status_reason=old.status_reason if old.status == "suspended" else None,
        status_category=old.status_category if old.status == "suspended" else None,
        status_note=old.status_note if old.status == "suspended" else None,
        status_changed_at=old.status_changed_at if old.status == "suspended" else None,
        issued_by=actor,
        is_current=was_current,
        entries=entry_rows(slots),
    )
    insert_current(session, new)
    audit.record(session, at=ctx.now(), actor=actor, action="issue", target=f"credential:{new.id}",
                 category=why, reason=reason,
                 data={"kid": new.kid, "replaces": old.id, "valid_until": vcc.timestamp(new.valid_until)})
    return new, [_supersede(session, ctx, old, new, actor, why, reason), (new, None)]


def _check_signer(ctx: IssuerContext) -> None:
    if isinstance(ctx.signer, NoActiveKey):
        raise ConfigurationError("no active signing key: run 'issuer keys rotate'")


def reissue(session: Session, ctx: IssuerContext, credential_id: str, actor: str, reason: str | None,
            why: str = "reissue") -> Credential:
    """Re-sign one active or suspended, unexpired credential as a new one that supersedes it.

    Raises :class:`NotFound`, :class:`Conflict` (revoked, superseded or expired).
    """
    _check_signer(ctx)
    old = lock_credential(session, credential_id)
    _check_reissuable(ctx, old)
    new, changes = _reissue_one(session, ctx, old, actor, why, reason)
    session.flush()
    apply_status_changes(session, ctx, changes)
    session.commit()
    return new


def _check_reissuable(ctx: IssuerContext, old: Credential) -> None:
    if old.status not in ("active", "suspended"):
        raise Conflict(f"cannot re-issue a credential that is {old.status}", current_status=old.status)
    if old.valid_until.astimezone(UTC) <= ctx.now():
        raise Conflict("cannot re-issue an expired credential; renew it instead", current_status="expired")


def reissue_for_kid(session: Session, ctx: IssuerContext, kid: str, actor: str,
                    reason: str | None) -> list[tuple[str, str]]:
    """Re-issue every still-valid (active or suspended, unexpired) credential signed with
    ``kid`` with the active key; returns ``(old id, new id)`` pairs. One transaction."""
    _check_signer(ctx)
    if kid == ctx.signer.kid:
        raise Conflict(f"key {kid} is the active key; rotate or mark it compromised first")
    pairs: list[tuple[str, str]] = []
    changes: list[Change] = []
    for old in session.scalars(
        select(Credential)
        .where(Credential.kid == kid, Credential.status.in_(("active", "suspended")),
               Credential.valid_until > ctx.now())
        .order_by(Credential.issued_at, Credential.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)  # the status as locked: the bits flip from it
    ).all():
        new, changed = _reissue_one(session, ctx, old, actor, "key_replaced", reason)
        pairs.append((old.id, new.id))
        changes.extend(changed)
    session.flush()
    apply_status_changes(session, ctx, changes)
    session.commit()
    return pairs


def correct_practitioner(
    session: Session,
    ctx: IssuerContext,
    practitioner_id: str,
    changes: dict[str, str],
    reason: str,
    actor: str,
) -> tuple[Practitioner, list[Credential]]:
    """Correct a practitioner's name (or profession) and re-issue their current credentials
    with it; the old ones become superseded. Raises :class:`NotFound`."""
    _check_signer(ctx)
    practitioner = get_practitioner(session, practitioner_id)
    before = {name: getattr(practitioner, name) for name in changes}
    for name, value in changes.items():
        setattr(practitioner, name, value)
    audit.record(session, at=ctx.now(), actor=actor, action="practitioner_correct",
                 target=f"practitioner:{practitioner.id}", reason=reason,
                 data={"fields": sorted(changes), "before": before})
    session.flush()
    current = session.scalars(
        select(Credential)
        .where(Credential.practitioner_id == practitioner.id, Credential.status.in_(("active", "suspended")),
               Credential.valid_until > ctx.now())
        .order_by(Credential.issued_at)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)  # the status as locked: the bits flip from it
    ).all()
    renewed: list[Credential] = []
    superseded: list[Change] = []
    for old in current:
        new, changed = _reissue_one(session, ctx, old, actor, "correction", reason)
        renewed.append(new)
        superseded.extend(changed)
    session.flush()
    apply_status_changes(session, ctx, superseded)
    session.commit()
    return practitioner, renewed
