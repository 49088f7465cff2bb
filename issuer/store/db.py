"""Engine, sessions and migrations.

**Write transactions are serialised by the database.** On PostgreSQL, rows are locked
with ``SELECT ... FOR NO KEY UPDATE`` (``with_for_update(key_share=True)``) before they are
read for a change; that lock serialises changes of a row without blocking the inserts that
merely reference it (a new status entry's foreign key to its list), which would otherwise
deadlock against a concurrent re-sign of the list. Constraints refuse
what a lock cannot (two current credentials, a reused status index). SQLite has no row
locks and pysqlite would begin a transaction only at the first write, after the rows were
read; so we take transaction control from the driver and begin every transaction with
``BEGIN IMMEDIATE``, which takes SQLite's single write lock *before* the first read. Two
requests (threads or processes) that read-then-write the same rows run one after the
other, and the second reads what the first committed. Connections made with the execution
option ``read_only=True`` (:func:`readers`) begin a plain deferred transaction instead: in
WAL mode they neither wait for nor block a writer. They must not write.

A writer that finds the lock taken tries again after a pause of at most
:data:`SQLITE_MAX_PAUSE` (:func:`_begin_immediate`), not in SQLite's own busy handler,
whose pauses grow to 100 ms: under load that left the lock free while every waiter slept.

No one waits for a lock for ever: a SQLite writer gives up after :data:`LOCK_TIMEOUT`
seconds, and so does a PostgreSQL statement waiting for a row or advisory lock
(``lock_timeout``, set on each new connection). The web edge answers either with ``503``
and ``Retry-After``; nothing of the request was written.
"""

from __future__ import annotations

import random
import sqlite3
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, func, select, table, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Seconds a writer waits for a lock before giving up (SQLite's write lock; PostgreSQL's
#: row and advisory locks).
LOCK_TIMEOUT = 30
#: Longest pause (seconds) between two tries for SQLite's write lock; the first is 0.1 ms.
SQLITE_MAX_PAUSE = 0.002


def make_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL, a busy timeout and
    ``BEGIN IMMEDIATE`` write transactions (see the module docstring)."""
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _postgresql_connect(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT * 1000)}")
            dbapi_connection.commit()  # a SET made in a transaction lasts only if it commits

        return engine
    engine = create_engine(url, connect_args={"timeout": LOCK_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver no longer begins transactions: we do
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each WAL checkpoint; safe in WAL mode
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        if conn.get_execution_options().get("read_only", False):
            conn.connection.driver_connection.execute("BEGIN")
        else:
            _begin_immediate(conn)

    return engine


def _begin_immediate(conn: Any) -> None:
    """``BEGIN IMMEDIATE`` on a SQLite connection: take the write lock, tried again after
    short pauses (0.1 ms doubling to :data:`SQLITE_MAX_PAUSE`, jittered) while another
    connection holds it, for up to :data:`LOCK_TIMEOUT` seconds; then the error
    SQLite gives ("database is locked"). SQLite's busy handler is off meanwhile, so each try
    answers at once; it is back on for the transaction's statements."""
    raw = conn.connection.driver_connection
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        deadline, pause = time.monotonic() + LOCK_TIMEOUT, 0.0001
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _sqlite_busy(error):
                    raise
            time.sleep(pause * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not a secret)
            pause = min(pause * 2, SQLITE_MAX_PAUSE)
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the last try; its error is SQLAlchemy's own
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(LOCK_TIMEOUT * 1000)}")


def _sqlite_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite refused because another connection holds a lock (any extended code
    of SQLITE_BUSY or SQLITE_LOCKED)."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


