"""Status list indexes stay unique when several issuer processes issue at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer import audit
from issuer.credentials import status_slots
from issuer.runtime import Runtime
from issuer.store.models import Credential, StatusEntry, StatusList
from tests.conftest import FakeClock, enrol

WORKER = Path(__file__).with_name("issue_worker.py")
PROCESSES = 4
PER_PROCESS = 10


def test_parallel_issuing_processes_never_share_an_index(
    issuer_app: Flask,
    issuer_client: FlaskClient,
    tokens: dict[str, str],
    database_url: str,
    keys_dir: Path,
    clock: FakeClock,
) -> None:
    started = time.monotonic()
    ids = [enrol(issuer_client, tokens, email=f"p{i}@example.org") for i in range(PROCESSES * PER_PROCESS)]
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), database_url, str(keys_dir), clock.now.isoformat(), "5",
             *ids[n * PER_PROCESS : (n + 1) * PER_PROCESS]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parents[3],
        )
        for n in range(PROCESSES)
    ]
    try:
        for worker in workers:  # every process is up and connected before any issues
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=60) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    issued = [cid for out, _ in outputs for cid in json.loads(out.strip().splitlines()[-1])]
    assert len(issued) == len(set(issued)) == PROCESSES * PER_PROCESS

    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        entries = session.execute(select(StatusEntry.list_id, StatusEntry.index, StatusEntry.purpose,
                                         StatusEntry.credential_id)).all()
        pairs = [(e.list_id, e.index) for e in entries]
        assert len(pairs) == len(set(pairs)), "a (list, index) pair was given twice"
        per_credential: dict[str, set[str]] = {}
        for e in entries:
            per_credential.setdefault(e.credential_id, set()).add(e.purpose)
        assert per_credential == {cid: {"revocation", "suspension", "refresh"} for cid in issued}
        # What the signed credentials say agrees with the table.
        claimed = set()
        for row in session.scalars(select(Credential)):
            for entry in jwt.decode(row.token, options={"verify_signature": False})["credentialStatus"]:
                claimed.add((entry["statusListCredential"].rsplit("/", 1)[1], int(entry["statusListIndex"])))
        assert claimed == set(pairs)
        lists = session.scalar(select(func.count()).select_from(StatusList))
        assert lists is not None and lists > 3, "lists rolled over to new ones as they filled"
        report = audit.verify(session)
        assert report.ok, report
    print(f"\n{PROCESSES} processes issued {len(issued)} credentials ({len(pairs)} status entries in "
          f"{lists} lists) in {time.monotonic() - started:.1f} s; no index repeated; audit chain intact")


def test_a_full_list_hands_over_to_the_next(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import issue

    monkeypatch.setattr(status_slots, "STATUS_LIST_FILL", 2 / status_slots.MIN_ENTRIES)
    issued = [issue(issuer_client, tokens, enrol(issuer_client, tokens, email=f"p{i}@example.org"))
              for i in range(5)]
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        counts = session.execute(
            select(StatusEntry.list_id, func.count())
            .where(StatusEntry.purpose == "revocation")
            .group_by(StatusEntry.list_id)
        ).all()
    assert sorted(n for _, n in counts) == [1, 2, 2]
    for body in issued:  # each credential points at the list its entry is in
        claims = jwt.decode(body["credential"], options={"verify_signature": False})
        urls = {e["statusListCredential"] for e in claims["credentialStatus"]}
        assert len(urls) == 3
        for url in urls:
            assert issuer_client.get(url.removeprefix("http://127.0.0.1:5000")).status_code == 200
