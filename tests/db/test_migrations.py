"""The Alembic migrations and the models describe the same schema (``alembic check``)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from issuer.store.models import Base

pytestmark = pytest.mark.db


def test_migrated_database_matches_the_models(migrated_database: str) -> None:
    engine = create_engine(migrated_database)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
