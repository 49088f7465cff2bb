"""Status list indexes come from each list's slot counter through its keyed permutation:
no status entry is read to give one, a process claims a reserve of slots with one statement
per purpose, old (randomly filled) lists are never continued, and a rolled-back issuance
leaves its slot unused rather than given twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select

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
        # the process claimed a reserve of SLOT_BLOCK slots and gave out the first four
        assert len(listed) == 1 and listed[0].allocated == status_slots.SLOT_BLOCK
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
    assert touching and all("INSERT INTO status_entries" in s for s in touching), touching
    assert not [s for s in touching if re.search(r"\bFROM\s+status_entries\b", s)], touching


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
    second = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test", commit=False)
    rolled_back = {(e.list_id, e.index) for e in second.entries}
    domain.session.rollback()
    third = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    stored = domain.session.execute(select(StatusEntry.list_id, StatusEntry.index))
    entries = {(r.list_id, r.index) for r in stored}
    assert len(entries) == 6 and not entries & rolled_back
    assert {(e.list_id, e.index) for e in third.entries}.isdisjoint(rolled_back)
    # Slots are claimed outside the issuing transaction: the counters still count the rolled-back one.
    assert domain.session.scalars(select(StatusList.allocated)).all() == [status_slots.SLOT_BLOCK] * 3
    assert {c.id for c in domain.session.scalars(select(Credential))} == {first.id, third.id}


def test_one_claim_per_purpose_serves_a_whole_reserve_of_issuances(domain: Domain) -> None:
    issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")  # lists and a reserve
    people = [domain.enrol() for _ in range(status_slots.SLOT_BLOCK)]
    statements: list[str] = []
    engine = domain.session.get_bind()
    assert isinstance(engine, Engine)
    # PostgreSQL claims on a small autocommit engine of its own: watch both.
    engines = [engine]
    if engine.dialect.name == "postgresql":
        engines.append(status_slots._claims_engine(engine))

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    for watched in engines:
        event.listen(watched, "before_cursor_execute", seen)
    try:
        for person in people:
            issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    finally:
        for watched in engines:
            event.remove(watched, "before_cursor_execute", seen)
    claims = [s for s in statements if s.lstrip().upper().startswith("UPDATE STATUS_LISTS")]
    # The first reserve had SLOT_BLOCK - 1 slots left: one more claim of each purpose, no more.
    assert len(claims) == len(PURPOSES), claims
    given = domain.session.execute(select(StatusEntry.list_id, StatusEntry.index)).all()
    assert len(given) == len(set(given)) == (status_slots.SLOT_BLOCK + 1) * len(PURPOSES)


def test_a_forked_process_starts_a_reserve_of_its_own(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    engine = domain.session.get_bind()
    assert isinstance(engine, Engine)
    parent = status_slots._reserve_of(engine)
    assert all(len(queue) == status_slots.SLOT_BLOCK - 1 for queue in parent.slots.values())
    monkeypatch.setattr(status_slots.os, "getpid", lambda: parent.pid + 1)  # as in a child after fork()
    child = status_slots._reserve_of(engine)
    assert child is not parent and not any(child.slots.values())
    row = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    inherited = {(list_id, index) for queue in parent.slots.values() for list_id, index in queue}
    assert {(e.list_id, e.index) for e in row.entries}.isdisjoint(inherited)
