"""SQLite's write lock as the issuer takes it (``issuer.store.db``): ``BEGIN IMMEDIATE``
tried again after short pauses while another connection holds it, for at most
``LOCK_TIMEOUT`` seconds, with SQLite's own busy handler back on afterwards."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

from issuer.store import db

ROOT = Path(__file__).resolve().parents[2]

#: Read a counter, pause, write it back plus one: lost updates unless writers are serialised.
INCREMENTS = """
import sys, time
from sqlalchemy import text
from issuer.store.db import make_engine
engine = make_engine(sys.argv[1])
for _ in range(int(sys.argv[2])):
    with engine.begin() as conn:
        value = conn.execute(text("SELECT value FROM counter")).scalar_one()
        time.sleep(0.001)
        conn.execute(text("UPDATE counter SET value = :v"), {"v": value + 1})
"""


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (value INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def _holder(engine: Engine) -> sqlite3.Connection:
    """Another process's connection, holding the write lock."""
    other = sqlite3.connect(str(engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_writer_waits_for_the_lock_then_reads_what_the_holder_committed(engine: Engine) -> None:
    other = _holder(engine)
    seen: list[int] = []

    def write() -> None:
        with engine.begin() as conn:
            seen.append(conn.execute(text("SELECT value FROM counter")).scalar_one())
            conn.execute(text("UPDATE counter SET value = value + 1"))

    worker = threading.Thread(target=write)
    worker.start()
    time.sleep(0.3)
    assert worker.is_alive() and not seen, "the writer must wait while the lock is held"
    other.execute("UPDATE counter SET value = 10")
    other.execute("COMMIT")
    worker.join(10)
    other.close()
    assert seen == [10]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM counter")).scalar_one() == 11


def test_a_writer_gives_up_after_the_timeout_and_the_connection_waits_again_afterwards(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "LOCK_TIMEOUT", 0.3)
    other = _holder(engine)
    try:
        began = time.monotonic()
        with pytest.raises(exc.OperationalError, match="database is locked"), engine.begin() as conn:
            conn.execute(text("UPDATE counter SET value = 1"))
        assert 0.3 <= time.monotonic() - began < 5
    finally:
        other.execute("ROLLBACK")
        other.close()
    with engine.begin() as conn:  # the pooled connection: its busy handler is back on
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 300
        conn.execute(text("UPDATE counter SET value = 1"))


def test_writers_in_several_processes_and_threads_lose_no_update(engine: Engine) -> None:
    per_writer, processes, threads = 25, 3, 4
    children = [
        subprocess.Popen([sys.executable, "-c", INCREMENTS, str(engine.url), str(per_writer)], cwd=ROOT)
        for _ in range(processes)
    ]

    def increments() -> None:
        for _ in range(per_writer):
            with engine.begin() as conn:
                value = conn.execute(text("SELECT value FROM counter")).scalar_one()
                time.sleep(0.001)
                conn.execute(text("UPDATE counter SET value = :v"), {"v": value + 1})

    workers = [threading.Thread(target=increments) for _ in range(threads)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert [child.wait(120) for child in children] == [0] * processes
    finally:
        for child in children:
            child.kill()
            child.wait()
    with engine.connect() as conn:
        total = conn.execute(text("SELECT value FROM counter")).scalar_one()
    assert total == per_writer * (processes + threads)
