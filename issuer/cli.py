"""The ``issuer`` command line. Errors print one line to stderr and exit non-zero."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

import click

from issuer import config as config_module
from issuer.db import upgrade
from issuer.errors import IssuerError
from issuer.runtime import Runtime, open_runtime
from keys import ALGORITHMS, KeyStore, KeyStoreError


def _config() -> config_module.Config:
    try:
        return config_module.load()
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc


def _runtime() -> Runtime:
    try:
        return open_runtime(_config())
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc


@contextmanager
def _opened() -> Iterator[Runtime]:
    """A runtime whose database connections are closed afterwards (commands may run in-process)."""
    rt = _runtime()
    try:
        yield rt
    finally:
        rt.engine.dispose()


def _keystore() -> KeyStore:
    settings = _config()
    return KeyStore(settings.keys_dir, settings.key_passphrase)


@click.group()
def main() -> None:
    """Issue and manage Botox injector certification credentials."""


@main.command()
def init() -> None:
    """Create or upgrade the database and create a signing key if there is none."""
    settings = _config()
    try:
        upgrade(settings.resolved_database_url)
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one line
        raise click.ClickException(f"database upgrade failed: {exc}") from exc
    store = KeyStore(settings.keys_dir, settings.key_passphrase)
    try:
        store.check_permissions()
        store.public_jwks()  # every existing key must open with this passphrase
        has_active = any(r.state == "active" for r in store.records())
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if not has_active:
        from issuer import lifecycle

        rt = _key_runtime()
        try:
            with rt.sessions() as session:
                record = lifecycle.new_active_key(
                    session, rt.ctx, settings.signing_alg, "cli", "key_generate"
                )
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
        finally:
            rt.engine.dispose()
        click.echo(f"created signing key {record.kid} ({record.alg}) in {settings.keys_dir}")
    click.echo(f"database ready at {settings.resolved_database_url}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, threads: int) -> None:
    """Serve the issuer with a production WSGI server (waitress)."""
    import waitress

    from issuer import create_app

    try:
        app = create_app()
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"issuer listening on http://{host}:{port}")
    waitress.serve(app, host=host, port=port, threads=threads, ident="issuer")


@main.group()
def token() -> None:
    """API bearer tokens."""


@token.command("create")
@click.option("--role", required=True, metavar="[admin|certifier|registrar]")
@click.option("--label", default="", help="Who or what the token is for.")
def token_create(role: str, label: str) -> None:
    """Print a new token once; only its hash is stored."""
    from issuer import service

    # Checked here, not with click.Choice, so a wrong role is one line, like every error.
    if role not in service.ROLES:
        raise click.ClickException(
            f"unknown role {role!r} (use one of {', '.join(sorted(service.ROLES))})"
        )
    rt = _runtime()
    with rt.sessions() as session:
        try:
            secret = service.create_token(session, rt.ctx, role, label or f"{role} token")
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
    click.echo(secret)


@main.group()
def staff() -> None:
    """Staff accounts of the web console (/console)."""


@staff.command("create")
@click.option("--email", required=True, help="The staff member's e-mail address (their login).")
@click.option("--role", required=True, metavar="[admin|certifier|registrar]")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a console account; the password is asked for (or read with --password-stdin)."""
    from issuer import staff as staff_accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    rt = _runtime()
    with rt.sessions() as session:
        try:
            account = staff_accounts.create_account(session, rt.ctx, email, role, password)
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
    click.echo(f"staff account {account.email} ({account.role}) created")


@main.group()
def keys() -> None:
    """Signing keys."""


@keys.command("list")
def keys_list() -> None:
    """List keys: kid, algorithm, state, creation time."""
    try:
        records = _keystore().records()
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if not records:
        click.echo("no keys; run 'issuer init'")
    for record in records:
        click.echo(f"{record.kid}  {record.alg:6} {record.state:11} {record.created_at}")


@keys.command("generate")
@click.option("--alg", type=click.Choice(list(ALGORITHMS)), default=None)
def keys_generate(alg: str | None) -> None:
    """Create a key and make it the active signing key."""
    _new_key(alg, "key_generate")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(list(ALGORITHMS)), default=None)
def keys_rotate(alg: str | None) -> None:
    """Make a new active key; earlier keys stay published while credentials they signed are valid."""
    _new_key(alg, "key_rotate")


