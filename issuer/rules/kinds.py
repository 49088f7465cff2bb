"""The rule kinds a program's requirements are made of, each a small dataclass that
judges a :class:`~issuer.rules.facts.Candidate`. Pure: no database, no web.

Adding a kind: a dataclass with ``@rule("kind_name")``, typed fields (they are the
kind's fields in ``programs.toml``) and ``check(candidate, today) -> list[Outcome]``.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Protocol

from issuer.rules.facts import DIDACTIC_MODULES, PROFESSIONS, Candidate, Outcome, RecordFacts


class Rule(Protocol):
    """A requirement kind."""

    kind: ClassVar[str]

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        """Every requirement this rule covers, met or not."""
        ...


RULE_KINDS: dict[str, type[Any]] = {}


def rule(kind: str) -> Callable[[type[Any]], type[Any]]:
    """Register a rule kind under ``kind``; a duplicate name is a programming error."""

    def register(cls: type[Any]) -> type[Any]:
        if kind in RULE_KINDS:
            raise RuntimeError(f"rule kind {kind!r} registered twice")
        cls.kind = kind
        RULE_KINDS[kind] = cls
        return cls

    return register


def _num(value: float) -> str:
    return f"{value:g}"


def _months_ago(today: date, months: int) -> date:
    """``today`` minus whole calendar months (day clamped to the month's end), the same
    calendar arithmetic as the credential's validity period."""
    month_index = today.year * 12 + today.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


@rule("profession")
@dataclass(frozen=True)
class ProfessionRule:
    """The license must be of an eligible profession."""

    allowed: list[str]

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        ok = candidate.profession in self.allowed
        detail = (
            f"profession {candidate.profession} is eligible"
            if ok
            else f"profession {candidate.profession} is not eligible for this program "
            f"(eligible: {', '.join(self.allowed)})"
        )
        return [Outcome("license.profession", ok, detail)]


@rule("license_active")
@dataclass(frozen=True)
class LicenseActiveRule:
    """License status must be active and the license unexpired on the day of issuance."""

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        lic = candidate.license
        status_ok = lic.status == "active"
        expiry_ok = lic.expires_on >= today
        return [
            Outcome(
                "license.status",
                status_ok,
                f"license {lic.number} ({lic.jurisdiction}) is active"
                if status_ok
                else f"license {lic.number} ({lic.jurisdiction}) is {lic.status}, not active",
            ),
            Outcome(
                "license.unexpired",
                expiry_ok,
                f"license valid until {lic.expires_on.isoformat()}"
                if expiry_ok
                else f"license expired on {lic.expires_on.isoformat()}",
            ),
        ]


@rule("license_checked_within")
@dataclass(frozen=True)
class LicenseCheckedRule:
    """The license must have been checked with its board within ``days`` days."""

    days: int

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        age = (today - candidate.license.checked_on).days
        ok = 0 <= age <= self.days
        detail = (
            f"license checked {age} days ago (limit {self.days}) at {candidate.license.checked_source}"
            if ok
            else f"license check is {age} days old; it must be at most {self.days} days old"
            if age > self.days
            else "license check date is in the future"
        )
        return [Outcome("license.checked_recently", ok, detail)]


@rule("didactic_modules")
@dataclass(frozen=True)
class DidacticModulesRule:
    """Each named didactic module must be completed with at least its minimum hours."""

    modules: dict[str, float]

    def __post_init__(self) -> None:
        unknown = set(self.modules) - set(DIDACTIC_MODULES)
        if unknown:
            raise ValueError(
                f"field 'modules': unknown didactic modules {sorted(unknown)} "
                f"(known: {', '.join(DIDACTIC_MODULES)})"
            )
        if not self.modules:
            raise ValueError("field 'modules' must not be empty")

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        hours: dict[str, float] = {}
        for record in candidate.of_kind("didactic"):
            module = str(record.data.get("module"))
            hours[module] = hours.get(module, 0.0) + float(record.data.get("hours", 0))
        outcomes = []
        for module, minimum in self.modules.items():
            done = hours.get(module, 0.0)
            name = module.replace("_", " ")
            outcomes.append(
                Outcome(
                    f"didactic.{module}",
                    done >= minimum,
                    f"{name}: {_num(done)} of {_num(minimum)} hours",
                )
            )
        return outcomes


@rule("didactic_hours")
@dataclass(frozen=True)
class DidacticHoursRule:
    """Total didactic hours across modules."""

    min: float

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        total = sum(float(r.data.get("hours", 0)) for r in candidate.of_kind("didactic"))
        return [
            Outcome(
                "didactic.total_hours",
                total >= self.min,
                f"didactic training: {_num(total)} of {_num(self.min)} hours",
            )
        ]


@rule("hands_on")
@dataclass(frozen=True)
class HandsOnRule:
    """Supervised hands-on training: hours, injections and live models."""

    min_hours: float
    min_injections: int
    min_live_models: int

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        sessions = candidate.of_kind("hands_on")
        hours = sum(float(r.data.get("hours", 0)) for r in sessions)
        injections = sum(int(r.data.get("supervised_injections", 0)) for r in sessions)
        models = sum(int(r.data.get("live_models", 0)) for r in sessions)
        return [
            Outcome(
                "hands_on.hours",
                hours >= self.min_hours,
                f"hands-on training: {_num(hours)} of {_num(self.min_hours)} hours",
            ),
            Outcome(
                "hands_on.supervised_injections",
                injections >= self.min_injections,
                f"supervised injections: {injections} of {self.min_injections}",
            ),
            Outcome(
                "hands_on.live_models",
                models >= self.min_live_models,
                f"live models: {models} of {self.min_live_models}",
            ),
        ]


@rule("written_exam")
@dataclass(frozen=True)
class WrittenExamRule:
    """The best written exam attempt within ``valid_months`` must reach the pass mark."""

    pass_percent: float
    valid_months: int

    def counted(self, candidate: Candidate, today: date) -> RecordFacts | None:
        """The attempt that counts: the best one inside the validity window."""
        since = _months_ago(today, self.valid_months)
        attempts = [r for r in candidate.of_kind("written_exam") if since <= r.on <= today]
        if not attempts:
            return None
        return max(attempts, key=lambda r: (float(r.data["score"]) / float(r.data["max_score"]), r.on))

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        best = self.counted(candidate, today)
        if best is None:
            old = candidate.of_kind("written_exam")
            detail = (
                f"written exam taken on {max(r.on for r in old).isoformat()} is older than "
                f"{self.valid_months} months"
                if old
                else "no written exam on record"
            )
            return [Outcome("exam.written", False, detail)]
        percent = 100.0 * float(best.data["score"]) / float(best.data["max_score"])
        ok = percent >= self.pass_percent
        return [
            Outcome(
                "exam.written",
                ok,
                f"written exam: best score {percent:.0f}% on {best.on.isoformat()} "
                f"(pass mark {_num(self.pass_percent)}%)",
            )
        ]


@rule("practical_exam")
@dataclass(frozen=True)
class PracticalExamRule:
    """A passed practical exam within ``valid_months``, judged by a named examiner."""

    valid_months: int

    def counted(self, candidate: Candidate, today: date) -> RecordFacts | None:
        """The pass that counts: the latest one inside the validity window."""
        since = _months_ago(today, self.valid_months)
        passed = [
            r
            for r in candidate.of_kind("practical_exam")
            if r.data.get("passed") is True and since <= r.on <= today
        ]
        return max(passed, key=lambda r: r.on) if passed else None

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        latest = self.counted(candidate, today)
        if latest is not None:
            detail = (
                f"practical exam passed on {latest.on.isoformat()}, examiner {latest.data.get('examiner')}"
            )
            return [Outcome("exam.practical", True, detail)]
        attempts = candidate.of_kind("practical_exam")
        if any(r.data.get("passed") is True for r in attempts):
            detail = f"practical exam pass is older than {self.valid_months} months"
        elif attempts:
            detail = "practical exam not passed yet"
        else:
            detail = "no practical exam on record"
        return [Outcome("exam.practical", False, detail)]


@rule("ce_credits")
@dataclass(frozen=True)
class CECreditsRule:
    """Continuing-education credits (often added by a jurisdiction).

    With ``credit_types`` (optional), only credits of those types count, e.g.
    ``["AMA PRA Category 1", "ANCC"]``.
    """

    min: float
    credit_types: list[str] = field(default_factory=list)

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        counted = [
            r
            for r in candidate.of_kind("ce_credits")
            if not self.credit_types or r.data.get("credit_type") in self.credit_types
        ]
        total = sum(float(r.data.get("credits", 0)) for r in counted)
        kinds = f" ({' or '.join(self.credit_types)})" if self.credit_types else ""
        return [
            Outcome(
                "ce_credits",
                total >= self.min,
                f"continuing-education credits{kinds}: {_num(total)} of {_num(self.min)}",
            )
        ]


@rule("supervising_physician")
@dataclass(frozen=True)
class SupervisingPhysicianRule:
    """A supervising physician (a ``supervision`` record) must be on record.

    With ``same_jurisdiction``, the physician's license must be of the candidate's
    license jurisdiction. Usually scoped with ``professions = ["RN", "PA"]``.
    """

    same_jurisdiction: bool

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        agreements = [r for r in candidate.of_kind("supervision") if r.on <= today]
        if self.same_jurisdiction:
            here = candidate.license.jurisdiction
            agreements = [r for r in agreements if r.data.get("physician_jurisdiction") == here]
        if not agreements:
            where = f" licensed in {candidate.license.jurisdiction}" if self.same_jurisdiction else ""
            return [
                Outcome(
                    "supervision.physician",
                    False,
                    f"no supervising physician{where} on record "
                    f"(required for {candidate.profession} licensees in {candidate.license.jurisdiction})",
                )
            ]
        latest = max(agreements, key=lambda r: r.on)
        return [
            Outcome(
                "supervision.physician",
                True,
                f"supervising physician on record: {latest.data.get('physician_name')} "
                f"(license {latest.data.get('physician_license_number')}, "
                f"{latest.data.get('physician_jurisdiction')}), agreement of {latest.on.isoformat()}",
            )
        ]


@rule("profession_not_allowed")
@dataclass(frozen=True)
class ProfessionNotAllowedRule:
    """An overlay that refuses some professions outright, with the reason to show."""

    refused: list[str]
    reason: str

    def __post_init__(self) -> None:
        unknown = set(self.refused) - set(PROFESSIONS)
        if unknown or not self.refused:
            raise ValueError(f"field 'refused': must list professions among {', '.join(PROFESSIONS)}")

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        if candidate.profession not in self.refused:
            return [Outcome("license.profession", True, f"profession {candidate.profession} is eligible")]
        return [
            Outcome(
                "license.profession",
                False,
                f"profession {candidate.profession} is not allowed for licenses of "
                f"{candidate.license.jurisdiction}: {self.reason}",
            )
        ]


@dataclass(frozen=True)
class ForProfessions:
    """A rule that applies only to candidates of some professions (``professions = [...]``)."""

    rule: Any
    professions: tuple[str, ...]

    @property
    def kind(self) -> str:
        """The wrapped rule's kind."""
        return str(self.rule.kind)

    def check(self, candidate: Candidate, today: date) -> list[Outcome]:
        """The wrapped rule's outcomes, or none when the profession is not concerned."""
        if candidate.profession not in self.professions:
            return []
        outcomes: list[Outcome] = self.rule.check(candidate, today)
        return outcomes

    def counted(self, candidate: Candidate, today: date) -> RecordFacts | None:
        """The wrapped rule's counted record (exam rules), if the profession is concerned."""
        if candidate.profession not in self.professions:
            return None
        found: RecordFacts | None = self.rule.counted(candidate, today)
        return found

    def describe(self) -> dict[str, Any]:
        """JSON form: the rule's own fields plus ``professions``."""
        return {**describe_rule(self.rule), "professions": list(self.professions)}


def describe_rule(item: Any) -> dict[str, Any]:
    if isinstance(item, ForProfessions):
        return item.describe()
    described: dict[str, Any] = {"kind": item.kind}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        default = f.default_factory() if callable(f.default_factory) else f.default
        if is_required_field(f) or value != default:
            described[f.name] = value
    return described


def is_required_field(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
