"""Many eligible practitioners at once, for bulk issuance tests and ``bench/bulk_speed.py``.

One practitioner and their complete records (:func:`issuer.demo.complete_records`) are
built through the records layer (the same validation and row shape as the API), then
copied under new ids, e-mails and license numbers and inserted with multi-row INSERTs:
100,000 practitioners (1.2 million rows) take seconds, not the hours of HTTP calls.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from issuer import demo
from issuer.context import IssuerContext
from issuer.records import evidence, practitioners, schemas
from issuer.store.models import Practitioner, Record

CHUNK = 2_000


def _columns(row: Practitioner | Record) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def seed_eligible(engine: Engine, ctx: IssuerContext, count: int, *, first: int = 0) -> list[str]:
    """Insert ``count`` practitioners eligible for the shipped program on ``ctx.now()``
    (numbered from ``first``: licenses ``BULK-<n>``); their ids, in insertion order."""
    now = ctx.now()
    today = now.date()
    body = schemas.parse(schemas.PractitionerIn, {
        "given_name": "Given", "family_name": "Family", "email": "model@example.org", "profession": "RN",
        "license": {"number": "MODEL", "jurisdiction": "US-TX", "status": "active",
                    "expires_on": (today + timedelta(days=400)).isoformat(),
                    "checked_on": (today - timedelta(days=3)).isoformat(),
                    "checked_source": "https://www.bon.texas.gov/"}})
    model = practitioners.new_practitioner(body, now, "test")
    with Session(engine) as session:
        rows = [practitioners.initial_license_check(model)] + [
            evidence.new_record(session, ctx, model, schemas.parse(schemas.RECORD_ADAPTER, r), "test")
            for r in demo.complete_records(today)]
    person, records = _columns(model), [_columns(r) for r in rows]
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with engine.begin() as conn:
        for start in range(0, count, CHUNK):
            part = list(enumerate(ids[start:start + CHUNK], start=first + start))
            conn.execute(insert(Practitioner), [
                {**person, "id": pid, "given_name": f"Given{n}", "email": f"p{n}@example.org",
                 "license_number": f"BULK-{n}"} for n, pid in part])
            conn.execute(insert(Record), [
                {**record, "id": str(uuid.uuid4()), "practitioner_id": pid}
                for _, pid in part for record in records])
    return ids
