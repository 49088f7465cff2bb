"""Issuance: only the eligible, and one current credential per practitioner and program."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from issuer.credentials import issuance
from issuer.errors import Conflict, NotEligible
from issuer.store.models import Credential
from tests.conftest import PROGRAM
from tests.db.conftest import Domain
from vc import jose

pytestmark = pytest.mark.db


def test_an_issued_credential_is_the_current_one_and_a_second_is_refused(domain: Domain) -> None:
    person = domain.enrol()
    row = issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    assert issuance.current_credential(domain.session, person, PROGRAM, domain.ctx.now()) == row
    with pytest.raises(Conflict) as refused:
        issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    assert refused.value.extensions["credential_id"] == row.id


def test_the_ineligible_get_the_unmet_requirements_and_nothing_is_written(domain: Domain) -> None:
    person = domain.enrol()
    domain.clock.advance(days=400)  # exams and license check out of date
    with pytest.raises(NotEligible) as refused:
        issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    assert refused.value.extensions["unmet"]
    domain.session.rollback()
    assert domain.session.scalars(select(Credential)).all() == []


def test_an_expired_credential_gives_up_its_place_to_a_new_one(domain: Domain) -> None:
    person = domain.enrol()
    old = issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    domain.clock.now = old.valid_until.replace(second=1)
    assert issuance.effective_status(old, domain.ctx.now()) == "expired"
    assert issuance.current_credential(domain.session, person, PROGRAM, domain.ctx.now()) is None
    issuance.free_current_slot(domain.session, person, PROGRAM, domain.ctx.now())
    assert old.is_current is None and old.status == "active"  # still what it was: an expired credential


def test_a_second_current_row_is_refused_by_the_database_naming_the_first(domain: Domain) -> None:
    """What a racing process meets: the place looked free, but the index says no."""
    person = domain.enrol()
    first = issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    second = Credential(
        id=str(uuid.uuid4()), practitioner_id=person, program_id=PROGRAM, kid="k", token="",
        issued_at=first.issued_at, valid_from=first.valid_from, valid_until=first.valid_until,
        status="active", issued_by="test", is_current=True,
    )
    with pytest.raises(Conflict) as refused:
        issuance.insert_current(domain.session, second)
    assert refused.value.extensions["credential_id"] == first.id
    # the transaction is still usable: the insert did nothing (ON CONFLICT DO NOTHING)
    assert domain.session.scalars(select(Credential.id)).all() == [first.id]


@pytest.mark.parametrize(("status", "past_end", "expected"), [
    ("active", False, "active"), ("active", True, "expired"), ("suspended", True, "suspended"),
    ("revoked", True, "revoked"), ("superseded", False, "superseded"),
])
def test_the_status_a_reader_is_told(domain: Domain, status: str, past_end: bool, expected: str) -> None:
    person = domain.enrol()
    row = issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    row.status = status
    moment = row.valid_until.replace(second=1) if past_end else domain.ctx.now()
    assert issuance.effective_status(row, moment) == expected


def test_a_credential_row_holds_no_rendered_images_and_stays_small(domain: Domain) -> None:
    """QR codes and PDFs are rendered on request (migration 0009): the row is the signed
    token, stored compact (migration 0010: a third of its text), and under 1 KiB of metadata
    (bench/storage.py measures the whole database)."""
    row = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")

    bind = domain.session.get_bind()
    columns = {c["name"] for c in inspect(bind).get_columns("credentials")}
    assert not columns & {"qr_png", "qr_svg"}
    assert "credential_documents" not in inspect(bind).get_table_names()
    stored = domain.session.execute(text("SELECT * FROM credentials WHERE id = :id"), {"id": row.id}).one()
    size = sum(len(v) if isinstance(v, bytes | str) else 8 for v in stored)
    assert len(stored.token) < min(1600, len(row.token) / 2), (len(stored.token), len(row.token))
    assert size - len(stored.token) < 1024, (size, len(stored.token))


def test_on_sqlite_an_issuance_reads_checks_and_signs_without_holding_the_write_lock(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = domain.session.get_bind()
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock; PostgreSQL reads take no lock")
    issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")  # lists and a slot reserve
    person = domain.enrol()
    signing = threading.Event()
    real_sign = issuance.jose.sign_parts

    def sign(*args: Any, **kwargs: Any) -> jose.Signed:
        signing.set()
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(issuance.jose, "sign_parts", sign)
    other = sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=30)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction holds the lock
    issued: list[Credential] = []
    worker = threading.Thread(
        target=lambda: issued.append(issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")))
    worker.start()
    try:
        assert signing.wait(10), "the issuance waited for the write lock before reading and signing"
        time.sleep(0.2)
        assert worker.is_alive() and not issued, "it waits for the lock only to write"
    finally:
        other.execute("COMMIT")
        other.close()
        worker.join(30)
    assert issued
    assert issuance.current_credential(domain.session, person, PROGRAM, domain.ctx.now()) == issued[0]
