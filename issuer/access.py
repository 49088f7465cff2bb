"""Who may act: bearer tokens of the staff API, and staff accounts of the console.

Roles (``registrar``, ``certifier``, ``admin``) mean the same in both. API tokens are
stored as SHA-256 hashes. Console passwords are Argon2id hashes; after
:data:`MAX_FAILURES` wrong passwords in a row an account is locked for :data:`LOCK_FOR`,
and while locked even the right password is refused. Each sign-in attempt is counted
before its password is checked, under the account's row lock (the write lock on
SQLite), so concurrent guesses cannot outrun the lockout.

API tokens have a lifecycle: an optional expiry, the time of last use, and revocation;
a revoked or expired token is refused on its next request. Console sessions are held on
the server (``staff_sessions``): the browser keeps only a random secret, and signing out,
a password change or a lockout end every matching row, so a copied cookie stops working
in every issuer process at once. Idle (:data:`IDLE_TIMEOUT`) and absolute
(:data:`SESSION_LIFETIME`) timeouts are checked against the row, not the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from issuer import audit
from issuer.context import IssuerContext
from issuer.errors import Conflict, IssuerError, NotFound, ValidationFailed
from issuer.store.models import ApiToken, StaffAccount, StaffSession
from vc import credential as vcc

ROLES = ("registrar", "certifier", "admin")

#: The longest a token may be created for (ten years); ``None`` means it never expires.
MAX_TOKEN_DAYS = 3650

#: ``last_used_at`` is written at most this often per token (not a write per request).
LAST_USED_EVERY = timedelta(minutes=1)


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token(
    session: Session,
    ctx: IssuerContext,
    role: str,
    label: str,
    actor: str = "cli",
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create and commit a bearer token for ``role``: the row and the secret, which is
    shown once and stored only hashed. Raises :class:`ValidationFailed` for an unknown
    role, an empty label or an expiry outside 1..:data:`MAX_TOKEN_DAYS` days."""
    if role not in ROLES:
        raise ValidationFailed(
            f"unknown role {role!r} (use one of {', '.join(ROLES)})",
            errors=[{"field": "role", "detail": "unknown role"}],
        )
    label = label.strip()[:100]
    if not label or "\x00" in label:
        raise ValidationFailed("give the token a label", errors=[{"field": "label", "detail": "required"}])
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(
            f"a token expires in 1 to {MAX_TOKEN_DAYS} days",
            errors=[{"field": "expires_in_days", "detail": f"between 1 and {MAX_TOKEN_DAYS}"}],
        )
    now = ctx.now()
    secret = "bxc_" + secrets.token_urlsafe(32)
    token = ApiToken(
        id=str(uuid.uuid4()),
        role=role,
        token_hash=_hash_token(secret),
        label=label,
        created_at=now,
        created_by=actor[:64],
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days is not None else None,
    )
    session.add(token)
    audit.record(
        session, at=now, actor=actor, action="token_create", target=f"token:{token.id}",
        data={"role": role, "label": label,
              "expires_at": vcc.timestamp(token.expires_at) if token.expires_at else None},
    )
    session.commit()
    return token, secret


def create_token(
    session: Session,
    ctx: IssuerContext,
    role: str,
    label: str,
    actor: str = "cli",
    expires_in_days: int | None = None,
) -> str:
    """Create a bearer token for ``role``; returns the secret (see :func:`new_token`)."""
    return new_token(session, ctx, role, label, actor, expires_in_days)[1]


def token_state(token: ApiToken, now: datetime) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def authenticate_token(session: Session, secret: str, now: datetime) -> ApiToken | None:
    """The active token for a presented secret, or ``None`` (unknown, revoked, expired).

    Notes its use (at most once per :data:`LAST_USED_EVERY`) and commits that.
    """
    if not secret or len(secret) > 200:
        return None
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret))).first()
    if token is None or token_state(token, now) != "active":
        session.rollback()
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
    session.commit()
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first (revoked and expired ones included)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id)))


def token_json(token: ApiToken, now: datetime) -> dict[str, Any]:
    """What may be shown of a token: never its secret nor its hash."""

    def stamp(moment: datetime | None) -> str | None:
        return vcc.timestamp(moment) if moment is not None else None

    return {
        "id": token.id,
        "label": token.label,
        "role": token.role,
        "state": token_state(token, now),
        "created_at": stamp(token.created_at),
        "created_by": token.created_by,
        "last_used_at": stamp(token.last_used_at),
        "expires_at": stamp(token.expires_at),
        "revoked_at": stamp(token.revoked_at),
        "revoked_by": token.revoked_by,
    }


