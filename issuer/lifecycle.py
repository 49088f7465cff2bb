"""A credential's life after issuance, and the keys that sign it.

* **Keys.** :class:`KeyRing` gives a running issuer the current active key, re-reading the
  key directory whenever its metadata changes (a ``stat`` per request), so ``issuer keys
  rotate``, ``retire`` and ``compromised`` take effect on the next request of every issuer
  process without a restart. :func:`published_jwks` decides which keys the JWK Set shows:
  never a compromised key; the active key; a retired key while any credential it signed is
  within its validity period plus :data:`KEY_PUBLISH_GRACE`, or while a status list it
  may have signed can still be in use (:data:`issuer.service.STATUS_LIST_VALIDITY` after
  it was retired). :func:`compromise_key` withdraws a key at once and re-signs every status
  list with the active key; :func:`reissue_for_kid` re-signs the affected credentials.
* **Supersession.** Renewal (:func:`renew`), correction (:func:`correct_practitioner`) and
  re-issue (:func:`reissue`) create a new credential and mark the old one ``superseded``,
  which sets its bit in its ``refresh`` status list (the Bitstring Status List purpose
  meaning "an updated credential is available"). The verifier reads that bit from the
  cached list and asks ``GET /status/credentials/<id>`` (:func:`public_status`) for the
  current credential only when it is set.
* **Reasons.** A status change carries a public category from :data:`CATEGORIES` and a
  private note that only staff and the audit log see.

Every change appends to the audit log (:mod:`issuer.audit`) in its own transaction.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from issuer import audit, qr, service
from issuer.errors import ConfigurationError, Conflict, ValidationFailed
from issuer.models import Credential, Practitioner, StatusEntry, StatusList
from issuer.service import IssuerContext
from keys import KeyRecord, KeyStore, KeyStoreError, LocalSigner, jwks
from keys import generate as generate_key
from vc import credential as vcc
from vc import jose
from vc.credential import PROFESSIONS
from vc.status_list import PURPOSES, max_list_token_chars

#: Public reason categories of a revocation or suspension: safe to show anyone.
CATEGORIES: dict[str, str] = {
    "training_requirements_not_met": "Training requirements were not met",
    "license_action": "Action against the holder's professional license",
    "issued_in_error": "Issued in error",
    "fraud": "Obtained by fraud",
    "holder_request": "At the holder's request",
    "administrative": "Administrative reason",
    "unspecified": "No public reason given",
}
#: A retired key stays published this long after the last credential it signed expired, so
#: verifiers keep saying "expired" (not "not authentic") for a while.
KEY_PUBLISH_GRACE = timedelta(days=90)
#: Longest chain of successors followed.
MAX_CHAIN = 32


def check_category(category: str | None) -> str:
    """``category`` if known (``unspecified`` when absent); :class:`ValidationFailed` otherwise."""
    if category is None:
        return "unspecified"
    if category not in CATEGORIES:
        raise ValidationFailed(
            f"unknown category {category!r} (use one of {', '.join(CATEGORIES)})",
            errors=[{"field": "category", "detail": "unknown category"}],
        )
    return category


# --- keys ------------------------------------------------------------------------------------


class NoActiveKey:
    """Stands in for the signer when no key is active: it refuses to sign."""

    alg = "none"
    kid = ""

    def sign(self, signing_input: bytes) -> bytes:
        """Always raises :class:`ConfigurationError`."""
        raise ConfigurationError("no active signing key: run 'issuer keys rotate'")


class KeyRing:
    """The active signing key of a running issuer, re-read when the key directory changes."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._fingerprint: tuple[tuple[str, int, int, int], ...] | None = None
        self._signer: LocalSigner | NoActiveKey = NoActiveKey()

    def signer(self) -> LocalSigner | NoActiveKey:
        """The current active key (re-read first if any key file changed).

        Raises :class:`ConfigurationError` if a key file is readable by others or cannot
        be opened with the passphrase.
        """
        fingerprint = self.store.fingerprint()
        with self._lock:
            if fingerprint != self._fingerprint:
                try:
                    self.store.check_permissions()
                    actives = [r for r in self.store.records() if r.state == "active"]
                    self._signer = self.store.load(actives[-1].kid) if actives else NoActiveKey()
                except KeyStoreError as exc:
                    raise ConfigurationError(str(exc)) from exc
                self._fingerprint = fingerprint
            return self._signer


