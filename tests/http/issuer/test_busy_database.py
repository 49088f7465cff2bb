"""A database that cannot serve a write in time (another transaction holds the lock it
needs, longer than ``LOCK_TIMEOUT``) gets ``503`` with ``Retry-After`` and problem JSON, on
SQLite and PostgreSQL, not a 500; nothing of the request is written, and the same request
succeeds once the lock is free."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from issuer import audit
from issuer.runtime import Runtime
from issuer.store import db
from issuer.store.models import AuditEntry, Credential
from tests.conftest import PROGRAM, auth, enrol

pytestmark = [pytest.mark.http, pytest.mark.db]


@contextmanager
def _lock_held(url: str) -> Iterator[None]:
    """Another process's transaction holding what an issuance must wait for: SQLite's write
    lock; on PostgreSQL the audit chain's lock, which every write takes."""
    if url.startswith("sqlite"):
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": audit._PG_LOCK_KEY})
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


def test_a_write_that_waits_too_long_gets_503_and_writes_nothing(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str], database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    person = enrol(issuer_client, tokens)
    rt: Runtime = issuer_app.extensions["issuer"]
    monkeypatch.setattr(db, "LOCK_TIMEOUT", 0.3)
    rt.engine.dispose()  # PostgreSQL sets lock_timeout on each new connection
    body = {"practitioner_id": person, "program_id": PROGRAM}
    with rt.sessions() as session:
        entries_before = session.scalar(select(func.count()).select_from(AuditEntry))

    with _lock_held(database_url):
        busy = issuer_client.post("/api/v1/credentials", json=body, headers=auth(tokens["certifier"]))
    assert busy.status_code == 503, busy.get_data(as_text=True)
    assert busy.headers["Retry-After"] == "2"
    assert busy.mimetype == "application/problem+json"
    assert busy.json is not None
    assert busy.json["type"] == "urn:botox-credentials:problem:busy"
    assert "nothing was changed" in busy.json["detail"]
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Credential)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries_before

    issued = issuer_client.post("/api/v1/credentials", json=body, headers=auth(tokens["certifier"]))
    assert issued.status_code == 201, issued.json


def test_a_statement_error_is_not_taken_for_a_busy_database() -> None:
    no_table = OperationalError("SELECT 1 FROM t", {}, sqlite3.OperationalError("no such table: t"))
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
    assert not db.unavailable(no_table)
    assert not db.unavailable(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")))
    assert db.unavailable(OperationalError("BEGIN IMMEDIATE", {}, locked))


class _PgError(Exception):
    """A driver error as psycopg gives it: its SQLSTATE in ``sqlstate``."""

    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("sqlstate", "busy"), [
    ("55P03", True),   # lock_not_available: lock_timeout ran out
    ("40P01", True),   # deadlock_detected
    ("40001", True),   # serialization_failure
    (None, True),      # no SQLSTATE: the connection failed, not the statement
    ("42P01", False),  # undefined_table: a wrong schema, not a busy database
    ("23505", False),  # unique_violation
])
def test_postgresql_errors_that_mean_not_now(sqlstate: str | None, busy: bool) -> None:
    assert db.unavailable(OperationalError("SELECT 1", {}, _PgError(sqlstate))) is busy


def test_a_pool_with_no_free_connection_in_time_is_busy() -> None:
    assert db.unavailable(PoolTimeout("QueuePool limit of size 5 overflow 10 reached"))
