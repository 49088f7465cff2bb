"""A practitioner's eligibility for a program: every requirement, met or not."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.records.practitioners import candidate_of, get_practitioner
from issuer.rules.facts import Outcome


def eligibility(session: Session, ctx: IssuerContext, practitioner_id: str, program_id: str) -> list[Outcome]:
    """Every requirement of ``program_id`` for this practitioner, met or not."""
    program = ctx.program(program_id)
    practitioner = get_practitioner(session, practitioner_id)
    return program.evaluate(candidate_of(practitioner, program_id), ctx.now().date())


def eligibility_json(program_id: str, outcomes: list[Outcome]) -> dict[str, Any]:
    """API form of an eligibility answer."""
    unmet = [o.as_dict() for o in outcomes if not o.ok]
    return {
        "program_id": program_id,
        "eligible": not unmet,
        "requirements": [o.as_dict() for o in outcomes],
        "unmet": unmet,
    }