def _parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def kids_in_use(session: Session, now: datetime) -> set[str]:
    """Key ids that signed a credential still within its validity period plus the grace."""
    return set(
        session.scalars(
            select(Credential.kid).where(Credential.valid_until > now - KEY_PUBLISH_GRACE).distinct()
        )
    )


def published_records(session: Session, ctx: IssuerContext) -> list[KeyRecord]:
    """The keys the JWK Set shows now (see the module docstring)."""
    now = ctx.now()
    in_use = kids_in_use(session, now)
    shown = []
    for record in ctx.keystore.records():
        if record.state == "compromised":
            continue
        if record.state == "retired":
            changed = _parse_stamp(record.changed_at)
            lists_may_need_it = changed is None or now - changed < service.STATUS_LIST_VALIDITY
            if record.kid not in in_use and not lists_may_need_it:
                continue
        shown.append(record)
    return shown


def published_jwks(session: Session, ctx: IssuerContext) -> dict[str, list[dict[str, Any]]]:
    """The public JWK Set to serve now; raises :class:`ConfigurationError` on an unreadable key."""
    try:
        return jwks([ctx.keystore.load(r.kid).public_jwk() for r in published_records(session, ctx)])
    except KeyStoreError as exc:
        raise ConfigurationError(str(exc)) from exc


def resign_lists(session: Session, ctx: IssuerContext) -> int:
    """Re-sign every status list not signed by the active key; returns how many were."""
    count = 0
    every_list = select(StatusList).order_by(StatusList.id).with_for_update(key_share=True)
    for status_list in session.scalars(every_list):
        header, _ = jose.split(status_list.token, max_chars=max_list_token_chars(status_list.size))
        if header.get("kid") != ctx.signer.kid:
            service._sign_list(session, ctx, status_list)
            count += 1
    return count


def _audit_key_event(
    session: Session,
    ctx: IssuerContext,
    action: str,
    record: KeyRecord,
    actor: str,
    reason: str | None = None,
    **data: Any,
) -> None:
    """Audit a key event and re-sign status lists still signed by a key no longer active
    (flushed, not committed: see :func:`_key_change`)."""
    if not isinstance(ctx.signer, NoActiveKey):
        data["lists_resigned"] = resign_lists(session, ctx)
    audit.record(session, at=ctx.now(), actor=actor, action=action, target=f"key:{record.kid}",
                 reason=reason, data={"alg": record.alg, "state": record.state, **data})
    session.flush()


@contextmanager
def _key_change(session: Session, store: KeyStore) -> Iterator[None]:
    """The key directory and the database change together, or neither does.

    The body re-signs status lists and audits in the open transaction, then writes the key
    files; the transaction commits last. Any failure (a list that cannot be signed, a full
    disk, a lost database connection, even at commit) rolls the transaction back and puts
    every key file back as it was. On SQLite the transaction holds the write lock from its
    first statement, so running issuers cannot sign with a key that is then withdrawn.
    """
    saved = store.snapshot()
    try:
        yield
        session.commit()
    except BaseException as exc:
        session.rollback()
        store.restore(saved)
        if isinstance(exc, SQLAlchemyError):
            reason = str(exc).splitlines()[0]
            raise ConfigurationError(f"the database refused the key change ({reason}); nothing was changed") \
                from exc
        raise


def _key_error(exc: KeyStoreError) -> ConfigurationError:
    return ConfigurationError(str(exc))


def new_active_key(session: Session, ctx: IssuerContext, alg: str, actor: str,
                   action: str = "key_rotate", reason: str | None = None) -> KeyRecord:
    """Make a new key of ``alg`` the active one (the active one retires), re-sign every
    status list with it and audit ``action``: all or nothing."""
    signer = generate_key(alg)
    try:
        with _key_change(session, ctx.keystore):
            session.connection()  # begin now: on SQLite that takes the write lock
            record = ctx.keystore.add(signer)
            _audit_key_event(session, _with_signer(ctx, signer), action, record, actor, reason)
    except KeyStoreError as exc:
        raise _key_error(exc) from exc
    return record


