"""Bulk import and export of practitioners and completion records as CSV.

One layout (``docs/import-template.csv``, described in ``docs/records-and-rules.md``):
practitioner columns, then one record per row. A practitioner is known by its license
(jurisdiction + number); a row whose license columns carry a newer check than the one on
file adds a ``license_check`` record. A record is known by a hash of its normalized row
(``Record.import_key``), and a row identical to a current record already on file adds
nothing, so importing the same file twice, or re-importing an export, creates no
duplicates.

:func:`import_csv` validates every line before it writes anything, in one transaction:
a dry run reports and writes nothing; a real import with any refused line writes nothing
unless ``skip_invalid`` is set, and then writes exactly the accepted lines.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from issuer.errors import ValidationFailed
from issuer.records import schemas, untrusted
from issuer.store.models import Practitioner

PRACTITIONER_COLUMNS = (
    "email",
    "given_name",
    "family_name",
    "profession",
    "license_number",
    "license_jurisdiction",
    "license_status",
    "license_expires_on",
    "license_checked_on",
    "license_checked_source",
)


RECORD_COLUMNS = (
    "program_id",
    "kind",
    "date",
    "module",
    "hours",
    "supervised_injections",
    "live_models",
    "supervisor",
    "supervisor_credential",
    "score",
    "max_score",
    "passed",
    "examiner",
    "credits",
    "provider",
    "credit_type",
    "physician_name",
    "physician_license_number",
    "physician_jurisdiction",
    "record_ref",
)


COLUMNS = PRACTITIONER_COLUMNS + RECORD_COLUMNS


#: Record kinds a CSV row may carry (license checks come from the license columns).
CSV_KINDS = ("didactic", "hands_on", "written_exam", "practical_exam", "ce_credits", "supervision")


MAX_ROWS = 200_000


MAX_CELL = 1_000


#: Cells an export prefixes with ``'`` so a spreadsheet never runs them as a formula
#: (OWASP "CSV Injection"); an import strips that one prefix again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


_LICENSE_FIELDS = {
    "email": "email",
    "given_name": "given_name",
    "family_name": "family_name",
    "profession": "profession",
    "license.number": "license_number",
    "license.jurisdiction": "license_jurisdiction",
    "license.status": "license_status",
    "license.expires_on": "license_expires_on",
    "license.checked_on": "license_checked_on",
    "license.checked_source": "license_checked_source",
}


@dataclass
class Line:
    """What the import did, or would do, with one line of the file."""

    line: int
    status: str  # created | updated | unchanged | refused
    license: str = ""
    practitioner_id: str | None = None
    kind: str | None = None
    record_id: str | None = None
    note: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "line": self.line,
            "status": self.status,
            "license": self.license,
            "practitioner_id": self.practitioner_id,
            "kind": self.kind,
            "record_id": self.record_id,
            "note": self.note,
            "errors": self.errors,
        }

    def text(self) -> str:
        """One line for the command line."""
        if self.status == "refused":
            reasons = "; ".join(f"{e['field']}: {e['detail']}" for e in self.errors)
            return f"line {self.line}: refused    {reasons}"
        what = f"{self.license} {self.kind or 'practitioner'}"
        return f"line {self.line}: {self.status:9}  {what}{'  (' + self.note + ')' if self.note else ''}"


@dataclass
class Report:
    """The per-line outcome of an import and whether anything was written."""

    lines: list[Line]
    dry_run: bool
    written: bool

    def counts(self) -> dict[str, int]:
        """How many lines of each status."""
        out = {"created": 0, "updated": 0, "unchanged": 0, "refused": 0}
        for line in self.lines:
            out[line.status] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "dry_run": self.dry_run,
            "written": self.written,
            "summary": self.counts(),
            "lines": [line.as_dict() for line in self.lines],
        }


class ImportRefused(ValidationFailed):
    """Some lines were refused, so nothing was written (use a dry run to see why)."""

    code = "import-refused"
    title = "Some lines of the file were refused; nothing was written"


def decode(raw: bytes) -> str:
    """The file as text: UTF-8 (a byte-order mark is allowed). Anything else is refused
    with the line and byte offset of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        detail = (
            f"line {line}: byte 0x{raw[exc.start]:02X} at offset {exc.start} is not UTF-8; "
            "save the file as CSV UTF-8"
        )
        raise ValidationFailed(
            f"the file is not UTF-8 ({detail})", errors=[{"line": str(line), "field": "", "detail": detail}]
        ) from None


def _unneutralise(cell: str) -> str:
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell


#: At most this many column names are listed in a header problem (a hostile header may have
#: hundreds of thousands: the answer must not grow with it).
LISTED_COLUMNS = 10


def _some(names: list[str]) -> str:
    """``names`` for a message: the first :data:`LISTED_COLUMNS`, each cut to 40 characters."""
    shown = [n if len(n) <= 40 else n[:40] + "..." for n in names[:LISTED_COLUMNS]]
    more = len(names) - len(shown)
    return repr(shown) + (f" and {more} more" if more else "")


def rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: cell})`` per data row; the header is checked first."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed("the file is empty; the first line must be the header") from None
    except csv.Error as exc:
        raise ValidationFailed(f"line 1: {exc}") from None
    names = [h.strip() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = [n for n in PRACTITIONER_COLUMNS + ("program_id", "kind", "date") if n not in names]
    if unknown or missing or len(set(names)) != len(names):
        problems = []
        if unknown:
            problems.append(f"unknown columns {_some(unknown)}")
        if missing:
            problems.append(f"missing columns {_some(missing)}")
        if len(set(names)) != len(names):
            problems.append("a column appears twice")
        raise ValidationFailed(
            "line 1 (header): " + "; ".join(problems) + " (see docs/import-template.csv)",
            errors=[{"line": "1", "field": "header", "detail": "; ".join(problems)}],
        )
    start = reader.line_num + 1
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationFailed(f"line {start}: cannot read the CSV ({exc})") from None
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise ValidationFailed(f"the file has more than {MAX_ROWS} rows; split it")
        yield line, {
            name: _unneutralise(cells[i]) if i < len(cells) else "" for i, name in enumerate(names)
        } | ({"__extra__": "x"} if len(cells) > len(names) else {})


@dataclass
class Parsed:
    line: int
    person: schemas.PractitionerIn
    record: Any  # a schemas.*In or None
    record_ref: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.person.license.jurisdiction, self.person.license.number)


def field_errors(exc: ValidationFailed, mapping: dict[str, str]) -> list[dict[str, str]]:
    raw = exc.extensions.get("errors") or [{"field": "", "detail": exc.detail}]
    return [{"field": mapping.get(e["field"], e["field"]), "detail": e["detail"]} for e in raw]


def parse_row(line: int, row: dict[str, str]) -> Parsed | list[dict[str, str]]:
    """Validate one row (pure): the parsed practitioner and record, or the errors."""
    errors: list[dict[str, str]] = []
    if "__extra__" in row:
        errors.append({"field": "", "detail": "more cells than header columns"})
    long = [n for n, v in row.items() if len(v) > MAX_CELL]
    errors += [{"field": n, "detail": f"longer than {MAX_CELL} characters"} for n in long]
    errors += [{"field": n, "detail": untrusted.NUL_DETAIL} for n, v in row.items() if untrusted.NUL in v]
    if errors:
        return errors
    person_body = {n: row[n].strip() for n in ("email", "given_name", "family_name", "profession")}
    person_body["license"] = {  # type: ignore[assignment]
        "number": row["license_number"].strip(),
        "jurisdiction": row["license_jurisdiction"].strip(),
        "status": row["license_status"].strip(),
        "expires_on": row["license_expires_on"].strip(),
        "checked_on": row["license_checked_on"].strip(),
        "checked_source": row["license_checked_source"].strip(),
    }
    person = None
    try:
        person = schemas.parse(schemas.PractitionerIn, person_body, strict=False)
    except ValidationFailed as exc:
        errors += field_errors(exc, _LICENSE_FIELDS)
    kind = row["kind"].strip()
    record: Any = None
    if kind:
        if kind not in CSV_KINDS:
            known = ", ".join(CSV_KINDS)
            errors.append({"field": "kind", "detail": f"unknown kind {kind!r} (use one of {known})"})
        else:
            date_field = schemas.DATE_FIELDS[kind]
            body: dict[str, Any] = {"kind": kind, date_field: row["date"].strip()}
            if row["program_id"].strip() or kind not in schemas.PRACTITIONER_KINDS:
                body["program_id"] = row["program_id"].strip()
            for name in RECORD_COLUMNS:
                if name in ("program_id", "kind", "date", "record_ref"):
                    continue
                value = row.get(name, "").strip()
                if value:
                    body[name] = value
            try:
                record = schemas.parse(schemas.RECORD_ADAPTER, body, strict=False)
            except ValidationFailed as exc:
                for e in field_errors(exc, {date_field: "date"}):
                    if e["detail"] == "Extra inputs are not permitted":
                        e["detail"] = f"not a field of {kind} records; leave it empty"
                    errors.append(e)
    elif any(row.get(n, "").strip() for n in RECORD_COLUMNS if n != "record_ref"):
        errors.append({"field": "kind", "detail": "required when record columns are filled"})
    if errors or person is None:
        return errors
    return Parsed(line, person, record, row.get("record_ref", "").strip())


def record_key(key: tuple[str, str], program_id: str, kind: str, data: dict[str, Any], ref: str) -> str:
    normal = json.dumps([list(key), program_id, kind, data, ref], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def same_person(p: Practitioner | schemas.PractitionerIn, q: schemas.PractitionerIn) -> list[dict[str, str]]:
    problems = []
    for name in ("email", "given_name", "family_name", "profession"):
        mine, theirs = getattr(p, name), getattr(q, name)
        if (mine.lower() if name == "email" else mine) != (theirs.lower() if name == "email" else theirs):
            problems.append(
                {"field": name, "detail": f"differs from {mine!r} already registered for this license; "
                 "an import does not change practitioner details"}
            )
    return problems


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
