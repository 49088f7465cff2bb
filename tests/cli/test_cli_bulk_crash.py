"""``issuer credentials issue --all-eligible`` commits one batch at a time: the real command,
killed with SIGKILL in the middle of a run over thousands of eligible practitioners, leaves
only whole credentials (each with its entry in every status list purpose and its audit
entry, the lists' bits and counters consistent), and run again it issues exactly the ones
still missing. It runs with two worker processes that check and sign: they end by
themselves as soon as the killed command is gone. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from issuer import audit
from issuer.credentials.status_slots import permute_many
from issuer.runtime import Runtime
from issuer.store.models import AuditEntry, Credential, StatusEntry, StatusList
from tests.cli.test_cli import ISSUER, Issuer, issuer  # noqa: F401 - the fixture
from tests.eligible import seed_eligible
from vc import jose
from vc.status_list import PURPOSES, BitstringStatusList, max_list_token_chars

pytestmark = pytest.mark.db
PROGRAM = "botox-cosmetic-injector"
PEOPLE = 3_000
BATCH = 200
FLAG = {"revocation": "revoked", "suspension": "suspended", "refresh": "superseded"}


def assert_only_whole_credentials(rt: Runtime) -> int:
    """Every credential has one entry per purpose, named in its token, and one audit entry;
    every list's bits are the database's and its entries lie within its slot counter; the
    audit chain is intact. Returns how many credentials there are."""
    with rt.sessions() as session:
        credentials = {c.id: c for c in session.scalars(select(Credential))}
        entries = session.execute(
            select(StatusEntry.credential_id, StatusEntry.purpose, StatusEntry.list_id, StatusEntry.index)
        ).all()
        audited = Counter(session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "issue")))
        lists = {s.id: s for s in session.scalars(select(StatusList))}
        chain = audit.verify(session)
    assert chain.ok, chain
    held: dict[str, dict[str, tuple[str, int]]] = {cid: {} for cid in credentials}
    for cid, purpose, list_id, index in entries:
        assert purpose not in held[cid], f"credential {cid} has two {purpose} entries"
        held[cid][purpose] = (list_id, index)
    for cid, row in credentials.items():
        assert set(held[cid]) == set(PURPOSES), f"credential {cid} lacks status entries: {held[cid]}"
        assert row.token and audited[f"credential:{cid}"] == 1, f"credential {cid} is not whole"
        _, payload = jose.split(row.token)
        signed = {(e["statusPurpose"], e["statusListCredential"].rsplit("/", 1)[1], int(e["statusListIndex"]))
                  for e in payload["credentialStatus"]}
        assert signed == {(p, *where) for p, where in held[cid].items()}
    assert sum(audited.values()) == len(credentials), "an audit entry without its credential"
    per_list: dict[str, set[int]] = {list_id: set() for list_id in lists}
    for _, _, list_id, index in entries:
        per_list[list_id].add(index)
    for list_id, status_list in lists.items():
        key = bytes.fromhex(status_list.slot_key)
        given = set(permute_many(range(status_list.allocated), status_list.size, key))
        assert per_list[list_id] <= given, f"list {list_id} has entries beyond its slot counter"
        _, payload = jose.split(status_list.token, max_chars=max_list_token_chars(status_list.size))
        bits = BitstringStatusList.decode(payload["credentialSubject"]["encodedList"])
        expected = {index for cid, purpose, lid, index in entries
                    if lid == list_id and credentials[cid].status == FLAG[purpose]}
        assert {i for i in range(bits.size) if bits.get(i)} == expected, f"list {list_id} bits"
    return len(credentials)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` is still a live process (a zombie, waiting to be reaped, is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines())


def test_a_killed_bulk_run_leaves_whole_credentials_and_a_rerun_issues_the_rest(
    issuer: Issuer,  # noqa: F811
) -> None:
    with issuer.app() as app:
        rt: Runtime = app.extensions["issuer"]
        people = seed_eligible(rt.engine, rt.ctx, PEOPLE)
        run = subprocess.Popen(
            [str(ISSUER), "credentials", "issue", "--program", PROGRAM, "--all-eligible",
             "--batch-size", str(BATCH), "--progress", "--workers", "2"],
            env=issuer.env(), cwd=issuer.home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert run.stderr is not None
        committed, stamps = 0, []
        while committed < 3 * BATCH:  # progress is reported after each batch commits
            line = run.stderr.readline()
            assert line, f"the run ended early: {run.communicate()}"
            found = re.search(r"issuing: ([\d,]+) of", line)
            committed = int(found.group(1).replace(",", "")) if found else committed
            stamps.append(time.monotonic())
        per_batch = (stamps[-1] - stamps[1]) / (len(stamps) - 2)
        time.sleep(random.uniform(0.1, 0.9) * per_batch)  # somewhere inside the next batch
        assert run.poll() is None, "the run finished before it could be killed"
        workers = _children(run.pid)
        assert len(workers) == 2, workers
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)  # would wait for a worker still holding stderr open
        assert run.returncode == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(pid) for pid in workers), "a worker outlived the killed run"

        survivors = assert_only_whole_credentials(rt)
        assert 3 * BATCH <= survivors < PEOPLE, survivors
        assert survivors % BATCH == 0, f"{survivors} credentials: a batch was committed in part"

        again = issuer.ok("credentials", "issue", "--program", PROGRAM, "--all-eligible",
                          "--batch-size", str(BATCH))
        assert again.splitlines()[0] == (f"{PROGRAM}: issued {PEOPLE - survivors}, not eligible 0, "
                                          f"already certified {survivors}, failed 0")
        assert assert_only_whole_credentials(rt) == PEOPLE
        with rt.sessions() as session:
            current = dict(session.execute(
                select(Credential.practitioner_id, func.count()).where(Credential.is_current.is_(True))
                .group_by(Credential.practitioner_id)).all())
        assert current == {p: 1 for p in people}
