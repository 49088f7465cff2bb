"""Bulk issuance in batches: a batch is written with a few statements whatever its size,
status indexes are claimed for a whole batch at once (across a list's end too), expired
credentials give up their place, a dry run writes nothing, and on PostgreSQL a run plans
its reads with fresh statistics."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from issuer import audit
from issuer.credentials import bulk, issuance, status_slots
from issuer.store.models import AuditEntry, Credential, Record, StatusEntry, StatusList
from tests.conftest import PROGRAM
from tests.db.conftest import Domain
from tests.eligible import seed_eligible
from vc import jose
from vc.status_list import MIN_ENTRIES

pytestmark = pytest.mark.db


def _engine(domain: Domain) -> Engine:
    bind = domain.session.get_bind()
    assert isinstance(bind, Engine)
    return bind


def test_a_batch_is_written_with_one_insert_per_table(domain: Domain) -> None:
    people = seed_eligible(_engine(domain), domain.ctx, 60)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()[:3]).upper())

    event.listen(_engine(domain), "before_cursor_execute", seen)
    try:
        summary = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=30)
    finally:
        event.remove(_engine(domain), "before_cursor_execute", seen)
    assert {i["practitioner_id"] for i in summary.issued} == set(people)
    for table in ("CREDENTIALS", "STATUS_ENTRIES", "AUDIT_LOG"):
        assert statements.count(f"INSERT INTO {table}") == 2, (table, statements)  # one per batch
    assert len(statements) < 60, statements  # not one statement per credential
    rows = domain.session.scalars(select(Credential)).all()
    assert len(rows) == 60 and audit.verify(domain.session).ok
    entries = domain.session.execute(select(StatusEntry.credential_id, StatusEntry.purpose,
                                            StatusEntry.list_id, StatusEntry.index)).all()
    assert len({(e.list_id, e.index) for e in entries}) == len(entries) == 180
    by_credential = {(e.credential_id, e.purpose): (e.list_id, e.index) for e in entries}
    for row in rows:
        _, payload = jose.split(row.token)
        for status in payload["credentialStatus"]:
            where = by_credential[(row.id, status["statusPurpose"])]
            assert status["statusListCredential"].endswith("/" + where[0])
            assert int(status["statusListIndex"]) == where[1]
    issued = set(domain.session.scalars(select(AuditEntry.target).where(AuditEntry.action == "issue")))
    assert issued == {f"credential:{row.id}" for row in rows}


def test_indexes_for_a_batch_continue_in_a_new_list_when_one_fills(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_slots, "STATUS_LIST_FILL", 5 / MIN_ENTRIES)
    first = status_slots.allocate_many(domain.session, domain.ctx, "revocation", 3)
    second = status_slots.allocate_many(domain.session, domain.ctx, "revocation", 9)
    domain.session.commit()
    pairs = first + second
    assert len(set(pairs)) == 12
    lists = domain.session.scalars(select(StatusList).order_by(StatusList.created_at, StatusList.id)).all()
    assert sorted(s.allocated for s in lists) == [2, 5, 5]
    for status_list in lists:
        given = [index for list_id, index in pairs if list_id == status_list.id]
        key = bytes.fromhex(status_list.slot_key)
        slots = range(status_list.allocated)
        assert sorted(given) == sorted(status_slots.permute_many(slots, MIN_ENTRIES, key))
    assert status_slots.permute_many([0, 1, 2], MIN_ENTRIES, b"k") == [
        status_slots.permute(n, MIN_ENTRIES, b"k") for n in range(3)]


def test_an_expired_credential_is_replaced_by_the_bulk_run(domain: Domain) -> None:
    old = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    domain.session.execute(  # as if it had been issued long ago: expired now
        Credential.__table__.update().where(Credential.id == old.id)  # type: ignore[attr-defined]
        .values(valid_until=domain.ctx.now().replace(year=2026, month=1)))
    domain.session.commit()
    summary = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test")
    assert [i["practitioner_id"] for i in summary.issued] == [old.practitioner_id]
    rows = {r.id: r for r in domain.session.scalars(
        select(Credential).execution_options(populate_existing=True))}
    assert rows[old.id].is_current is None
    assert rows[summary.issued[0]["credential_id"]].is_current is True


def test_a_dry_run_writes_nothing(domain: Domain) -> None:
    seed_eligible(_engine(domain), domain.ctx, 5)
    domain.session.commit()
    summary = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", dry_run=True, batch_size=2)
    assert len(summary.issued) == 5
    for table in (Credential, StatusEntry, AuditEntry):
        assert domain.session.scalar(select(func.count()).select_from(table)) == 0
    assert domain.session.scalar(select(func.count()).select_from(StatusList)) == 0


def test_a_batch_size_out_of_range_is_refused(domain: Domain) -> None:
    from issuer.errors import ValidationFailed

    for size in (0, bulk.MAX_BATCH_SIZE + 1):
        with pytest.raises(ValidationFailed, match="batch size"):
            bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=size)


def _planner_rows(domain: Domain, table: str) -> float:
    """PostgreSQL's planner estimate of ``table``'s rows (-1: never analysed)."""
    found = domain.session.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"),
                                   {"table": table})
    return float(found.scalar_one())


def test_a_bulk_run_right_after_a_large_load_plans_with_fresh_statistics(domain: Domain) -> None:
    """Just loaded, never analysed (autovacuum off or not yet round), the records table looks
    small to PostgreSQL's planner, and each batch's read of records scanned all of them (160-270
    ms for 250 practitioners at 100,000 instead of 22-24). The run analyses what it reads first."""
    if domain.session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner statistics; SQLite plans with its indexes without them")
    seed_eligible(_engine(domain), domain.ctx, 120)
    domain.session.commit()
    stored = domain.session.scalar(select(func.count()).select_from(Record))
    assert _planner_rows(domain, "records") != stored  # not analysed since the load: the planner guesses
    summary = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=50)
    assert len(summary.issued) == 120
    domain.session.commit()
    assert _planner_rows(domain, "practitioners") == 120
    assert _planner_rows(domain, "records") == stored
