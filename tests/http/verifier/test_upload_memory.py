"""Memory under concurrent uploads: eight simultaneous uploads of the largest accepted image
must not grow the verifier by more than about 300 MiB. Measured in a fresh interpreter
(peak resident memory, Linux ``VmHWM``), so nothing else in the test run counts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.http, pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                                                   reason="needs Linux /proc to read peak memory")]

ROOT = Path(__file__).resolve().parents[3]
PROBE = textwrap.dedent(
    """
    import io, json, sys, threading
    import qrcode
    from PIL import Image
    from tests.unit.verifier.fake_issuer import Clock, FakeIssuer, Network, verification_link
    from verifier import create_app
    from verifier.qrimage import MAX_PIXELS, MAX_UPLOAD_BYTES

    def memory(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024

    clock, network = Clock(), Network()
    issuer = FakeIssuer(clock, network=network)
    link = verification_link(issuer, "0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e")
    side = int(MAX_PIXELS ** 0.5)  # the largest accepted image: 5,000 x 5,000 RGB
    canvas = Image.new("RGB", (side, side), "white")
    canvas.paste(qrcode.make(link, box_size=40).convert("RGB"), (100, 100))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    assert len(data) <= MAX_UPLOAD_BYTES
    del canvas, buffer
    app = create_app({"TESTING": True, "TRUSTED_ISSUERS": {"issuers": [issuer.entry()]},
                      "KEYS_DIR": sys.argv[1]}, fetch=network.fetch, clock=clock)
    statuses = []

    def upload(payload):
        reply = app.test_client().post("/upload", data={"image": (io.BytesIO(payload), "qr.png")},
                                       content_type="multipart/form-data")
        statuses.append(reply.status_code)

    small = io.BytesIO()
    qrcode.make(link).save(small)
    upload(small.getvalue())  # warm up the code path with a small image
    import gc; gc.collect()
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current size
    before = memory("VmRSS:")
    threads = [threading.Thread(target=upload, args=(data,)) for _ in range(8)]
    for thread in threads: thread.start()
    for thread in threads: thread.join()
    print(json.dumps({"growth": memory("VmHWM:") - before, "statuses": statuses[1:]}))
    """
)


def test_eight_simultaneous_largest_uploads_stay_under_300_mib(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "keys")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])

    assert measured["statuses"] == [200] * 8  # every upload was read and judged
    assert measured["growth"] < 300 * 2**20, f"grew by {measured['growth'] / 2**20:.0f} MiB"
