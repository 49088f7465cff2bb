"""Eligibility rules as data (DESIGN §4): each rule kind, the shipped program with its
jurisdiction overlays, and the loader that stops the issuer on a bad programs file.

Everything but the last test is pure: candidates are built by hand, no database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer import create_app
from issuer.config import SHIPPED_PROGRAMS
from issuer.errors import ConfigurationError
from issuer.rules.facts import DIDACTIC_MODULES, Candidate, LicenseFacts, Outcome, RecordFacts
from issuer.rules.kinds import (
    CECreditsRule,
    DidacticHoursRule,
    DidacticModulesRule,
    HandsOnRule,
    LicenseActiveRule,
    LicenseCheckedRule,
    PracticalExamRule,
    ProfessionRule,
    WrittenExamRule,
)
from issuer.rules.programs import Program, load_programs, parse_programs

TODAY = date(2026, 11, 22)
PROGRAM_ID = "botox-cosmetic-injector"
DATA = Path(__file__).resolve().parents[3] / "data" / "programs"
SOURCE = "https://www.bon.texas.gov/"
SHIPPED_MODULES = {
    "pharmacology": 3.0, "facial_anatomy": 3.0, "patient_assessment": 2.0,
    "injection_technique": 4.0, "complications": 2.0, "ethics_and_consent": 2.0,
}
BASE_IDS = {
    "license.profession", "license.status", "license.unexpired", "license.checked_recently",
    *(f"didactic.{m}" for m in DIDACTIC_MODULES), "didactic.total_hours",
    "hands_on.hours", "hands_on.supervised_injections", "hands_on.live_models",
    "exam.written", "exam.practical",
}


# --- building candidates by hand ---------------------------------------------------------


def day(iso: str) -> date:
    return date.fromisoformat(iso)


def rec(kind: str, on: str, **data: Any) -> RecordFacts:
    return RecordFacts(kind=kind, on=day(on), data=data)


def didactic(module: str, hours: float, on: str = "2026-10-02") -> RecordFacts:
    return rec("didactic", on, module=module, hours=hours)


def hands_on(hours: float, injections: int, models: int, on: str = "2026-10-03") -> RecordFacts:
    return rec("hands_on", on, hours=hours, supervised_injections=injections, live_models=models,
               supervisor="Ana Ruiz, MD")


def written(score: float, on: str, max_score: float = 100) -> RecordFacts:
    return rec("written_exam", on, score=score, max_score=max_score)


def practical(passed: bool, on: str) -> RecordFacts:
    return rec("practical_exam", on, passed=passed, examiner="Ana Ruiz, MD")


def ce(credits: float, on: str = "2026-09-20") -> RecordFacts:
    return rec("ce_credits", on, credits=credits, provider="Example CME Institute")


def candidate(*records: RecordFacts, profession: str = "RN", **license: Any) -> Candidate:
    facts: dict[str, Any] = {
        "number": "RN-884512", "jurisdiction": "US-TX", "status": "active",
        "expires_on": day("2027-08-31"), "checked_on": day("2026-11-01"), "checked_source": SOURCE,
    }
    facts.update({k: day(v) if k.endswith("_on") else v for k, v in license.items()})
    return Candidate(profession=profession, license=LicenseFacts(**facts), records=records)


def complete_records() -> tuple[RecordFacts, ...]:
    """Meets every base requirement of the shipped program on TODAY (as tests/conftest.py)."""
    return (
        *(didactic(m, h) for m, h in SHIPPED_MODULES.items()),
        hands_on(8.0, 24, 4),
        written(88, "2026-10-04"),
        practical(True, "2026-10-04"),
    )


def by_id(outcomes: list[Outcome]) -> dict[str, tuple[bool, str]]:
    ids = [o.id for o in outcomes]
    assert len(ids) == len(set(ids)), f"an outcome id is reported twice: {ids}"
    return {o.id: (o.ok, o.detail) for o in outcomes}


@pytest.fixture(scope="module")
def shipped() -> Program:
    return load_programs(SHIPPED_PROGRAMS)[PROGRAM_ID]


# --- each rule kind, met and not met -----------------------------------------------------

RULE_CASES = [
    # profession
    pytest.param(ProfessionRule(["MD", "RN"]), candidate(), {
        "license.profession": (True, "profession RN is eligible"),
    }, id="profession-eligible"),
    pytest.param(ProfessionRule(["MD", "DO"]), candidate(), {
        "license.profession": (False, "profession RN is not eligible for this program "
                                      "(eligible: MD, DO)"),
    }, id="profession-not-eligible"),
    # license_active
    pytest.param(LicenseActiveRule(), candidate(), {
        "license.status": (True, "license RN-884512 (US-TX) is active"),
        "license.unexpired": (True, "license valid until 2027-08-31"),
    }, id="license-active"),
    pytest.param(LicenseActiveRule(), candidate(status="probation"), {
        "license.status": (False, "license RN-884512 (US-TX) is probation, not active"),
        "license.unexpired": (True, "license valid until 2027-08-31"),
    }, id="license-on-probation"),
    pytest.param(LicenseActiveRule(), candidate(expires_on="2026-11-22"), {
        "license.status": (True, "license RN-884512 (US-TX) is active"),
        "license.unexpired": (True, "license valid until 2026-11-22"),
    }, id="license-expiring-today"),
    pytest.param(LicenseActiveRule(), candidate(expires_on="2026-11-21"), {
        "license.status": (True, "license RN-884512 (US-TX) is active"),
        "license.unexpired": (False, "license expired on 2026-11-21"),
    }, id="license-expired-yesterday"),
    # license_checked_within
    pytest.param(LicenseCheckedRule(90), candidate(checked_on="2026-08-24"), {
        "license.checked_recently": (True, f"license checked 90 days ago (limit 90) at {SOURCE}"),
    }, id="license-check-90-days-old"),
    pytest.param(LicenseCheckedRule(90), candidate(checked_on="2026-08-23"), {
        "license.checked_recently": (False, "license check is 91 days old; it must be at most "
                                            "90 days old"),
    }, id="license-check-91-days-old"),
    pytest.param(LicenseCheckedRule(90), candidate(checked_on="2026-11-23"), {
        "license.checked_recently": (False, "license check date is in the future"),
    }, id="license-check-in-the-future"),
    # didactic_modules
    pytest.param(
        DidacticModulesRule({"pharmacology": 3.0, "complications": 2.0}),
        candidate(didactic("pharmacology", 1.5), didactic("pharmacology", 1.5),
                  didactic("complications", 2.5)),
        {
            "didactic.pharmacology": (True, "pharmacology: 3 of 3 hours"),
            "didactic.complications": (True, "complications: 2.5 of 2 hours"),
        }, id="didactic-modules-hours-add-up"),
    pytest.param(
        DidacticModulesRule({"pharmacology": 3.0, "facial_anatomy": 3.0}),
        candidate(didactic("pharmacology", 1.0), didactic("injection_technique", 9.0)),
        {
            "didactic.pharmacology": (False, "pharmacology: 1 of 3 hours"),
            "didactic.facial_anatomy": (False, "facial anatomy: 0 of 3 hours"),
        }, id="didactic-modules-short-and-missing"),
    # didactic_hours
    pytest.param(DidacticHoursRule(16.0), candidate(*(didactic(m, h) for m, h in SHIPPED_MODULES.items())), {
        "didactic.total_hours": (True, "didactic training: 16 of 16 hours"),
    }, id="didactic-hours-met"),
    pytest.param(DidacticHoursRule(16.0), candidate(didactic("pharmacology", 15.5)), {
        "didactic.total_hours": (False, "didactic training: 15.5 of 16 hours"),
    }, id="didactic-hours-short"),
    # hands_on
    pytest.param(HandsOnRule(8.0, 20, 4), candidate(hands_on(4.0, 12, 2), hands_on(4.0, 12, 2)), {
        "hands_on.hours": (True, "hands-on training: 8 of 8 hours"),
        "hands_on.supervised_injections": (True, "supervised injections: 24 of 20"),
        "hands_on.live_models": (True, "live models: 4 of 4"),
    }, id="hands-on-sessions-add-up"),
    pytest.param(HandsOnRule(8.0, 20, 4), candidate(hands_on(6.5, 14, 3)), {
        "hands_on.hours": (False, "hands-on training: 6.5 of 8 hours"),
        "hands_on.supervised_injections": (False, "supervised injections: 14 of 20"),
        "hands_on.live_models": (False, "live models: 3 of 4"),
    }, id="hands-on-short"),
    pytest.param(HandsOnRule(8.0, 20, 4), candidate(), {
        "hands_on.hours": (False, "hands-on training: 0 of 8 hours"),
        "hands_on.supervised_injections": (False, "supervised injections: 0 of 20"),
        "hands_on.live_models": (False, "live models: 0 of 4"),
    }, id="hands-on-none"),
    # written_exam
    pytest.param(WrittenExamRule(80.0, 12), candidate(written(88, "2026-10-04")), {
        "exam.written": (True, "written exam: best score 88% on 2026-10-04 (pass mark 80%)"),
    }, id="written-passed"),
    pytest.param(WrittenExamRule(80.0, 12), candidate(written(40, "2026-10-04", max_score=50)), {
        "exam.written": (True, "written exam: best score 80% on 2026-10-04 (pass mark 80%)"),
    }, id="written-exactly-the-pass-mark"),
    pytest.param(WrittenExamRule(80.0, 12), candidate(written(79, "2026-10-04")), {
        "exam.written": (False, "written exam: best score 79% on 2026-10-04 (pass mark 80%)"),
    }, id="written-below-pass-mark"),
    pytest.param(
        WrittenExamRule(80.0, 12), candidate(written(90, "2026-09-01"), written(50, "2026-10-20")),
        {"exam.written": (True, "written exam: best score 90% on 2026-09-01 (pass mark 80%)")},
        id="written-failed-attempt-after-a-pass"),
    pytest.param(WrittenExamRule(80.0, 12), candidate(written(95, "2025-11-22")), {
        "exam.written": (True, "written exam: best score 95% on 2025-11-22 (pass mark 80%)"),
    }, id="written-exactly-12-months-old"),
    pytest.param(WrittenExamRule(80.0, 12), candidate(written(95, "2025-11-21")), {
        "exam.written": (False, "written exam taken on 2025-11-21 is older than 12 months"),
    }, id="written-older-than-valid-months"),
    pytest.param(
        WrittenExamRule(80.0, 12), candidate(written(95, "2025-06-01"), written(60, "2026-10-01")),
        {"exam.written": (False, "written exam: best score 60% on 2026-10-01 (pass mark 80%)")},
        id="written-old-pass-does-not-rescue-recent-fail"),
    pytest.param(WrittenExamRule(80.0, 12), candidate(), {
        "exam.written": (False, "no written exam on record"),
    }, id="written-none"),
    # practical_exam
    pytest.param(PracticalExamRule(12), candidate(practical(True, "2026-10-04")), {
        "exam.practical": (True, "practical exam passed on 2026-10-04, examiner Ana Ruiz, MD"),
    }, id="practical-passed"),
    pytest.param(
        PracticalExamRule(12), candidate(practical(True, "2026-10-04"), practical(False, "2026-11-01")),
        {"exam.practical": (True, "practical exam passed on 2026-10-04, examiner Ana Ruiz, MD")},
        id="practical-failed-attempt-after-a-pass"),
    pytest.param(PracticalExamRule(12), candidate(practical(False, "2026-10-04")), {
        "exam.practical": (False, "practical exam not passed yet"),
    }, id="practical-not-passed"),
    pytest.param(PracticalExamRule(12), candidate(), {
        "exam.practical": (False, "no practical exam on record"),
    }, id="practical-none-on-record"),
    pytest.param(PracticalExamRule(12), candidate(practical(True, "2025-10-22")), {
        "exam.practical": (False, "practical exam pass is older than 12 months"),
    }, id="practical-pass-too-old"),
    pytest.param(PracticalExamRule(24), candidate(practical(True, "2024-11-21")), {
        "exam.practical": (False, "practical exam pass is older than 24 months"),
    }, id="practical-24-months-and-a-day"),
    # ce_credits
    pytest.param(CECreditsRule(4.0), candidate(ce(2.0), ce(2.5)), {
        "ce_credits": (True, "continuing-education credits: 4.5 of 4"),
    }, id="ce-credits-add-up"),
    pytest.param(CECreditsRule(4.0), candidate(ce(3.0)), {
        "ce_credits": (False, "continuing-education credits: 3 of 4"),
    }, id="ce-credits-short"),
]


@pytest.mark.parametrize(("rule", "who", "expected"), RULE_CASES)
def test_rule_reports_each_requirement_with_its_numbers(
    rule: Any, who: Candidate, expected: dict[str, tuple[bool, str]]
) -> None:
    assert by_id(rule.check(who, TODAY)) == expected


@pytest.mark.parametrize(
    ("today", "taken_on", "months", "counts"),
    [
        pytest.param("2024-03-01", "2023-03-01", 12, True, id="12-months-across-a-leap-day"),
        pytest.param("2024-03-01", "2023-02-28", 12, False, id="12-months-and-a-day-leap"),
        pytest.param("2026-03-31", "2026-02-28", 1, True, id="month-end-clamped"),
        pytest.param("2026-03-31", "2026-02-27", 1, False, id="month-end-and-a-day"),
        pytest.param("2026-11-22", "2024-11-22", 24, True, id="24-months"),
        pytest.param("2026-11-22", "2024-11-21", 24, False, id="24-months-and-a-day"),
    ],
)
def test_exam_results_stay_usable_for_calendar_months(
    today: str, taken_on: str, months: int, counts: bool
) -> None:
    """'valid_months' counts calendar months, like the credential's validity period."""
    who = candidate(written(95, taken_on), practical(True, taken_on))
    assert WrittenExamRule(80.0, months).check(who, day(today))[0].ok is counts
    assert PracticalExamRule(months).check(who, day(today))[0].ok is counts


