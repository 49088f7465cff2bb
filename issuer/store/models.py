"""Database tables of the issuer (SQLAlchemy 2.0 typed mappings).

Times are stored as timezone-aware UTC; dates as dates. A status list's bits are stored
only inside its signed token (``StatusList.token``): a status change flips the bits it
changes there, and key changes re-derive them from ``Credential.status``
(:mod:`issuer.credentials.status_lists`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from issuer.store.compact import CompactJWS

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming scheme (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)


class Practitioner(Base):
    """A candidate: a licensed medical professional, one per license (jurisdiction + number)."""

    __tablename__ = "practitioners"
    __table_args__ = (
        UniqueConstraint("license_jurisdiction", "license_number", name="uq_practitioners_license"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), index=True)
    profession: Mapped[str] = mapped_column(String(4))
    license_number: Mapped[str] = mapped_column(String(64))
    license_jurisdiction: Mapped[str] = mapped_column(String(10))
    license_status: Mapped[str] = mapped_column(String(16))
    license_expires_on: Mapped[date] = mapped_column(Date)
    license_checked_on: Mapped[date] = mapped_column(Date)
    license_checked_source: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))

    records: Mapped[list[Record]] = relationship(back_populates="practitioner", order_by="Record.created_at")


class Record(Base):
    """One completion record (didactic module, hands-on session, exam, CE credits, license
    check, supervision agreement). Never edited: a correction is a new record whose
    ``supersedes_id`` names the one it replaces (unique: a record is superseded once).
    ``program_id`` is ``""`` for practitioner-wide records (license checks, supervision).
    ``import_key`` is the hash of the imported CSV row, so a re-import adds nothing."""

    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioners.id"), index=True)
    program_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    completed_on: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"), unique=True, nullable=True)
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)

    practitioner: Mapped[Practitioner] = relationship(back_populates="records")


class Credential(Base):
    """An issued, signed credential and its current status.

    ``is_current`` is ``True`` for the one credential that is a practitioner's current one
    for a program (active or suspended) and ``NULL`` for every other; a unique index over
    ``(practitioner_id, program_id, is_current)`` lets the database refuse a second current
    credential whichever process tries (``NULL`` never collides). It is cleared when the
    credential is revoked or superseded, and when a new credential replaces an expired one.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        Index("uq_credentials_current", "practitioner_id", "program_id", "is_current", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4: unguessable
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioners.id"), index=True)
    program_id: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(128), index=True)
    #: The signed credential (compact JWS), stored compact and read back as the same string
    #: (:mod:`issuer.store.compact`). Compare it in Python, never in SQL.
    token: Mapped[str] = mapped_column(CompactJWS())
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    #: active | suspended | revoked | superseded
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: Public reason category of the last status change (vc.protocol.CATEGORIES).
    status_category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: Private note of the last status change: staff API and audit log only, never public.
    status_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The credential that replaced this one (renewal, correction, re-issue after compromise).
    superseded_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    is_current: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    issued_by: Mapped[str] = mapped_column(String(64))

    practitioner: Mapped[Practitioner] = relationship()
    entries: Mapped[list[StatusEntry]] = relationship(back_populates="credential")


class StatusList(Base):
    """One Bitstring Status List of one purpose, and its latest signed form: ``token``'s
    ``encodedList`` is the list's bits, which the next status change flips."""

    __tablename__ = "status_lists"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(80))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Slots given out so far: slot ``n`` is index ``permute(n)`` under ``slot_key``. Lists made
    #: before migration 0008 (random indexes) are marked full (``allocated = size``).
    allocated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Hex key of the list's pseudo-random permutation of its indexes ("" on old lists).
    slot_key: Mapped[str] = mapped_column(String(64), default="", server_default="")


class StatusEntry(Base):
    """A credential's position in a list; the primary key makes an index unique per list."""

    __tablename__ = "status_entries"
    __table_args__ = (UniqueConstraint("credential_id", "purpose"),)

    list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)

    credential: Mapped[Credential] = relationship(back_populates="entries")


class ApiToken(Base):
    """A bearer token for the staff API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: ``None``: the token never expires.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class StaffAccount(Base):
    """A person who signs in to the staff console; the password is stored as an Argon2id hash."""

    __tablename__ = "staff_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """One console sign-in, held on the server: the browser's cookie carries only a random
    secret whose SHA-256 is ``id``. Valid while not ended, seen within the idle timeout and
    created within the absolute timeout (:mod:`issuer.access`)."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: ``signed_out``, ``password_changed``, ``locked_out``, ``idle``, ``expired``
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AuditEntry(Base):
    """One entry of the append-only audit log; ``hash`` chains it to the entry before.

    Only :func:`issuer.audit.record` writes this table; nothing updates or deletes it.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
