"""``Credential.token`` is stored compact (:class:`issuer.store.compact.CompactJWS`) and reads
back as exactly the string written, on SQLite and PostgreSQL: any string through the type
itself, and real credentials (ES256 and EdDSA) through issuance and the JWT endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Connection, Integer, MetaData, Table, create_engine, select, text

from issuer import create_app
from issuer.credentials import issuance
from issuer.store import compact
from issuer.store.models import Credential
from keys import KeyStore
from tests.conftest import PROGRAM, FakeClock
from tests.db.conftest import Domain
from tests.unit.issuer.test_compact_token import canonical, jws_shaped, near_misses

pytestmark = pytest.mark.db


@pytest.fixture
def scratch(migrated_database: str) -> Iterator[tuple[Connection, Table]]:
    """A temporary table with one ``CompactJWS`` column, on one connection."""
    table = Table("compact_scratch", MetaData(), Column("id", Integer, primary_key=True),
                  Column("token", compact.CompactJWS(), nullable=False), prefixes=["TEMPORARY"])
    engine = create_engine(migrated_database)
    with engine.connect() as conn:
        table.create(conn)
        yield conn, table
        conn.rollback()
    engine.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(jws_shaped, canonical, near_misses, st.text()))
def test_any_string_reads_back_exactly_from_the_database(
    scratch: tuple[Connection, Table], token: str
) -> None:
    conn, table = scratch
    row_id = conn.execute(table.insert().returning(table.c.id), {"token": token}).scalar_one()
    assert conn.execute(select(table.c.token).where(table.c.id == row_id)).scalar_one() == token


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_issued_credentials_are_stored_compact_and_served_unchanged(
    alg: str, database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """A credential issued with either algorithm: the row holds version 1 in under 1.6 KB,
    a fresh session reads back the token issuance returned, and the JWT endpoint serves it."""
    KeyStore(tmp_path / "keys").generate(alg)
    app = create_app({"database_url": database_url, "keys_dir": str(tmp_path / "keys"), "signing_alg": alg},
                     clock=clock)
    rt = app.extensions["issuer"]
    try:
        with rt.sessions() as session:
            domain = Domain(session=session, ctx=rt.current_ctx(), clock=clock)
            signed = issuance.issue(session, domain.ctx, domain.enrol(), PROGRAM, "test")
            assert signed.token.count(".") == 2
        with rt.sessions() as session:
            read = session.scalars(select(Credential.token).where(Credential.id == signed.id)).one()
            assert read == signed.token
            stored = session.execute(text("SELECT token FROM credentials WHERE id = :id"), {"id": signed.id})
            packed = bytes(stored.scalar_one())
        assert packed[0] == compact.JWS and len(packed) < 1600 < len(signed.token)
        served = app.test_client().get(f"/credentials/{signed.id}/jwt")
        assert served.status_code == 200 and served.data == signed.token.encode()
    finally:
        rt.engine.dispose()


@settings(max_examples=200, deadline=None)
@given(header=st.binary(max_size=200), payload=st.binary(max_size=5000), signature=st.binary(max_size=128))
def test_packing_the_signed_parts_is_packing_their_token(
    header: bytes, payload: bytes, signature: bytes
) -> None:
    """:func:`compact.pack_parts` (bulk issuance packs what it has just signed, without the
    string) gives the very bytes :func:`compact.pack` gives for the compact token of those
    parts, and they read back as that token."""
    token = ".".join(compact._b64url_encode(part) for part in (header, payload, signature))
    assert compact.pack_parts(header, payload, signature) == compact.pack(token)
    assert compact.unpack(compact.pack_parts(header, payload, signature)) == token