# --- the shipped program and its jurisdiction overlays -------------------------------------


def test_complete_candidate_meets_every_requirement(shipped: Program) -> None:
    outcomes = by_id(shipped.evaluate(candidate(*complete_records()), TODAY))
    assert set(outcomes) == BASE_IDS
    assert [i for i, (ok, _) in outcomes.items() if not ok] == []


@pytest.mark.parametrize(
    ("jurisdiction", "expected_ids"),
    [
        pytest.param("US-TX", BASE_IDS, id="US-TX"),
        pytest.param("US-FL", BASE_IDS | {"ce_credits"}, id="US-FL-adds-ce-credits"),
        pytest.param("US-CA", BASE_IDS, id="US-CA"),
    ],
)
def test_empty_candidate_is_told_every_unmet_requirement(
    shipped: Program, jurisdiction: str, expected_ids: set[str]
) -> None:
    nobody = candidate(profession="EMT", jurisdiction=jurisdiction, status="expired",
                       expires_on="2025-01-31", checked_on="2024-01-02")
    outcomes = by_id(shipped.evaluate(nobody, TODAY))
    unmet = {i for i, (ok, _) in outcomes.items() if not ok}
    assert unmet == set(outcomes) == expected_ids
    assert outcomes["hands_on.supervised_injections"] == (False, "supervised injections: 0 of 20")
    assert outcomes["didactic.pharmacology"] == (False, "pharmacology: 0 of 3 hours")


