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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer import schemas, service
from issuer.errors import Conflict, IssuerError, ValidationFailed
from issuer.models import Practitioner, Record

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


# --- reading the file ------------------------------------------------------------------------


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
            problems.append(f"unknown columns {unknown}")
        if missing:
            problems.append(f"missing columns {missing}")
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


# --- one row ------------------------------------------------------------------------------------


@dataclass
class _Parsed:
    line: int
    person: schemas.PractitionerIn
    record: Any  # a schemas.*In or None
    record_ref: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.person.license.jurisdiction, self.person.license.number)


def _errors(exc: ValidationFailed, mapping: dict[str, str]) -> list[dict[str, str]]:
    raw = exc.extensions.get("errors") or [{"field": "", "detail": exc.detail}]
    return [{"field": mapping.get(e["field"], e["field"]), "detail": e["detail"]} for e in raw]


def parse_row(line: int, row: dict[str, str]) -> _Parsed | list[dict[str, str]]:
    """Validate one row (pure): the parsed practitioner and record, or the errors."""
    errors: list[dict[str, str]] = []
    if "__extra__" in row:
        errors.append({"field": "", "detail": "more cells than header columns"})
    long = [n for n, v in row.items() if len(v) > MAX_CELL]
    errors += [{"field": n, "detail": f"longer than {MAX_CELL} characters"} for n in long]
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
        person = schemas.parse(schemas.PractitionerIn, person_body)
    except ValidationFailed as exc:
        errors += _errors(exc, _LICENSE_FIELDS)
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
                record = schemas.parse(schemas.RECORD_ADAPTER, body)
            except ValidationFailed as exc:
                for e in _errors(exc, {date_field: "date"}):
                    if e["detail"] == "Extra inputs are not permitted":
                        e["detail"] = f"not a field of {kind} records; leave it empty"
                    errors.append(e)
    elif any(row.get(n, "").strip() for n in RECORD_COLUMNS if n != "record_ref"):
        errors.append({"field": "kind", "detail": "required when record columns are filled"})
    if errors or person is None:
        return errors
    return _Parsed(line, person, record, row.get("record_ref", "").strip())


