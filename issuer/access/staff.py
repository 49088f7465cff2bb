"""Staff accounts of the console: Argon2id password hashes and lockout.

After :data:`MAX_FAILURES` wrong passwords in a row an account is locked for
:data:`LOCK_FOR`, and while locked even the right password is refused. Each sign-in
attempt is counted before its password is checked, under the account's row lock (the
write lock on SQLite), so concurrent guesses cannot outrun the lockout; every failed
sign-in gets the same answer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer import audit
from issuer.access.sessions import end_sessions
from issuer.access.tokens import ROLES
from issuer.context import IssuerContext
from issuer.errors import Conflict, IssuerError, NotFound, ValidationFailed
from issuer.store.models import StaffAccount

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
