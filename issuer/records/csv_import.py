"""Importing the CSV layout (all or nothing, per-line report) and exporting it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.context import IssuerContext
from issuer.errors import Conflict, IssuerError, ValidationFailed
from issuer.records import schemas
from issuer.records.csv_format import (
    COLUMNS,
    CSV_KINDS,
    RECORD_COLUMNS,
    ImportRefused,
    Line,
    Parsed,
    Report,
    decode,
    field_errors,
    neutralise,
    parse_row,
    record_key,
    rows,
    same_person,
)
from issuer.records.evidence import new_record
from issuer.records.practitioners import by_licenses, initial_license_check, license_of, new_practitioner
from issuer.store.db import refresh_statistics
from issuer.store.models import Practitioner, Record


def import_csv(
    session: Session,
    ctx: IssuerContext,
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
    parsed: list[Parsed | Line] = []
    for line, row in rows(text):
        result = parse_row(line, row)
        parsed.append(Line(line, "refused", errors=result) if isinstance(result, list) else result)

    # The same identity as the API's: one practitioner per license (jurisdiction, number).
    known = by_licenses(session, (p.key for p in parsed if isinstance(p, Parsed)))
    import_keys = {id(p): _keys_of(p) for p in parsed if isinstance(p, Parsed) and p.record is not None}
    on_file = _existing_import_keys(session, [k for k, _ in import_keys.values()])
    latest_check = {k: license_of(p).checked_on for k, p in known.items()}
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
        mismatch = same_person(person, item.person) if person is not None else []
        if mismatch:
            lines.append(Line(item.line, "refused", label, errors=mismatch))
            continue
        adds: list[Any] = []
        lic = item.person.license
        status = "updated"
        try:
            if person is None:
                status = "created"
                person = new_practitioner(item.person, now, actor)
                adds += [person, initial_license_check(person)]
            elif lic.checked_on > latest_check[item.key]:
                check = schemas.LicenseCheckIn(
                    kind="license_check", status=lic.status, expires_on=lic.expires_on,
                    checked_on=lic.checked_on, checked_source=lic.checked_source,
                )
                adds.append(new_record(session, ctx, person, check, actor))
        except IssuerError as exc:
            errors = field_errors(_as_validation(exc), {"checked_on": "license_checked_on"})
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
                    made = new_record(session, ctx, person, body, actor, import_key=import_key)
                except IssuerError as exc:
                    errors = field_errors(_as_validation(exc), {schemas.DATE_FIELDS[body.kind]: "date"})
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
    refresh_statistics(session, ["practitioners", "records"])  # PostgreSQL, after a large import
    session.commit()
    return Report(lines, dry_run=False, written=True)


def _as_validation(exc: IssuerError) -> ValidationFailed:
    return exc if isinstance(exc, ValidationFailed) else ValidationFailed(exc.detail)


def _keys_of(item: Parsed) -> tuple[str, str]:
    """(import key, content key) of the row's record."""
    body = item.record
    data = body.model_dump(mode="json", exclude={"program_id", "kind", "supersedes"}, exclude_none=True)
    program_id = body.program_id or ""
    return (
        record_key(item.key, program_id, body.kind, data, item.record_ref),
        record_key(item.key, program_id, body.kind, data, ""),
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
        record_key(key, r.program_id, r.kind, dict(r.data), "")
        for r in person.records
        if r.id not in replaced and r.kind != "license_check"
    }


def export_csv(session: Session, program_id: str | None = None) -> str:
    """Every practitioner and their current records, in the import layout (dangerous
    cells neutralised). Importing it again changes nothing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    people = session.scalars(select(Practitioner).order_by(Practitioner.created_at, Practitioner.id))
    for p in people:
        lic = license_of(p)
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
