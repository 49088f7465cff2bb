"""``issuer records import|export``, ``issuer eligibility`` and ``issuer credentials issue``
driven as a user drives them (the installed script in a subprocess; the table of bad
lines in-process to stay quick)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.test_cli import Issuer, issuer  # noqa: F401 - the fixture
from tests.cohort import ELIGIBLE, sample_as_of
from tests.http.issuer.test_imports import BAD_LINES, _big_file, good_row, to_csv

pytestmark = pytest.mark.db
PROGRAM = "botox-cosmetic-injector"


def today_sample(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.csv"
    path.write_bytes(sample_as_of(datetime.now(UTC).date()))
    return path


def test_import_dry_run_then_import_then_reimport(issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    path = today_sample(tmp_path)
    dry = issuer.ok("records", "import", str(path), "--dry-run")
    lines = dry.splitlines()
    assert lines[0] == "line 2: created    US-TX EXAMPLE-RN-0001 didactic"
    assert lines[-1] == "16 created, 125 updated, 0 unchanged, 0 refused (dry run, nothing written)"
    assert issuer.ok("records", "import", str(path)).splitlines()[-1] == (
        "16 created, 125 updated, 0 unchanged, 0 refused (written)")
    again = issuer.ok("records", "import", str(path)).splitlines()
    assert again[-1] == "0 created, 0 updated, 141 unchanged, 0 refused (written)"
    assert "line 3: unchanged  US-TX EXAMPLE-RN-0001 didactic  (record already on file)" in again


def test_cohort_eligibility_and_bulk_issuance(issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    path = today_sample(tmp_path)
    issuer.ok("records", "import", str(path))
    dry = issuer.ok("credentials", "issue", "--program", PROGRAM, "--all-eligible", "--dry-run")
    assert dry.splitlines()[0] == (
        f"{PROGRAM}: would issue 7, not eligible 9, already certified 0, failed 0")
    assert "      - supervised injections: 14 of 20" in dry.splitlines()
    done = issuer.ok("credentials", "issue", "--program", PROGRAM, "--all-eligible")
    assert done.splitlines()[0] == f"{PROGRAM}: issued 7, not eligible 9, already certified 0, failed 0"
    issued = [line for line in done.splitlines() if line.startswith("  issued: ")]
    assert {line.split(": ", 1)[1].split(" (")[0] for line in issued} == ELIGIBLE
    again = issuer.ok("credentials", "issue", "--program", PROGRAM, "--all-eligible")
    assert again.splitlines()[0] == f"{PROGRAM}: issued 0, not eligible 9, already certified 7, failed 0"

    export = issuer.ok("records", "export")
    ids = {}
    with issuer.app() as app:
        from issuer.store.models import Practitioner
        rt = app.extensions["issuer"]
        with rt.sessions() as session:
            ids = {p.family_name: p.id for p in session.query(Practitioner)}
    assert len(list(csv.DictReader(io.StringIO(export)))) == 141  # as imported, no license-check rows
    not_ready = issuer.run("eligibility", ids["Johansson"], "--program", PROGRAM)
    assert not_ready.returncode == 1
    assert "[NOT MET] supervised injections: 14 of 20" in not_ready.stdout
    assert not_ready.stdout.splitlines()[-1] == "not eligible: 1 requirement(s) not met"
    ready = issuer.ok("eligibility", ids["Alvarez"], "--program", PROGRAM)
    assert "[met    ] supervised injections: 24 of 20" in ready
    assert ready.splitlines()[-1] == "eligible"
    single = issuer.run("credentials", "issue", "--program", PROGRAM, "--practitioner", ids["Park"])
    assert "practical exam not passed yet" in single.one_line_error()


def test_a_refused_line_writes_nothing_unless_skip_invalid(issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "bad.csv"
    path.write_bytes(to_csv(good_row(), good_row(license_number="EXAMPLE-RN-7", hours="-1")))
    refused = issuer.run("records", "import", str(path))
    assert refused.returncode == 1
    assert refused.stdout == "line 3: refused    hours: Input should be greater than 0\n"
    assert refused.stderr.strip().splitlines() == [
        "Error: 1 line(s) refused, nothing written (fix them, or import with --skip-invalid to write "
        "only the accepted lines)"]
    assert issuer.ok("records", "export").count("\n") == 1
    skipped = issuer.ok("records", "import", str(path), "--skip-invalid")
    assert skipped.splitlines()[-1] == "1 created, 0 updated, 0 unchanged, 1 refused (written)"
    assert issuer.ok("records", "export").count("\n") == 2


@pytest.mark.parametrize(("change", "field", "detail"), BAD_LINES)
def test_each_kind_of_bad_line_is_reported_by_the_dry_run(
    issuer: Issuer, tmp_path: Path, change: dict[str, str], field: str, detail: str  # noqa: F811
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(to_csv(good_row(date="2026-10-02"), good_row(**change)))
    result = issuer.invoke("records", "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    refused = [line for line in result.stdout.splitlines() if line.startswith("line 3: refused")]
    assert len(refused) == 1 and f"{field}: " in refused[0] and detail in refused[0]


def test_a_file_that_is_not_utf8_is_one_line_error(issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "latin1.csv"
    path.write_bytes(to_csv(good_row(given_name="Zoë")).replace("Zoë".encode(), "Zoë".encode("latin-1")))
    message = issuer.run("records", "import", str(path)).one_line_error()
    assert message.startswith("Error: the file is not UTF-8 (line 2: byte 0xEB at offset")


def test_formula_cells_are_exported_neutralised_and_duplicates_collapse(
    issuer: Issuer, tmp_path: Path  # noqa: F811
) -> None:
    path = tmp_path / "evil.csv"
    evil = '=HYPERLINK("http://evil.example","x")'
    path.write_bytes(to_csv(good_row(given_name=evil), good_row(given_name=evil)))
    out = issuer.ok("records", "import", str(path)).splitlines()
    assert out[1] == "line 3: unchanged  US-TX EXAMPLE-RN-5001 didactic  (same record as line 2)"
    exported = tmp_path / "out.csv"
    issuer.ok("records", "export", "--output", str(exported))
    [row] = list(csv.DictReader(io.StringIO(exported.read_text("utf-8"))))
    assert row["given_name"] == "'" + evil
    assert issuer.ok("records", "import", str(exported)).splitlines()[-1] == (
        "0 created, 0 updated, 1 unchanged, 0 refused (written)")


def test_a_10_mb_file_dry_run(issuer: Issuer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    if not issuer.database_url.startswith("sqlite"):
        pytest.skip("a dry run reads the database once; its backends are covered by the HTTP 10 MB import")
    path = tmp_path / "cohort-10mb.csv"
    rows = _big_file(path, 10 * 1000 * 1000)
    started = time.perf_counter()
    result = issuer.invoke("records", "import", str(path), "--dry-run")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        f"{rows // 9} created, {rows - rows // 9} updated, 0 unchanged, 0 refused (dry run, nothing written)")
    with capsys.disabled():
        print(f"\n10 MB dry run (CLI): {rows} rows in {elapsed:.1f} s ({rows / elapsed:.0f} rows/s)")
