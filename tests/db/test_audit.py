"""The audit chain: appending, verifying, and the tampering it catches (edit, delete, reorder)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from issuer import audit
from issuer.store.db import make_engine, make_sessionmaker

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as s:
        yield s
    engine.dispose()


def _append(session: Session, n: int) -> None:
    for i in range(n):
        audit.record(
            session,
            at=T0 + timedelta(minutes=i),
            actor="token:abc",
            action="revoke" if i % 2 else "issue",
            target=f"credential:{i}",
            category="fraud" if i % 2 else None,
            reason=f"reason {i}",
            data={"i": i, "nested": {"b": 1, "a": [1.5, "x"]}},
        )
    session.commit()


def _tamper(database_url: str, sql: str) -> None:
    """Change the table behind the code's back, as someone with database access could
    (on PostgreSQL that includes switching off the trigger that refuses edits)."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        conn.execute(text(sql))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"))
    engine.dispose()


def test_postgresql_refuses_to_edit_an_entry(session: Session, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the trigger exists on PostgreSQL only")
    _append(session, 2)
    engine = create_engine(database_url)
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'x' WHERE seq = 1"))
    engine.dispose()
    assert audit.verify(session).ok


def test_empty_log_verifies(session: Session) -> None:
    assert audit.verify(session) == audit.ChainReport(checked=0)


def test_entries_chain_by_hash(session: Session) -> None:
    _append(session, 4)
    entries = list(audit.entries(session, batch=3))
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    report = audit.verify(session)
    assert report.ok and report.checked == 4


def test_unknown_action_is_a_programming_error(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(session, at=T0, actor="x", action="delete_everything", target="all")


def test_edited_entry_is_named(session: Session, database_url: str) -> None:
    _append(session, 5)
    _tamper(database_url, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3")
    session.expire_all()
    report = audit.verify(session)
    assert not report.ok
    assert report.broken_seq == 3
    assert "altered" in (report.problem or "")


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(session: Session, database_url: str) -> None:
    _append(session, 5)
    entry = next(e for e in audit.entries(session) if e.seq == 2)
    entry_fields = {**audit.entry_fields(entry), "actor": "someone else"}
    forged = hashlib.sha256(
        json.dumps(entry_fields, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    session.rollback()  # end the read (on SQLite it holds the write lock, as every session does)
    _tamper(database_url, f"UPDATE audit_log SET actor = 'someone else', hash = '{forged}' WHERE seq = 2")
    session.expire_all()
    report = audit.verify(session)
    assert report.broken_seq == 3
    assert "does not link" in (report.problem or "")


def test_swapped_order_is_caught(session: Session, database_url: str) -> None:
    _append(session, 5)
    # Swap entries 2 and 3 by renumbering them (via a free number to respect the key).
    _tamper(database_url, "UPDATE audit_log SET seq = 100 WHERE seq = 2")
    _tamper(database_url, "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    _tamper(database_url, "UPDATE audit_log SET seq = 3 WHERE seq = 100")
    session.expire_all()
    report = audit.verify(session)
    assert report.broken_seq == 2
    assert "does not link" in (report.problem or "")


def test_deleted_entry_is_caught(session: Session, database_url: str) -> None:
    _append(session, 5)
    _tamper(database_url, "DELETE FROM audit_log WHERE seq = 4")
    session.expire_all()
    report = audit.verify(session)
    assert report.broken_seq == 5
    assert "missing" in (report.problem or "")


def test_deleted_first_entry_is_caught(session: Session, database_url: str) -> None:
    _append(session, 3)
    _tamper(database_url, "DELETE FROM audit_log WHERE seq = 1")
    session.expire_all()
    assert audit.verify(session).broken_seq == 2


def test_export_is_json_lines_with_hashes(session: Session) -> None:
    _append(session, 3)
    out = io.StringIO()
    assert audit.export(session, out) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    assert lines[1]["at"] == "2026-11-22T12:01:00.000000Z"
    assert lines[1]["category"] == "fraud" and lines[1]["data"]["nested"] == {"b": 1, "a": [1.5, "x"]}


def test_no_update_or_delete_path_in_the_code() -> None:
    """Append-only by construction: nothing in the issuer writes audit_log except record()."""
    from pathlib import Path

    import issuer

    root = Path(issuer.__file__).parent
    for path in root.rglob("*.py"):
        source = path.read_text("utf-8")
        if "migrations" in path.parts:
            continue
        assert "update(AuditEntry" not in source and "delete(AuditEntry" not in source, path
        assert "session.delete(entry" not in source, path
