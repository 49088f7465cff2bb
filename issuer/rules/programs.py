"""Programs and their eligibility rules, kept as data (``programs.toml``).

Code only defines rule *kinds*; each is a small frozen dataclass registered under its
``kind`` name, with one method ``check(candidate, today) -> list[Outcome]`` that reports
every requirement it covers, met or not, with the numbers. :func:`load_programs` refuses
an unknown kind, a missing or unexpected field, or an empty rule list, naming the file,
the program and the field, so a bad rules file stops the issuer at start-up.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from issuer.errors import ConfigurationError
from issuer.rules.facts import PROFESSIONS, Candidate, Outcome, RecordFacts
from issuer.rules.kinds import RULE_KINDS, ForProfessions, describe_rule, is_required_field


@dataclass(frozen=True)
class Program:
    """A certification program and its requirements."""

    id: str
    name: str
    description: str
    criteria: str
    accreditation_body: str
    accreditation_id: str
    cme_credits: float
    validity_months: int
    rules: tuple[Any, ...]
    jurisdictions: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def rules_for(self, jurisdiction: str) -> tuple[Any, ...]:
        """Base rules plus the overlay of the license's jurisdiction, if any."""
        return self.rules + self.jurisdictions.get(jurisdiction, ())

    def evaluate(self, candidate: Candidate, today: date) -> list[Outcome]:
        """Every requirement, met or not, for this candidate on ``today``, once each.

        An overlay rule that covers a requirement the base rules cover too (a tighter
        license check, say) yields one outcome for it: met only if every rule covering it
        is met, and then with the overlay's (more specific) detail.
        """
        outcomes: dict[str, Outcome] = {}
        for item in self.rules_for(candidate.license.jurisdiction):
            for outcome in item.check(candidate, today):
                earlier = outcomes.get(outcome.id)
                if earlier is None or earlier.ok or not outcome.ok:
                    outcomes[outcome.id] = outcome
        return list(outcomes.values())

    def counted_exam(self, kind: str, candidate: Candidate, today: date) -> RecordFacts | None:
        """The exam record that the program's ``kind`` rule counted (the credential reports it)."""
        for item in self.rules_for(candidate.license.jurisdiction):
            if item.kind == kind:
                found: RecordFacts | None = item.counted(candidate, today)
                if found is not None:
                    return found
        return None

    def describe(self) -> dict[str, Any]:
        """JSON description for ``GET /api/v1/programs``."""

        def rules_json(rules: Sequence[Any]) -> list[dict[str, Any]]:
            return [describe_rule(r) for r in rules]

        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "criteria": self.criteria,
            "accreditation": {"body": self.accreditation_body, "id": self.accreditation_id},
            "cme_credits": self.cme_credits,
            "validity_months": self.validity_months,
            "requirements": rules_json(self.rules),
            "jurisdictions": {k: rules_json(v) for k, v in self.jurisdictions.items()},
        }


_PROGRAM_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "description": str,
    "criteria": str,
    "accreditation_body": str,
    "accreditation_id": str,
    "cme_credits": (int, float),
    "validity_months": int,
}


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    )


