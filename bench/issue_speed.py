"""Issuance speed over real HTTP, measured side by side with a bare baseline in one run.

For each database (SQLite file; PostgreSQL when reachable), two servers run in child
processes, each served as ``issuer serve`` serves (``serving.server.run``: gunicorn, gthread
workers, one per core, the same threads):
  1. the issuer: ``POST /api/v1/credentials`` (bearer token, rules, status list indexes,
     ES256 signature, audit entry, one transaction; QR codes are rendered on request since
     migration 0009, not at issuance);
  2. a baseline: a bare Flask endpoint that signs the same claims with PyJWT (ES256, the
     same key) and inserts and commits one row in the same database (same engine setup).
Clients on 1, 4 and 8 keep-alive connections post for ``--seconds`` each; we print
credentials/s, p50/p99 latency and the ratio to the baseline at the same width, and the
servers' CPU milliseconds per credential with the baseline's over ours (the steadier ratio
when other work shares the machine; PostgreSQL's own processes are not counted). Then the
credential table is grown quickly through SQL (filler credentials and their status
entries in full lists, as a busy issuer accumulates them: 10k, then 100k by default) and
the issuance rate, and the latency of a revocation (which re-signs the revocation list), are
measured again at each size: both should stay flat. The servers' resident memory (RSS, all
their processes) is printed idle and after each load. Last, one issuance
is profiled (cProfile, in-process) and its time split into signing, SQL,
eligibility rules, audit and the rest.

Run: ``make bench`` (or ``.venv/bin/python bench/issue_speed.py [--seconds 2]
[--grow 10000,100000,1000000] [--databases sqlite,postgresql] [--pg-url URL]``). The default
run takes about two minutes. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import http.client
import itertools
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import cpu_seconds, free_port, postgres, rss_mib  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from issuer import access, create_app, demo  # noqa: E402
from issuer.store.db import make_engine, upgrade  # noqa: E402
from issuer.store.models import Credential, Practitioner, Record, StatusEntry, StatusList  # noqa: E402
from keys import KeyStore  # noqa: E402
from serving import default_workers  # noqa: E402
from vc.status_list import MIN_ENTRIES, PURPOSES  # noqa: E402

PROGRAM = "botox-cosmetic-injector"
THREADS = 8  # threads per worker of both servers, whatever the client width
REVOKES = 30  # revocations timed at each table size


# ---------------------------------------------------------------- servers (child processes)


def baseline_app(db_url: str, keys_dir: str) -> Any:
    """Flask: sign fixed claims with PyJWT and insert + commit one row; nothing else."""
    import jwt
    from flask import Flask, jsonify, request
    from sqlalchemy import Column, MetaData, String, Table, Text

    rt = create_app({"database_url": db_url, "keys_dir": keys_dir}).extensions["issuer"]
    signer = rt.ctx.signer
    private_key = signer._private_key  # the same key the issuer signs with
    with rt.sessions() as session:
        token = session.scalars(select(Credential.token).limit(1)).one()
    claims = jwt.decode(token, options={"verify_signature": False})
    rt.engine.dispose()
    engine = make_engine(db_url)
    table = Table("bench_baseline", MetaData(), Column("id", String(36), primary_key=True),
                  Column("practitioner_id", String(36)), Column("token", Text))
    app = Flask("baseline")

    @app.post("/baseline")
    def issue() -> Any:
        body = request.get_json()
        credential_id = str(uuid.uuid4())
        signed = jwt.encode({**claims, "jti": f"urn:uuid:{credential_id}"}, private_key, algorithm="ES256",
                            headers={"kid": signer.kid, "typ": "vc+jwt", "cty": "vc"})
        with engine.begin() as conn:
            conn.execute(insert(table), {"id": credential_id, "practitioner_id": body["practitioner_id"],
                                         "token": signed})
        return jsonify(id=credential_id, credential=signed), 201

    return app


def serve(kind: str, db_url: str, keys_dir: str, port: int, workers: int) -> None:
    from serving import server

    def factory() -> Any:
        if kind == "issuer":
            return create_app({"database_url": db_url, "keys_dir": keys_dir})
        return baseline_app(db_url, keys_dir)

    print("ready", flush=True)
    server.run(factory, name=kind, host="127.0.0.1", port=port, workers=workers, threads=THREADS)


def start(kind: str, db_url: str, keys_dir: Path, workers: int) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "_serve", kind, db_url, str(keys_dir), str(port), str(workers)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/nothing-here")
            connection.getresponse().read()  # a worker answers (404): the app is built
            connection.close()
            break
        except OSError:
            time.sleep(0.05)
    return child, port


def revoke_latency(port: int, token: str, ids: list[str]) -> tuple[float, float]:
    """p50 and p99 ms of ``POST /api/v1/credentials/<id>/revoke``, one after another."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    took = []
    for credential_id in ids:
        began = time.perf_counter()
        connection.request("POST", f"/api/v1/credentials/{credential_id}/revoke",
                           json.dumps({"reason": "bench", "category": "issued_in_error"}), headers)
        reply = connection.getresponse()
        reply.read()
        assert reply.status == 200, reply.status
        took.append((time.perf_counter() - began) * 1000)
    connection.close()
    took.sort()
    return took[len(took) // 2], took[min(len(took) - 1, int(0.99 * len(took)))]


def revocable(db_url: str, count: int) -> list[str]:
    """Active credentials issued by the load (not fillers), to revoke."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(Credential.id).where(
                Credential.status == "active", Credential.program_id == PROGRAM).limit(count)))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- load


class Pool:
    """Practitioner ids, each used once (one current credential per practitioner); or, with
    ``reuse`` (the baseline, which stores any id it is sent), the same ids round and round."""

    def __init__(self, ids: list[str], reuse: bool = False) -> None:
        self._ids, self._lock = itertools.cycle(ids) if reuse else iter(ids), threading.Lock()
        self.ran_dry = False

    def take(self) -> str | None:
        with self._lock:
            taken = next(self._ids, None)
            self.ran_dry |= taken is None
            return taken


def load(
    port: int, path: str, token: str, pool: Pool, width: int, seconds: float
) -> tuple[float, float, float, int]:
    """``width`` keep-alive clients posting for ``seconds``: (per second, p50 ms, p99 ms, errors)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(width + 1)
    deadline = [0.0]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            practitioner_id = pool.take()
            if practitioner_id is None:
                break
            body = json.dumps({"practitioner_id": practitioner_id, "program_id": PROGRAM})
            began = time.perf_counter()
            conn.request("POST", path, body, headers)
            reply = conn.getresponse()
            reply.read()
            if reply.status != 201:
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - began)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(width)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    if not latencies:
        return 0.0, 0.0, 0.0, errors[0]

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return len(latencies) / elapsed, pick(0.50), pick(0.99), errors[0]