#: PostgreSQL errors that mean "not now" (SQLSTATE): a lock not granted within
#: ``lock_timeout``, a deadlock, a serialization failure, a server shutting down or starting.
_TRANSIENT_SQLSTATES = frozenset({"55P03", "40P01", "40001", "57P01", "57P03"})


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` (SQLAlchemy's) says the database cannot serve now, rather than
    that a statement or the schema is wrong: a lock not granted in time, a connection lost,
    refused or not given by the pool in time. The transaction wrote nothing; a retry may
    succeed."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.Error):
        return _sqlite_busy(error.orig)
    sqlstate = getattr(error.orig, "sqlstate", None)
    # A driver error with no SQLSTATE is the connection's, not a statement's.
    return sqlstate in _TRANSIENT_SQLSTATES or (isinstance(error, OperationalError) and sqlstate is None)


#: PostgreSQL: a table whose row count is off from the planner's estimate by more than this
#: fraction gets fresh planner statistics before a bulk read of it (:func:`refresh_statistics`).
STALE_STATISTICS = 0.2
_ESTIMATE = text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)")


def refresh_statistics(session: Session, tables: Sequence[str]) -> list[str]:
    """PostgreSQL: ``ANALYZE`` those of ``tables`` never analysed, or whose row count is off
    from the planner's estimate (``pg_class.reltuples``) by more than
    :data:`STALE_STATISTICS`, in the session's transaction (the caller commits); the tables
    analysed. SQLite: nothing, not even a transaction begun (``[]``).

    Without statistics the planner takes a table just filled by an import for a small one,
    and reads a batch's records with a sequential scan of all of them: a bulk run over
    100,000 practitioners right after their import read 250 of them in 160-270 ms instead
    of 22-24 ms. Autovacuum analyses in time only when it is on and has come round. The
    check counts each table's rows (tens of milliseconds at a million; for bulk runs and
    imports, not single requests); ANALYZE samples a fixed number of rows, takes well under
    a second and blocks neither reads nor writes. A table this role does not own is skipped
    by PostgreSQL with a warning.
    """
    if session.get_bind().dialect.name != "postgresql":
        return []
    connection = session.connection()
    stale = []
    quote = connection.dialect.identifier_preparer.quote
    for name in tables:  # our own table names, never input
        estimate = float(connection.execute(_ESTIMATE, {"table": name}).scalar_one())
        rows = int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        if estimate < 0 or abs(rows - estimate) > STALE_STATISTICS * max(estimate, 1.0):
            connection.exec_driver_sql(f"ANALYZE {quote(name)}")
            stale.append(name)
    return stale


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit; every transaction may write."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def read_phase(session: Session) -> Iterator[Connection]:
    """Reads that need no write lock, before a request's writes: yields the connection to
    read on.

    On SQLite, when ``session`` has no transaction open, that is a read-only connection of
    its own (:func:`readers`' kind), whose deferred transaction ends on leaving the block, so
    that the session's writes after it begin their own ``BEGIN IMMEDIATE`` transaction: the
    write lock is then held only for the writes, not while rules are checked and a
    credential is signed. (A connection, not the session's transaction: half the cost.)
    Inside an open transaction, with changes waiting to be flushed, or on PostgreSQL (no
    such lock: reads take none), it is the session's own connection, in its transaction.
    Nothing may be written in the block.
    """
    bind = session.get_bind()
    pending = session.new or session.dirty or session.deleted  # a read of the session would flush them
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite" or session.in_transaction() or pending:
        yield session.connection()
        return
    with _read_only(bind).connect() as reader, reader.begin():
        yield reader


_READ_ONLY: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _read_only(engine: Engine) -> Engine:
    """``engine`` with the ``read_only`` option (made once per engine)."""
    found = _READ_ONLY.get(engine)
    if found is None:
        found = _READ_ONLY[engine] = engine.execution_options(read_only=True)
    return found


def readers(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read (public pages, key sets, status lists): on
    SQLite they do not take the write lock. Never write through one."""
    return sessionmaker(_read_only(engine), expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    """Alembic configured programmatically for ``url`` (no alembic.ini needed)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Create or upgrade the database schema to the newest migration."""
    command.upgrade(alembic_config(url), "head")
