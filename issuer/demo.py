"""Demo data for ``make run``: the shipped program, a demo practitioner with complete
records, and one issued credential. Running it again reuses what is there."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.credentials import issuance
from issuer.records import evidence, practitioners, schemas
from issuer.store.models import Credential, Practitioner

DEMO_EMAIL = "jane.doe@example.org"
PROGRAM = "botox-cosmetic-injector"


def load(session: Session, ctx: IssuerContext) -> Credential:
    """Ensure the demo practitioner and a current demo credential exist; return it."""
    practitioner = session.scalars(select(Practitioner).where(Practitioner.email == DEMO_EMAIL)).first()
    today = ctx.now().date()
    if practitioner is None:
        body = schemas.parse(
            schemas.PractitionerIn,
            {
                "given_name": "Jane",
                "family_name": "Doe",
                "email": DEMO_EMAIL,
                "profession": "RN",
                "license": {
                    "number": "RN-884512",
                    "jurisdiction": "US-TX",
                    "status": "active",
                    "expires_on": (today + timedelta(days=600)).isoformat(),
                    "checked_on": (today - timedelta(days=3)).isoformat(),
                    "checked_source": "https://www.bon.texas.gov/",
                },
            },
        )
        practitioner = practitioners.create_practitioner(session, ctx, body, "demo")
        for record in demo_records(today):
            evidence.add_record(
                session, ctx, practitioner.id, schemas.parse(schemas.RECORD_ADAPTER, record), "demo"
            )
    existing = issuance.current_credential(session, practitioner.id, PROGRAM, ctx.now())
    if existing is not None:
        return existing
    return issuance.issue(session, ctx, practitioner.id, PROGRAM, "demo")


def complete_records(today: date) -> list[dict[str, Any]]:
    """Records that meet every base requirement of the shipped program on ``today``: the
    one table the demo and the tests share (the tests use it as of 2026-11-22)."""

    def day(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    modules = {
        "pharmacology": 3.0,
        "facial_anatomy": 3.0,
        "patient_assessment": 2.0,
        "injection_technique": 4.0,
        "complications": 2.0,
        "ethics_and_consent": 2.0,
    }
    records: list[dict[str, Any]] = [
        {"program_id": PROGRAM, "kind": "didactic", "module": m, "hours": h, "completed_on": day(51)}
        for m, h in modules.items()
    ]
    records += [
        {
            "program_id": PROGRAM,
            "kind": "hands_on",
            "hours": 8.0,
            "supervised_injections": 24,
            "live_models": 4,
            "supervisor": "Ana Ruiz, MD",
            "completed_on": day(50),
        },
        {"program_id": PROGRAM, "kind": "written_exam", "score": 88, "max_score": 100, "taken_on": day(49)},
        {
            "program_id": PROGRAM,
            "kind": "practical_exam",
            "passed": True,
            "examiner": "Ana Ruiz, MD",
            "taken_on": day(49),
        },
    ]
    return records


def demo_records(today: date) -> list[dict[str, Any]]:
    """The demo practitioner's records: the complete ones, and some CE credits."""
    ce_credits = {
        "program_id": PROGRAM,
        "kind": "ce_credits",
        "credits": 4.0,
        "provider": "Example CME Institute",
        "completed_on": (today - timedelta(days=30)).isoformat(),
    }
    return [*complete_records(today), ce_credits]
