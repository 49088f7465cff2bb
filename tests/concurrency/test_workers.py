"""``issuer serve`` and ``verifier serve`` with two gunicorn workers, as real processes: each
worker builds its own app after the fork, and what one process caches never outlives what the
README promises in another. A key rotation reaches every issuer worker on its next request; a
revocation reaches every verifier worker within the status-list ttl.

Which worker answered is read from ``/proc`` (the worker holding the server end of the
kept-alive connection), so the services expose no process id.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from issuer import access, create_app
from keys import KeyStore
from tests.concurrency.conftest import ROOT, Cluster, at_once, issue_for, seed
from tests.conftest import PROGRAM
from tests.e2e.conftest import Server, free_port, http

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.db,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the workers from Linux's /proc"),
]
WORKERS = 2
WAVE = 4  # concurrent requests per wave: both workers answer some within a few waves
WAVES = 8


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers, for its arbiter)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def served_by(connection: HTTPConnection, server_port: int, workers: set[int]) -> int:
    """The worker holding the server end of ``connection``, still open (kept alive)."""
    assert connection.sock is not None
    client_port = connection.sock.getsockname()[1]
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if (local, remote) == (server_port, client_port):
                sockets.add(f"socket:[{fields[9]}]")
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in sockets:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker of {sorted(workers)} holds the connection from port {client_port}")


def call(port: int, workers: set[int], method: str, path: str, body: Any = None, token: str | None = None
         ) -> tuple[int, bytes, int]:
    """One request on a connection of its own: status, body, the worker that answered."""
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, served_by(connection, port, workers)
    finally:
        connection.close()


def until_every_worker(workers: set[int], request: Callable[[], int], waves: int = WAVES) -> int:
    """Waves of concurrent ``request()`` (each returns the worker that answered) until every
    worker has answered one; how many requests that took."""
    answered: set[int] = set()
    for wave in range(1, waves + 1):
        answered.update(at_once([request] * WAVE))
        if answered == workers:
            return wave * WAVE
    raise AssertionError(f"after {WAVES * WAVE} requests, only {sorted(answered)} of {sorted(workers)}")


@contextmanager
def serve(command: str, port: int, env: dict[str, str], log: Path, ready: str) -> Iterator[set[int]]:
    """``<command> serve --workers 2`` on ``port`` until the block ends (SIGTERM, which must
    stop it gracefully, exit 0); yields the worker process ids."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", f"from {command}.cli import main; main()", "serve", "--port", str(port),
             "--workers", str(WORKERS), "--threads", "2"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, f"{command} serve exited:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"{command} serve did not answer:\n{log.read_text()}"
                connection = HTTPConnection("127.0.0.1", port, timeout=2)
                try:
                    connection.request("GET", ready)
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
                finally:
                    connection.close()
            workers = children(process.pid)
            while len(workers) < WORKERS:  # the arbiter forks them one after the other
                assert time.monotonic() < deadline, f"workers {workers}:\n{log.read_text()}"
                time.sleep(0.05)
                workers = children(process.pid)
            assert len(workers) == WORKERS, workers

            def probe() -> int:
                status, _, worker = call(port, workers, "GET", ready)
                assert status == 200
                return worker

            until_every_worker(workers, probe, waves=100)  # each has built its app
            yield workers
            process.terminate()
            assert process.wait(timeout=20) == 0, log.read_text()
            assert "Shutting down: Master" in log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


