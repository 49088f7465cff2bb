"""Verification over real HTTP at 1, 4 and 8 connections, beside a bare baseline, in one run.

Starts, as separate processes on 127.0.0.1:
  * an issuer (``issuer serve``) with the demo credential, whose keys and status lists the
    verifier fetches once and then serves from its caches (ttl 300 s);
  * the verifier (``verifier serve --workers W --threads T``);
  * the bare baseline ``bench/bare_verify.py`` (Flask + PyJWT ES256 decode, nothing else),
    served exactly as the verifier is (``serving.server.run``: gunicorn gthread, same W and T).
Then drives each with ``wrk`` (Debian package ``wrk``) and prints requests/s, p50 and p99
latency, each ratio to the baseline, and the resident memory (RSS, summed over the server's
processes) idle and after each load:
  * ``POST /api/v1/verify`` (what other software calls);
  * ``GET /v/<id>?issuer=...`` (the page a phone opens after scanning the QR code).

Run: ``.venv/bin/python bench/verify_http.py [--seconds 5] [--connections 1,4,8]``.
Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from common import free_port, rss_mib  # noqa: E402

from serving import DEFAULT_THREADS, default_workers  # noqa: E402


def wait_until_up(url: str, child: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if child.poll() is not None:
            raise SystemExit(f"{child.args!r} exited with {child.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers at {url}")


def wrk(url: str, connections: int, seconds: float, script: Path | None) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-2xx) of ``url`` under ``wrk``."""
    command = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
               "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if match is None:
            return float("nan")
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    per_s = float(rate.group(1)) if rate else 0.0
    return per_s, latency("50"), latency("99"), int(bad.group(1)) if bad else 0


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        child = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--connections", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 8])
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="server processes of the verifier and of the baseline (default: cores)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per server process")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="bxc-verify-http-"))
    issuer_port, verifier_port, bare_port = free_port(), free_port(), free_port()
    issuer_url = f"http://127.0.0.1:{issuer_port}"
    verifier_url = f"http://127.0.0.1:{verifier_port}"
    base_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work)}
    issuer_env = {
        **base_env,
        "ISSUER_DATABASE_URL": f"sqlite:///{work / 'issuer.db'}",
        "ISSUER_KEYS_DIR": str(work / "keys"),
        "ISSUER_URL": issuer_url,
        "ISSUER_VERIFIER_URL": verifier_url,
        "ISSUER_STATUS_LIST_TTL": "300",
    }
    subprocess.run([str(BIN / "issuer"), "init"], env=issuer_env, check=True, capture_output=True)
    demo = subprocess.run([str(BIN / "issuer"), "demo"], env=issuer_env, check=True, capture_output=True,
                          text=True).stdout
    printed = {line.split(":", 1)[0]: line.split()[-1] for line in demo.splitlines() if ":" in line}
    page_url, credential_id = printed["verify page"], printed["demo credential"]

    registry = work / "trusted-issuers.json"
    registry.write_text(json.dumps({"issuers": [
        {"id": issuer_url, "name": "Bench issuer", "jwks_url": f"{issuer_url}/.well-known/jwks.json"}]}))
    verifier_env = {**base_env, "VERIFIER_TRUSTED_ISSUERS": str(registry), "VERIFIER_URL": verifier_url,
                    "VERIFIER_KEYS_DIR": str(work / "verifier-keys")}
    serving = ["--workers", str(args.workers), "--threads", str(args.threads)]

    with process([str(BIN / "issuer"), "serve", "--host", "127.0.0.1", "--port", str(issuer_port)],
                 issuer_env, work / "issuer.log") as issuer:
        wait_until_up(f"{issuer_url}/.well-known/jwks.json", issuer)
        token = urllib.request.urlopen(f"{issuer_url}/credentials/{credential_id}/jwt").read().decode()
        jwks = json.loads(urllib.request.urlopen(f"{issuer_url}/.well-known/jwks.json").read())
        (work / "jwk.json").write_text(json.dumps(jwks["keys"][0]))
        post = work / "post.lua"
        post.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                        f"wrk.body = {json.dumps(json.dumps({'credential': token}))}\n")
        bare_env = {**base_env, "BENCH_JWK": str(work / "jwk.json")}
        bare_command = [sys.executable, str(ROOT / "bench" / "bare_verify.py"), str(bare_port),
                        str(args.workers), str(args.threads)]
        with process([str(BIN / "verifier"), "serve", "--host", "127.0.0.1", "--port", str(verifier_port),
                      *serving], verifier_env, work / "verifier.log") as verifier, \
                process(bare_command, bare_env, work / "bare.log") as bare:
            wait_until_up(f"{verifier_url}/", verifier)
            body = json.dumps({"credential": token}).encode()
            for _ in range(50):
                try:
                    urllib.request.urlopen(urllib.request.Request(
                        f"http://127.0.0.1:{bare_port}/verify", data=body,
                        headers={"Content-Type": "application/json"}), timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            warm = json.loads(urllib.request.urlopen(urllib.request.Request(
                f"{verifier_url}/api/v1/verify", data=json.dumps({"credential": token}).encode(),
                headers={"Content-Type": "application/json"})).read())
            assert warm["status"] == "valid", warm
            urllib.request.urlopen(page_url).read()
            print(f"credential {len(token)} characters, ES256; servers: gunicorn gthread, {args.workers} "
                  f"worker(s) x {args.threads} threads each; wrk {args.seconds:g} s per measurement; "
                  f"{os.cpu_count()} cores shared by servers and wrk")
            print(f"RSS idle: verifier {rss_mib(verifier.pid):.0f} MiB, baseline {rss_mib(bare.pid):.0f} MiB")
            print(f"{'connections':>11}  {'path':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}"
                  f" {'RSS MiB':>8}")
            for width in args.connections:
                rows = [
                    ("baseline POST /verify", f"http://127.0.0.1:{bare_port}/verify", post, bare),
                    ("verifier POST /api/v1/verify", f"{verifier_url}/api/v1/verify", post, verifier),
                    ("verifier page GET /v/<id>", page_url, None, verifier),
                ]
                base = 0.0
                for label, url, script, server in rows:
                    per_s, p50, p99, bad = wrk(url, width, args.seconds, script)
                    base = base or per_s
                    note = f"  ({bad} non-2xx)" if bad else ""
                    print(f"{width:>11}  {label:34} {per_s:8.0f} {p50:8.1f} {p99:8.1f} {per_s / base:6.2f}"
                          f" {rss_mib(server.pid):8.0f}{note}")


if __name__ == "__main__":
    main()
