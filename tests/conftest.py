"""Fixtures shared by the issuer and end-to-end tests.

Database tests take the ``database_url`` fixture, which runs them on SQLite and, when
``TEST_DATABASE_URL`` is set (CI sets it), on PostgreSQL too, each in a private schema
migrated once per session with Alembic and emptied after every test.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from issuer import access, create_app, demo
from issuer.runtime import Runtime
from issuer.store.db import upgrade
from issuer.store.models import Base
from keys import KeyStore

PROGRAM = "botox-cosmetic-injector"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def verifier_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where verifier apps built by tests keep their receipt key (never the repo's var/)."""
    return tmp_path_factory.mktemp("verifier-keys")


@pytest.fixture(autouse=True)
def _verifier_keys_env(monkeypatch: pytest.MonkeyPatch, verifier_keys_dir: Path) -> None:
    monkeypatch.setenv("VERIFIER_KEYS_DIR", str(verifier_keys_dir))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC))


def _backends() -> list[Any]:
    backends: list[Any] = ["sqlite"]
    marks = (
        []
        if os.environ.get("TEST_DATABASE_URL")
        else [pytest.mark.skip(reason="TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")]
    )
    backends.append(pytest.param("postgresql", marks=marks))
    return backends


@pytest.fixture(scope="session", params=_backends())
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database migrated to head, once per backend per session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'issuer.db'}"
        upgrade(url)
        yield url
        return
    base = os.environ["TEST_DATABASE_URL"]
    schema = f"bxc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(migrated_database: str) -> Iterator[str]:
    """The migrated database, emptied after the test."""
    yield migrated_database
    engine = create_engine(migrated_database)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key directory with one ES256 signing key (generated per test session)."""
    path = tmp_path_factory.mktemp("keys")
    KeyStore(path).generate("ES256")
    return path


@pytest.fixture
def issuer_app(database_url: str, keys_dir: Path, clock: FakeClock) -> Iterator[Flask]:
    app = create_app(
        {"database_url": database_url, "keys_dir": str(keys_dir), "status_list_ttl": 60},
        clock=clock,
    )
    yield app
    app.extensions["issuer"].engine.dispose()


@pytest.fixture
def issuer_client(issuer_app: Flask) -> FlaskClient:
    return issuer_app.test_client()


@pytest.fixture
def tokens(issuer_app: Flask) -> dict[str, str]:
    """A bearer token per role."""
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        return {role: access.create_token(session, rt.ctx, role, f"test {role}") for role in access.ROLES}


def auth(token: str) -> dict[str, str]:
    """Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def practitioner_body(**overrides: Any) -> dict[str, Any]:
    """A valid practitioner registration (license checked recently, unexpired)."""
    body: dict[str, Any] = {
        "given_name": "Jane",
        "family_name": "Doe",
        "email": "jane.doe@example.org",
        "profession": "RN",
        "license": {
            "number": "RN-884512",
            "jurisdiction": "US-TX",
            "status": "active",
            "expires_on": "2027-08-31",
            "checked_on": "2026-11-01",
            "checked_source": "https://www.bon.texas.gov/",
        },
    }
    license_overrides = overrides.pop("license", {})
    if overrides.get("email", body["email"]) != body["email"]:
        # A license identifies a practitioner: another person gets another license number.
        digest = hashlib.sha256(overrides["email"].encode()).hexdigest()
        body["license"] = {**body["license"], "number": f"RN-{int(digest[:8], 16) % 1_000_000:06d}"}
    body.update(overrides)
    body["license"] = {**body["license"], **license_overrides}
    return body


def complete_records() -> list[dict[str, Any]]:
    """Records that meet every base requirement of the shipped program (as of 2026-11-22):
    the table the demo uses too (:func:`issuer.demo.complete_records`)."""
    return demo.complete_records(date(2026, 11, 22))


def enrol(
    client: FlaskClient, tokens: dict[str, str], records: list[dict[str, Any]] | None = None, **overrides: Any
) -> str:
    """Register a practitioner with ``records`` (complete ones by default); return the id."""
    response = client.post(
        "/api/v1/practitioners", json=practitioner_body(**overrides), headers=auth(tokens["registrar"])
    )
    assert response.status_code == 201, response.json
    practitioner_id: str = response.json["id"]
    for record in complete_records() if records is None else records:
        added = client.post(
            f"/api/v1/practitioners/{practitioner_id}/records", json=record, headers=auth(tokens["registrar"])
        )
        assert added.status_code == 201, added.json
    return practitioner_id


def issue(client: FlaskClient, tokens: dict[str, str], practitioner_id: str) -> dict[str, Any]:
    """Issue the shipped program's credential; return the 201 body."""
    response = client.post(
        "/api/v1/credentials",
        json={"practitioner_id": practitioner_id, "program_id": PROGRAM},
        headers=auth(tokens["certifier"]),
    )
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body