def test_florida_overlay_adds_ce_credits_only_for_florida_licenses(shipped: Program) -> None:
    texas = by_id(shipped.evaluate(candidate(*complete_records()), TODAY))
    florida = by_id(shipped.evaluate(candidate(*complete_records(), jurisdiction="US-FL"), TODAY))
    assert "ce_credits" not in texas
    assert florida["ce_credits"] == (False, "continuing-education credits: 0 of 4")
    assert [i for i, (ok, _) in florida.items() if not ok] == ["ce_credits"]

    with_ce = candidate(*complete_records(), ce(4.0), jurisdiction="US-FL")
    assert all(o.ok for o in shipped.evaluate(with_ce, TODAY))


@pytest.mark.parametrize(
    ("jurisdiction", "checked_on", "expected"),
    [
        pytest.param("US-TX", "2026-10-08", (True, f"license checked 45 days ago (limit 90) at {SOURCE}"),
                     id="US-TX-45-days-is-fine"),
        pytest.param("US-CA", "2026-10-08",
                     (False, "license check is 45 days old; it must be at most 30 days old"),
                     id="US-CA-45-days-is-too-old"),
        pytest.param("US-CA", "2026-10-23", (True, f"license checked 30 days ago (limit 30) at {SOURCE}"),
                     id="US-CA-30-days-is-fine"),
        pytest.param("US-CA", "2026-08-01",
                     (False, "license check is 113 days old; it must be at most 30 days old"),
                     id="US-CA-fails-both-checks"),
    ],
)
def test_california_overlay_tightens_the_license_check(
    shipped: Program, jurisdiction: str, checked_on: str, expected: tuple[bool, str]
) -> None:
    """One 'license.checked_recently' outcome, judged by the stricter limit."""
    who = candidate(*complete_records(), jurisdiction=jurisdiction, checked_on=checked_on)
    outcomes = by_id(shipped.evaluate(who, TODAY))
    assert outcomes["license.checked_recently"] == expected
    assert [i for i, (ok, _) in outcomes.items() if not ok] == (
        [] if expected[0] else ["license.checked_recently"]
    )


