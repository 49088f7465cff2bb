"""Console sessions, held on the server (``staff_sessions``): the browser keeps only a
random secret, of which the table keeps the SHA-256; signing out, a password change or a
lockout end every matching row, so a copied cookie stops working in every issuer process
at once. Idle (:data:`IDLE_TIMEOUT`) and absolute (:data:`SESSION_LIFETIME`) timeouts are
checked against the row, not the cookie.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from issuer.access.tokens import hash_secret
from issuer.context import IssuerContext
from issuer.store.models import StaffAccount, StaffSession

#: A console session ends after this long without a request...
IDLE_TIMEOUT = timedelta(minutes=30)


#: ...and this long after sign-in, however busy.
SESSION_LIFETIME = timedelta(hours=8)


#: ``last_seen_at`` is written at most this often per session (the idle clock's grain).
SEEN_EVERY = timedelta(minutes=1)


def start_session(session: Session, ctx: IssuerContext, account: StaffAccount) -> str:
    """A new console session for ``account`` (commits); returns the secret for the cookie,
    of which only the SHA-256 is stored."""
    secret = secrets.token_urlsafe(32)
    now = ctx.now()
    session.add(
        StaffSession(id=hash_secret(secret), account_id=account.id, created_at=now, last_seen_at=now)
    )
    session.commit()
    return secret


def session_account(session: Session, ctx: IssuerContext, secret: object) -> StaffAccount | None:
    """The account of a live console session, or ``None`` (unknown, ended, idle for
    :data:`IDLE_TIMEOUT`, older than :data:`SESSION_LIFETIME`, or the account is locked).

    A live session's ``last_seen_at`` moves on (at most once per :data:`SEEN_EVERY`);
    a timed-out one is ended. Commits.
    """
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        return None
    now = ctx.now()
    row = session.get(StaffSession, hash_secret(secret), populate_existing=True)
    if row is None or row.ended_at is not None:
        session.rollback()
        return None
    reason = None
    if now - row.created_at >= SESSION_LIFETIME:
        reason = "expired"
    elif now - row.last_seen_at >= IDLE_TIMEOUT:
        reason = "idle"
    account = session.get(StaffAccount, row.account_id)
    locked = account is not None and account.locked_until is not None and account.locked_until > now
    if reason is None and locked:
        reason = "locked_out"
    if reason is not None or account is None:
        _end_where(session, StaffSession.id == row.id, now, reason or "no_account")
        session.commit()
        return None
    if now - row.last_seen_at >= SEEN_EVERY:
        # Conditional: a sign-out committed meanwhile is never undone.
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == row.id, StaffSession.ended_at.is_(None))
            .values(last_seen_at=now)
        )
    session.commit()
    return account


def end_session(session: Session, ctx: IssuerContext, secret: object, reason: str = "signed_out") -> None:
    """End the console session of this cookie secret, if any (commits)."""
    if isinstance(secret, str) and len(secret) <= 100:
        _end_where(session, StaffSession.id == hash_secret(secret), ctx.now(), reason)
    session.commit()


def end_sessions(session: Session, account_id: str, now: datetime, reason: str) -> int:
    """End every live console session of an account in the caller's transaction; how many."""
    return _end_where(session, StaffSession.account_id == account_id, now, reason)


def _end_where(session: Session, condition: Any, now: datetime, reason: str) -> int:
    result = session.execute(
        update(StaffSession)
        .where(condition, StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