_FIELD_TYPES: dict[str, tuple[str, Callable[[object], bool]]] = {
    "list[str]": (
        "a list of strings",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    ),
    "dict[str, float]": (
        "a table of non-negative numbers",
        lambda v: isinstance(v, dict) and all(_is_number(x) for x in v.values()),
    ),
    "float": ("a non-negative number", _is_number),
    "int": ("a non-negative whole number", lambda v: isinstance(v, int) and _is_number(v)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "str": ("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip())),
}


def _build_rules(raw: object, where: str) -> tuple[Any, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigurationError(f"{where}: 'rules' must be a non-empty list of rules")
    built = []
    for position, item in enumerate(raw, start=1):
        spot = f"{where}, rule {position}"
        if not isinstance(item, dict) or "kind" not in item:
            raise ConfigurationError(f"{spot}: each rule needs a 'kind'")
        params = dict(item)
        kind = params.pop("kind")
        cls = RULE_KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise ConfigurationError(
                f"{spot}: unknown rule kind {kind!r} (known: {', '.join(sorted(RULE_KINDS))})"
            )
        professions = params.pop("professions", None)
        if professions is not None and (
            not isinstance(professions, list)
            or not professions
            or not all(isinstance(p, str) and p in PROFESSIONS for p in professions)
        ):
            raise ConfigurationError(
                f"{spot} ({kind}): field 'professions' must be a non-empty list among "
                f"{', '.join(PROFESSIONS)}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if is_required_field(f)}
        extra, missing = set(params) - names, required - set(params)
        if extra or missing:
            raise ConfigurationError(
                f"{spot} ({kind}): unexpected fields {sorted(extra)}, missing fields {sorted(missing)}"
            )
        for f in dataclasses.fields(cls):
            if f.name not in params:
                continue
            expected, fits = _FIELD_TYPES[str(f.type)]
            if not fits(params[f.name]):
                raise ConfigurationError(
                    f"{spot} ({kind}): field '{f.name}' has the wrong type (expected {expected})"
                )
        try:
            made = cls(**params)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{spot} ({kind}): {exc}") from exc
        built.append(ForProfessions(made, tuple(professions)) if professions is not None else made)
    return tuple(built)


#: Rule kinds every program's base rules must hold for every profession: the credential
#: reports the counted written and practical exams, so issuance needs them.
REPORTED_KINDS = ("written_exam", "practical_exam")


def _check_reportable(rules: tuple[Any, ...], where: str) -> None:
    """Refuse, at start-up, a program whose credential could not be made."""
    kinds = {r.kind for r in rules if not isinstance(r, ForProfessions)}
    missing = [k for k in REPORTED_KINDS if k not in kinds]
    if missing:
        raise ConfigurationError(
            f"{where}: the credential reports the exams, so the base rules need "
            f"{' and '.join(repr(k) for k in missing)} rule(s) that apply to every profession"
        )


def parse_programs(data: Mapping[str, Any], source: str) -> dict[str, Program]:
    """Build programs from parsed TOML; every error names ``source``, the program and the field."""
    programs_raw = data.get("programs")
    if not isinstance(programs_raw, dict) or not programs_raw:
        raise ConfigurationError(f"{source}: no [programs.<id>] table")
    programs: dict[str, Program] = {}
    for program_id, body in programs_raw.items():
        where = f"{source}: program {program_id!r}"
        if not isinstance(body, dict):
            raise ConfigurationError(f"{where}: must be a table")
        known = set(_PROGRAM_FIELDS) | {"rules", "jurisdictions"}
        unexpected = set(body) - known
        if unexpected:
            raise ConfigurationError(f"{where}: unexpected fields {sorted(unexpected)}")
        for name, typ in _PROGRAM_FIELDS.items():
            if not isinstance(body.get(name), typ) or isinstance(body.get(name), bool):
                raise ConfigurationError(f"{where}: field '{name}' is missing or has the wrong type")
        jurisdictions_raw = body.get("jurisdictions", {})
        if not isinstance(jurisdictions_raw, dict):
            raise ConfigurationError(f"{where}: 'jurisdictions' must be a table")
        jurisdictions = {}
        for code, overlay in jurisdictions_raw.items():
            if not isinstance(overlay, dict) or set(overlay) != {"rules"}:
                raise ConfigurationError(f"{where}: jurisdiction {code!r} must hold only 'rules'")
            jurisdictions[code] = _build_rules(overlay["rules"], f"{where}, jurisdiction {code!r}")
        rules = _build_rules(body.get("rules"), where)
        _check_reportable(rules, where)
        programs[program_id] = Program(
            id=program_id,
            name=body["name"],
            description=body["description"],
            criteria=body["criteria"],
            accreditation_body=body["accreditation_body"],
            accreditation_id=body["accreditation_id"],
            cme_credits=float(body["cme_credits"]),
            validity_months=body["validity_months"],
            rules=rules,
            jurisdictions=jurisdictions,
        )
    return programs


def load_programs(path: str | Path) -> dict[str, Program]:
    """Read and check a programs file; raises :class:`ConfigurationError` naming what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read programs file ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from exc
    return parse_programs(data, str(path))