def test_shipped_program_describes_its_overlays(shipped: Program) -> None:
    described = shipped.describe()
    assert described["validity_months"] == 24
    assert described["jurisdictions"]["US-FL"] == [{"kind": "ce_credits", "min": 4.0}]
    assert described["jurisdictions"]["US-CA"] == [{"kind": "license_checked_within", "days": 30}]
    assert {"kind": "hands_on", "min_hours": 8.0, "min_injections": 20,
            "min_live_models": 4} in described["requirements"]


# --- property: more valid records never hurt ------------------------------------------------

_dates = st.integers(min_value=0, max_value=182).map(lambda n: TODAY - timedelta(days=n))
_hours = st.floats(min_value=0.25, max_value=40, allow_nan=False, allow_infinity=False)


@st.composite
def _written_exam(draw: st.DrawFn) -> RecordFacts:
    max_score = draw(st.sampled_from([10, 50, 100, 120.5]))
    score = draw(st.floats(min_value=0, max_value=max_score, allow_nan=False))
    return RecordFacts("written_exam", draw(_dates), {"score": score, "max_score": max_score})


extra_records = st.one_of(
    st.builds(lambda on, m, h: RecordFacts("didactic", on, {"module": m, "hours": h}),
              _dates, st.sampled_from(DIDACTIC_MODULES), _hours),
    st.builds(lambda on, h, i, m: RecordFacts("hands_on", on, {
        "hours": h, "supervised_injections": i, "live_models": m, "supervisor": "Ana Ruiz, MD"}),
              _dates, _hours, st.integers(0, 200), st.integers(0, 50)),
    _written_exam(),
    st.builds(lambda on, p: RecordFacts("practical_exam", on, {"passed": p, "examiner": "B. Lee"}),
              _dates, st.booleans()),
    st.builds(lambda on, c: RecordFacts("ce_credits", on, {"credits": c, "provider": "CME"}),
              _dates, st.floats(min_value=0.5, max_value=40, allow_nan=False)),
)