def _record_key(key: tuple[str, str], program_id: str, kind: str, data: dict[str, Any], ref: str) -> str:
    normal = json.dumps([list(key), program_id, kind, data, ref], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def _same_person(p: Practitioner | schemas.PractitionerIn, q: schemas.PractitionerIn) -> list[dict[str, str]]:
    problems = []
    for name in ("email", "given_name", "family_name", "profession"):
        mine, theirs = getattr(p, name), getattr(q, name)
        if (mine.lower() if name == "email" else mine) != (theirs.lower() if name == "email" else theirs):
            problems.append(
                {"field": name, "detail": f"differs from {mine!r} already registered for this license; "
                 "an import does not change practitioner details"}
            )
    return problems


# --- the import -------------------------------------------------------------------------------


def import_csv(
    session: Session,
    ctx: service.IssuerContext,
    raw: bytes,
    actor: str,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> Report:
    """Import ``raw`` (CSV bytes). Returns the per-line report.

    Raises :class:`ValidationFailed` if the file as a whole cannot be read (not UTF-8, bad
    header), :class:`ImportRefused` (with the report) for a real import with refused lines
    and no ``skip_invalid``; in both cases nothing is written.
    """
    text = decode(raw)
    parsed: list[_Parsed | Line] = []
    for line, row in rows(text):
        result = parse_row(line, row)
        parsed.append(Line(line, "refused", errors=result) if isinstance(result, list) else result)

    keys = {p.key for p in parsed if isinstance(p, _Parsed)}
    known = {
        k: p
        for p in session.scalars(select(Practitioner).order_by(Practitioner.created_at))
        if (k := (p.license_jurisdiction, p.license_number)) in keys
    }
    import_keys = {id(p): _keys_of(p) for p in parsed if isinstance(p, _Parsed) and p.record is not None}
    on_file = _existing_import_keys(session, [k for k, _ in import_keys.values()])
    latest_check = {k: service.license_of(p).checked_on for k, p in known.items()}
    contents = {k: _contents(p) for k, p in known.items()}

    lines: list[Line] = []
    new_people: dict[tuple[str, str], Practitioner] = {}
    seen_keys: dict[str, int] = {}
    pending: list[Any] = []
    now = ctx.now()
    for item in parsed:
        if isinstance(item, Line):
            lines.append(item)
            continue
        label = f"{item.key[0]} {item.key[1]}"
        person = known.get(item.key) or new_people.get(item.key)
        mismatch = _same_person(person, item.person) if person is not None else []
        if mismatch:
            lines.append(Line(item.line, "refused", label, errors=mismatch))
            continue
        adds: list[Any] = []
        lic = item.person.license
        status = "updated"
        try:
            if person is None:
                status = "created"
                person = service.new_practitioner(item.person, now, actor)
                adds += [person, service.initial_license_check(person)]
            elif lic.checked_on > latest_check[item.key]:
                check = schemas.LicenseCheckIn(
                    kind="license_check", status=lic.status, expires_on=lic.expires_on,
                    checked_on=lic.checked_on, checked_source=lic.checked_source,
                )
                adds.append(service.new_record(session, ctx, person, check, actor))
        except IssuerError as exc:
            errors = _errors(_as_validation(exc), {"checked_on": "license_checked_on"})
            lines.append(Line(item.line, "refused", label, errors=errors))
            continue
        note = ""
        record_id = None
        if item.record is not None:
            body = item.record
            import_key, content = import_keys[id(item)]
            if import_key in seen_keys:
                note = f"same record as line {seen_keys[import_key]}"
            elif import_key in on_file or (not item.record_ref and content in contents.get(item.key, set())):
                note = "record already on file"
            else:
                try:
                    made = service.new_record(session, ctx, person, body, actor, import_key=import_key)
                except IssuerError as exc:
                    errors = _errors(_as_validation(exc), {schemas.DATE_FIELDS[body.kind]: "date"})
                    lines.append(Line(item.line, "refused", label, errors=errors))
                    continue
                adds.append(made)
                record_id = made.id
                seen_keys[import_key] = item.line
        if status == "created":
            new_people[item.key] = person
        if lic.checked_on > latest_check.get(item.key, lic.checked_on) or status == "created":
            latest_check[item.key] = lic.checked_on
        if status == "updated" and not adds:
            status = "unchanged"
            note = note or "practitioner already on file"
        pending += adds
        kind = item.record.kind if item.record is not None else None
        lines.append(Line(item.line, status, label, person.id, kind, record_id, note))

    refused = any(line.status == "refused" for line in lines)
    if dry_run or (refused and not skip_invalid):
        session.rollback()
        report = Report(lines, dry_run=dry_run, written=False)
        if not dry_run:
            counts = report.counts()
            raise ImportRefused(
                f"{counts['refused']} line(s) refused, nothing written "
                "(fix them, or import with --skip-invalid to write only the accepted lines)",
                **report.as_dict(),
            )
        return report
    session.add_all(pending)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("another import wrote some of these records at the same time; run it again") from None
    return Report(lines, dry_run=False, written=True)


def _as_validation(exc: IssuerError) -> ValidationFailed:
    return exc if isinstance(exc, ValidationFailed) else ValidationFailed(exc.detail)


def _keys_of(item: _Parsed) -> tuple[str, str]:
    """(import key, content key) of the row's record."""
    body = item.record
    data = body.model_dump(mode="json", exclude={"program_id", "kind", "supersedes"}, exclude_none=True)
    program_id = body.program_id or ""
    return (
        _record_key(item.key, program_id, body.kind, data, item.record_ref),
        _record_key(item.key, program_id, body.kind, data, ""),
    )


def _existing_import_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(session.scalars(select(Record.import_key).where(Record.import_key.in_(chunk))))
    return found


def _contents(person: Practitioner) -> set[str]:
    """Content keys of the practitioner's current records on file (entered any way)."""
    key = (person.license_jurisdiction, person.license_number)
    replaced = {r.supersedes_id for r in person.records if r.supersedes_id}
    return {
        _record_key(key, r.program_id, r.kind, dict(r.data), "")
        for r in person.records
        if r.id not in replaced and r.kind != "license_check"
    }


# --- export -------------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def export_csv(session: Session, program_id: str | None = None) -> str:
    """Every practitioner and their current records, in the import layout (dangerous
    cells neutralised). Importing it again changes nothing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    people = session.scalars(select(Practitioner).order_by(Practitioner.created_at, Practitioner.id))
    for p in people:
        lic = service.license_of(p)
        person = [p.email, p.given_name, p.family_name, p.profession, lic.number, lic.jurisdiction,
                  lic.status, lic.expires_on.isoformat(), lic.checked_on.isoformat(), lic.checked_source]
        replaced = {r.supersedes_id for r in p.records if r.supersedes_id}
        records = [
            r for r in p.records
            if r.id not in replaced and r.kind in CSV_KINDS
            and (program_id is None or r.program_id in (program_id, ""))
        ]
        if not records:
            writer.writerow([neutralise(c) for c in person] + [""] * len(RECORD_COLUMNS))
        for r in records:
            cells = {"program_id": r.program_id, "kind": r.kind, "date": r.completed_on.isoformat()}
            for name, value in r.data.items():
                if name in RECORD_COLUMNS:
                    cells[name] = "true" if value is True else "false" if value is False else str(value)
            writer.writerow(
                [neutralise(c) for c in person] + [neutralise(cells.get(n, "")) for n in RECORD_COLUMNS]
            )
    return out.getvalue()
