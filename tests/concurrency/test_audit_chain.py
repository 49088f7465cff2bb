"""The audit log stays one unbroken hash chain when several clients write through several
server processes at once, on SQLite and on PostgreSQL: every entry links to the one written
just before it, whichever process wrote it. Without the chain's lock (PostgreSQL's advisory
lock; SQLite's write lock) two writers read the same newest entry and both try to follow it."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from issuer import audit
from issuer.store.models import AuditEntry
from tests.concurrency.conftest import Cluster, at_once, issue_for, seed
from tests.conftest import PROGRAM

pytestmark = [pytest.mark.e2e, pytest.mark.db]


def test_concurrent_writers_in_two_processes_keep_one_unbroken_chain(cluster: Cluster) -> None:
    people = seed(cluster, 24)
    revoked = [issue_for(cluster, p) for p in people[:8]]

    def issue(n: int, practitioner_id: str) -> int:
        body = {"practitioner_id": practitioner_id, "program_id": PROGRAM}
        return cluster.call(n, "POST", "/api/v1/credentials", body, role="certifier").status

    def revoke(n: int, credential_id: str) -> int:
        return cluster.call(n, "POST", f"/api/v1/credentials/{credential_id}/revoke",
                            {"reason": "issued in error"}).status

    calls = [lambda n=n, p=p: issue(n, p) for n, p in enumerate(people[8:])]
    calls += [lambda n=n, c=c: revoke(n, c) for n, c in enumerate(revoked)]
    statuses = Counter(at_once(calls, width=12))
    assert statuses == {201: 16, 200: 8}, statuses
    with cluster.rt.sessions() as session:
        report = audit.verify(session)
        actions = Counter(session.scalars(select(AuditEntry.action)).all())
    assert report.ok, report.problem
    assert actions["issue"] == 24 and actions["revoke"] == 8, actions
    assert report.checked == sum(actions.values())