def _key_runtime() -> Runtime:
    """A runtime for key commands: opens even when no key is active (after a retire)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from issuer import lifecycle
    from issuer.db import make_engine, make_sessionmaker
    from issuer.models import AuditEntry
    from issuer.programs import load_programs
    from issuer.runtime import system_clock
    from issuer.service import IssuerContext

    settings = _config()
    store = KeyStore(settings.keys_dir, settings.key_passphrase)
    try:
        store.check_permissions()
        store.public_jwks()  # every key must open with this passphrase
        programs = load_programs(settings.programs)
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc
    keyring = lifecycle.KeyRing(store)
    try:
        signer = keyring.signer()
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc
    engine = make_engine(settings.resolved_database_url)
    try:  # key events are audited: make sure the log can be written before changing a key
        with engine.connect() as conn:
            conn.execute(select(AuditEntry.seq).limit(1))
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(exc).splitlines()[0]
        raise click.ClickException(f"database not ready ({reason}): run 'issuer init' first") from exc
    ctx = IssuerContext(config=settings, programs=programs, keystore=store, signer=signer, clock=system_clock)
    return Runtime(ctx=ctx, engine=engine, sessions=make_sessionmaker(engine), jwks={}, keyring=keyring)


def _new_key(alg: str | None, action: str) -> None:
    from issuer import lifecycle

    rt = _key_runtime()
    try:
        with rt.sessions() as session:
            alg = alg or rt.ctx.config.signing_alg
            record = lifecycle.new_active_key(session, rt.ctx, alg, "cli", action)
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        rt.engine.dispose()
    click.echo(
        f"active signing key is now {record.kid} ({record.alg}); "
        "running issuers use it from their next request"
    )


@keys.command("retire")
@click.argument("kid")
def keys_retire(kid: str) -> None:
    """Stop signing with KID (it stays in the JWK Set while credentials it signed are valid)."""
    from issuer import lifecycle

    rt = _key_runtime()
    try:
        with rt.sessions() as session:
            record = lifecycle.retire_key(session, rt.ctx, kid, "cli")
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        rt.engine.dispose()
    click.echo(f"key {record.kid} is retired")


@main.command()
@click.argument("practitioner_id")
@click.option("--program", "program_id", required=True, help="Program id, e.g. botox-cosmetic-injector.")
def eligibility(practitioner_id: str, program_id: str) -> None:
    """List every requirement of PROGRAM for a practitioner, met or not, with the numbers.
    Exits 0 when eligible, 1 when not."""
    from issuer import service

    with _opened() as rt, rt.sessions() as session:
        try:
            outcomes = service.eligibility(session, rt.ctx, practitioner_id, program_id)
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
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
    from pathlib import Path

    from issuer import imports

    with _opened() as rt, rt.sessions() as session:
        try:
            report = imports.import_csv(
                session, rt.ctx, Path(file).read_bytes(), "cli", dry_run=dry_run, skip_invalid=skip_invalid
            )
        except imports.ImportRefused as exc:
            for line in exc.extensions["lines"]:
                if line["status"] == "refused":
                    click.echo(imports.Line(**line).text())
            raise click.ClickException(exc.detail) from exc
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
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
    from pathlib import Path

    from issuer import imports

    with _opened() as rt, rt.sessions() as session:
        try:
            if program_id is not None:
                rt.ctx.program(program_id)
            text = imports.export_csv(session, program_id)
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
    if output:
        Path(output).write_text(text, "utf-8", newline="")
    else:
        click.echo(text, nl=False)


@keys.command("compromised")
@click.argument("kid")
@click.option("--reason", default=None, help="What happened (kept in the audit log).")
def keys_compromised(kid: str, reason: str | None) -> None:
    """Withdraw KID from the JWK Set at once and list the credentials it signed."""
    from issuer import lifecycle

    rt = _key_runtime()
    try:
        with rt.sessions() as session:
            done = lifecycle.compromise_key(session, rt.ctx, kid, "cli", reason)
            now = rt.ctx.now()
            lines = [
                f"{row.id}  {row.status:10} valid until {row.valid_until:%Y-%m-%d}"
                + ("  (expired)" if row.valid_until <= now else "")
                for row in done.affected
            ]
    except KeyStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    except IssuerError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        rt.engine.dispose()
    click.echo(f"key {kid} is compromised and no longer published; its credentials verify as not authentic")
    if done.new_active is not None:
        click.echo(f"new active signing key: {done.new_active.kid} ({done.new_active.alg})")
    click.echo(f"{len(lines)} credential(s) signed with it:")
    for line in lines:
        click.echo(line)
    if lines:
        click.echo(f"re-sign the still-valid ones: issuer credentials reissue --kid {kid}")


@main.group()
def credentials() -> None:
    """Issue, revoke, suspend and reinstate credentials."""


@credentials.command("issue")
@click.option("--program", "program_id", required=True, help="Program id.")
@click.option("--all-eligible", is_flag=True, help="Everyone eligible without a current credential.")
@click.option("--practitioner", "practitioner_id", default=None, help="One practitioner.")
@click.option("--dry-run", is_flag=True, help="With --all-eligible: say who would get one; issue nothing.")
def credentials_issue(
    program_id: str, all_eligible: bool, practitioner_id: str | None, dry_run: bool
) -> None:
    """Issue credentials: to one practitioner, or to --all-eligible with a summary."""
    from issuer import bulk, service

    if all_eligible == (practitioner_id is not None):
        raise click.ClickException("give either --all-eligible or --practitioner ID")
    if dry_run and not all_eligible:
        raise click.ClickException("--dry-run goes with --all-eligible; use 'issuer eligibility' for one")
    with _opened() as rt, rt.sessions() as session:
        try:
            if practitioner_id is not None:
                row = service.issue(session, rt.ctx, practitioner_id, program_id, "cli")
                click.echo(f"issued {row.id}: {rt.ctx.holder_url(row.id)}")
                return
            summary = bulk.issue_all_eligible(session, rt.ctx, program_id, "cli", dry_run=dry_run)
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
    for line in summary.text():
        click.echo(line)


def _change(
    credential_id: str, action: str, reason: str | None, category: str | None = None, note: str | None = None
) -> None:
    from issuer import service

    with _opened() as rt, rt.sessions() as session:
        try:
            row = service.change_status(
                session, rt.ctx, credential_id, action, reason, "cli", category=category, note=note
            )
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
    click.echo(f"credential {row.id} is now {row.status}")


_CATEGORY_HELP = "Public reason category: " + ", ".join(
    ["training_requirements_not_met", "license_action", "issued_in_error", "fraud", "holder_request",
     "administrative", "unspecified"]
)


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


@credentials.command("reissue")
@click.argument("credential_id", required=False)
@click.option("--kid", default=None, help="Re-issue every still-valid credential signed with this key.")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
def credentials_reissue(credential_id: str | None, kid: str | None, reason: str | None) -> None:
    """Re-sign CREDENTIAL_ID, or every still-valid credential of --kid, with the active key."""
    from issuer import lifecycle

    if (credential_id is None) == (kid is None):
        raise click.ClickException("give either a credential id or --kid")
    rt = _runtime()
    with rt.sessions() as session:
        try:
            if kid is not None:
                pairs = lifecycle.reissue_for_kid(session, rt.ctx, kid, "cli", reason)
            else:
                assert credential_id is not None
                pairs = [(credential_id, lifecycle.reissue(session, rt.ctx, credential_id, "cli", reason).id)]
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
    for old, new in pairs:
        click.echo(f"{old} -> {new}")
    click.echo(f"{len(pairs)} credential(s) re-issued with key {rt.ctx.signer.kid}")


@credentials.command("renew")
@click.argument("credential_id")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
def credentials_renew(credential_id: str, reason: str | None) -> None:
    """Issue a renewed credential (eligibility checked again) that supersedes CREDENTIAL_ID."""
    from issuer import lifecycle

    rt = _runtime()
    with rt.sessions() as session:
        try:
            row = lifecycle.renew(session, rt.ctx, credential_id, "cli", reason)
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
    click.echo(f"{credential_id} -> {row.id} (valid until {row.valid_until:%Y-%m-%d})")


@main.group("audit")
def audit_group() -> None:
    """The append-only, hash-chained audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the whole chain; names the first broken entry and exits 1 if any."""
    from issuer import audit

    rt = _runtime()
    with rt.sessions() as session:
        report = audit.verify(session)
    if not report.ok:
        raise click.ClickException(f"audit log broken at entry {report.broken_seq}: {report.problem}")
    click.echo(f"audit log intact: {report.checked} entries")


@audit_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write (default: standard output).")
def audit_export(output: str) -> None:
    """Write every entry as JSON lines (with its hash)."""
    from issuer import audit

    rt = _runtime()
    with rt.sessions() as session, click.open_file(output, "w", encoding="utf-8") as out:
        count = audit.export(session, cast(TextIO, out))
    if output != "-":
        click.echo(f"{count} entries written to {output}")


@credentials.command("reinstate")
@click.argument("credential_id")
@click.option("--reason", default=None, help="Why (kept with the credential).")
def credentials_reinstate(credential_id: str, reason: str | None) -> None:
    """Lift a suspension."""
    _change(credential_id, "reinstate", reason)


@main.command()
@click.option("--admin-token/--no-admin-token", default=False, help="Also print a new admin token.")
def demo(admin_token: bool) -> None:
    """Load demo data (idempotent) and print its URLs."""
    from issuer import demo as demo_data
    from issuer import service

    rt = _runtime()
    with rt.sessions() as session:
        try:
            row = demo_data.load(session, rt.ctx)
        except IssuerError as exc:
            raise click.ClickException(exc.detail) from exc
        info = service.credential_json(rt.ctx, row)
        secret = service.create_token(session, rt.ctx, "admin", "demo admin") if admin_token else None
    click.echo(f"demo credential:  {row.id}")
    click.echo(f"holder page:      {info['holder_url']}")
    click.echo(f"verify page:      {info['verify_url']}")
    if secret:
        click.echo(f"admin token:      {secret}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
