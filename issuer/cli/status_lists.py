"""``issuer status-lists``: check the published status lists against the credential
statuses, and re-sign those that differ (:func:`issuer.credentials.status_lists.check_lists`)."""

from __future__ import annotations

import click

from issuer.cli.base import main, opened
from issuer.credentials import status_lists
from issuer.credentials.status_lists import ListCheck

#: Indexes named per list on the screen (the audit entry keeps up to 100).
SHOWN = 10


@main.group("status-lists")
def status_lists_group() -> None:
    """The published status lists (revocation, suspension, refresh)."""


def _finding(check: ListCheck) -> str:
    if check.unreadable:
        what = "its stored token gives no bits"
    else:
        shown = ", ".join(str(i) for i in check.differing[:SHOWN])
        more = ", ..." if len(check.differing) > SHOWN else ""
        what = f"{len(check.differing)} bit(s) differ from the credential statuses (index {shown}{more})"
    return f"{check.purpose} list {check.list_id}: {what}{'; re-signed' if check.repaired else ''}"


@status_lists_group.command("verify")
@click.option("--repair", is_flag=True,
              help="Re-sign each list that differs from the credential statuses (audited).")
def status_lists_verify(repair: bool) -> None:
    """Compare every list's signed bits with the credential statuses; exits 1 if one
    differs, unless --repair re-signed it."""
    with opened(signing=repair) as rt, (rt.sessions() if repair else rt.readers()) as session:
        checks = status_lists.check_lists(session, rt.ctx, repair=repair)
    differing = [check for check in checks if not check.ok]
    for check in differing:
        click.echo(_finding(check))
    if differing and not repair:
        raise click.ClickException(
            f"{len(differing)} of {len(checks)} status lists differ from the credential statuses; "
            "'issuer status-lists verify --repair' re-signs them")
    if repair:
        click.echo(f"{len(checks)} status lists checked, {len(differing)} re-signed")
    else:
        click.echo(f"{len(checks)} status lists checked: each says what the credential statuses say")