def measured(pid: int, run: Callable[[], tuple[float, float, float, int]]
             ) -> tuple[tuple[float, float, float, int], float]:
    """``run()`` (a :func:`load`) and the server's CPU milliseconds per request it answered
    (its process tree's CPU time over the run, over the requests: steadier than a rate
    when other work shares the machine)."""
    before, began = cpu_seconds(pid), time.perf_counter()
    result = run()
    served = result[0] * (time.perf_counter() - began)
    return result, (cpu_seconds(pid) - before) * 1000 / served if served else 0.0


# ---------------------------------------------------------------- data


def clone_practitioners(db_url: str, model_id: str, count: int) -> list[str]:
    """``count`` copies of an eligible practitioner and its records, inserted through SQL."""
    engine = create_engine(db_url)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with engine.begin() as conn:
        person = dict(conn.execute(select(Practitioner).where(Practitioner.id == model_id)).mappings().one())
        records = [dict(r) for r in conn.execute(select(Record).where(Record.practitioner_id == model_id)
                                                 ).mappings()]
        for chunk in range(0, count, 5000):
            part = ids[chunk:chunk + 5000]
            conn.execute(insert(Practitioner), [
                {**person, "id": pid, "email": f"p{n}@example.org", "license_number": f"BENCH-{pid}"}
                for n, pid in enumerate(part, start=chunk)])
            conn.execute(insert(Record), [
                {**record, "id": str(uuid.uuid4()), "practitioner_id": pid,
                 **({"import_key": None} if "import_key" in record else {})}
                for pid in part for record in records])
    engine.dispose()
    return ids


