"""The Alembic migrations and the models describe the same schema (``alembic check``), and
migrations that move data keep it."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import zxingcpp
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from PIL import Image
from sqlalchemy import LargeBinary, MetaData, Text, create_engine, inspect, select, text
from sqlalchemy.orm import Session

from issuer import access, create_app
from issuer.credentials import qr
from issuer.store.db import alembic_config
from issuer.store.models import Base, Credential
from tests.conftest import FakeClock, enrol, issue
from tests.http.issuer.test_lifecycle import verifier_of
from vc import protocol

pytestmark = pytest.mark.db


def test_migrated_database_matches_the_models(migrated_database: str) -> None:
    engine = create_engine(migrated_database)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (a fresh SQLite file; a fresh PostgreSQL schema when
    ``TEST_DATABASE_URL`` is set), for migrating step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
    schema = f"bxc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_0009_drops_stored_images_and_their_qr_codes_are_still_served(
    empty_database: str, keys_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made at 0008 with credentials (QR images in their rows, a stored PDF) is
    upgraded; the same QR codes are then served, rendered on request; a downgrade draws
    back exactly what 0008 had stored."""
    monkeypatch.setenv("ISSUER_URL", "http://127.0.0.1:5000")  # the downgrade draws from these
    monkeypatch.setenv("ISSUER_VERIFIER_URL", "http://127.0.0.1:5001")
    config = alembic_config(empty_database)
    command.upgrade(config, "0008")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    stored: dict[str, bytes] = {}
    engine = create_engine(empty_database)
    tables = MetaData()
    tables.reflect(engine)
    now = clock()
    with engine.begin() as conn:
        conn.execute(tables.tables["practitioners"].insert(), {
            "id": "p-1", "given_name": "A", "family_name": "B", "email": "a@example.org", "profession": "RN",
            "license_number": "RN-1", "license_jurisdiction": "US-TX", "license_status": "active",
            "license_expires_on": date(2027, 1, 1), "license_checked_on": date(2026, 11, 1),
            "license_checked_source": "https://x", "created_at": now, "created_by": "t"})
        for n, credential_id in enumerate(ids):
            link = protocol.verify_link("http://127.0.0.1:5001", "http://127.0.0.1:5000", credential_id)
            stored[credential_id] = qr.png(link)  # what issuance at 0008 stored
            conn.execute(tables.tables["credentials"].insert(), {
                "id": credential_id, "practitioner_id": "p-1", "program_id": f"program-{n}", "kid": "k",
                "token": "", "issued_at": now, "valid_from": now, "valid_until": now + timedelta(days=365),
                "status": "active", "issued_by": "t", "qr_png": stored[credential_id],
                "qr_svg": '<svg width="49mm"/>', "is_current": True})
        conn.execute(tables.tables["credential_documents"].insert(), {
            "credential_id": ids[0], "kind": "pdf2-a4", "content": b"%PDF stored", "created_at": now})
    engine.dispose()

    command.upgrade(config, "head")

    engine = create_engine(empty_database)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("credentials")}
        assert not columns & {"qr_png", "qr_svg"}
        assert "credential_documents" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM credentials")).scalar_one() == 3
    finally:
        engine.dispose()
    app = create_app({"database_url": empty_database, "keys_dir": str(keys_dir)}, clock=clock)
    try:
        client = app.test_client()
        for credential_id in ids:
            png = client.get(f"/credentials/{credential_id}/qr.png")
            assert png.status_code == 200 and png.data == stored[credential_id]  # the same image as before
            (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
            assert code.text.startswith(f"http://127.0.0.1:5001/v/{credential_id}?issuer=")
            assert client.get(f"/credentials/{credential_id}/qr.svg").status_code == 200
    finally:
        app.extensions["issuer"].engine.dispose()

    command.downgrade(config, "0008")
    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, qr_png FROM credentials"))
            restored = {row.id: row.qr_png for row in rows}
            svgs = conn.execute(text("SELECT qr_svg FROM credentials")).scalars().all()
        assert {k: bytes(v) for k, v in restored.items()} == stored
        assert all(s.startswith("<svg") and 'fill="white"' in s for s in svgs)
        assert "credential_documents" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    command.upgrade(config, "head")


def test_0010_stores_tokens_compact_and_gives_back_the_same_bytes(
    empty_database: str, keys_dir: Path, clock: FakeClock
) -> None:
    """Credentials issued and signed, then the database at 0009 (tokens as text), plus rows
    of odd tokens past one conversion chunk: upgrade, and every token reads back identical,
    the JWT endpoint serves the signed bytes and they still verify; the same after a
    downgrade (text again) and another upgrade."""
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    app = create_app({"database_url": empty_database, "keys_dir": str(keys_dir)}, clock=clock)
    client = app.test_client()
    tokens = _api_tokens(app)
    signed: dict[str, str] = {}
    for n in range(3):
        body = issue(client, tokens, enrol(client, tokens, email=f"p{n}@example.org"))
        signed[body["id"]] = body["credential"]
    app.extensions["issuer"].engine.dispose()
    command.downgrade(config, "0009")

    # Past one chunk of the conversion (1,000 rows): signed tokens (version 1) among strings
    # that version 1 would alter (version 0).
    odd = [next(iter(signed.values())), "", "AA.AA.AB", "AA==.AA.AA", "a.b.c.d", "not a token", "e30.e30."]
    expected = {**signed, **{f"odd-{n:04d}": odd[n % len(odd)] for n in range(1_205)}}
    model = next(iter(signed))
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO credentials (id, practitioner_id, program_id, kid, token, issued_at, valid_from, "
            "valid_until, status, issued_by) SELECT :id, practitioner_id, 'filler', kid, :token, issued_at, "
            "valid_from, valid_until, 'active', 'test' FROM credentials WHERE id = :model"),
            [{"id": i, "token": t, "model": model} for i, t in expected.items() if i not in signed])
    engine.dispose()
    assert _stored_text(empty_database) == expected

    for _ in range(2):
        command.upgrade(config, "head")
        assert _read_through_models(empty_database) == expected
        app = create_app({"database_url": empty_database, "keys_dir": str(keys_dir)}, clock=clock)
        try:
            client = app.test_client()
            verifier = verifier_of(client, clock.now)
            for credential_id, token in signed.items():
                served = client.get(f"/credentials/{credential_id}/jwt")
                assert served.status_code == 200 and served.data == token.encode()
                assert verifier.verify_credential(served.data.decode()).status == "valid"
        finally:
            app.extensions["issuer"].engine.dispose()
        command.downgrade(config, "0009")
        assert _stored_text(empty_database) == expected
    command.upgrade(config, "head")


def _api_tokens(app: Flask) -> dict[str, str]:
    rt = app.extensions["issuer"]
    with rt.sessions() as session:
        return {role: access.create_token(session, rt.ctx, role, f"test {role}") for role in access.ROLES}


def _stored_text(url: str) -> dict[str, str]:
    """Every credential's token column as the database holds it (text at 0009)."""
    engine = create_engine(url)
    try:
        column = next(c for c in inspect(engine).get_columns("credentials") if c["name"] == "token")
        assert isinstance(column["type"], Text) and not column["nullable"]
        with engine.connect() as conn:
            return {row.id: row.token for row in conn.execute(text("SELECT id, token FROM credentials"))}
    finally:
        engine.dispose()


def _read_through_models(url: str) -> dict[str, str]:
    """Every credential's token as the issuer reads it; the column holds bytes."""
    engine = create_engine(url)
    try:
        column = next(c for c in inspect(engine).get_columns("credentials") if c["name"] == "token")
        assert isinstance(column["type"], LargeBinary) and not column["nullable"]
        with Session(engine) as session:
            return {row.id: row.token for row in session.execute(select(Credential.id, Credential.token))}
    finally:
        engine.dispose()