@settings(max_examples=200, deadline=None)
@given(extras=st.lists(extra_records, min_size=1, max_size=6),
       jurisdiction=st.sampled_from(["US-TX", "US-FL", "US-CA"]))
def test_extra_valid_records_never_make_a_complete_candidate_ineligible(
    extras: list[RecordFacts], jurisdiction: str
) -> None:
    program = load_programs(SHIPPED_PROGRAMS)[PROGRAM_ID]
    base = (*complete_records(), ce(4.0))
    before = candidate(*base, jurisdiction=jurisdiction, checked_on="2026-11-10")
    assert all(o.ok for o in program.evaluate(before, TODAY))
    after = dataclasses.replace(before, records=(*base, *extras))
    unmet = [o for o in program.evaluate(after, TODAY) if not o.ok]
    assert unmet == []


# --- the loader refuses a bad programs file, naming file, program and field ----------------

MINIMAL = (DATA / "minimal.toml").read_text("utf-8")
PROFESSION_LINE = '  { kind = "profession", allowed = ["RN"] },\n'
CHECK_LINE = '  { kind = "license_checked_within", days = 90 },\n'
MODULES_LINE = '  { kind = "didactic_modules", modules = { pharmacology = 1.0 } },\n'
OVERLAY_LINE = '  { kind = "ce_credits", min = 2.0 },\n'


def _variant(old: str, new: str) -> str:
    assert MINIMAL.count(old) == 1, old
    return MINIMAL.replace(old, new)


_RULES_BLOCK = MINIMAL[MINIMAL.index("rules = [") : MINIMAL.index("[programs.demo-program.juris")]