def grow(db_url: str, model_id: str, count: int) -> float:
    """Insert ``count`` filler credentials with their three status entries, in new lists
    that are full (as lists a busy issuer filled), through SQL; returns seconds taken."""
    began = time.perf_counter()
    engine = create_engine(db_url)
    per_list = MIN_ENTRIES // 2  # full for the fill of 0.5 as well as for a slot counter
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start_at in range(0, count, per_list):
            n = min(per_list, count - start_at)
            lists = {}
            for purpose in PURPOSES:
                row: dict[str, Any] = {"id": uuid.uuid4().hex[:16], "purpose": purpose, "size": MIN_ENTRIES,
                                       "token": "", "etag": "", "signed_at": now, "created_at": now}
                if hasattr(StatusList, "allocated"):  # after migration 0008: mark the list full
                    row.update(allocated=MIN_ENTRIES, slot_key="")
                conn.execute(insert(StatusList), row)
                lists[purpose] = row["id"]
            for chunk in range(0, n, 10_000):
                ids = [str(uuid.uuid4()) for _ in range(min(10_000, n - chunk))]
                conn.execute(insert(Credential), [
                    {"id": i, "practitioner_id": model_id, "program_id": "filler", "kid": "filler",
                     "token": "", "issued_at": now, "valid_from": now,
                     "valid_until": now + timedelta(days=365), "status": "active", "issued_by": "bench",
                     "is_current": None}
                    for i in ids])
                conn.execute(insert(StatusEntry), [
                    {"list_id": lists[p], "index": chunk + k, "purpose": p, "credential_id": i}
                    for p in PURPOSES for k, i in enumerate(ids)])
    engine.dispose()
    return time.perf_counter() - began


def credential_count(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT COUNT(*) FROM credentials")).scalar_one())
    engine.dispose()
    return count


# ---------------------------------------------------------------- profile


CATEGORIES = [  # (label, substrings of "file:function" whose cumulative time counts), first match wins
    ("signing (vc.jose.sign)", ["vc/jose.py:sign"]),
    ("eligibility rules", ["evaluate"]),
    ("status list indexes", ["issuer/credentials/status_slots.py:allocate"]),
    ("audit entry", ["issuer/audit.py:record"]),
    ("commit", ["sqlalchemy/orm/session.py:commit"]),
]


def profile(app: Any, token: str, pool: Pool, count: int) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def once() -> None:
        practitioner_id = pool.take()
        assert practitioner_id is not None
        reply = client.post("/api/v1/credentials", json={"practitioner_id": practitioner_id,
                                                          "program_id": PROGRAM}, headers=headers)
        assert reply.status_code == 201, reply.json

    for _ in range(5):
        once()
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for _ in range(count):
        once()
    profiler.disable()
    wall = (time.perf_counter() - began) / count * 1000
    stats = pstats.Stats(profiler)
    entries: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in entries.values())
    sql = sum(tt for (f, _, fn), (_, _, tt, _, _) in entries.items()
              if "sqlalchemy" in f or "psycopg" in f or "sqlite3" in f or "{method 'execute'" in fn
              or "{method 'commit'" in fn or "{method 'fetch" in fn)
    print(f"  profile of {count} issuances in-process (cProfile; {wall:.1f} ms each under the profiler):")
    for label, needles in CATEGORIES:
        cum = max((ct for (f, _, fn), (_, _, _, ct, _) in entries.items()
                   if any(n in f"{f}:{fn}" for n in needles)), default=0.0)
        print(f"    {label:34} {cum / count * 1000:6.2f} ms  {cum / total:5.0%}")
    print(f"    {'all SQLAlchemy + driver (self time)':34} {sql / count * 1000:6.2f} ms  {sql / total:5.0%}")
    print("    top functions by own time:")
    top = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
    for (f, line, fn), (_, _, tt, _, _) in top:
        where = f"{Path(f).name}:{line}({fn})" if line else fn
        print(f"      {tt / count * 1000:6.3f} ms  {where}")


# ---------------------------------------------------------------- main


