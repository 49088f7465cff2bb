"""Database tests call the domain functions directly with a session and the context, on
SQLite and (with ``TEST_DATABASE_URL``) PostgreSQL, each test on an emptied database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.records import evidence, practitioners, schemas
from issuer.runtime import Runtime
from tests.conftest import FakeClock, complete_records, practitioner_body


@dataclass
class Domain:
    """A session on the test database and the issuer's context (fake clock)."""

    session: Session
    ctx: IssuerContext
    clock: FakeClock

    enrolled: int = 0

    def enrol(self, n: int | None = None) -> str:
        """A practitioner with complete records (as of the fake clock's day); the id. Each
        call registers another person (another license) unless ``n`` names one."""
        if n is None:
            n, self.enrolled = self.enrolled, self.enrolled + 1
        body = practitioner_body(email=f"p{n}@example.org", license={"number": f"RN-{500000 + n}"})
        person = practitioners.create_practitioner(
            self.session, self.ctx, schemas.parse(schemas.PractitionerIn, body), "test")
        for record in complete_records():
            evidence.add_record(self.session, self.ctx, person.id,
                                schemas.parse(schemas.RECORD_ADAPTER, record), "test")
        return person.id


@pytest.fixture
def domain(issuer_app: Flask, clock: FakeClock) -> Iterator[Domain]:
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        yield Domain(session=session, ctx=rt.current_ctx(), clock=clock)
