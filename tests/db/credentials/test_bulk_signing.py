"""Bulk issuance's per-credential work (:mod:`issuer.credentials.bulk_signing`): worker
processes issue exactly what the in-process path issues (same practitioners, same claims,
indexes named in the tokens, audit chain intact); a bulk token is what ``vc.jose.sign``
makes, stored as ``compact.pack`` stores it; a worker's failure rolls its batch back; and the
batch read of candidates gives what the one-practitioner read gives, on both databases."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from issuer import audit
from issuer.credentials import bulk, bulk_signing, candidates
from issuer.records import evidence, practitioners, schemas
from issuer.records.practitioners import candidate_of, get_practitioner
from issuer.store import compact
from issuer.store.models import AuditEntry, Credential, StatusEntry
from tests.conftest import PROGRAM, complete_records, practitioner_body
from tests.db.conftest import Domain
from tests.eligible import seed_eligible
from vc import credential as vcc
from vc import jose

pytestmark = pytest.mark.db

needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="worker processes are forked")


@pytest.fixture(autouse=True)
def _no_other_thread(request: pytest.FixtureRequest) -> None:
    """Workers are forked only in a process with no other thread (``can_fork``); a thread
    an earlier test left running would quietly turn these tests into in-process runs."""
    if request.node.get_closest_marker("skipif") is not None:  # the tests that fork
        others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        assert not others, f"threads left running by earlier tests: {others}"


def _engine(domain: Domain) -> Engine:
    bind = domain.session.get_bind()
    assert isinstance(bind, Engine)
    return bind


def _claims_by_practitioner(domain: Domain) -> dict[str, dict[str, Any]]:
    """Each current credential's claims, without what differs between two issuances (its
    id and status entries), by practitioner."""
    out = {}
    for row in domain.session.scalars(select(Credential).where(Credential.is_current.is_(True))
                                      .execution_options(populate_existing=True)):
        header, payload = jose.split(row.token)
        assert header == {"alg": "ES256", "typ": vcc.TYP, "cty": vcc.CTY, "kid": row.kid}
        for key in ("id", "jti", "credentialStatus", "refreshService"):
            payload.pop(key)
        out[row.practitioner_id] = payload
    return out


def _assert_consistent(domain: Domain, count: int) -> None:
    """``count`` credentials, each with one status entry per purpose named in its token and
    one audit entry; the chain intact."""
    rows = domain.session.scalars(select(Credential).execution_options(populate_existing=True)).all()
    assert len(rows) == count
    entries = domain.session.execute(select(StatusEntry.credential_id, StatusEntry.purpose,
                                            StatusEntry.list_id, StatusEntry.index)).all()
    assert len(entries) == 3 * count == len({(e.list_id, e.index) for e in entries})
    where = {(e.credential_id, e.purpose): (e.list_id, e.index) for e in entries}
    for row in rows:
        _, payload = jose.split(row.token)
        for status in payload["credentialStatus"]:
            list_id, index = where[(row.id, status["statusPurpose"])]
            assert status["statusListCredential"].endswith("/" + list_id)
            assert int(status["statusListIndex"]) == index
    assert domain.session.scalar(select(func.count()).select_from(AuditEntry)) == count
    assert audit.verify(domain.session).ok


@needs_fork
def test_workers_issue_what_the_in_process_path_issues(domain: Domain) -> None:
    """Two runs over the same people, one in-process and one with two workers (after the
    first run's credentials are revoked out of the way): the same claims per practitioner."""
    people = seed_eligible(_engine(domain), domain.ctx, 41)
    first = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=10)
    assert len(first.issued) == 41
    in_process = _claims_by_practitioner(domain)
    _assert_consistent(domain, 41)
    domain.session.execute(Credential.__table__.update().values(is_current=None))  # type: ignore[attr-defined]
    domain.session.commit()

    second = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=10, workers=2)
    assert sorted(i["practitioner_id"] for i in first.issued) == sorted(people)
    assert [(i["practitioner_id"], i["name"], i["license"]) for i in second.issued] == [
        (i["practitioner_id"], i["name"], i["license"]) for i in first.issued]  # order kept across lanes
    assert _claims_by_practitioner(domain) == in_process
    assert len(domain.session.scalars(select(Credential.id)).all()) == 82
    assert audit.verify(domain.session).ok


@needs_fork
def test_workers_report_the_not_eligible_and_the_already_certified(domain: Domain) -> None:
    people = seed_eligible(_engine(domain), domain.ctx, 6)
    body = practitioner_body(email="bare@example.org", license={"number": "RN-999999"})
    bare = practitioners.create_practitioner(
        domain.session, domain.ctx, schemas.parse(schemas.PractitionerIn, body), "test").id  # no records
    summary = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=4, workers=2)
    assert sorted(i["practitioner_id"] for i in summary.issued) == sorted(people)
    assert [i["practitioner_id"] for i in summary.not_eligible] == [bare]
    assert summary.not_eligible[0]["unmet"] and summary.not_eligible[0]["name"] == "Jane Doe"
    assert summary.not_eligible[0]["license"] == "US-TX RN-999999"
    again = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", workers=2)
    assert [i["practitioner_id"] for i in again.already_certified] == [
        i["practitioner_id"] for i in summary.issued]
    assert [i["practitioner_id"] for i in again.not_eligible] == [bare] and not again.issued
    _assert_consistent(domain, 6)