def run(name: str, db_url: str, work: Path, args: argparse.Namespace) -> None:
    upgrade(db_url)
    keys_dir = work / "keys"
    if not keys_dir.exists():
        KeyStore(keys_dir).generate("ES256")
    with make_engine(db_url).begin() as conn:
        conn.execute(text("CREATE TABLE bench_baseline (id VARCHAR(36) PRIMARY KEY, "
                          "practitioner_id VARCHAR(36), token TEXT)"))
    app = create_app({"database_url": db_url, "keys_dir": str(keys_dir)})
    rt = app.extensions["issuer"]
    with rt.sessions() as session:
        model_id = demo.load(session, rt.ctx).practitioner_id
        token = access.create_token(session, rt.ctx, "certifier", "bench")
        admin_token = access.create_token(session, rt.ctx, "admin", "bench-revoke")
    rt.engine.dispose()
    pool = Pool(clone_practitioners(db_url, model_id, args.pool))
    baseline_ids = Pool([model_id], reuse=True)
    print(f"\n== {name}: {args.seconds:g} s per measurement, servers: gunicorn gthread, "
          f"{args.workers} worker(s) x {THREADS} threads each")
    issuer, issuer_port = start("issuer", db_url, keys_dir, args.workers)
    baseline, baseline_port = start("baseline", db_url, keys_dir, args.workers)
    try:
        print(f"  RSS idle: issuer {rss_mib(issuer.pid):.0f} MiB, baseline {rss_mib(baseline.pid):.0f} MiB")
        load(issuer_port, "/api/v1/credentials", token, pool, 2, 0.5)  # warm up both
        load(baseline_port, "/baseline", token, baseline_ids, 2, 0.5)
        print(f"  {'connections':>11} {'':10} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}"
              f" {'CPU ms':>7} {'ratio':>6} {'RSS MiB':>8}")
        for width in args.connections:
            base, base_cpu = measured(baseline.pid, functools.partial(
                load, baseline_port, "/baseline", token, baseline_ids, width, args.seconds))
            base_rss = rss_mib(baseline.pid)
            ours, ours_cpu = measured(issuer.pid, functools.partial(
                load, issuer_port, "/api/v1/credentials", token, pool, width, args.seconds))
            ours_rss = rss_mib(issuer.pid)
            for label, (per_s, p50, p99, errors), cpu, rss in (("baseline", base, base_cpu, base_rss),
                                                               ("issuer", ours, ours_cpu, ours_rss)):
                note = f"  ({errors} errors)" if errors else ""
                rate_ratio, cpu_ratio = per_s / base[0] if base[0] else 0, base_cpu / cpu if cpu else 0
                print(f"  {width:>11} {label:10} {per_s:8.0f} {p50:8.1f} {p99:8.1f} "
                      f"{rate_ratio:6.2f} {cpu:7.2f} {cpu_ratio:6.2f} {rss:8.0f}{note}")
        width = args.grown_connections
        print(f"  issuance ({width} connections) and revocation ({REVOKES}, one at a time) as the "
              "credential table grows:")
        print(f"  {'credentials':>11} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'revoke p50':>10}"
              f" {'p99 ms':>8}   (grown by SQL in)")
        target_sizes = [0, *args.grow]
        for size in target_sizes:
            present = credential_count(db_url)
            took = grow(db_url, model_id, size - present) if size > present else 0.0
            per_s, p50, p99, errors = load(issuer_port, "/api/v1/credentials", token, pool, width,
                                           args.seconds)
            note = f"  ({errors} errors)" if errors else ""
            rows = credential_count(db_url)
            revoke50, revoke99 = revoke_latency(issuer_port, admin_token, revocable(db_url, REVOKES))
            print(f"  {rows:>11} {per_s:8.0f} {p50:8.1f} {p99:8.1f} {revoke50:10.1f} {revoke99:8.1f}"
                  f"   {took:5.1f} s{note}")
        if pool.ran_dry:
            print(f"  the pool of {args.pool:,} practitioners ran dry: a figure above ended early; "
                  "run again with a larger --pool")
    finally:
        for child in (issuer, baseline):
            child.terminate()
            child.wait()
    if args.profile:
        profile(create_app({"database_url": db_url, "keys_dir": str(keys_dir)}), token, pool, args.profile)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--connections", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 8])
    parser.add_argument("--grow", type=lambda s: [int(x) for x in s.split(",") if x],
                        default=[10_000, 100_000],
                        help="credential table sizes to measure issuance at (grown through SQL; '' for none)")
    parser.add_argument("--grown-connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="worker processes of each server (default: one per core)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--pool", type=int, default=20_000, help="eligible practitioners to create")
    parser.add_argument("--profile", type=int, default=50, help="issuances to profile")
    args = parser.parse_args()
    began = time.perf_counter()
    for name in args.databases.split(","):
        work = Path(tempfile.mkdtemp(prefix="bxc-issue-bench-"))
        if name == "sqlite":
            run("SQLite", f"sqlite:///{work / 'issuer.db'}", work, args)
        elif name == "postgresql":
            scoped = postgres(args.pg_url)
            if scoped is not None:
                with scoped() as url:
                    run("PostgreSQL", url, work, args)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
