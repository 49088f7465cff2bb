"""The issuer's guarantees when several clients hit several server processes at once,
on SQLite and on PostgreSQL: a revocation is final, a practitioner holds one current
credential per program, the published lists say what the database says, and console
lockout counts every guess. Each test fails on an issuer that serialises in Python or
not at all."""

from __future__ import annotations

import random
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar
from typing import Any

import pytest
from sqlalchemy import func, select

from issuer import access
from issuer.store.models import Credential, StaffAccount, StatusEntry, StatusList
from tests.concurrency.conftest import Cluster, at_once, issue_for, seed
from tests.conftest import PROGRAM
from tests.e2e.conftest import Reply, http
from vc import jose
from vc.status_list import BitstringStatusList, max_list_token_chars

pytestmark = [pytest.mark.e2e, pytest.mark.db]
FLAG = {"revocation": "revoked", "suspension": "suspended", "refresh": "superseded"}


def _post(cluster: Cluster, n: int, credential_id: str, action: str, reason: str | None = None) -> Reply:
    body = {"reason": reason} if reason else None
    return cluster.call(n, "POST", f"/api/v1/credentials/{credential_id}/{action}", body)


def assert_lists_match_database(cluster: Cluster) -> int:
    """Fetch every published status list, check its signature, decode it and compare every
    bit with the status of the credential at that index; returns how many bits were set."""
    jwks = http("GET", cluster.url(0) + "/.well-known/jwks.json").json()
    keys = {k["kid"]: jose.jwk_to_key(k) for k in jwks["keys"]}
    with cluster.rt.sessions() as session:
        lists = session.scalars(select(StatusList)).all()
        rows = session.execute(
            select(StatusEntry.list_id, StatusEntry.index, Credential.status)
            .join(Credential, Credential.id == StatusEntry.credential_id)
        ).all()
    expected: dict[str, set[int]] = {s.id: set() for s in lists}
    for list_id, index, status in rows:
        purpose = next(s.purpose for s in lists if s.id == list_id)
        if status == FLAG[purpose]:
            expected[list_id].add(index)
    set_bits = 0
    for n, status_list in enumerate(lists):
        reply = http("GET", cluster.url(n) + f"/status/{status_list.purpose}/{status_list.id}")
        assert reply.status == 200, reply.body
        verified = jose.verify(reply.body.decode(), typ="vc+jwt", algorithms=["ES256"], key_for=keys.get,
                               max_chars=max_list_token_chars(status_list.size))
        bits = BitstringStatusList.decode(verified.payload["credentialSubject"]["encodedList"])
        published = {i for i in range(bits.size) if bits.get(i)}
        assert published == expected[status_list.id], f"{status_list.purpose} list {status_list.id}"
        set_bits += len(published)
    return set_bits


def test_a_revocation_racing_a_suspension_is_never_undone(cluster: Cluster) -> None:
    ids = [issue_for(cluster, p) for p in seed(cluster, 6)]
    calls = []
    for cid in ids:
        calls.append(lambda cid=cid: ("revoke", _post(cluster, 0, cid, "revoke", "issued in error")))
        calls.append(lambda cid=cid: ("suspend", _post(cluster, 1, cid, "suspend", "license under review")))
    for action, reply in at_once(calls):
        if action == "revoke":
            assert reply.status == 200, reply.body  # allowed from active and from suspended
        else:  # the suspension either came first, or lost and says why
            assert reply.status in (200, 409), reply.body
            if reply.status == 409:
                assert reply.json()["current_status"] == "revoked"
                assert "revoked" in reply.json()["detail"]
    reinstated = at_once([lambda cid=cid, n=n: _post(cluster, n, cid, "reinstate")
                          for n, cid in enumerate(ids)])
    assert [r.status for r in reinstated] == [409] * len(ids), [r.body for r in reinstated]
    assert {r.json()["current_status"] for r in reinstated} == {"revoked"}
    for cid in ids:
        assert cluster.call(1, "GET", f"/api/v1/credentials/{cid}").json()["status"] == "revoked"
    assert assert_lists_match_database(cluster) == len(ids)


def test_simultaneous_issuance_gives_one_current_credential(cluster: Cluster) -> None:
    (practitioner,) = seed(cluster, 1)
    body = {"practitioner_id": practitioner, "program_id": PROGRAM}
    replies = at_once([lambda n=n: cluster.call(n, "POST", "/api/v1/credentials", body, role="certifier")
                       for n in range(20)])
    statuses = Counter(r.status for r in replies)
    assert statuses == {201: 1, 409: 19}, statuses
    winner = next(r.json()["id"] for r in replies if r.status == 201)
    assert {r.json()["credential_id"] for r in replies if r.status == 409} == {winner}
    with cluster.rt.sessions() as session:
        held = session.scalars(select(Credential.id).where(Credential.practitioner_id == practitioner)).all()
    assert held == [winner]


