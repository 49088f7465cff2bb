"""Staff accounts of the console: Argon2id password hashes and lockout after failures.

Roles are the API's (``registrar``, ``certifier``, ``admin``) and mean the same thing.
After :data:`MAX_FAILURES` wrong passwords in a row an account is locked for
:data:`LOCK_FOR`; while locked even the right password is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer.errors import Conflict, IssuerError, ValidationFailed
from issuer.models import StaffAccount
from issuer.service import ROLES, IssuerContext

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


def authenticate(session: Session, ctx: IssuerContext, email: str, password: str) -> StaffAccount:
    """The account whose password this is; raises :class:`LoginFailed` or :class:`LockedOut`."""
    now = ctx.now()
    account = (
        session.scalars(
            select(StaffAccount).where(StaffAccount.email == normalise_email(email)).with_for_update()
        ).first()
        if len(email) <= 254 and len(password) <= MAX_PASSWORD
        else None
    )
    if account is None:
        _check(_DUMMY_HASH, password)
        session.rollback()
        raise LoginFailed("wrong e-mail address or password")
    if account.locked_until is not None and account.locked_until.astimezone(UTC) > now:
        session.rollback()
        raise LockedOut(_locked_message(account, now))
    if not _check(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.failed_logins = 0
            account.locked_until = now + LOCK_FOR
            session.commit()
            raise LockedOut(_locked_message(account, now))
        session.commit()
        raise LoginFailed("wrong e-mail address or password")
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    session.commit()
    return account


def _locked_message(account: StaffAccount, now: object) -> str:
    minutes = int(LOCK_FOR.total_seconds() // 60)
    return f"too many failed sign-ins: this account is locked for up to {minutes} minutes"


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