def retire_key(session: Session, ctx: IssuerContext, kid: str, actor: str) -> KeyRecord:
    """Stop signing with ``kid`` (still published while needed) and audit it: all or nothing."""
    try:
        with _key_change(session, ctx.keystore):
            session.connection()  # begin now: on SQLite that takes the write lock
            record = ctx.keystore.retire(kid)
            actives = [r for r in ctx.keystore.records() if r.state == "active"]
            signer = ctx.keystore.load(actives[-1].kid) if actives else NoActiveKey()
            _audit_key_event(session, _with_signer(ctx, signer), "key_retire", record, actor)
    except KeyStoreError as exc:
        raise _key_error(exc) from exc
    return record


def credentials_signed_by(session: Session, kid: str) -> list[Credential]:
    """Every credential signed with ``kid``, oldest first."""
    query = select(Credential).where(Credential.kid == kid).order_by(Credential.issued_at)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Compromise:
    """What :func:`compromise_key` did."""

    record: KeyRecord
    new_active: KeyRecord | None
    affected: list[Credential]


def compromise_key(
    session: Session, ctx: IssuerContext, kid: str, actor: str, reason: str | None
) -> Compromise:
    """Withdraw ``kid`` from the JWK Set at once; if it was active, make a new active key.

    Status lists are re-signed with the active key, and both events are audited, in one
    transaction with the key change: all or nothing. Returns the credentials it signed
    (they verify as ``not_authentic`` from now on until re-issued).
    Raises :class:`ConfigurationError` for an unknown key or a key store problem.
    """
    try:
        with _key_change(session, ctx.keystore):
            session.connection()  # begin now: on SQLite that takes the write lock
            affected = credentials_signed_by(session, kid)
            was = ctx.keystore.record(kid)
            record = ctx.keystore.compromise(kid)
            new_active = None
            if was.state == "active":
                new_active = ctx.keystore.add(generate_key(ctx.config.signing_alg))
            ctx = _with_signer(ctx, ctx.keystore.active())
            _audit_key_event(session, ctx, "key_compromised", record, actor, reason,
                             credentials=len(affected), new_active=new_active.kid if new_active else None)
            if new_active is not None:
                _audit_key_event(session, ctx, "key_generate", new_active, actor,
                                 f"replaces compromised key {kid}")
    except KeyStoreError as exc:
        raise _key_error(exc) from exc
    return Compromise(record, new_active, affected)


def _with_signer(ctx: IssuerContext, signer: jose.Signer) -> IssuerContext:
    return replace(ctx, signer=signer)


# --- supersession ---------------------------------------------------------------------------


def _resign_lists_of(session: Session, ctx: IssuerContext, credential_ids: Sequence[str]) -> None:
    ids = set(
        session.scalars(select(StatusEntry.list_id).where(StatusEntry.credential_id.in_(list(credential_ids))))
    )
    for status_list in session.scalars(
        select(StatusList).where(StatusList.id.in_(ids)).order_by(StatusList.id)
        .with_for_update(key_share=True)
    ):
        service._sign_list(session, ctx, status_list)


def _supersede(session: Session, ctx: IssuerContext, old: Credential, new: Credential, actor: str,
               why: str, reason: str | None) -> None:
    """Mark ``old`` superseded by ``new`` (lists are re-signed by the caller)."""
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


def renew(
    session: Session, ctx: IssuerContext, credential_id: str, actor: str, reason: str | None = None
) -> Credential:
    """Issue a new credential for the same practitioner and program (eligibility checked
    again, a new validity period) that supersedes ``credential_id``.

    Raises :class:`NotEligible`, :class:`NotFound`, :class:`Conflict` (revoked or already
    superseded).
    """
    old = service.lock_credential(session, credential_id)
    if old.status not in ("active",):
        raise Conflict(f"cannot renew a credential that is {old.status}", current_status=old.status)
    new = service.issue(
        session, ctx, old.practitioner_id, old.program_id, actor, replacing=old.id, commit=False
    )
    _supersede(session, ctx, old, new, actor, "renewal", reason)
    session.flush()
    _resign_lists_of(session, ctx, [old.id])
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
                 reason: str | None) -> Credential:
    """A copy of ``old`` with a new id, new status entries, the practitioner's current name,
    signed with the active key; ``old`` becomes superseded. Same validity period."""
    _, payload = jose.split(old.token)
    credential_id = str(uuid.uuid4())
    was_current, old.is_current = old.is_current, None  # the new one takes its place
    session.flush()
    now = ctx.now().replace(microsecond=0)
    verify_url = ctx.verify_url(credential_id)
    new = Credential(
        id=credential_id,
        practitioner_id=old.practitioner_id,
        program_id=old.program_id,
        kid=ctx.signer.kid,
        token="",
        issued_at=now,
        valid_from=old.valid_from,
        valid_until=old.valid_until,
        status="suspended" if old.status == "suspended" else "active",
        status_reason=old.status_reason if old.status == "suspended" else None,
        status_category=old.status_category if old.status == "suspended" else None,
        status_note=old.status_note if old.status == "suspended" else None,
        status_changed_at=old.status_changed_at if old.status == "suspended" else None,
        issued_by=actor,
        qr_png=qr.png(verify_url),
        qr_svg=qr.svg(verify_url),
        is_current=was_current,
    )
    service.insert_current(session, new)
    claims = dict(payload)
    claims.update(
        id=f"urn:uuid:{credential_id}",
        jti=f"urn:uuid:{credential_id}",
        iat=int(now.timestamp()),
        credentialStatus=[service._allocate(session, ctx, p, credential_id) for p in PURPOSES],
        credentialSubject=_subject_from(old.practitioner, payload["credentialSubject"]),
    )
    new.token = jose.sign(claims, ctx.signer, typ=vcc.TYP, cty=vcc.CTY)
    audit.record(session, at=ctx.now(), actor=actor, action="issue", target=f"credential:{new.id}",
                 category=why, reason=reason,
                 data={"kid": new.kid, "replaces": old.id, "valid_until": vcc.timestamp(new.valid_until)})
    _supersede(session, ctx, old, new, actor, why, reason)
    return new


