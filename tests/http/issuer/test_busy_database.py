"""A database that cannot serve a write in time (another transaction holds the lock it
needs, longer than ``LOCK_TIMEOUT``) gets ``503`` with ``Retry-After`` and problem JSON, on
SQLite and PostgreSQL, not a 500; nothing of the request is written, and the same request
succeeds once the lock is free. Connections PostgreSQL dropped are replaced without an
error."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from issuer import access, audit, create_app
from issuer.credentials import status_slots
from issuer.runtime import Runtime
from issuer.store import db
from issuer.store.models import AuditEntry, Credential
from tests.conftest import PROGRAM, FakeClock, auth, enrol, issue

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


def test_after_postgresql_drops_the_issuers_connections_the_next_requests_succeed(
    database_url: str, keys_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server restart, a failover or a proxy closing idle connections kills the pooled
    connections under the issuer; the next requests (a write, an issuance whose status
    slots are claimed on the separate claims pool, a public read) still succeed: each pool
    tests a connection before handing it out, rather than answering 503 or 500 once per
    dead connection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server's connections; SQLite has none")
    name = f"bxc-reconnect-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(status_slots, "SLOT_BLOCK", 1)  # every issuance claims on the claims pool
    app = create_app({"database_url": f"{database_url}&application_name={name}", "keys_dir": str(keys_dir),
                      "status_list_ttl": 60}, clock=clock)
    rt: Runtime = app.extensions["issuer"]
    client = app.test_client()
    with rt.sessions() as session:
        tokens = {role: access.create_token(session, rt.ctx, role, "test") for role in access.ROLES}
    first = issue(client, tokens, enrol(client, tokens))
    admin = create_engine(database_url)
    try:
        with admin.begin() as conn:
            killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE application_name = :name"), {"name": name}).scalar_one()
        assert killed >= 2, "the session pool's and the claims pool's connections were open"

        second = issue(client, tokens, enrol(client, tokens, email="second@example.org",
                                             license={"number": "RN-SECOND"}))
        assert second["id"] != first["id"]
        page = client.get(f"/credentials/{first['id']}")
        assert page.status_code == 200
    finally:
        admin.dispose()
        rt.engine.dispose()
