"""``issuer credentials``: issue (one or all eligible), revoke, suspend, reinstate, renew
and re-issue."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import click

from issuer.cli.base import main, opened
from issuer.credentials import bulk, bulk_signing, issuance, status_changes, supersession
from vc.protocol import CATEGORIES


@main.group()
def credentials() -> None:
    """Issue, revoke, suspend and reinstate credentials."""


@credentials.command("issue")
@click.option("--program", "program_id", required=True, help="Program id.")
@click.option("--all-eligible", is_flag=True, help="Everyone eligible without a current credential.")
@click.option("--practitioner", "practitioner_id", default=None, help="One practitioner.")
@click.option("--dry-run", is_flag=True, help="With --all-eligible: say who would get one; issue nothing.")
@click.option("--batch-size", type=click.IntRange(1, bulk.MAX_BATCH_SIZE), default=None,
              help=f"With --all-eligible: practitioners per transaction (default {bulk.DEFAULT_BATCH_SIZE}).")
@click.option("--progress", "show_progress", is_flag=True,
              help="With --all-eligible: show progress on stderr even when it is not a terminal.")
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="With --all-eligible: processes that check the rules and sign while this one reads "
                   "and writes the database (default: one per core when there are several; 0: all in "
                   "this process).")
def credentials_issue(
    program_id: str, all_eligible: bool, practitioner_id: str | None, dry_run: bool, batch_size: int | None,
    show_progress: bool, workers: int | None,
) -> None:
    """Issue credentials: to one practitioner, or to --all-eligible with a summary.

    --all-eligible commits one batch at a time: if it is interrupted, the credentials of the
    batches before stay issued (each with its status entries and audit entry) and running
    it again issues the ones still missing. Its --workers processes only check and sign;
    which credentials exist is decided by this process's transactions, as without them.
    """
    if all_eligible == (practitioner_id is not None):
        raise click.ClickException("give either --all-eligible or --practitioner ID")
    if (dry_run or batch_size is not None or show_progress or workers is not None) and not all_eligible:
        raise click.ClickException(
            "--dry-run, --batch-size, --progress and --workers go with --all-eligible; "
            "use 'issuer eligibility' for one")
    with opened() as rt, rt.sessions() as session:
        if practitioner_id is not None:
            row = issuance.issue(session, rt.ctx, practitioner_id, program_id, "cli")
            click.echo(f"issued {row.id}: {rt.ctx.holder_url(row.id)}")
            return
        with _progress_display(show_progress, "checking" if dry_run else "issuing") as progress:
            summary = bulk.issue_all_eligible(
                session, rt.ctx, program_id, "cli", dry_run=dry_run, batch_size=batch_size, progress=progress,
                workers=bulk_signing.default_workers() if workers is None else workers)
    for line in summary.text():
        click.echo(line)


@contextmanager
def _progress_display(forced: bool, label: str) -> Iterator[bulk.Progress | None]:
    """Progress of a bulk run on stderr (stdout keeps the summary): a bar when stderr is a
    terminal; with ``forced`` and no terminal, one line per batch (a redrawn bar would fill a
    log with carriage returns); otherwise nothing."""
    if not sys.stderr.isatty():
        if not forced:
            yield None
            return

        def lines(done: int, total: int) -> None:
            click.echo(f"{label}: {done:,} of {total:,} practitioners", err=True)

        yield lines
        return
    with ExitStack() as stack:
        bars: list[Any] = []  # click's ProgressBar, made once the total is known

        def advance(done: int, total: int) -> None:
            if not bars:
                bars.append(stack.enter_context(
                    click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)))
            bars[0].update(done - bars[0].pos)

        yield advance


def _change(
    credential_id: str, action: str, reason: str | None, category: str | None = None, note: str | None = None
) -> None:
    with opened() as rt, rt.sessions() as session:
        row = status_changes.change_status(
            session, rt.ctx, credential_id, action, reason, "cli", category=category, note=note
        )
    click.echo(f"credential {row.id} is now {row.status}")


_CATEGORY_HELP = "Public reason category: " + ", ".join(CATEGORIES)


@credentials.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why (kept with the credential, staff only).")
@click.option("--category", default=None, help=_CATEGORY_HELP)
@click.option("--note", default=None, help="Private note (staff and audit log only).")
def credentials_revoke(credential_id: str, reason: str, category: str | None, note: str | None) -> None:
    """Revoke a credential for good."""
    _change(credential_id, "revoke", reason, category, note)


@credentials.command("suspend")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why (kept with the credential, staff only).")
@click.option("--category", default=None, help=_CATEGORY_HELP)
@click.option("--note", default=None, help="Private note (staff and audit log only).")
def credentials_suspend(credential_id: str, reason: str, category: str | None, note: str | None) -> None:
    """Suspend a credential until reinstated."""
    _change(credential_id, "suspend", reason, category, note)


@credentials.command("reinstate")
@click.argument("credential_id")
@click.option("--reason", default=None, help="Why (kept with the credential).")
def credentials_reinstate(credential_id: str, reason: str | None) -> None:
    """Lift a suspension."""
    _change(credential_id, "reinstate", reason)


@credentials.command("reissue")
@click.argument("credential_id", required=False)
@click.option("--kid", default=None, help="Re-issue every still-valid credential signed with this key.")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
def credentials_reissue(credential_id: str | None, kid: str | None, reason: str | None) -> None:
    """Re-sign CREDENTIAL_ID, or every still-valid credential of --kid, with the active key."""
    if (credential_id is None) == (kid is None):
        raise click.ClickException("give either a credential id or --kid")
    with opened() as rt, rt.sessions() as session:
        if kid is not None:
            pairs = supersession.reissue_for_kid(session, rt.ctx, kid, "cli", reason)
        else:
            assert credential_id is not None
            pairs = [(credential_id, supersession.reissue(session, rt.ctx, credential_id, "cli", reason).id)]
    for old, new in pairs:
        click.echo(f"{old} -> {new}")
    click.echo(f"{len(pairs)} credential(s) re-issued with key {rt.ctx.signer.kid}")


@credentials.command("renew")
@click.argument("credential_id")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
def credentials_renew(credential_id: str, reason: str | None) -> None:
    """Issue a renewed credential (eligibility checked again) that supersedes CREDENTIAL_ID."""
    with opened() as rt, rt.sessions() as session:
        row = supersession.renew(session, rt.ctx, credential_id, "cli", reason)
    click.echo(f"{credential_id} -> {row.id} (valid until {row.valid_until:%Y-%m-%d})")
