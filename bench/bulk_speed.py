"""Bulk issuance speed, measured side by side with a bare baseline in one run.

For each database (SQLite file; PostgreSQL when reachable) and each size (10,000 and 100,000
eligible practitioners by default), on a fresh database:
  1. the practitioners are inserted through the records layer in bulk (tests/eligible.py);
  2. a baseline signs the same claims with PyJWT (ES256, the same key) for every
     practitioner and inserts the tokens with executemany, committing every ``--batch-size``
     rows: no rules, no status lists, no audit;
  3. the issuer's bulk issuance (:func:`issuer.credentials.bulk.issue_all_eligible`, what
     ``issuer credentials issue --all-eligible`` and ``POST /api/v1/credentials/bulk`` run)
     issues to all of them, in batches of ``--batch-size``, with ``--workers`` worker
     processes (the command line's default: one per core when there are several);
  4. the same run again, which finds everyone already certified;
  5. for contrast, the per-credential path bulk issuance used before (one
     :func:`issuer.credentials.issuance.issue` and one commit per credential) on
     ``--per-credential`` further practitioners.
Each line gives credentials/s of wall time, credentials per CPU-second of this process and
its worker processes (the figure to trust when other work shares the machine; PostgreSQL's
own CPU is not in it) and the ratio to the baseline. Last, with ``--profile N``, one bulk
run over N practitioners is profiled (cProfile) in-process (every step in one profile) and
its time split into the steps of a batch; with workers, a second profile shows what is left
to the issuing process.

Run: ``.venv/bin/python bench/bulk_speed.py [--sizes 10000,100000] [--batch-size 500]
[--databases sqlite,postgresql] [--pg-url URL] [--workers N] [--per-credential 300]
[--profile 5000]``;
``--sizes 2000 --per-credential 100 --profile 0`` is a quick run. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402
from common import postgres  # noqa: E402
from sqlalchemy import Column, MetaData, String, Table, Text, insert, select  # noqa: E402

from issuer import create_app  # noqa: E402
from issuer.credentials import bulk, bulk_signing, issuance  # noqa: E402
from issuer.runtime import Runtime  # noqa: E402
from issuer.store.db import upgrade  # noqa: E402
from issuer.store.models import Credential  # noqa: E402
from keys import KeyStore  # noqa: E402
from tests.eligible import seed_eligible  # noqa: E402

PROGRAM = "botox-cosmetic-injector"


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the bulk run's worker
    processes are waited for when the run ends)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Timer:
    """Wall and CPU seconds of a block (CPU: this process and the workers it ran)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu


def line(label: str, count: int, took: Timer, base: float | None) -> float:
    per_s = count / took.wall if took.wall else 0.0
    per_cpu = count / took.cpu if took.cpu else 0.0
    ratio = f"{per_s / base:6.2f}" if base else "  1.00"
    print(f"  {label:46} {count:>8,} {took.wall:8.1f} {per_s:9,.0f} {per_cpu:9,.0f} {ratio}")
    return per_s


def baseline(rt: Runtime, db_url: str, ids: list[str], claims: dict[str, Any], batch: int) -> None:
    """Sign the same claims with PyJWT per practitioner; executemany + commit per batch."""
    signer = rt.ctx.signer
    private_key = signer._private_key  # type: ignore[attr-defined]  # the key the issuer signs with
    table = Table("bench_baseline", MetaData(), Column("id", String(36), primary_key=True),
                  Column("practitioner_id", String(36)), Column("token", Text))
    headers = {"kid": signer.kid, "typ": "vc+jwt", "cty": "vc"}
    with rt.engine.begin() as conn:
        table.create(conn)
    for start in range(0, len(ids), batch):
        rows = []
        for practitioner_id in ids[start:start + batch]:
            credential_id = str(uuid.uuid4())
            urn = f"urn:uuid:{credential_id}"
            token = jwt.encode({**claims, "id": urn, "jti": urn}, private_key, "ES256", headers=headers)
            rows.append({"id": credential_id, "practitioner_id": practitioner_id, "token": token})
        with rt.engine.begin() as conn:
            conn.execute(insert(table), rows)


def per_credential(rt: Runtime, ids: list[str]) -> None:
    for practitioner_id in ids:
        with rt.sessions() as session:
            issuance.issue(session, rt.ctx, practitioner_id, PROGRAM, "bench")


def run_bulk(rt: Runtime, batch: int, only: list[str] | None = None, workers: int = 0) -> bulk.Summary:
    with rt.sessions() as session:
        return bulk.issue_all_eligible(session, rt.ctx, PROGRAM, "bench", batch_size=batch, only=only,
                                       workers=workers)


STEPS = [  # (label, substrings of "file:function" whose cumulative time counts), first match wins
    ("read practitioners and records", ["issuer/credentials/candidates.py:rows_for"]),
    ("candidates from the rows", ["issuer/credentials/candidates.py:candidates_from"]),
    ("eligibility rules", ["issuer/rules/programs.py:evaluate"]),
    ("credential content (results)", ["issuer/credentials/issuance.py:credential_data"]),
    ("claims (build_claims)", ["vc/credential.py:build_claims"]),
    ("signing and packing (Work._packed)", ["issuer/credentials/bulk_signing.py:_packed"]),
    ("  of which vc.jose.sign", ["vc/jose.py:sign"]),
    ("  of which ECDSA", ["keys/__init__.py:sign"]),
    ("  of which zlib", ["<built-in method zlib.compress>"]),
    ("waiting for the workers", ["issuer/credentials/bulk_signing.py:run"]),
    ("status indexes (allocate_many)", ["issuer/credentials/status_slots.py:allocate_many"]),
    ("  of which the permutation", ["issuer/credentials/status_slots.py:permute_many"]),
    ("insert credentials", ["issuer/credentials/bulk.py:_insert_current"]),
    ("insert status entries", ["issuer/credentials/bulk.py:_insert_entries"]),
    ("audit entries (record_many)", ["issuer/audit.py:record_many"]),
    ("commit", ["sqlalchemy/orm/session.py:commit"]),
]


