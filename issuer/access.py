"""Who may act: bearer tokens of the staff API, and staff accounts of the console.

Roles (``registrar``, ``certifier``, ``admin``) mean the same in both. API tokens are
stored as SHA-256 hashes. Console passwords are Argon2id hashes; after
:data:`MAX_FAILURES` wrong passwords in a row an account is locked for :data:`LOCK_FOR`,
and while locked even the right password is refused. Each sign-in attempt is counted
before its password is checked, under the account's row lock (the write lock on
SQLite), so concurrent guesses cannot outrun the lockout.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer import audit
from issuer.context import IssuerContext
from issuer.errors import Conflict, IssuerError, ValidationFailed
from issuer.store.models import ApiToken, StaffAccount

ROLES = ("registrar", "certifier", "admin")


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


def authenticate_token(session: Session, secret: str) -> ApiToken | None:
    """The token record for a presented secret, or ``None``."""
    if not secret or len(secret) > 200:
        return None
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret))).first()


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


def sign_in(session: Session, ctx: IssuerContext, email: str, password: str) -> StaffAccount:
    """The account whose password this is; raises :class:`LoginFailed` or :class:`LockedOut`.

    Each attempt is counted *before* its password is checked, in a short transaction that
    holds the account's row (the write lock on SQLite): so however many guesses arrive at
    once, at most :data:`MAX_FAILURES` are ever evaluated before the account locks, and
    the slow Argon2 check runs without holding any lock. A right password clears the count.
    """
    now = ctx.now()
    account = (
        session.scalars(
            select(StaffAccount)
            .where(StaffAccount.email == normalise_email(email))
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).first()
        if len(email) <= 254 and len(password) <= MAX_PASSWORD
        else None
    )
    if account is None:
        session.rollback()
        _check(_DUMMY_HASH, password)
        raise LoginFailed("wrong e-mail address or password")
    if account.locked_until is not None and account.locked_until.astimezone(UTC) > now:
        session.rollback()
        raise LockedOut(_locked_message(account, now))
    account.failed_logins += 1  # this attempt, counted before it is judged
    last_chance = account.failed_logins >= MAX_FAILURES
    if last_chance:  # lock now: concurrent guesses are refused while this one is judged
        account.failed_logins = 0
        account.locked_until = now + LOCK_FOR
    session.commit()
    if not _check(account.password_hash, password):
        if last_chance:
            raise LockedOut(_locked_message(account, now))
        raise LoginFailed("wrong e-mail address or password")
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
