"""Storage: the engine and sessions (:mod:`issuer.store.db`), the tables
(:mod:`issuer.store.models`) and their Alembic migrations (``migrations/``)."""