LOADER_ERRORS = [
    pytest.param(_variant(CHECK_LINE, '  { kind = "horoscope", sign = "Virgo" },\n'),
                 ["rule 2", "unknown rule kind 'horoscope'", "license_checked_within"],
                 id="unknown-rule-kind"),
    pytest.param(_variant(CHECK_LINE, '  { kind = ["profession"] },\n'),
                 ["rule 2", "unknown rule kind"], id="rule-kind-not-a-string"),
    pytest.param(_variant(CHECK_LINE, '  { days = 90 },\n'),
                 ["rule 2", "'kind'"], id="rule-without-kind"),
    pytest.param(_variant(CHECK_LINE, '  { kind = "license_checked_within" },\n'),
                 ["rule 2", "missing fields ['days']"], id="missing-field"),
    pytest.param(_variant(CHECK_LINE, '  { kind = "license_checked_within", days = 90, weeks = 3 },\n'),
                 ["rule 2", "unexpected fields ['weeks']"], id="unexpected-field"),
    pytest.param(_variant(CHECK_LINE, '  { kind = "license_checked_within", days = "90" },\n'),
                 ["rule 2", "field 'days' has the wrong type"], id="string-instead-of-int"),
    pytest.param(_variant(CHECK_LINE, '  { kind = "license_checked_within", days = true },\n'),
                 ["rule 2", "field 'days' has the wrong type"], id="bool-instead-of-int"),
    pytest.param(_variant(CHECK_LINE, '  { kind = "license_checked_within", days = 90.5 },\n'),
                 ["rule 2", "field 'days' has the wrong type"], id="float-instead-of-int"),
    pytest.param(_variant(CHECK_LINE, '  { kind = "license_checked_within", days = -1 },\n'),
                 ["rule 2", "field 'days'"], id="negative-days"),
    pytest.param(_variant(PROFESSION_LINE, '  { kind = "profession", allowed = "RN" },\n'),
                 ["rule 1", "field 'allowed' has the wrong type"], id="string-instead-of-list"),
    pytest.param(_variant(PROFESSION_LINE, '  { kind = "profession", allowed = ["RN", 5] },\n'),
                 ["rule 1", "field 'allowed' has the wrong type"], id="list-item-not-a-string"),
    pytest.param(_variant(MODULES_LINE,
                          '  { kind = "didactic_modules", modules = { pharmacology = "1" } },\n'),
                 ["rule 3", "field 'modules' has the wrong type"], id="module-hours-not-a-number"),
    pytest.param(_variant(MODULES_LINE,
                          '  { kind = "didactic_modules", modules = { pharmacology = nan } },\n'),
                 ["rule 3", "field 'modules' has the wrong type"], id="module-hours-nan"),
    pytest.param(_variant(MODULES_LINE, '  { kind = "didactic_modules", modules = { botany = 2.0 } },\n'),
                 ["rule 3", "field 'modules'", "unknown didactic modules ['botany']"],
                 id="unknown-didactic-module"),
    pytest.param(_variant(MODULES_LINE, '  { kind = "didactic_modules", modules = {} },\n'),
                 ["rule 3", "field 'modules' must not be empty"], id="no-didactic-modules"),
    pytest.param(_variant(_RULES_BLOCK, "rules = []\n\n"),
                 ["'rules' must be a non-empty list"], id="empty-rules"),
    pytest.param(_variant(_RULES_BLOCK, ""), ["'rules' must be a non-empty list"], id="missing-rules"),
    pytest.param(_variant(OVERLAY_LINE, '  { kind = "tarot" },\n'),
                 ["jurisdiction 'US-NY'", "rule 1", "unknown rule kind 'tarot'"],
                 id="overlay-unknown-kind"),
    pytest.param(_variant(OVERLAY_LINE, '  { kind = "ce_credits", minimum = 2.0 },\n'),
                 ["jurisdiction 'US-NY'", "unexpected fields ['minimum']", "missing fields ['min']"],
                 id="overlay-wrong-field"),
    pytest.param(_variant('[programs.demo-program.jurisdictions.US-NY]\nrules = [\n'
                          + OVERLAY_LINE + ']\n',
                          '[programs.demo-program.jurisdictions.US-NY]\nrule = []\n'),
                 ["jurisdiction 'US-NY'", "'rules'"], id="overlay-without-rules"),
    pytest.param(_variant('name = "Demo Program"\n', ""),
                 ["field 'name' is missing"], id="program-without-name"),
    pytest.param(_variant("validity_months = 12\n", 'validity_months = "12"\n'),
                 ["field 'validity_months'", "wrong type"], id="program-field-wrong-type"),
    pytest.param(_variant("validity_months = 12\n", "validity_months = 12\nvalidity_years = 1\n"),
                 ["unexpected fields ['validity_years']"], id="program-unexpected-field"),
]


