"""Instructions per issuance, counted (not timed), against the bare baseline in one run.

Timing on a shared machine swings by up to 2x within minutes; an instruction count does
not. For each database (SQLite file; PostgreSQL when reachable) and each side, the issuer's
``POST /api/v1/credentials`` and the baseline of ``bench/issue_speed.py`` (sign the same
claims with PyJWT, insert and commit one row), a child process sets up a fresh database,
then posts ``N`` requests through Flask's test client (no HTTP server: both sides' WSGI
handling is counted, the network and a server are not). It runs under Valgrind's
cachegrind twice, with ``N = 0`` and with ``N``; the difference over ``N`` is the
instructions of one request in this process. PostgreSQL's own processes are not counted,
as in the CPU figures of ``issue_speed.py``. We print millions of instructions per request
and the baseline's over ours: the ratio the 0.5 goal is about, free of the machine's noise.

Run: ``.venv/bin/python bench/issue_instructions.py [--requests 200] [--databases
sqlite,postgresql]`` (needs ``valgrind``; about four minutes). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import postgres  # noqa: E402

WARM_UP = 20  # requests before the counted ones (first compilations, caches, pools)


def _requests(side: str, db_url: str, count: int, pool: int) -> None:
    """Child: a fresh database with ``pool`` eligible practitioners (the same number in both
    runs, so that the setup cancels out), then ``WARM_UP + count`` requests of ``side``."""
    import issue_speed
    from sqlalchemy import text

    from issuer import access, create_app, demo
    from issuer.store.db import make_engine, upgrade
    from keys import KeyStore

    work = Path(tempfile.mkdtemp(prefix="bxc-instructions-"))
    upgrade(db_url)
    KeyStore(work / "keys").generate("ES256")
    with make_engine(db_url).begin() as conn:
        conn.execute(text("CREATE TABLE bench_baseline (id VARCHAR(36) PRIMARY KEY, "
                          "practitioner_id VARCHAR(36), token TEXT)"))
    app = create_app({"database_url": db_url, "keys_dir": str(work / "keys")})
    rt = app.extensions["issuer"]
    with rt.sessions() as session:
        model = demo.load(session, rt.ctx).practitioner_id
        token = access.create_token(session, rt.ctx, "certifier", "bench")
    headers = {"Authorization": f"Bearer {token}"}
    if side == "issuer":
        client, path = app.test_client(), "/api/v1/credentials"
        people = iter(issue_speed.clone_practitioners(db_url, model, pool))
    else:
        issue_speed.clone_practitioners(db_url, model, pool)  # the same setup as the issuer's
        client, path = issue_speed.baseline_app(db_url, str(work / "keys")).test_client(), "/baseline"
        people = iter([model] * (WARM_UP + count))
    post(client, path, people, headers, WARM_UP)
    measured(client, path, people, headers, count)
    shutil.rmtree(work, ignore_errors=True)


def measured(client: Any, path: str, people: Iterator[str], headers: dict[str, str], count: int) -> None:
    """The requests measured, after the warm-up (``bench/issue_profile.py`` keeps the samples
    taken in this function); prints their CPU and wall time."""
    cpu, wall = time.process_time(), time.perf_counter()
    post(client, path, people, headers, count)
    print(f"measured: {count} requests, {time.process_time() - cpu:.6f} s of CPU, "
          f"{time.perf_counter() - wall:.6f} s", flush=True)


def post(client: Any, path: str, people: Iterator[str], headers: dict[str, str], count: int) -> None:
    """``count`` issuance requests, one practitioner of ``people`` each."""
    from issue_speed import PROGRAM

    for _ in range(count):
        reply = client.post(path, json={"practitioner_id": next(people), "program_id": PROGRAM},
                            headers=headers)
        assert reply.status_code == 201, reply.get_data(as_text=True)


def _counted(side: str, db_url: str, count: int, pool: int) -> int:
    """Instructions of a child run of ``count`` requests (setup included)."""
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "_child", side, db_url, str(count), str(pool)],
        capture_output=True, text=True, check=True, cwd=ROOT)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]}")
    return int(found.group(1).replace(",", ""))


Databases = Callable[[], AbstractContextManager[str]]  # a fresh database's URL per use


def per_request(side: str, databases: Databases, count: int) -> float:
    """Millions of instructions of one request of ``side``: two runs (0 and ``count``
    requests, each on a fresh database, side by side on two cores), diffed."""

    def counted(n: int) -> int:
        with databases() as url:
            return _counted(side, url, n, WARM_UP + count)

    with ThreadPoolExecutor(2) as pool:
        empty, full = pool.map(counted, (0, count))
    return (full - empty) / count / 1e6


@contextmanager
def sqlite_files() -> Iterator[str]:
    """A fresh SQLite file, removed after use."""
    work = Path(tempfile.mkdtemp(prefix="bxc-instructions-db-"))
    try:
        yield f"sqlite:///{work / 'issuer.db'}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def database_options(parser: argparse.ArgumentParser) -> None:
    """``--databases`` and ``--pg-url``, as :func:`each_database` reads them."""
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))


def each_database(args: argparse.Namespace) -> Iterator[tuple[str, Databases]]:
    """The label and fresh databases of each of ``--databases``; a PostgreSQL that does
    not answer is left out (with a line saying so)."""
    for name in args.databases.split(","):
        databases: Databases | None = sqlite_files if name == "sqlite" else postgres(args.pg_url)
        if databases is not None:
            yield ("SQLite" if name == "sqlite" else "PostgreSQL"), databases


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _requests(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    database_options(parser)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind); skipped")
        return
    for label, databases in each_database(args):
        base = per_request("baseline", databases, args.requests)
        ours = per_request("issuer", databases, args.requests)
        print(f"{label:10}  baseline {base:6.2f} M instructions per request   "
              f"issuer {ours:6.2f} M   ratio {base / ours:.2f}", flush=True)


if __name__ == "__main__":
    main()