@pytest.mark.parametrize("action", ["renew", "reissue"])
def test_simultaneous_renewals_make_one_successor(cluster: Cluster, action: str) -> None:
    (practitioner,) = seed(cluster, 1)
    old = issue_for(cluster, practitioner)
    replies = at_once([lambda n=n: _post(cluster, n, old, action) for n in range(8)])
    statuses = Counter(r.status for r in replies)
    assert statuses == {201: 1, 409: 7}, [r.body for r in replies]
    successor = next(r.json()["id"] for r in replies if r.status == 201)
    assert {r.json()["current_status"] for r in replies if r.status == 409} == {"superseded"}
    with cluster.rt.sessions() as session:
        rows = session.scalars(select(Credential).where(Credential.practitioner_id == practitioner)).all()
    assert {(r.id, r.status, r.superseded_by) for r in rows} == {
        (old, "superseded", successor), (successor, "active", None)}
    assert assert_lists_match_database(cluster) == 1  # the old one's refresh bit


def _summary(output: str) -> dict[str, int]:
    first = output.splitlines()[0]
    found = re.search(r"issued (\d+), not eligible (\d+), already certified (\d+), failed (\d+)", first)
    assert found, output
    return dict(zip(("issued", "not_eligible", "already_certified", "failed"),
                    map(int, found.groups()), strict=True))


def test_two_bulk_runs_at_once_issue_each_practitioner_once(cluster: Cluster) -> None:
    people = seed(cluster, 40)
    runs = [cluster.cli("credentials", "issue", "--program", PROGRAM, "--all-eligible") for _ in range(2)]
    outputs = [run.communicate(timeout=240) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    first, second = (_summary(out) for out, _ in outputs)
    assert first["issued"] + second["issued"] == len(people), (first, second)
    for summary in (first, second):
        assert summary["issued"] + summary["already_certified"] == len(people)
        assert summary["failed"] == summary["not_eligible"] == 0
    with cluster.rt.sessions() as session:
        per_person = dict(session.execute(
            select(Credential.practitioner_id, func.count()).group_by(Credential.practitioner_id)).all())
    assert per_person == {p: 1 for p in people}


def test_random_concurrent_lifecycle_keeps_lists_equal_to_the_database(cluster: Cluster) -> None:
    rng = random.Random(20261202)
    targets = [issue_for(cluster, p) for p in seed(cluster, 8)]
    lock = threading.Lock()
    revoked_ok: list[str] = []

    def step(n: int, action: str, pick: float) -> Reply:
        with lock:
            cid = targets[int(pick * len(targets))]
        reason = {"revoke": "fraud", "suspend": "license under review"}.get(action)
        reply = _post(cluster, n, cid, action, reason)
        with lock:
            if reply.status == 201:
                targets.append(reply.json()["id"])
            if action == "revoke" and reply.status == 200:
                revoked_ok.append(cid)
        return reply

    actions = ["revoke", "suspend", "suspend", "reinstate", "reinstate", "renew"]
    plan = [(n, rng.choice(actions), rng.random()) for n in range(60)]
    replies = at_once([lambda p=p: step(*p) for p in plan], width=8)
    assert {r.status for r in replies} <= {200, 201, 409}, [r.body for r in replies if r.status >= 500]
    assert revoked_ok, "the plan revoked something"
    with cluster.rt.sessions() as session:
        rows = session.scalars(select(Credential)).all()
    status = {r.id: r.status for r in rows}
    assert all(status[cid] == "revoked" for cid in revoked_ok), "a revocation that answered 200 was undone"
    live = Counter(r.practitioner_id for r in rows if r.status in ("active", "suspended"))
    assert max(live.values(), default=0) <= 1, live
    current = Counter(r.practitioner_id for r in rows if r.is_current)
    assert max(current.values(), default=0) <= 1, current
    assert assert_lists_match_database(cluster) >= len(revoked_ok)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _sign_in(base: str, email: str, password: str) -> int:
    """One browser: load the sign-in form (cookie and CSRF token), post it; the status."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
    with opener.open(f"{base}/console/login", timeout=30) as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    assert token, "the sign-in form carries a CSRF token"
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token.group(1)})
    request = urllib.request.Request(f"{base}/console/login", data=form.encode(), method="POST",
                                     headers={"Origin": base})
    try:
        with opener.open(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_console_lockout_holds_against_concurrent_guessing(cluster: Cluster) -> None:
    right = "correct horse battery staple"
    with cluster.rt.sessions() as session:
        access.create_account(session, cluster.rt.ctx, "admin@example.org", "admin", right)
    guesses = [f"wrong guess {n:02d}" for n in range(24)]
    guesses[17] = right  # the attacker guesses right, too late
    answers = at_once([lambda n=n, g=g: _sign_in(cluster.url(n), "admin@example.org", g)
                       for n, g in enumerate(guesses)], width=8)
    counts = Counter(answers)
    # A locked account answers like a wrong password (401): nothing tells the guesser it locked.
    assert counts == Counter({401: len(guesses)}), f"a guess signed in after the lockout: {counts}"
    assert _sign_in(cluster.url(0), "admin@example.org", right) == 401  # still locked
    with cluster.rt.sessions() as session:
        account = session.scalars(select(StaffAccount)).one()
        assert account.locked_until is not None
