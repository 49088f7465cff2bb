"""Fixtures: a fixed clock, a fake network with one trusted fake issuer, and the verifier."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.verifier.fake_issuer import Clock, FakeIssuer, Network
from verifier.core import Policy, Verifier
from verifier.registry import TrustRegistry, parse_registry
from verifier.resolver import Resolver


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
def issuer(clock: Clock, network: Network) -> FakeIssuer:
    return FakeIssuer(clock, network=network)


@pytest.fixture
def stranger(clock: Clock, network: Network) -> FakeIssuer:
    """An issuer that exists on the network but is not in the trust registry."""
    return FakeIssuer(clock, "https://stranger.example", network=network)


@pytest.fixture
def registry(issuer: FakeIssuer) -> TrustRegistry:
    return parse_registry({"issuers": [issuer.entry()]})


@pytest.fixture
def resolver(registry: TrustRegistry, network: Network, clock: Clock) -> Resolver:
    return Resolver(registry, fetch=network.fetch, clock=clock, algorithms={"ES256", "EdDSA"})


@pytest.fixture
def verifier(registry: TrustRegistry, resolver: Resolver, clock: Clock) -> Verifier:
    policy = Policy(frozenset({"ES256", "EdDSA"}), timedelta(seconds=60))
    return Verifier(registry, resolver, policy, clock)
