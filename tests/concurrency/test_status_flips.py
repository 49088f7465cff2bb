"""Many status changes of credentials that share one list, at once, through two real
``issuer serve`` processes on one database: each change flips its bit from the list's
signed bits, so a change that flipped from a stale copy (read before another change
committed) would drop that other change's bit. The published lists must hold every bit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from issuer.store.models import StatusEntry
from tests.concurrency.conftest import Cluster, at_once, issue_for, seed
from tests.concurrency.test_races import assert_lists_match_database
from tests.e2e.conftest import Reply

pytestmark = [pytest.mark.e2e, pytest.mark.db]
CREDENTIALS = 32


def _post(cluster: Cluster, n: int, credential_id: str, action: str) -> Reply:
    body = None if action == "reinstate" else {"reason": "under review" if action == "suspend" else "fraud"}
    return cluster.call(n, "POST", f"/api/v1/credentials/{credential_id}/{action}", body)


def test_simultaneous_changes_of_one_list_keep_every_bit(cluster: Cluster) -> None:
    ids = [issue_for(cluster, p) for p in seed(cluster, CREDENTIALS)]
    with cluster.rt.sessions() as session:
        lists = set(session.scalars(select(StatusEntry.list_id).where(StatusEntry.credential_id.in_(ids))))
    assert len(lists) == 3, "the credentials share one list of each purpose"
    revoke, suspend = ids[: CREDENTIALS // 2], ids[CREDENTIALS // 2:]
    plan = [(cid, "revoke") for cid in revoke] + [(cid, "suspend") for cid in suspend]
    replies = at_once([lambda n=n, cid=cid, action=action: _post(cluster, n, cid, action)
                       for n, (cid, action) in enumerate(plan)], width=16)
    assert [r.status for r in replies] == [200] * len(plan), [r.body for r in replies if r.status != 200]
    assert assert_lists_match_database(cluster) == len(plan)  # every revocation and suspension bit

    # Clearing bits at once: half the suspended are reinstated while the rest are revoked.
    plan = [(cid, "reinstate" if n % 2 else "revoke") for n, cid in enumerate(suspend)]
    replies = at_once([lambda n=n, cid=cid, action=action: _post(cluster, n, cid, action)
                       for n, (cid, action) in enumerate(plan)], width=16)
    assert [r.status for r in replies] == [200] * len(plan), [r.body for r in replies if r.status != 200]
    revoked = len(revoke) + sum(1 for _, action in plan if action == "revoke")
    assert assert_lists_match_database(cluster) == revoked  # no suspension bit left