def profile(rt: Runtime, count: int, batch: int, workers: int, first: int) -> None:
    ids = seed_eligible(rt.engine, rt.ctx, count, first=first)
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    summary = run_bulk(rt, batch, only=ids, workers=workers)
    profiler.disable()
    wall = time.perf_counter() - began
    issued = len(summary.issued)
    stats = pstats.Stats(profiler)
    entries: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in entries.values())
    where = f"the issuing process, {workers} workers" if workers else "in-process"
    print(f"  profile of one bulk run over {issued:,} practitioners ({where}; cProfile; "
          f"{wall / max(issued, 1) * 1e6:.0f} us each under the profiler):")
    for label, needles in STEPS:
        cum = max((ct for (f, _, fn), (_, _, _, ct, _) in entries.items()
                   if any(n in f"{f}:{fn}" for n in needles)), default=0.0)
        print(f"    {label:34} {cum / max(issued, 1) * 1e6:6.0f} us  {cum / total:5.0%}")
    print("    top functions by own time:")
    top = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:10]
    for (f, lineno, fn), (_, _, tt, _, _) in top:
        where = f"{Path(f).name}:{lineno}({fn})" if lineno else fn
        print(f"      {tt / max(issued, 1) * 1e6:6.1f} us  {where}")


def measure(name: str, db_url: str, work: Path, size: int, args: argparse.Namespace) -> None:
    upgrade(db_url)
    keys_dir = work / "keys"
    if not keys_dir.exists():
        KeyStore(keys_dir).generate("ES256")
    rt: Runtime = create_app({"database_url": db_url, "keys_dir": str(keys_dir)}).extensions["issuer"]
    try:
        with Timer() as seeding:
            ids = seed_eligible(rt.engine, rt.ctx, size)
            extra = seed_eligible(rt.engine, rt.ctx, args.per_credential + 1, first=size)
        model, extra = extra[0], extra[1:]
        with rt.sessions() as session:  # one credential, whose claims the baseline signs
            claims = jwt.decode(issuance.issue(session, rt.ctx, model, PROGRAM, "bench").token,
                                options={"verify_signature": False})
        print(f"\n== {name}, {size:,} eligible practitioners (inserted in {seeding.wall:.0f} s), "
              f"batches of {args.batch_size}")
        print(f"  {'':46} {'count':>8} {'wall s':>8} {'per s':>9} {'per CPU s':>9} {'ratio':>6}")
        with Timer() as took:
            baseline(rt, db_url, ids, claims, args.batch_size)
        base = line("baseline: PyJWT sign + executemany", size, took, None)
        with Timer() as took:
            summary = run_bulk(rt, args.batch_size, only=ids, workers=args.workers)
        assert len(summary.issued) == size, summary.as_dict()["counts"]
        line(f"bulk issuance ({args.workers} workers)", size, took, base)
        with Timer() as took:
            summary = run_bulk(rt, args.batch_size, only=ids, workers=args.workers)
        assert len(summary.already_certified) == size, summary.as_dict()["counts"]
        line("bulk run again (everyone already certified)", size, took, base)
        if extra:
            with Timer() as took:
                per_credential(rt, extra)
            line("per credential (issuance.issue + commit)", len(extra), took, base)
        with rt.engine.connect() as conn:
            count = conn.execute(select(Credential.id).where(Credential.is_current.is_(True))).all()
        assert len(count) == size + len(extra) + 1
        if args.profile and size == args.sizes[-1]:
            profile(rt, args.profile, args.batch_size, 0, 10_000_000)
            if args.workers:
                profile(rt, args.profile, args.batch_size, args.workers, 20_000_000)
    finally:
        rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000],
                        help="eligible practitioners per measurement (a fresh database each)")
    parser.add_argument("--batch-size", type=int, default=bulk.DEFAULT_BATCH_SIZE)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--workers", type=int, default=bulk_signing.default_workers(),
                        help="worker processes of the bulk run, as the command line's --workers "
                             "(default: one per core when there are several)")
    parser.add_argument("--per-credential", type=int, default=300,
                        help="practitioners issued one at a time, for contrast (0: skip)")
    parser.add_argument("--profile", type=int, default=5_000,
                        help="practitioners of the profiled run, after the largest size (0: skip)")
    args = parser.parse_args()
    began = time.perf_counter()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start")
    for name in args.databases.split(","):
        for size in args.sizes:
            work = Path(tempfile.mkdtemp(prefix="bxc-bulk-bench-"))
            try:
                if name == "sqlite":
                    measure("SQLite", f"sqlite:///{work / 'issuer.db'}", work, size, args)
                elif name == "postgresql":
                    scoped = postgres(args.pg_url)
                    if scoped is not None:
                        with scoped() as url:
                            measure("PostgreSQL", url, work, size, args)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end; total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