def test_a_key_rotation_reaches_every_issuer_worker(database_url: str, tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    first = KeyStore(keys_dir).generate("ES256").kid
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ISSUER_DATABASE_URL": database_url,
        "ISSUER_KEYS_DIR": str(keys_dir),
        "ISSUER_URL": url,
        "ISSUER_VERIFIER_URL": "http://127.0.0.1:9",
        "ISSUER_SECRET_KEY": "test-only-console-secret-" + "x" * 32,
    }
    app = create_app({"database_url": database_url, "keys_dir": str(keys_dir), "issuer_url": url})
    rt = app.extensions["issuer"]
    try:
        with rt.sessions() as session:
            tokens = {role: access.create_token(session, rt.ctx, role, role) for role in access.ROLES}
        cluster = Cluster(urls=[url], rt=rt, tokens=tokens, env=env)
        practitioners = iter(seed(cluster, 2 * WAVES * WAVE))
        kids: list[str] = []

        with serve("issuer", port, env, tmp_path / "issuer.log", "/.well-known/jwks.json") as workers:

            def issue() -> int:
                body = {"practitioner_id": next(practitioners), "program_id": PROGRAM}
                status, answer, worker = call(port, workers, "POST", "/api/v1/credentials", body,
                                              tokens["certifier"])
                assert status == 201, answer
                kids.append(kid_of(json.loads(answer)["credential"]))
                return worker

            # Every worker signs with the first key (each has read it)...
            until_every_worker(workers, issue)
            assert set(kids) == {first}

            rotate = cluster.cli("keys", "rotate")
            out, err = rotate.communicate(timeout=60)
            assert rotate.returncode == 0, err
            second = KeyStore(keys_dir).active().kid
            assert second != first and second in out

            # ...and after `issuer keys rotate`, every worker signs with the new one at once.
            kids.clear()
            issued = until_every_worker(workers, issue)
            assert kids == [second] * issued
    finally:
        rt.engine.dispose()


def test_a_revocation_reaches_every_verifier_worker_within_the_ttl(
    database_url: str, keys_dir: Path, tmp_path: Path
) -> None:
    ttl = 2
    issuer_port, port = free_port(), free_port()
    issuer_url = f"http://127.0.0.1:{issuer_port}"
    app = create_app({"database_url": database_url, "keys_dir": str(keys_dir), "issuer_url": issuer_url,
                      "verifier_url": f"http://127.0.0.1:{port}", "status_list_ttl": ttl})
    rt = app.extensions["issuer"]
    issuer = Server(app, issuer_port)
    try:
        with rt.sessions() as session:
            tokens = {role: access.create_token(session, rt.ctx, role, role) for role in access.ROLES}
        cluster = Cluster(urls=[issuer_url], rt=rt, tokens=tokens, env={})
        [practitioner] = seed(cluster, 1)
        credential_id = issue_for(cluster, practitioner)
        token = http("GET", f"{issuer_url}/credentials/{credential_id}/jwt").body.decode()
        registry = tmp_path / "trusted-issuers.json"
        registry.write_text(json.dumps({"issuers": [
            {"id": issuer_url, "name": "Test Academy", "jwks_url": f"{issuer_url}/.well-known/jwks.json"}]}))
        env = {
            **os.environ,
            "VERIFIER_TRUSTED_ISSUERS": str(registry),
            "VERIFIER_KEYS_DIR": str(tmp_path / "verifier-keys"),
            "VERIFIER_URL": f"http://127.0.0.1:{port}",
        }
        statuses: list[str] = []

        with serve("verifier", port, env, tmp_path / "verifier.log", "/") as workers:

            def verify() -> int:
                status, verdict, worker = call(port, workers, "POST", "/api/v1/verify", {"credential": token})
                assert status == 200, verdict
                statuses.append(json.loads(verdict)["status"])
                return worker

            # Every worker has fetched and cached the issuer's keys and lists...
            until_every_worker(workers, verify)
            assert set(statuses) == {"valid"}

            reply = cluster.call(0, "POST", f"/api/v1/credentials/{credential_id}/revoke", {"reason": "test"})
            assert reply.status == 200, reply.body
            time.sleep(ttl + 0.5)

            # ...and none of them says "valid" from its cache once the ttl has passed.
            statuses.clear()
            checked = until_every_worker(workers, verify)
            assert statuses == ["revoked"] * checked
    finally:
        issuer.stop()
        rt.engine.dispose()
