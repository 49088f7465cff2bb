"""Status list indexes come from each list's slot counter through its keyed permutation:
no status entry is read to give one, old (randomly filled) lists are never continued, and a
rolled-back issuance on PostgreSQL leaves its slot unused rather than given twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from issuer.credentials import issuance, status_slots
from issuer.store.models import Credential, StatusEntry, StatusList
from tests.conftest import PROGRAM
from tests.db.conftest import Domain
from vc.status_list import MIN_ENTRIES, PURPOSES

pytestmark = pytest.mark.db


def test_indexes_are_the_lists_permutation_of_its_slots(domain: Domain) -> None:
    rows = [issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test") for _ in range(4)]
    for purpose in PURPOSES:
        listed = domain.session.scalars(select(StatusList).where(StatusList.purpose == purpose)).all()
        assert len(listed) == 1 and listed[0].allocated == 4
        key = bytes.fromhex(listed[0].slot_key)
        assert len(key) == 32
        indexes = domain.session.scalars(
            select(StatusEntry.index).where(StatusEntry.list_id == listed[0].id)
            .where(StatusEntry.credential_id.in_([r.id for r in rows]))
        ).all()
        assert sorted(indexes) == sorted(status_slots.permute(n, MIN_ENTRIES, key) for n in range(4))


def test_giving_an_index_reads_no_status_entry(domain: Domain) -> None:
    domain.session.commit()
    person = domain.enrol()
    issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")  # the lists exist
    statements: list[str] = []
    engine = domain.session.get_bind()

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    touching = [s for s in statements if "status_entries" in s]
    assert touching and all(s.lstrip().upper().startswith("INSERT") for s in touching), touching


def test_lists_made_before_the_slot_counter_are_full_and_new_credentials_go_to_new_lists(
    domain: Domain,
) -> None:
    now = datetime.now(UTC)
    domain.session.execute(insert(StatusList), [  # as migration 0008 leaves an old list
        {"id": f"old{purpose[:3]}", "purpose": purpose, "size": MIN_ENTRIES, "token": "", "etag": "",
         "signed_at": now, "created_at": now, "allocated": MIN_ENTRIES, "slot_key": ""}
        for purpose in PURPOSES])
    domain.session.commit()
    row = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    lists = {e.list_id for e in row.entries}
    assert len(lists) == 3 and not any(i.startswith("old") for i in lists)


def test_a_slot_of_a_rolled_back_issuance_is_never_given_again(domain: Domain) -> None:
    first = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test", commit=False)
    domain.session.rollback()
    third = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    entries = domain.session.execute(select(StatusEntry.list_id, StatusEntry.index)).all()
    assert len(entries) == len(set(entries)) == 6
    allocated = domain.session.scalars(select(StatusList.allocated)).all()
    postgres = domain.session.get_bind().dialect.name == "postgresql"
    # PostgreSQL takes slots outside the issuing transaction: the rolled-back one stays used.
    assert allocated == [3 if postgres else 2] * 3
    assert {c.id for c in domain.session.scalars(select(Credential))} == {first.id, third.id}
