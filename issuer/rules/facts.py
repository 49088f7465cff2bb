"""The facts eligibility reads: a candidate's profession, license as last checked and
completion records; and the outcome of one requirement. Pure: no database, no web.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

DIDACTIC_MODULES = (
    "pharmacology",
    "facial_anatomy",
    "patient_assessment",
    "injection_technique",
    "complications",
    "ethics_and_consent",
)


PROFESSIONS = ("MD", "DO", "NP", "PA", "RN")


@dataclass(frozen=True)
class LicenseFacts:
    """The candidate's license as last checked."""

    number: str
    jurisdiction: str
    status: str
    expires_on: date
    checked_on: date
    checked_source: str


@dataclass(frozen=True)
class RecordFacts:
    """One completion record, reduced to what rules read.

    ``id`` and ``supersedes`` carry corrections: a record that names another in
    ``supersedes`` replaces it, and the replaced one no longer counts.
    """

    kind: str
    on: date
    data: Mapping[str, Any]
    id: str = ""
    supersedes: str | None = None


@dataclass(frozen=True)
class Candidate:
    """Everything eligibility looks at for one practitioner and one program."""

    profession: str
    license: LicenseFacts
    records: tuple[RecordFacts, ...]

    def current(self) -> list[RecordFacts]:
        """The records that count: every record no other record supersedes."""
        return list(self._current)

    def of_kind(self, kind: str) -> list[RecordFacts]:
        """Current (not superseded) records of one kind."""
        return [r for r in self._current if r.kind == kind]

    @cached_property
    def _current(self) -> tuple[RecordFacts, ...]:
        # Every rule asks (of_kind): worked out once per candidate, which never changes.
        replaced = {r.supersedes for r in self.records if r.supersedes}
        return tuple(r for r in self.records if not (r.id and r.id in replaced))


def current_license(registered: LicenseFacts, records: Sequence[RecordFacts]) -> LicenseFacts:
    """The license as last checked: the latest current ``license_check`` record (by check
    date, then by order of entry), or the license as registered when there is none newer."""
    latest = registered
    for record in records:
        if record.kind == "license_check" and record.on >= latest.checked_on:
            latest = LicenseFacts(
                number=registered.number,
                jurisdiction=registered.jurisdiction,
                status=str(record.data["status"]),
                expires_on=date.fromisoformat(str(record.data["expires_on"])),
                checked_on=record.on,
                checked_source=str(record.data["checked_source"]),
            )
    return latest


@dataclass(frozen=True)
class Outcome:
    """One requirement, met or not, in words a person understands."""

    id: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.id, "ok": self.ok, "detail": self.detail}
