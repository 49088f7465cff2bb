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

The modules: :mod:`~issuer.access.tokens` (API tokens), :mod:`~issuer.access.staff`
(accounts, sign-in, lockout) and :mod:`~issuer.access.sessions` (console sessions).
"""

from __future__ import annotations

from issuer.access.sessions import (
    IDLE_TIMEOUT,
    SEEN_EVERY,
    SESSION_LIFETIME,
    end_session,
    end_sessions,
    session_account,
    start_session,
)
from issuer.access.staff import (
    LOCK_FOR,
    LOGIN_FAILED,
    MAX_FAILURES,
    MAX_PASSWORD,
    MIN_PASSWORD,
    LockedOut,
    LoginFailed,
    count,
    create_account,
    get_account,
    normalise_email,
    set_password,
    sign_in,
)
from issuer.access.tokens import (
    LAST_USED_EVERY,
    MAX_TOKEN_DAYS,
    ROLES,
    Bearer,
    authenticate_token,
    create_token,
    hash_secret,
    list_tokens,
    new_token,
    revoke_token,
    token_json,
    token_state,
)

__all__ = [
    "IDLE_TIMEOUT",
    "LAST_USED_EVERY",
    "LOCK_FOR",
    "LOGIN_FAILED",
    "LockedOut",
    "LoginFailed",
    "MAX_FAILURES",
    "MAX_PASSWORD",
    "MAX_TOKEN_DAYS",
    "MIN_PASSWORD",
    "ROLES",
    "SEEN_EVERY",
    "SESSION_LIFETIME",
    "Bearer",
    "authenticate_token",
    "count",
    "create_account",
    "create_token",
    "end_session",
    "end_sessions",
    "get_account",
    "hash_secret",
    "list_tokens",
    "new_token",
    "normalise_email",
    "revoke_token",
    "session_account",
    "set_password",
    "sign_in",
    "start_session",
    "token_json",
    "token_state",
]
