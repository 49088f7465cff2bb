"""Profession-scoped rules, the new rule kinds (supervising physician, profession not
allowed, typed CE credits), license checks as records, corrections that supersede, and
the shipped example overlays; plus properties of eligibility over random records."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.config import SHIPPED_PROGRAMS
from issuer.errors import ConfigurationError
from issuer.rules.facts import DIDACTIC_MODULES, RecordFacts, current_license
from issuer.rules.kinds import (
    CECreditsRule,
    ForProfessions,
    HandsOnRule,
    ProfessionNotAllowedRule,
    SupervisingPhysicianRule,
)
from issuer.rules.programs import Program, load_programs
from tests.unit.issuer.rules.test_programs import (
    PROGRAM_ID,
    TODAY,
    by_id,
    candidate,
    ce,
    complete_records,
    day,
    hands_on,
    rec,
)


def supervision(jurisdiction: str = "US-NY", on: str = "2026-09-01", **extra: Any) -> RecordFacts:
    data = {"physician_name": "Dr. Ada Byrne", "physician_license_number": "MD-000123",
            "physician_jurisdiction": jurisdiction, **extra}
    return rec("supervision", on, **data)


def typed_ce(credits: float, credit_type: str) -> RecordFacts:
    return rec("ce_credits", "2026-09-20", credits=credits, provider="Example CME Institute",
               credit_type=credit_type)


@pytest.fixture(scope="module")
def shipped() -> Program:
    return load_programs(SHIPPED_PROGRAMS)[PROGRAM_ID]


# --- each new rule kind, met and not met (table-driven) -----------------------------------

CASES = [
    pytest.param(SupervisingPhysicianRule(same_jurisdiction=True), candidate(jurisdiction="US-NY"), {
        "supervision.physician": (False, "no supervising physician licensed in US-NY on record "
                                         "(required for RN licensees in US-NY)")}, id="supervision-none"),
    pytest.param(SupervisingPhysicianRule(same_jurisdiction=True),
                 candidate(supervision("US-NJ"), jurisdiction="US-NY"), {
        "supervision.physician": (False, "no supervising physician licensed in US-NY on record "
                                         "(required for RN licensees in US-NY)")},
                 id="supervision-other-state-does-not-count"),
    pytest.param(SupervisingPhysicianRule(same_jurisdiction=False),
                 candidate(supervision("US-NJ"), jurisdiction="US-NY"), {
        "supervision.physician": (True, "supervising physician on record: Dr. Ada Byrne "
                                        "(license MD-000123, US-NJ), agreement of 2026-09-01")},
                 id="supervision-any-state"),
    pytest.param(SupervisingPhysicianRule(same_jurisdiction=True),
                 candidate(supervision("US-NY"), jurisdiction="US-NY"), {
        "supervision.physician": (True, "supervising physician on record: Dr. Ada Byrne "
                                        "(license MD-000123, US-NY), agreement of 2026-09-01")},
                 id="supervision-met"),
    pytest.param(ProfessionNotAllowedRule(["RN"], "not here"), candidate(jurisdiction="US-NV"), {
        "license.profession": (False, "profession RN is not allowed for licenses of US-NV: not here")},
                 id="profession-refused"),
    pytest.param(ProfessionNotAllowedRule(["RN"], "not here"), candidate(profession="MD"), {
        "license.profession": (True, "profession MD is eligible")}, id="profession-not-refused"),
    pytest.param(CECreditsRule(2.0, ["ANCC"]), candidate(typed_ce(3, "AMA PRA Category 1")), {
        "ce_credits": (False, "continuing-education credits (ANCC): 0 of 2")}, id="ce-wrong-type"),
    pytest.param(CECreditsRule(2.0, ["ANCC", "AANP"]),
                 candidate(typed_ce(1, "ANCC"), typed_ce(1.5, "AANP"), ce(5)), {
        "ce_credits": (True, "continuing-education credits (ANCC or AANP): 2.5 of 2")}, id="ce-typed-met"),
    pytest.param(ForProfessions(HandsOnRule(8, 30, 6), ("RN",)), candidate(profession="MD"), {},
                 id="scoped-rule-skips-other-professions"),
    pytest.param(ForProfessions(HandsOnRule(8, 30, 6), ("RN",)), candidate(hands_on(8, 24, 4)), {
        "hands_on.hours": (True, "hands-on training: 8 of 8 hours"),
        "hands_on.supervised_injections": (False, "supervised injections: 24 of 30"),
        "hands_on.live_models": (False, "live models: 4 of 6")}, id="scoped-rule-applies"),
]


@pytest.mark.parametrize(("rule", "who", "expected"), CASES)
def test_new_rule_kinds_report_each_requirement(rule: Any, who: Any, expected: dict[str, Any]) -> None:
    assert by_id(rule.check(who, TODAY)) == expected


# --- the shipped example overlays -------------------------------------------------------------

OVERLAY_CASES = [
    # jurisdiction, profession, extra records, expected unmet ids
    pytest.param("US-NY", "RN", (), {"supervision.physician", "hands_on.supervised_injections",
                                     "hands_on.live_models"}, id="NY-RN-needs-more"),
    pytest.param("US-NY", "RN", (supervision("US-NY"), hands_on(1, 6, 2)), set(), id="NY-RN-complete"),
    pytest.param("US-NY", "PA", (), {"supervision.physician"}, id="NY-PA-needs-supervisor"),
    pytest.param("US-NY", "PA", (supervision("US-NY"),), set(), id="NY-PA-complete"),
    pytest.param("US-NY", "MD", (), set(), id="NY-MD-needs-nothing-more"),
    pytest.param("US-GA", "NP", (), {"ce_credits"}, id="GA-needs-typed-ce"),
    pytest.param("US-GA", "NP", (ce(10),), {"ce_credits"}, id="GA-untyped-ce-does-not-count"),
    pytest.param("US-GA", "NP", (typed_ce(2, "AANP"),), set(), id="GA-complete"),
    pytest.param("US-NV", "RN", (), {"license.profession"}, id="NV-refuses-RN"),
    pytest.param("US-NV", "NP", (), set(), id="NV-allows-NP"),
    pytest.param("US-TX", "RN", (), set(), id="TX-no-overlay"),
]


@pytest.mark.parametrize(("jurisdiction", "profession", "extra", "unmet"), OVERLAY_CASES)
def test_shipped_example_overlays(shipped: Program, jurisdiction: str, profession: str,
                                  extra: tuple[RecordFacts, ...], unmet: set[str]) -> None:
    who = candidate(*complete_records(), *extra, profession=profession, jurisdiction=jurisdiction)
    outcomes = by_id(shipped.evaluate(who, TODAY))
    assert {i for i, (ok, _) in outcomes.items() if not ok} == unmet


def test_overlays_are_marked_as_examples_not_legal_advice() -> None:
    text = SHIPPED_PROGRAMS.read_text("utf-8")
    assert "EXAMPLES to adapt, NOT LEGAL ADVICE" in text


def test_described_overlay_shows_the_professions_it_applies_to(shipped: Program) -> None:
    ny = shipped.describe()["jurisdictions"]["US-NY"]
    assert {"kind": "supervising_physician", "same_jurisdiction": True, "professions": ["RN", "PA"]} in ny


# --- the loader, for the new fields -----------------------------------------------------------

HEAD = """[programs.p]
name = "P"
description = "d"
criteria = "c"
accreditation_body = "b"
accreditation_id = "i"
cme_credits = 1.0
validity_months = 12
"""


@pytest.mark.parametrize(("rules", "expected"), [
    ('{ kind = "ce_credits", min = 1.0, professions = ["RN", "EMT"] }',
     "program 'p', rule 1 (ce_credits): field 'professions' must be a non-empty list"),
    ('{ kind = "ce_credits", min = 1.0, professions = [] }', "field 'professions' must be a non-empty list"),
    ('{ kind = "supervising_physician", same_jurisdiction = "yes" }',
     "rule 1 (supervising_physician): field 'same_jurisdiction' has the wrong type (expected true or false)"),
    ('{ kind = "profession_not_allowed", refused = ["XX"], reason = "r" }',
     "rule 1 (profession_not_allowed): field 'refused': must list professions"),
    ('{ kind = "profession_not_allowed", refused = ["RN"], reason = " " }',
     "field 'reason' has the wrong type (expected a non-empty string)"),
    ('{ kind = "ce_credits", min = 1.0, credit_types = "ANCC" }',
     "field 'credit_types' has the wrong type (expected a list of strings)"),
    ('{ kind = "ce_credits" }', "missing fields ['min']"),
])
def test_loader_refuses_bad_new_fields(tmp_path: Path, rules: str, expected: str) -> None:
    path = tmp_path / "programs.toml"
    path.write_text(f"{HEAD}rules = [ {rules} ]\n", "utf-8")
    with pytest.raises(ConfigurationError) as err:
        load_programs(path)
    assert str(path) in err.value.detail
    assert expected in err.value.detail


# --- license checks as records; corrections supersede -----------------------------------------

def check(status: str, on: str, expires_on: str = "2028-08-31") -> RecordFacts:
    return rec("license_check", on, status=status, expires_on=expires_on,
               checked_source="https://www.bon.texas.gov/verify")


def test_latest_license_check_is_what_eligibility_sees() -> None:
    who = candidate(checked_on="2026-06-01")
    assert current_license(who.license, [check("suspended", "2026-11-10"), check("active", "2026-10-01")]) \
        == dataclasses.replace(who.license, status="suspended", checked_on=day("2026-11-10"),
                               expires_on=day("2028-08-31"),
                               checked_source="https://www.bon.texas.gov/verify")
    older = current_license(who.license, [check("revoked", "2026-01-01")])
    assert older == who.license


def test_a_superseded_record_no_longer_counts(shipped: Program) -> None:
    wrong = dataclasses.replace(hands_on(8, 24, 4), id="r1")
    fixed = dataclasses.replace(hands_on(8, 12, 4), id="r2", supersedes="r1")
    records = [r for r in complete_records() if r.kind != "hands_on"]
    before = by_id(shipped.evaluate(candidate(*records, wrong), TODAY))
    after = by_id(shipped.evaluate(candidate(*records, wrong, fixed), TODAY))
    assert before["hands_on.supervised_injections"] == (True, "supervised injections: 24 of 20")
    assert after["hands_on.supervised_injections"] == (False, "supervised injections: 12 of 20")


# --- properties -------------------------------------------------------------------------------

_dates = st.integers(min_value=0, max_value=400).map(lambda n: TODAY - timedelta(days=n))
_hours = st.floats(min_value=0.25, max_value=40, allow_nan=False, allow_infinity=False)


@st.composite
def _written(draw: st.DrawFn) -> RecordFacts:
    max_score = draw(st.sampled_from([10, 100]))
    score = draw(st.floats(min_value=0, max_value=max_score, allow_nan=False))
    return RecordFacts("written_exam", draw(_dates), {"score": score, "max_score": max_score})


evidence = st.one_of(
    st.builds(lambda on, m, h: RecordFacts("didactic", on, {"module": m, "hours": h}),
              _dates, st.sampled_from(DIDACTIC_MODULES), _hours),
    st.builds(lambda on, h, i, m: RecordFacts("hands_on", on, {
        "hours": h, "supervised_injections": i, "live_models": m, "supervisor": "Ana Ruiz, MD"}),
              _dates, _hours, st.integers(0, 40), st.integers(0, 8)),
    _written(),
    st.builds(lambda on, p: RecordFacts("practical_exam", on, {"passed": p, "examiner": "B. Lee"}),
              _dates, st.booleans()),
    st.builds(lambda on, c, t: RecordFacts("ce_credits", on, {"credits": c, "provider": "CME",
                                                              "credit_type": t}),
              _dates, st.floats(min_value=0.5, max_value=6, allow_nan=False),
              st.sampled_from(["AMA PRA Category 1", "ANCC", "other"])),
    st.builds(lambda on, j: RecordFacts("supervision", on, {
        "physician_name": "Dr. A", "physician_license_number": "MD-1", "physician_jurisdiction": j}),
              _dates, st.sampled_from(["US-NY", "US-NJ"])),
)
jurisdictions = st.sampled_from(["US-TX", "US-FL", "US-CA", "US-NY", "US-GA", "US-NV"])
professions = st.sampled_from(["MD", "DO", "NP", "PA", "RN"])


def _with_ids(records: list[RecordFacts], prefix: str) -> list[RecordFacts]:
    return [dataclasses.replace(r, id=f"{prefix}{n}") for n, r in enumerate(records)]


@settings(max_examples=300, deadline=None)
@given(base=st.lists(evidence, max_size=25), extra=evidence, jurisdiction=jurisdictions,
       profession=professions)
def test_adding_a_record_never_makes_an_eligible_candidate_ineligible(
    base: list[RecordFacts], extra: RecordFacts, jurisdiction: str, profession: str
) -> None:
    program = load_programs(SHIPPED_PROGRAMS)[PROGRAM_ID]
    records = _with_ids([*complete_records(), *base], "b")
    before = candidate(*records, profession=profession, jurisdiction=jurisdiction, checked_on="2026-11-10")
    if not all(o.ok for o in program.evaluate(before, TODAY)):
        return
    after = dataclasses.replace(before, records=(*records, dataclasses.replace(extra, id="new")))
    assert [o for o in program.evaluate(after, TODAY) if not o.ok] == []


@settings(max_examples=200, deadline=None)
@given(base=st.lists(evidence, max_size=25), jurisdiction=jurisdictions, profession=professions,
       target=st.integers(0, 24))
def test_only_a_superseding_record_can_take_eligibility_away(
    base: list[RecordFacts], jurisdiction: str, profession: str, target: int
) -> None:
    """A correction may make a candidate ineligible; it then names the record it replaces."""
    program = load_programs(SHIPPED_PROGRAMS)[PROGRAM_ID]
    records = _with_ids([*complete_records(), *base], "b")
    before = candidate(*records, profession=profession, jurisdiction=jurisdiction, checked_on="2026-11-10")
    old = records[target % len(records)]
    correction = RecordFacts(old.kind, old.on, {**old.data}, id="fix", supersedes=old.id)
    if old.kind == "hands_on":
        correction = dataclasses.replace(correction, data={**old.data, "supervised_injections": 0})
    after = dataclasses.replace(before, records=(*records, correction))
    ids_after = {o.id for o in program.evaluate(after, TODAY)}
    assert ids_after == {o.id for o in program.evaluate(before, TODAY)}
    assert old.id not in {r.id for r in after.current()}


@settings(max_examples=300, deadline=None)
@given(records=st.lists(evidence, max_size=20), jurisdiction=jurisdictions, profession=professions,
       status=st.sampled_from(["active", "expired", "suspended"]),
       checked_days=st.integers(0, 200))
def test_the_answer_lists_every_failing_rule(
    records: list[RecordFacts], jurisdiction: str, profession: str, status: str, checked_days: int
) -> None:
    program = load_programs(SHIPPED_PROGRAMS)[PROGRAM_ID]
    who = candidate(*records, profession=profession, jurisdiction=jurisdiction, status=status,
                    checked_on=(TODAY - timedelta(days=checked_days)).isoformat())
    answer = program.evaluate(who, TODAY)
    unmet_ids = {o.id for o in answer if not o.ok}
    for item in program.rules_for(jurisdiction):
        for outcome in item.check(who, TODAY):
            if not outcome.ok:
                assert outcome.id in unmet_ids, (item, outcome)
    assert {o.id for o in answer} == {
        o.id for item in program.rules_for(jurisdiction) for o in item.check(who, TODAY)
    }