def revoke_token(session: Session, ctx: IssuerContext, token_id: str, actor: str) -> ApiToken:
    """Revoke a token for good (its next request gets 401) and commit; raises
    :class:`NotFound` or :class:`Conflict` (already revoked)."""
    token = (
        session.scalars(
            select(ApiToken)
            .where(ApiToken.id == token_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).first()
        if len(token_id) <= 36
        else None
    )
    if token is None:
        session.rollback()
        raise NotFound(f"no token {token_id!r}")
    if token.revoked_at is not None:
        session.rollback()
        raise Conflict(f"token {token_id} was already revoked")
    now = ctx.now()
    token.revoked_at = now
    token.revoked_by = actor[:64]
    audit.record(
        session, at=now, actor=actor, action="token_revoke", target=f"token:{token.id}",
        data={"role": token.role, "label": token.label},
    )
    session.commit()
    return token


MAX_FAILURES = 5


LOCK_FOR = timedelta(minutes=15)


MIN_PASSWORD = 12


MAX_PASSWORD = 1024


_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (64 MiB, t=3, p=4)


#: Compared against when the e-mail is unknown, so timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class LoginFailed(IssuerError):
    """Wrong e-mail or password (the message never says which)."""

    code = "login-failed"
    title = "Sign-in failed"
    http_status = 401


class LockedOut(IssuerError):
    """Too many failed sign-ins; try again later."""

    code = "locked-out"
    title = "Account temporarily locked"
    http_status = 429


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively."""
    return email.strip().lower()


def create_account(
    session: Session, ctx: IssuerContext, email: str, role: str, password: str
) -> StaffAccount:
    """Create a staff account; raises :class:`ValidationFailed` or :class:`Conflict`."""
    email = normalise_email(email)
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r} (use one of {', '.join(ROLES)})")
    if "@" not in email or len(email) > 254:
        raise ValidationFailed("give the staff member's e-mail address")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationFailed(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalars(select(StaffAccount).where(StaffAccount.email == email)).first() is not None:
        raise Conflict(f"a staff account for {email} already exists")
    account = StaffAccount(
        id=str(uuid.uuid4()),
        email=email,
        role=role,
        password_hash=_hasher.hash(password),
        failed_logins=0,
        created_at=ctx.now(),
    )
    session.add(account)
    session.commit()
    return account


#: The one answer to every failed sign-in: it never says whether the address has an
#: account, the password was wrong or the account is locked.
LOGIN_FAILED = (
    "wrong e-mail address or password, or the account is locked for up to "
    f"{int(LOCK_FOR.total_seconds() // 60)} minutes after too many failed sign-ins"
)


def sign_in(session: Session, ctx: IssuerContext, email: str, password: str) -> StaffAccount:
    """The account whose password this is; raises :class:`LoginFailed`, with the same
    words for an unknown address, a wrong password and a locked account.

    Each attempt is counted *before* its password is checked, in a short transaction that
    holds the account's row (the write lock on SQLite): so however many guesses arrive at
    once, at most :data:`MAX_FAILURES` are ever evaluated before the account locks, and
    the slow Argon2 check runs without holding any lock. A right password clears the count.
    The attempt that locks the account also ends its console sessions.
    """
    now = ctx.now()
    account = (
        session.scalars(
            select(StaffAccount)
            .where(StaffAccount.email == normalise_email(email))
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).first()
        if len(email) <= 254 and len(password) <= MAX_PASSWORD and "\x00" not in email
        else None
    )
    if account is None or (account.locked_until is not None and account.locked_until.astimezone(UTC) > now):
        session.rollback()
        _check(_DUMMY_HASH, password)  # the same work as a real check: timing tells nothing
        raise LoginFailed(LOGIN_FAILED)
    account.failed_logins += 1  # this attempt, counted before it is judged
    last_chance = account.failed_logins >= MAX_FAILURES
    if last_chance:  # lock now: concurrent guesses are refused while this one is judged
        account.failed_logins = 0
        account.locked_until = now + LOCK_FOR
        end_sessions(session, account.id, now, "locked_out")
    session.commit()
    if not _check(account.password_hash, password):
        raise LoginFailed(LOGIN_FAILED)
    return _signed_in(session, account.id, password, now)


def _signed_in(session: Session, account_id: str, password: str, now: datetime) -> StaffAccount:
    """Clear the failure count and lock of an account whose password was just right."""
    account = session.scalars(
        select(StaffAccount)
        .where(StaffAccount.id == account_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    session.commit()
    return account


def _check(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_account(session: Session, account_id: object) -> StaffAccount | None:
    """The account with this id, or ``None``."""
    if not isinstance(account_id, str) or len(account_id) > 36:
        return None
    return session.get(StaffAccount, account_id)


def count(session: Session) -> int:
    """How many staff accounts exist."""
    return int(session.scalar(select(func.count()).select_from(StaffAccount)) or 0)


def set_password(session: Session, ctx: IssuerContext, email: str, password: str, actor: str) -> StaffAccount:
    """Give an account a new password and commit; every console session of the account
    ends (a copied cookie stops working) and the lock is lifted. Raises
    :class:`NotFound` or :class:`ValidationFailed` (password length)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationFailed(f"the password must have at least {MIN_PASSWORD} characters")
    password_hash = _hasher.hash(password)  # slow: before any lock is taken
    account = session.scalars(
        select(StaffAccount)
        .where(StaffAccount.email == normalise_email(email))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if account is None:
        session.rollback()
        raise NotFound(f"no staff account {normalise_email(email)!r}")
    now = ctx.now()
    account.password_hash = password_hash
    account.failed_logins = 0
    account.locked_until = None
    ended = end_sessions(session, account.id, now, "password_changed")
    audit.record(
        session, at=now, actor=actor, action="staff_password", target=f"staff:{account.id}",
        data={"sessions_ended": ended},
    )
    session.commit()
    return account


# --- console sessions, held on the server ---------------------------------------------------------

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
        StaffSession(id=_hash_token(secret), account_id=account.id, created_at=now, last_seen_at=now)
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
    row = session.get(StaffSession, _hash_token(secret), populate_existing=True)
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
        _end_where(session, StaffSession.id == _hash_token(secret), ctx.now(), reason)
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
