"""API bearer tokens of the staff API: stored as SHA-256 hashes, with a lifecycle (an
optional expiry, the time of last use, revocation); a revoked or expired token is refused
on its next request, and every token event is audited.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.orm import Session

from issuer import audit
from issuer.context import IssuerContext
from issuer.errors import Conflict, NotFound, ValidationFailed
from issuer.store.db import read_phase
from issuer.store.models import ApiToken
from vc import credential as vcc

ROLES = ("registrar", "certifier", "admin")


#: The longest a token may be created for (ten years); ``None`` means it never expires.
MAX_TOKEN_DAYS = 3650


#: ``last_used_at`` is written at most this often per token (not a write per request).
LAST_USED_EVERY = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
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
        token_hash=hash_secret(secret),
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


@dataclass(frozen=True, slots=True)
class Bearer:
    """Who presented an active bearer token: the token's id and role (what a request needs
    of it, without an ORM object)."""

    id: str
    role: str


def token_state(token: ApiToken | Row[Any], now: datetime) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


_TOKENS: Table = ApiToken.__table__  # type: ignore[assignment]
_BY_HASH = select(_TOKENS).where(_TOKENS.c.token_hash == bindparam("token_hash"))
_NOTE_USE = update(_TOKENS).where(_TOKENS.c.id == bindparam("token_id")).values(last_used_at=bindparam("now"))


def authenticate_token(session: Session, secret: str, now: datetime) -> Bearer | None:
    """Who holds the active token of a presented secret, or ``None`` (unknown, revoked or
    expired).

    One read (on SQLite outside the write lock, :func:`~issuer.store.db.read_phase`); the
    token's use is noted at most once per :data:`LAST_USED_EVERY`, by a write committed at once.
    """
    if not secret or len(secret) > 200:
        return None
    with read_phase(session) as reader:
        found = reader.execute(_BY_HASH, {"token_hash": hash_secret(secret)}).first()
    if found is None or token_state(found, now) != "active":
        session.rollback()
        return None
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY:
        session.connection().execute(_NOTE_USE, {"token_id": found.id, "now": now})
        session.commit()
    return Bearer(id=found.id, role=found.role)


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
