"""Several real ``issuer serve`` processes sharing one database (SQLite file or a
PostgreSQL schema) and one key directory, as a deployment runs them, and clients that hit
them at the same moment.

The servers run with the real clock, so records are dated relative to today.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from issuer import access, create_app, demo
from issuer.records import evidence, practitioners, schemas
from issuer.runtime import Runtime
from keys import KeyStore
from tests.conftest import PROGRAM, practitioner_body
from tests.e2e.conftest import Reply, free_port, http

ROOT = Path(__file__).resolve().parents[2]
SERVERS = 2
T = TypeVar("T")


@dataclass
class Cluster:
    """Issuer processes on one database, an in-process runtime to seed and inspect it."""

    urls: list[str]
    rt: Runtime
    tokens: dict[str, str]
    env: dict[str, str]

    def url(self, n: int) -> str:
        """The n-th server, round robin: consecutive requests go to different processes."""
        return self.urls[n % len(self.urls)]

    def call(self, n: int, method: str, path: str, body: Any = None, role: str = "admin") -> Reply:
        return http(method, self.url(n) + path, body, self.tokens[role])

    def cli(self, *args: str) -> subprocess.Popen[str]:
        """An ``issuer`` command in a process of its own, configured like the servers."""
        return subprocess.Popen(
            [sys.executable, "-c", "from issuer.cli import main; main()", *args],
            env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )


def seed(cluster: Cluster, count: int) -> list[str]:
    """``count`` eligible practitioners, written directly through the service; their ids."""
    today = datetime.now(UTC).date()
    ids = []
    with cluster.rt.sessions() as session:
        for n in range(count):
            body = practitioner_body(
                email=f"p{n}@example.org",
                given_name=f"Given{n}",
                license={"number": f"RN-{100000 + n}", "checked_on": (today - timedelta(days=3)).isoformat(),
                         "expires_on": (today + timedelta(days=400)).isoformat()},
            )
            practitioner = practitioners.create_practitioner(
                session, cluster.rt.ctx, schemas.parse(schemas.PractitionerIn, body), "test"
            )
            for record in demo.complete_records(today):
                evidence.add_record(session, cluster.rt.ctx, practitioner.id,
                                   schemas.parse(schemas.RECORD_ADAPTER, record), "test")
            ids.append(practitioner.id)
    return ids


def issue_for(cluster: Cluster, practitioner_id: str) -> str:
    """Issue the program to one practitioner over HTTP; the credential id."""
    reply = cluster.call(0, "POST", "/api/v1/credentials",
                         {"practitioner_id": practitioner_id, "program_id": PROGRAM}, role="certifier")
    assert reply.status == 201, reply.body
    credential_id: str = reply.json()["id"]
    return credential_id


def at_once(calls: Sequence[Callable[[], T]], width: int | None = None) -> list[T]:
    """Run ``calls`` in ``width`` threads (all at once by default), released together by a
    barrier so they really overlap; results in the order of ``calls``."""
    width = width or len(calls)
    barrier = threading.Barrier(min(width, len(calls)))

    def run(call: Callable[[], T], n: int) -> T:
        if n < width:
            barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=width) as pool:
        futures = [pool.submit(run, call, n) for n, call in enumerate(calls)]
        return [f.result(timeout=120) for f in futures]


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"issuer serve exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{url}/.well-known/jwks.json", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"issuer at {url} did not answer within 30 s")


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    keys_dir = tmp_path / "keys"
    KeyStore(keys_dir).generate("ES256")
    ports = [free_port() for _ in range(SERVERS)]
    issuer_url = f"http://127.0.0.1:{ports[0]}"
    env = {
        **os.environ,
        "ISSUER_DATABASE_URL": database_url,
        "ISSUER_KEYS_DIR": str(keys_dir),
        "ISSUER_URL": issuer_url,
        "ISSUER_VERIFIER_URL": "http://127.0.0.1:9",
        "ISSUER_STATUS_LIST_TTL": "1",
        "ISSUER_SECRET_KEY": "test-only-console-secret-" + "x" * 32,
    }
    app = create_app({"database_url": database_url, "keys_dir": str(keys_dir), "issuer_url": issuer_url})
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        tokens = {role: access.create_token(session, rt.ctx, role, role) for role in access.ROLES}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", "from issuer.cli import main; main()", "serve", "--port", str(port),
             "--threads", "8"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process in zip(urls, processes, strict=True):
            _wait_ready(url, process)
        yield Cluster(urls=urls, rt=rt, tokens=tokens, env=env)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()
        rt.engine.dispose()