def _check_signer(ctx: IssuerContext) -> None:
    if isinstance(ctx.signer, NoActiveKey):
        raise ConfigurationError("no active signing key: run 'issuer keys rotate'")


def reissue(session: Session, ctx: IssuerContext, credential_id: str, actor: str, reason: str | None,
            why: str = "reissue") -> Credential:
    """Re-sign one active or suspended, unexpired credential as a new one that supersedes it.

    Raises :class:`NotFound`, :class:`Conflict` (revoked, superseded or expired).
    """
    _check_signer(ctx)
    old = service.lock_credential(session, credential_id)
    _check_reissuable(ctx, old)
    new = _reissue_one(session, ctx, old, actor, why, reason)
    session.flush()
    _resign_lists_of(session, ctx, [old.id, new.id])
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
    pairs = []
    for old in session.scalars(
        select(Credential)
        .where(Credential.kid == kid, Credential.status.in_(("active", "suspended")),
               Credential.valid_until > ctx.now())
        .order_by(Credential.issued_at, Credential.id)
        .with_for_update(key_share=True)
    ).all():
        new = _reissue_one(session, ctx, old, actor, "key_replaced", reason)
        pairs.append((old.id, new.id))
    session.flush()
    _resign_lists_of(session, ctx, [i for pair in pairs for i in pair])
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
    practitioner = service.get_practitioner(session, practitioner_id)
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
    ).all()
    renewed = [_reissue_one(session, ctx, old, actor, "correction", reason) for old in current]
    session.flush()
    _resign_lists_of(session, ctx, [c.id for c in current] + [c.id for c in renewed])
    session.commit()
    return practitioner, renewed


def current_of(session: Session, row: Credential) -> Credential:
    """The credential at the end of ``row``'s chain of successors (``row`` if none)."""
    for _ in range(MAX_CHAIN):
        if row.superseded_by is None:
            return row
        successor = session.get(Credential, row.superseded_by)
        if successor is None:
            return row
        row = successor
    return row


def public_status(session: Session, ctx: IssuerContext, credential_id: str) -> dict[str, Any]:
    """What anyone may know of a credential's lifecycle: status, public category, successor.

    Never the private note or the free-text reason. Raises :class:`NotFound`.
    """
    row = service.get_credential(session, credential_id)
    state = row.status
    if state == "active" and row.valid_until.astimezone(UTC) < ctx.now():
        state = "expired"
    public_reason = state in ("revoked", "suspended")
    body: dict[str, Any] = {
        "id": row.id,
        "status": state,
        "category": row.status_category if public_reason else None,
        "category_text": CATEGORIES.get(row.status_category or "") if public_reason else None,
        "superseded_by": None,
        "current": None,
    }
    if row.status == "superseded":
        current = current_of(session, row)
        body["superseded_by"] = row.superseded_by
        body["current"] = {"id": current.id, "holder_url": ctx.holder_url(current.id),
                           "verify_url": ctx.verify_url(current.id)}
    return body
