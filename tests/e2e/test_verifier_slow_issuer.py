"""The verifier service over real HTTP while one trusted issuer hangs: its credentials get
``status_unknown`` within 6 s, and another issuer's credential is judged in under 1 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import verifier
from tests.e2e.conftest import Reply, Server, free_port, http
from tests.unit.verifier.fake_issuer import Clock
from tests.unit.verifier.http_issuer import HttpIssuer
from vc.status_list import PURPOSES, status_entry

pytestmark = pytest.mark.e2e


@pytest.fixture
def issuers() -> Iterator[tuple[HttpIssuer, HttpIssuer, Clock]]:
    clock = Clock()
    with HttpIssuer(clock, "Hanging Academy") as slow, HttpIssuer(clock, "Healthy Academy") as ok:
        yield slow, ok, clock


def _verify(base: str, token: str) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = http("POST", f"{base}/api/v1/verify", {"credential": token})
    return reply, time.monotonic() - started


def test_a_hanging_issuer_does_not_hold_up_the_verifier_service(
    issuers: tuple[HttpIssuer, HttpIssuer, Clock],
) -> None:
    slow, healthy, clock = issuers
    app = verifier.create_app(
        {"TRUSTED_ISSUERS": {"issuers": [slow.entry(), healthy.entry()]}}, clock=clock
    )
    assert app.extensions["verifier"].settings.fetch_deadline == 5.0
    server = Server(app, free_port())
    for purpose in PURPOSES:
        slow.misbehave[slow.list_path(purpose)] = "hang"
    slow_token = slow.issuer.issue(
        status=[status_entry(slow.issuer.list_url(p), p, 3) for p in PURPOSES]
    )
    outcome: dict[str, Any] = {}

    def verify_slow() -> None:
        outcome["reply"], outcome["seconds"] = _verify(server.url, slow_token)

    try:
        in_flight = threading.Thread(target=verify_slow, daemon=True)
        in_flight.start()
        time.sleep(0.5)
        good, good_seconds = _verify(server.url, healthy.issuer.issue())
        in_flight.join(timeout=8)
    finally:
        server.stop()
    assert "seconds" in outcome, "the hanging issuer's verdict did not come within 8 s"
    print(
        f"\nverifier service: hanging issuer -> {outcome['reply'].json()['status']} after "
        f"{outcome['seconds']:.2f} s; healthy issuer -> {good.json()['status']} after "
        f"{good_seconds:.3f} s"
    )

    assert good.status == 200 and good.json()["status"] == "valid"
    assert good_seconds < 1.0
    assert outcome["reply"].json()["status"] == "status_unknown"
    assert outcome["seconds"] < 6.0
