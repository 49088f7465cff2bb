"""The keys that sign credentials: which are published, and changes to them.

:func:`published_jwks` decides which keys the JWK Set shows: never a compromised key; the
active key; a retired key while any credential it signed is within its validity period
plus :data:`KEY_PUBLISH_GRACE`, or while a status list it may have signed can still be in
use. Rotation, retirement and compromise re-sign every status list not signed by the
active key, its bits re-derived from credential statuses (not flipped from the token the
old key signed), and are audited, all in one transaction with the key files
(:func:`_key_change`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from issuer import audit
from issuer.context import IssuerContext
from issuer.credentials.status_lists import STATUS_LIST_VALIDITY, resign_lists
from issuer.errors import ConfigurationError
from issuer.keyring import NoActiveKey
from issuer.store.models import Credential
from keys import KeyRecord, KeyStore, KeyStoreError, jwks
from keys import generate as generate_key
from vc import jose

#: A retired key stays published this long after the last credential it signed expired, so
#: verifiers keep saying "expired" (not "not authentic") for a while.
KEY_PUBLISH_GRACE = timedelta(days=90)


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
            lists_may_need_it = changed is None or now - changed < STATUS_LIST_VALIDITY
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