@pytest.mark.parametrize(("text", "expected"), LOADER_ERRORS)
def test_loader_refuses_a_bad_file_naming_file_program_and_field(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = tmp_path / "programs.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_programs(path)
    message = caught.value.detail
    assert message.startswith(f"{path}: program 'demo-program'"), message
    for part in expected:
        assert part in message, message
    assert "\n" not in message


def test_loader_accepts_the_minimal_file_it_builds_error_cases_from() -> None:
    programs = load_programs(DATA / "minimal.toml")
    program = programs["demo-program"]
    assert program.rules == (ProfessionRule(["RN"]), LicenseCheckedRule(90),
                             DidacticModulesRule({"pharmacology": 1.0}), WrittenExamRule(80.0, 12),
                             PracticalExamRule(12))
    assert program.jurisdictions == {"US-NY": (CECreditsRule(2.0),)}


@pytest.mark.parametrize(("old", "new", "missing"), [
    ('  { kind = "practical_exam", valid_months = 12 },\n', "", "'practical_exam'"),
    ('  { kind = "written_exam", pass_percent = 80.0, valid_months = 12 },\n'
     '  { kind = "practical_exam", valid_months = 12 },\n', "", "'written_exam' and 'practical_exam'"),
    ('{ kind = "practical_exam", valid_months = 12 }',
     '{ kind = "practical_exam", valid_months = 12, professions = ["RN"] }', "'practical_exam'"),
])
def test_a_program_whose_credential_could_not_be_made_is_refused_at_start_up(
    tmp_path: Path, old: str, new: str, missing: str
) -> None:
    """The credential reports the counted exams: without exam rules for every profession,
    issuance could not build it, so the loader refuses the file, not issuance with a 500."""
    path = tmp_path / "programs.toml"
    path.write_text(_variant(old, new), "utf-8")
    with pytest.raises(ConfigurationError) as refused:
        load_programs(path)
    message = str(refused.value)
    assert "program 'demo-program'" in message and missing in message, message
    assert "apply to every profession" in message


def test_loader_refuses_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "programs.toml"
    path.write_text(MINIMAL.replace("cme_credits = 1.0", "cme_credits = = 1.0"), "utf-8")
    with pytest.raises(ConfigurationError, match=r"not valid TOML") as caught:
        load_programs(path)
    assert caught.value.detail.startswith(f"{path}: ")
    assert "line 10" in caught.value.detail


def test_loader_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigurationError) as caught:
        load_programs(path)
    assert caught.value.detail == f"{path}: cannot read programs file (No such file or directory)"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({}, "inline.toml: no [programs.<id>] table", id="no-programs"),
        pytest.param({"programs": {"p": "x"}}, "inline.toml: program 'p': must be a table",
                     id="program-not-a-table"),
        pytest.param({"programs": {"p": {"rules": []}}},
                     "inline.toml: program 'p': field 'name' is missing or has the wrong type",
                     id="program-without-fields"),
    ],
)
def test_parse_programs_names_the_source(data: Mapping[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_programs(data, "inline.toml")
    assert caught.value.detail == expected


# --- the issuer does not start with a bad programs file ------------------------------------


@pytest.mark.db
def test_create_app_refuses_a_bad_programs_file(database_url: str, keys_dir: Path) -> None:
    bad = DATA / "unknown-kind.toml"
    with pytest.raises(ConfigurationError, match=r"unknown rule kind 'horoscope'") as caught:
        create_app({"programs": str(bad), "database_url": database_url, "keys_dir": str(keys_dir)})
    assert str(bad) in caught.value.detail
    assert "program 'demo-program', rule 2" in caught.value.detail


@pytest.mark.db
def test_create_app_reads_the_programs_file_named_by_the_environment(
    database_url: str, keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISSUER_PROGRAMS", str(DATA / "unknown-kind.toml"))
    with pytest.raises(ConfigurationError, match=r"unknown rule kind 'horoscope'"):
        create_app({"database_url": database_url, "keys_dir": str(keys_dir)})

    monkeypatch.setenv("ISSUER_PROGRAMS", str(DATA / "minimal.toml"))
    app = create_app({"database_url": database_url, "keys_dir": str(keys_dir)})
    try:
        client = app.test_client()
        assert client.get("/programs/demo-program").json["requirements"][0] == {
            "kind": "profession", "allowed": ["RN"]}
        assert client.get(f"/programs/{PROGRAM_ID}").status_code == 404
    finally:
        app.extensions["issuer"].engine.dispose()
