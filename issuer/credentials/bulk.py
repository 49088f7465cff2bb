"""Bulk issuance: a credential to every eligible practitioner of a program who has no
current one. Each credential is issued by :func:`issuer.credentials.issuance.issue`, which signs and
commits it with its status entries in one transaction, so an interruption leaves only
whole credentials, and no status index is used twice (the index is the primary key)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer import context
from issuer.credentials import issuance
from issuer.errors import Conflict, IssuerError
from issuer.records import practitioners
from issuer.store.models import Practitioner


@dataclass
class Summary:
    """What a bulk run did (or, in a dry run, would do)."""

    program_id: str
    dry_run: bool
    issued: list[dict[str, Any]] = field(default_factory=list)
    not_eligible: list[dict[str, Any]] = field(default_factory=list)
    already_certified: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "program_id": self.program_id,
            "dry_run": self.dry_run,
            "counts": {
                "issued": len(self.issued),
                "not_eligible": len(self.not_eligible),
                "already_certified": len(self.already_certified),
                "failed": len(self.failed),
            },
            "issued": self.issued,
            "not_eligible": self.not_eligible,
            "already_certified": self.already_certified,
            "failed": self.failed,
        }

    def text(self) -> list[str]:
        """Lines for the command line."""
        verb = "would issue" if self.dry_run else "issued"
        out = [
            f"{self.program_id}: {verb} {len(self.issued)}, not eligible {len(self.not_eligible)}, "
            f"already certified {len(self.already_certified)}, failed {len(self.failed)}"
        ]
        for item in self.issued:
            out.append(f"  {verb}: {item['name']} ({item['license']})"
                       + (f" -> {item['credential_id']}" if item.get("credential_id") else ""))
        for item in self.already_certified:
            out.append(f"  already certified: {item['name']} ({item['license']}) {item['credential_id']}")
        for item in self.not_eligible:
            out.append(f"  not eligible: {item['name']} ({item['license']})")
            out += [f"      - {u['detail']}" for u in item["unmet"]]
        for item in self.failed:
            out.append(f"  failed: {item['name']} ({item['license']}): {item['detail']}")
        return out


def _who(p: Practitioner) -> dict[str, Any]:
    return {
        "practitioner_id": p.id,
        "name": f"{p.given_name} {p.family_name}",
        "license": f"{p.license_jurisdiction} {p.license_number}",
    }


def issue_all_eligible(
    session: Session,
    ctx: context.IssuerContext,
    program_id: str,
    actor: str,
    *,
    dry_run: bool = False,
    only: Collection[str] | None = None,
) -> Summary:
    """Issue ``program_id`` to every eligible practitioner without a current credential
    (only to those whose ids are in ``only``, when given: the console's selection).

    A practitioner who already holds a current credential, also one a concurrent issuer
    made first, is reported under ``already_certified``; one whose issuance fails otherwise
    under ``failed``, and the run goes on; nothing of theirs is half-written. Unknown ids in
    ``only`` are ignored.
    """
    program = ctx.program(program_id)
    summary = Summary(program_id=program_id, dry_run=dry_run)
    query = select(Practitioner).order_by(Practitioner.created_at, Practitioner.id)
    if only is not None:
        query = query.where(Practitioner.id.in_(list(only)))
    people = list(session.scalars(query))
    now = ctx.now()
    for person in people:
        current = issuance.current_credential(session, person.id, program_id, now)
        if current is not None:
            summary.already_certified.append({**_who(person), "credential_id": current.id})
            continue
        outcomes = program.evaluate(practitioners.candidate_of(person, program_id), now.date())
        unmet = [o.as_dict() for o in outcomes if not o.ok]
        if unmet:
            summary.not_eligible.append({**_who(person), "unmet": unmet})
            continue
        if dry_run:
            summary.issued.append(_who(person))
            continue
        try:
            row = issuance.issue(session, ctx, person.id, program_id, actor)
        except Conflict as exc:
            session.rollback()
            held = exc.extensions.get("credential_id")
            summary.already_certified.append({**_who(person), "credential_id": held})
        except IssuerError as exc:
            session.rollback()
            summary.failed.append({**_who(person), "detail": exc.detail})
        else:
            summary.issued.append({**_who(person), "credential_id": row.id})
    return summary
