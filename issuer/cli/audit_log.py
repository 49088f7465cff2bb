"""``issuer audit``: verify the hash chain, export the entries."""

from __future__ import annotations

from typing import TextIO, cast

import click

from issuer import audit
from issuer.cli.base import main, opened


@main.group("audit")
def audit_group() -> None:
    """The append-only, hash-chained audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the whole chain; names the first broken entry and exits 1 if any."""
    with opened(signing=False) as rt, rt.sessions() as session:
        report = audit.verify(session)
    if not report.ok:
        raise click.ClickException(f"audit log broken at entry {report.broken_seq}: {report.problem}")
    click.echo(f"audit log intact: {report.checked} entries")


@audit_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write (default: standard output).")
def audit_export(output: str) -> None:
    """Write every entry as JSON lines (with its hash)."""
    with (
        opened(signing=False) as rt,
        rt.sessions() as session,
        click.open_file(output, "w", encoding="utf-8") as out,
    ):
        count = audit.export(session, cast(TextIO, out))
    if output != "-":
        click.echo(f"{count} entries written to {output}")
