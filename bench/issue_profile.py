"""Where an issuance's time goes, sampled, beside the bare baseline's in one run.

The same children as ``bench/issue_instructions.py`` (a fresh database, then requests of the
issuer's ``POST /api/v1/credentials`` or of the baseline through Flask's test client, no
server, no network) run under py-spy, a sampling profiler: it reads the interpreter's stack
from outside at a fixed rate, so, unlike cProfile, it does not slow every Python call down
and inflate code made of many small calls (SQLAlchemy's) against code that runs in C. Only
the samples taken during the measured requests count (the frames under
``issue_instructions.measured``). Each sample is put in one layer by the function it was in:
a driver call (a statement, a fetch, a commit; py-spy puts time spent in C under the Python
function that called it), SQLAlchemy's own Python, Flask and Werkzeug, JSON, PyJWT and
cryptography, our packages, or the rest. We print, per layer, its share of the samples and
that share of the CPU time the child measured around the requests, in milliseconds per
request, on each side; then the CPU ratio, and what it would be if SQLAlchemy's own Python
cost nothing. On SQLite everything happens in this process, so the samples are CPU time. On
PostgreSQL py-spy also samples a thread blocked in the driver waiting for the server's
answer, so there the driver's share includes those waits (its milliseconds overstate the
driver's CPU, and the other layers' understate theirs).

What it showed on 2026-12-03 is in the README (Benchmarks: issuance over the API), with what
it means for the goal of 0.5 of the baseline.

Run: ``.venv/bin/python bench/issue_profile.py [--requests 3000] [--rate 1000] [--databases
sqlite,postgresql]`` (needs py-spy, ``pip install -e '.[bench]'``, and the right to trace a
child process; about a minute per database). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from issue_instructions import WARM_UP, Databases, database_options, each_database  # noqa: E402

#: Leaf functions whose time is the database driver's (the C call under them).
_DRIVER_CALLS = re.compile(
    r"^(DefaultDialect\.do_(execute|executemany|commit|rollback|ping)|\w+FetchStrategy\.fetch\w*"
    r"|CursorResult\._fetch\w*)$")
#: Our packages: a sample whose leaf is in one of them is ours.
_OURS = ("issuer", "vc", "keys", "serving")
#: py-spy: beside this Python (a virtual environment's) or on the PATH.
_BESIDE = Path(sys.executable).parent / "py-spy"
PY_SPY = str(_BESIDE) if _BESIDE.exists() else shutil.which("py-spy")
LAYERS = ("database driver", "SQLAlchemy", "Flask and Werkzeug", "JSON", "PyJWT and cryptography",
          "ours", "other")


def layer(frame: str) -> str:
    """The layer of a sample whose innermost frame is ``frame`` (py-spy's ``function (path:line)``)."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    top = path.split("/", 1)[0]
    if _DRIVER_CALLS.match(function) or top in ("psycopg", "sqlite3"):
        return "database driver"
    if top == "sqlalchemy":
        return "SQLAlchemy"
    if top in ("flask", "werkzeug"):
        return "Flask and Werkzeug"
    if top == "json" or path.endswith(("vc/_json.py", "vc/strict_json.py")):
        return "JSON"
    if top in ("jwt", "cryptography"):
        return "PyJWT and cryptography"
    if top in _OURS:
        return "ours"
    return "other"


def layers(raw: str) -> tuple[Counter[str], Counter[str]]:
    """Samples per layer, and per module of ours, of py-spy's raw output (``stack count`` per
    line), counting only the stacks that pass through ``measured``."""
    per_layer: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any(frame.startswith("measured (") for frame in frames):
            continue
        found = layer(frames[-1])
        per_layer[found] += int(count)
        if found == "ours":
            ours[frames[-1].partition(" (")[2].rsplit(":", 1)[0]] += int(count)
    return per_layer, ours


@dataclass
class Profile:
    """One side's measured requests: samples per layer and per module of ours, and the CPU
    and wall seconds the child measured around them."""

    layers: Counter[str]
    ours: Counter[str]
    cpu: float
    wall: float

    def share(self, name: str) -> float:
        """The share of the samples in layer ``name``."""
        return self.layers[name] / max(self.layers.total(), 1)

    def cell(self, name: str, requests: int) -> str:
        """Layer ``name``'s share, and that share of the CPU time in ms per request."""
        return f"{self.share(name):4.0%} ({self.share(name) * self.cpu / requests * 1000:6.3f})"


def sampled(side: str, db_url: str, requests: int, rate: int) -> Profile:
    """A profile of ``requests`` requests of ``side``."""
    with tempfile.TemporaryDirectory(prefix="bxc-profile-") as work:
        out = Path(work) / "samples.txt"
        done = subprocess.run(
            [PY_SPY, "record", "--rate", str(rate), "--format", "raw", "--output", str(out), "--",
             sys.executable, str(ROOT / "bench" / "issue_instructions.py"), "_child", side, db_url,
             str(requests), str(WARM_UP + requests)],
            capture_output=True, text=True, check=True, cwd=ROOT)
        timed = re.search(r"measured: \d+ requests, ([\d.]+) s of CPU, ([\d.]+) s", done.stdout)
        if timed is None:
            raise RuntimeError(f"the child said no time: {done.stdout[-500:]}{done.stderr[-500:]}")
        return Profile(*layers(out.read_text()), cpu=float(timed.group(1)), wall=float(timed.group(2)))


def report(label: str, databases: Databases, requests: int, rate: int) -> None:
    """Print the layers of both sides on one database."""
    sides = {}
    for side in ("baseline", "issuer"):
        with databases() as url:
            sides[side] = sampled(side, url, requests, rate)
    base, ours = sides["baseline"], sides["issuer"]
    print(f"{label}: {requests} requests a side, {rate} samples/s; share of the samples by layer "
          f"(in ms per request: the share of the CPU time measured)")
    print(f"  {'layer':24} {'baseline':>17} {'issuer':>17}")
    for name in LAYERS:
        print(f"  {name:24} {base.cell(name, requests):>17} {ours.cell(name, requests):>17}")
    base_ms, ours_ms = base.cpu / requests * 1000, ours.cpu / requests * 1000
    print(f"  {'CPU ms per request':24} {base_ms:17.3f} {ours_ms:17.3f}   ratio {base_ms / ours_ms:.2f}")
    base_wall, ours_wall = base.wall / requests * 1000, ours.wall / requests * 1000
    print(f"  {'wall ms per request':24} {base_wall:17.3f} {ours_wall:17.3f}")
    ours_bare, base_bare = ours_ms * (1 - ours.share("SQLAlchemy")), base_ms * (1 - base.share("SQLAlchemy"))
    print(f"  the CPU ratio if SQLAlchemy's own Python cost nothing: on our side {base_ms / ours_bare:.2f}, "
          f"on both sides {base_bare / ours_bare:.2f}")
    total = ours.layers.total()
    top = ", ".join(f"{module} {count / total:.1%}" for module, count in ours.ours.most_common(8))
    print(f"  ours, by module: {top}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    database_options(parser)
    args = parser.parse_args()
    if PY_SPY is None:
        print("py-spy is not installed (pip install -e '.[bench]'); skipped")
        return
    for label, databases in each_database(args):
        report(label, databases, args.requests, args.rate)


if __name__ == "__main__":
    main()
