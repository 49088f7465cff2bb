"""The verifier app through Flask's test client, its network replaced by a fake issuer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.unit.verifier.fake_issuer import Clock, FakeIssuer, Network
from verifier import create_app


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
def registry_file(tmp_path: Path, issuer: FakeIssuer) -> Path:
    path = tmp_path / "trusted-issuers.json"
    path.write_text(json.dumps({"issuers": [issuer.entry()]}), encoding="utf-8")
    return path


@pytest.fixture
def app(registry_file: Path, network: Network, clock: Clock) -> Flask:
    return create_app(
        {"TESTING": True, "TRUSTED_ISSUERS": str(registry_file)},
        fetch=network.fetch,
        clock=clock,
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
