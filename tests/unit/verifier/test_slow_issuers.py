"""A slow issuer never holds the verifier for long, nor holds up verifications of others.

Real HTTP on 127.0.0.1: fake issuers that hang or trickle a byte every 2 s, the verifier's
default fetch with its total deadline (5 s), and a healthy issuer verified meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.unit.verifier.fake_issuer import Clock, FakeIssuer, FetchResponse, Network
from tests.unit.verifier.http_issuer import HttpIssuer
from vc.status_list import PURPOSES, status_entry
from verifier.core import Policy, Verdict, Verifier
from verifier.registry import TrustedIssuer, parse_registry
from verifier.resolver import FetchError, Resolver, http_fetch

DEADLINE = 5.0
#: A hanging or trickling issuer's verdict must come within this many seconds.
SLOW_VERDICT_BOUND = 6.0
#: A healthy issuer's verdict must come within this many seconds, whatever else is going on.
HEALTHY_VERDICT_BOUND = 1.0


@pytest.fixture
def healthy(clock: Clock) -> Iterator[HttpIssuer]:
    with HttpIssuer(clock, "Healthy Academy") as server:
        yield server


@pytest.fixture
def slow(clock: Clock) -> Iterator[HttpIssuer]:
    with HttpIssuer(clock, "Slow Academy") as server:
        yield server


def _verifier(clock: Clock, *servers: HttpIssuer) -> Verifier:
    registry = parse_registry({"issuers": [server.entry() for server in servers]})
    resolver = Resolver(
        registry, clock=clock, algorithms={"ES256", "EdDSA"}, fetch_deadline=DEADLINE
    )
    return Verifier(registry, resolver, Policy(frozenset({"ES256", "EdDSA"})), clock)


def _with_all_lists(server: HttpIssuer) -> str:
    """A credential pointing at the issuer's revocation, suspension and refresh lists."""
    issuer = server.issuer
    return issuer.issue(
        status=[status_entry(issuer.list_url(purpose), purpose, 7) for purpose in PURPOSES]
    )


class _Timed:
    """One verification in a background thread, timed (joined at most ``bound`` + 2 s)."""

    def __init__(self, verifier: Verifier, token: str) -> None:
        self.verdict: Verdict | None = None
        self.seconds: float | None = None
        self._thread = threading.Thread(target=self._run, args=(verifier, token), daemon=True)
        self._started = time.monotonic()
        self._thread.start()

    def _run(self, verifier: Verifier, token: str) -> None:
        self.verdict = verifier.verify_credential(token)
        self.seconds = time.monotonic() - self._started

    def join(self, bound: float) -> None:
        self._thread.join(timeout=bound + 2)


def _timed_verify(verifier: Verifier, token: str) -> tuple[Verdict, float]:
    started = time.monotonic()
    verdict = verifier.verify_credential(token)
    return verdict, time.monotonic() - started


@pytest.mark.parametrize("mode", ["hang", "trickle"])
def test_slow_issuer_is_status_unknown_within_6s_while_another_verifies_under_1s(
    clock: Clock, slow: HttpIssuer, healthy: HttpIssuer, mode: str
) -> None:
    verifier = _verifier(clock, slow, healthy)
    for purpose in PURPOSES:
        slow.misbehave[slow.list_path(purpose)] = mode
    slow_token, good_token = _with_all_lists(slow), healthy.issuer.issue()

    # Two verifications of the slow issuer at once: the second shares the first's fetches.
    in_flight = [_Timed(verifier, slow_token), _Timed(verifier, slow_token)]
    time.sleep(0.5)
    good, good_seconds = _timed_verify(verifier, good_token)
    for run in in_flight:
        run.join(SLOW_VERDICT_BOUND)
    print(
        f"\n{mode}: slow issuer status_unknown after "
        f"{[round(run.seconds or -1, 2) for run in in_flight]} s; "
        f"healthy issuer valid after {good_seconds:.3f} s"
    )

    assert good.status == "valid"
    assert good_seconds < HEALTHY_VERDICT_BOUND
    for run in in_flight:
        assert run.seconds is not None, "the slow issuer's verdict did not come in time"
        assert run.seconds < SLOW_VERDICT_BOUND
        assert run.verdict is not None and run.verdict.status == "status_unknown"
        failed = {check.id for check in run.verdict.checks if not check.ok}
        assert failed == {"revocation", "suspension", "supersession"}
    assert all(slow.requests.count(slow.list_path(p)) == 1 for p in PURPOSES)


# -- the default fetch's total deadline -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["hang", "trickle", "trickle_headers"])
def test_default_fetch_gives_up_at_its_total_deadline(healthy: HttpIssuer, mode: str) -> None:
    path = healthy.list_path("revocation")
    healthy.misbehave[path] = mode
    started = time.monotonic()

    with pytest.raises(FetchError, match="within 1 s"):
        http_fetch(healthy.issuer.id + path, {}, deadline=1.0)

    assert 0.9 < time.monotonic() - started < 1.5


def test_default_fetch_reads_a_whole_answer_within_the_deadline(healthy: HttpIssuer) -> None:
    response = http_fetch(healthy.issuer.list_url("revocation"), {}, deadline=1.0)

    assert response.status == 200
    assert response.body.count(b".") == 2


# -- concurrency of one verdict's lists -----------------------------------------------------------


def test_the_lists_of_one_verdict_are_fetched_concurrently_and_cached(
    clock: Clock, network: Network
) -> None:
    issuer = FakeIssuer(clock, network=network)
    list_urls = {issuer.list_url(purpose) for purpose in PURPOSES}

    def sluggish(url: str, headers: dict[str, str]) -> FetchResponse:
        if url in list_urls:
            time.sleep(0.4)
        return network.fetch(url, headers)

    registry = parse_registry({"issuers": [issuer.entry()]})
    resolver = Resolver(registry, fetch=sluggish, clock=clock, algorithms={"ES256"})
    verifier = Verifier(registry, resolver, Policy(frozenset({"ES256"})), clock)
    token = issuer.issue(
        status=[status_entry(issuer.list_url(purpose), purpose, 7) for purpose in PURPOSES]
    )

    verdict, seconds = _timed_verify(verifier, token)
    again, cached_seconds = _timed_verify(verifier, token)

    assert verdict.status == again.status == "valid"
    assert seconds < 1.0  # one after another would be 1.2 s
    assert cached_seconds < 0.3
    assert all(network.count(url) == 1 for url in list_urls)


def test_a_waiter_on_a_stuck_fetch_gives_up_at_the_deadline(clock: Clock, network: Network) -> None:
    issuer = FakeIssuer(clock, network=network)
    release = threading.Event()

    def stuck(url: str, headers: dict[str, str]) -> FetchResponse:
        if url == issuer.list_url("revocation"):
            release.wait(10)
        return network.fetch(url, headers)

    registry = parse_registry({"issuers": [issuer.entry()]})
    resolver = Resolver(
        registry, fetch=stuck, clock=clock, algorithms={"ES256"}, fetch_deadline=0.5
    )
    entry = TrustedIssuer(**issuer.entry())
    leader = threading.Thread(
        target=resolver.status_lists, args=(entry, [issuer.list_url("revocation")]), daemon=True
    )
    leader.start()
    try:
        time.sleep(0.1)
        started = time.monotonic()
        outcome = resolver.status_lists(entry, [issuer.list_url("revocation")])
        waited = time.monotonic() - started
    finally:
        release.set()
        leader.join(timeout=5)

    assert 0.4 < waited < 1.0
    assert "within 0.5 s" in str(outcome[issuer.list_url("revocation")])
