"""Database bytes per credential, and what rendering QR codes and PDFs on request costs.

For each database (SQLite file; PostgreSQL when reachable), ``--count`` credentials are
issued in-process through the real issuance function (``issuer.credentials.issuance.issue``:
rules, status list indexes, ES256 signature, audit entry, one transaction each) to
practitioners cloned through SQL beforehand; the database's size is measured before and
after, and the difference divided by the count:
  - SQLite: the file after ``VACUUM`` (the WAL checkpointed), split per table and index with
    the ``dbstat`` virtual table;
  - PostgreSQL: ``pg_total_relation_size`` (heap, TOAST, indexes) of every table of the
    bench schema, as written and after ``VACUUM FULL``;
then the signed token's length as text and as stored (``credentials.token`` is kept compact
since migration 0010, :mod:`issuer.store.compact`).
For comparison it prints what the two QR images that rows stored before migration 0009
weighed. Then, per credential (distinct verify links): QR PNG and SVG rendered with
``qrcode`` and with ``segno`` side by side (what ``issuer.credentials.qr`` serves marked),
the strong ETag computed without rendering, and the PDF certificate.

Run: ``.venv/bin/python bench/storage.py [--count 2000] [--renders 200] [--pdfs 20]
[--databases sqlite,postgresql] [--pg-url URL]``. About a minute at the defaults. Nothing
here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qrcode  # noqa: E402
import qrcode.image.svg  # noqa: E402
import segno  # noqa: E402
from common import postgres  # noqa: E402
from issue_speed import clone_practitioners  # noqa: E402
from qrcode.constants import ERROR_CORRECT_M  # noqa: E402
from sqlalchemy import LargeBinary, create_engine, select, text, type_coerce  # noqa: E402

from issuer import create_app, demo  # noqa: E402
from issuer.credentials import certificate, issuance, qr  # noqa: E402
from issuer.store.db import upgrade  # noqa: E402
from issuer.store.models import Credential  # noqa: E402
from keys import KeyStore  # noqa: E402
from vc import protocol  # noqa: E402

PROGRAM = "botox-cosmetic-injector"
BUDGET = 4096  # bytes of database per credential the issue allows


# ---------------------------------------------------------------- database size


def sqlite_sizes(db_url: str) -> tuple[int, dict[str, int]]:
    """(file bytes, bytes per table or index) after a WAL checkpoint and VACUUM."""
    path = db_url.removeprefix("sqlite:///")
    engine = create_engine(db_url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        parts = {name: int(size) for name, size in conn.exec_driver_sql(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")}
    engine.dispose()
    return os.path.getsize(path), parts


def postgres_sizes(db_url: str, full: bool) -> tuple[int, dict[str, int]]:
    """(bytes of every table of the schema, bytes per table) with TOAST and indexes;
    after ``VACUUM FULL`` when ``full``."""
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if full:
            conn.execute(text("VACUUM FULL"))
        else:
            conn.execute(text("ANALYZE"))
        parts = {name: int(size) for name, size in conn.execute(text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema()"))}
    engine.dispose()
    return sum(parts.values()), parts


def issue_many(app: Any, ids: list[str]) -> float:
    """Issue one credential to each practitioner through the real issuance function;
    seconds per credential."""
    rt = app.extensions["issuer"]
    began = time.perf_counter()
    with rt.sessions() as session:
        ctx = rt.current_ctx()
        for practitioner_id in ids:
            issuance.issue(session, ctx, practitioner_id, PROGRAM, "bench")
    return (time.perf_counter() - began) / len(ids)


def show_growth(label: str, before: tuple[int, dict[str, int]], after: tuple[int, dict[str, int]],
                count: int) -> None:
    total = (after[0] - before[0]) / count
    verdict = "within" if total <= BUDGET else "OVER"
    print(f"  {label}: {total:7.0f} bytes per credential ({verdict} the {BUDGET} byte budget)")
    grown = sorted(((after[1].get(n, 0) - before[1].get(n, 0), n) for n in after[1]), reverse=True)
    for delta, name in grown:
        if delta:
            print(f"    {name:44} {delta / count:7.0f}")


def measure(name: str, db_url: str, work: Path, count: int) -> None:
    upgrade(db_url)
    keys_dir = work / "keys"
    if not keys_dir.exists():
        KeyStore(keys_dir).generate("ES256")
    app = create_app({"database_url": db_url, "keys_dir": str(keys_dir)})
    rt = app.extensions["issuer"]
    with rt.sessions() as session:
        model_id = demo.load(session, rt.ctx).practitioner_id
    ids = clone_practitioners(db_url, model_id, count)
    print(f"\n== {name}: {count} credentials issued through issuance.issue (in-process)")
    if name == "SQLite":
        before = sqlite_sizes(db_url)
        seconds = issue_many(app, ids)
        rt.engine.dispose()
        show_growth("file after VACUUM", before, sqlite_sizes(db_url), count)
    else:
        before = postgres_sizes(db_url, True)  # compacted, so both growths start from the same size
        seconds = issue_many(app, ids)
        rt.engine.dispose()
        show_growth("as written (pg_total_relation_size)", before, postgres_sizes(db_url, False), count)
        show_growth("after VACUUM FULL", before, postgres_sizes(db_url, True), count)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        bench = Credential.issued_by == "bench"
        tokens = conn.execute(select(Credential.token).where(bench)).scalars().all()
        stored = conn.execute(select(type_coerce(Credential.token, LargeBinary)).where(bench)).scalars().all()
    engine.dispose()
    token = statistics.mean(len(t) for t in tokens)
    print(f"  the signed token: {token:.0f} bytes as text; issuance took {seconds * 1000:.1f} ms each")
    versions = Counter(bytes(s)[0] for s in stored)
    print(f"  stored compact (issuer.store.compact: zlib of the decoded header and payload + the raw "
          f"signature, read back as the same token): {statistics.mean(len(s) for s in stored):.0f} bytes "
          f"(format versions {dict(sorted(versions.items()))})")


# ---------------------------------------------------------------- rendering


def _qrcode(link: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(link)
    code.make(fit=True)
    return code


def qrcode_png(link: str) -> bytes:
    buffer = io.BytesIO()
    _qrcode(link).make_image().save(buffer)
    return buffer.getvalue()


def qrcode_svg(link: str) -> str:
    """The SVG of revision 0008 (stored in every row then)."""
    image = _qrcode(link).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return qr.with_background(str(image.to_string(encoding="unicode")))


def segno_png(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False, boost_error=False).save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def timed(renders: list[Callable[[str], Any]], links: list[str]) -> list[tuple[float, float]]:
    """Per renderer: (median ms per render over ``links``, mean bytes), after one warm-up.
    The renderers take turns on each link, so a busy machine slows them alike."""
    for render in renders:
        render(links[0])
    times: list[list[float]] = [[] for _ in renders]
    sizes: list[list[int]] = [[] for _ in renders]
    for link in links:
        for n, render in enumerate(renders):
            began = time.perf_counter()
            out = render(link)
            times[n].append((time.perf_counter() - began) * 1000)
            sizes[n].append(len(out))
    return [(statistics.median(t), statistics.mean(z)) for t, z in zip(times, sizes, strict=True)]


def rendering(renders: int, pdfs: int, work: Path) -> None:
    links = [protocol.verify_link("http://127.0.0.1:5001", "http://127.0.0.1:5000", str(uuid.uuid4()))
             for _ in range(renders)]
    rows: list[tuple[str, str, Callable[[str], Any], Callable[[str], Any] | None]] = [
        ("PNG", "qrcode (served)", qrcode_png, qr.png),
        ("PNG", "segno", segno_png, None),
        ("SVG", "qrcode (0008)", qrcode_svg, None),
        ("SVG", "segno (served)", qr.svg, qr.svg),
    ]
    print(f"\n== QR rendering per credential: median of {renders} distinct verify links, one process, "
          "the libraries taking turns")
    print(f"  {'format':6} {'library':18} {'ms':>7} {'bytes':>7}")
    measured = timed([row[2] for row in rows], links)
    for (kind, library, render, served), (ms, size) in zip(rows, measured, strict=True):
        print(f"  {kind:6} {library:18} {ms:7.2f} {size:7.0f}")
        assert served is None or served(links[0]) == render(links[0])
    old = statistics.mean(len(qrcode_png(link)) + len(qrcode_svg(link).encode()) for link in links[:50])
    print(f"  images each row stored before migration 0009 (PNG + SVG): {old:.0f} bytes")
    began = time.perf_counter()
    for link in links:
        qr.etag("png", link)
    print(f"  strong ETag without rendering: {(time.perf_counter() - began) / renders * 1e6:.1f} µs")

    db_url = f"sqlite:///{work / 'pdf.db'}"
    upgrade(db_url)
    KeyStore(work / "pdf-keys").generate("ES256")
    app = create_app({"database_url": db_url, "keys_dir": str(work / "pdf-keys")})
    rt = app.extensions["issuer"]
    with rt.sessions() as session:
        credential_id = demo.load(session, rt.ctx).id
        ctx = rt.current_ctx()
        times, sizes = [], []
        for n in range(pdfs + 1):
            document = certificate.certificate(session, ctx, credential_id, "a4" if n % 2 else "letter")
            certificate._rendered.clear()  # time a render, not the copy kept by ETag
            began = time.perf_counter()
            content = document.render(ctx)
            if n:  # the first loads the fonts
                times.append((time.perf_counter() - began) * 1000)
                sizes.append(len(content))
        began = time.perf_counter()
        for _ in range(pdfs):
            certificate.certificate(session, ctx, credential_id, "a4").etag  # noqa: B018
        etag_ms = (time.perf_counter() - began) / pdfs * 1000
    rt.engine.dispose()
    print(f"  PDF certificate (fpdf2): {statistics.median(times):.0f} ms to render, "
          f"{statistics.mean(sizes):.0f} bytes; its ETag (a database read, no rendering): {etag_ms:.2f} ms")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="credentials to issue per database")
    parser.add_argument("--renders", type=int, default=200, help="QR codes rendered per library and format")
    parser.add_argument("--pdfs", type=int, default=20, help="PDF certificates rendered")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bxc-storage-bench-"))
    for name in args.databases.split(","):
        if name == "sqlite":
            measure("SQLite", f"sqlite:///{work / 'issuer.db'}", work, args.count)
        elif name == "postgresql":
            scoped = postgres(args.pg_url)
            if scoped is not None:
                with scoped() as url:
                    measure("PostgreSQL", url, work, args.count)
    rendering(args.renders, args.pdfs, work)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