@needs_fork
def test_a_failing_worker_rolls_its_batch_back(domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that fails while signing (here: every time) ends the run with WorkerFailed,
    naming the error; nothing of the batch is written, and a later run issues everyone."""
    seed_eligible(_engine(domain), domain.ctx, 8)

    def broken(*_: object) -> list[bulk_signing.Signed]:
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(bulk_signing.Work, "sign", broken)  # the workers are forked after this
        with pytest.raises(bulk_signing.WorkerFailed, match="disk on fire"):
            bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", workers=2)
    for table in (Credential, StatusEntry, AuditEntry):
        assert domain.session.scalar(select(func.count()).select_from(table)) == 0
    summary = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", workers=2)
    assert len(summary.issued) == 8
    _assert_consistent(domain, 8)


def test_a_bulk_token_is_what_jose_sign_makes_stored_as_pack_stores_it(domain: Domain) -> None:
    work = bulk_signing.Work(domain.ctx, domain.ctx.program(PROGRAM))
    claims = {"iss": "https://issuer.example", "name": "Zoë", "n": [1, 2.5, None, True]}
    stored = work._packed(claims)
    token = compact.unpack(stored)
    reference = jose.sign(claims, domain.ctx.signer, typ=vcc.TYP, cty=vcc.CTY)
    assert token.split(".")[:2] == reference.split(".")[:2]  # ES256 signatures differ each time
    assert compact.pack(token) == stored
    public = jose.jwk_to_key(domain.ctx.keystore.public_jwks()["keys"][0])
    verified = jose.verify(token, typ=vcc.TYP, algorithms=["ES256"], key_for=lambda _kid: public)
    assert verified.payload == claims


def test_candidates_read_in_a_batch_are_those_read_one_by_one(domain: Domain) -> None:
    """:func:`candidates.candidates_for` (rows as the driver gives them, parsed in Python)
    gives every practitioner the candidate :func:`candidate_of` gives (ORM, one at a time),
    with a correction (a superseding record) and unknown ids left out."""
    ids = [domain.enrol() for _ in range(3)]
    exam = next(r for r in complete_records() if r["kind"] == "written_exam")
    first = evidence.add_record(domain.session, domain.ctx, ids[1],
                                schemas.parse(schemas.RECORD_ADAPTER, exam), "test")
    fixed = {**exam, "supersedes": first.id, "score": 99}
    evidence.add_record(domain.session, domain.ctx, ids[1], schemas.parse(schemas.RECORD_ADAPTER, fixed),
                        "test")
    domain.session.commit()
    batch = candidates.candidates_for(domain.session, ["no-such-id", *ids], PROGRAM)
    assert [person.id for person, _ in batch] == ids
    for person, candidate in batch:
        practitioner = get_practitioner(domain.session, person.id)
        assert candidate == candidate_of(practitioner, PROGRAM)
        assert (person.given_name, person.family_name, person.profession) == (
            practitioner.given_name, practitioner.family_name, practitioner.profession)


def test_json_values_parse_each_text_alone_when_joining_would_mislead() -> None:
    assert candidates._json_values(['{"a": 1}', "[2]", '"x"']) == [{"a": 1}, [2], "x"]
    assert candidates._json_values([]) == []
    with pytest.raises(ValueError):
        candidates._json_values(['{"a": 1}, {"b": 2}'])  # two values in one text: refused, not shifted


@needs_fork
def test_workers_sign_the_next_batch_while_this_process_writes_one(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pipelined: batch 2 is sent to be signed before batch 1's credentials are inserted,
    and every batch is still written whole, in order."""
    people = seed_eligible(_engine(domain), domain.ctx, 30)
    events: list[str] = []
    send = bulk_signing.WorkerPool.send

    def watched_send(pool: bulk_signing.WorkerPool, calls: Any) -> None:
        events.append(f"send {calls[0][0]}")
        send(pool, calls)

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CREDENTIALS"):
            events.append("insert credentials")

    monkeypatch.setattr(bulk_signing.WorkerPool, "send", watched_send)
    event.listen(_engine(domain), "before_cursor_execute", seen)
    try:
        summary = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test",
                                          batch_size=10, workers=2)
    finally:
        event.remove(_engine(domain), "before_cursor_execute", seen)
    assert sorted(i["practitioner_id"] for i in summary.issued) == sorted(people)
    signs = [n for n, e in enumerate(events) if e == "send sign"]
    inserts = [n for n, e in enumerate(events) if e == "insert credentials"]
    assert len(signs) == len(inserts) == 3, events
    assert signs[1] < inserts[0] and signs[2] < inserts[1], events  # batch k+1 signed while k is written
    _assert_consistent(domain, 30)


def test_a_failure_writing_a_batch_keeps_the_batches_before_and_nothing_after(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write of batch 2 fails (its status entries): batch 1 stays whole, nothing of
    batch 2 is kept, nor of batch 3, which was read and given indexes in the same
    transaction; a run again issues the rest."""
    seed_eligible(_engine(domain), domain.ctx, 30)
    insert_entries, calls = bulk._insert_entries, []

    def failing(session: Any, rows: list[dict[str, Any]]) -> None:
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        insert_entries(session, rows)

    with monkeypatch.context() as patch:
        patch.setattr(bulk, "_insert_entries", failing)
        with pytest.raises(RuntimeError, match="disk full"):
            bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=10)
    _assert_consistent(domain, 10)
    again = bulk.issue_all_eligible(domain.session, domain.ctx, PROGRAM, "test", batch_size=10)
    assert (len(again.issued), len(again.already_certified)) == (20, 10)
    _assert_consistent(domain, 30)
