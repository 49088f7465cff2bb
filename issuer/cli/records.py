"""Records: ``eligibility`` of one practitioner, and the CSV ``records import|export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from issuer.cli.base import main, opened
from issuer.credentials import candidates
from issuer.records import csv_format, csv_import


@main.command()
@click.argument("practitioner_id")
@click.option("--program", "program_id", required=True, help="Program id, e.g. botox-cosmetic-injector.")
def eligibility(practitioner_id: str, program_id: str) -> None:
    """List every requirement of PROGRAM for a practitioner, met or not, with the numbers.
    Exits 0 when eligible, 1 when not."""
    with opened(signing=False) as rt, rt.sessions() as session:
        outcomes = candidates.eligibility(session, rt.ctx, practitioner_id, program_id)
    unmet = [o for o in outcomes if not o.ok]
    for outcome in outcomes:
        click.echo(f"[{'met' if outcome.ok else 'NOT MET':7}] {outcome.detail}")
    click.echo(f"{'eligible' if not unmet else f'not eligible: {len(unmet)} requirement(s) not met'}")
    if unmet:
        sys.exit(1)


@main.group()
def records() -> None:
    """Import and export practitioners and completion records (CSV)."""


@records.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Report per line what would happen; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the accepted lines even if some are refused.")
def records_import(file: str, dry_run: bool, skip_invalid: bool) -> None:
    """Import FILE (the CSV layout of docs/import-template.csv) in one transaction.

    Prints one line per row: created, updated, unchanged, or refused with the field and
    the reason. With any refused line nothing is written unless --skip-invalid is given.
    """
    with opened(signing=False) as rt, rt.sessions() as session:
        try:
            report = csv_import.import_csv(
                session, rt.ctx, Path(file).read_bytes(), "cli", dry_run=dry_run, skip_invalid=skip_invalid
            )
        except csv_format.ImportRefused as exc:  # the refused lines first, then the one-line error
            for line in exc.extensions["lines"]:
                if line["status"] == "refused":
                    click.echo(csv_format.Line(**line).text())
            raise
    for line in report.lines:
        click.echo(line.text())
    counts = report.counts()
    state = "dry run, nothing written" if dry_run else "written" if report.written else "nothing written"
    click.echo(
        f"{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{counts['refused']} refused ({state})"
    )


@records.command("export")
@click.option("--program", "program_id", default=None, help="Only records of this program.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
def records_export(program_id: str | None, output: str | None) -> None:
    """Export practitioners and current records in the import layout (formula cells neutralised)."""
    with opened(signing=False) as rt, rt.sessions() as session:
        if program_id is not None:
            rt.ctx.program(program_id)
        text = csv_import.export_csv(session, program_id)
    if output:
        Path(output).write_text(text, "utf-8", newline="")
    else:
        click.echo(text, nl=False)
