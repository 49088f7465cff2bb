"""Setting an issuer up: ``init``, ``serve`` and ``demo``."""

from __future__ import annotations

import click

import serving
from issuer.cli.base import key_runtime, main, opened, settings
from issuer.config import mask_passwords
from issuer.store.db import upgrade
from keys import KeyStore


@main.command()
def init() -> None:
    """Create or upgrade the database and create a signing key if there is none."""
    from issuer.credentials import signing_keys

    config = settings()
    try:
        upgrade(config.resolved_database_url)
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one line
        reason = mask_passwords(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise click.ClickException(f"database upgrade failed: {reason}") from exc
    store = KeyStore(config.keys_dir, config.key_passphrase)
    store.check_permissions()
    store.public_jwks()  # every existing key must open with this passphrase
    if not any(r.state == "active" for r in store.records()):
        with key_runtime() as rt, rt.sessions() as session:
            record = signing_keys.new_active_key(session, rt.ctx, config.signing_alg, "cli", "key_generate")
        click.echo(f"created signing key {record.kid} ({record.alg}) in {config.keys_dir}")
    click.echo(f"database ready at {mask_passwords(config.resolved_database_url)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option(
    "--workers",
    type=click.IntRange(1, serving.MAX_WORKERS),
    help="Worker processes, each with its own database connections "
    f"[default: ISSUER_WORKERS, else one per core: {serving.default_workers()} here].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, serving.MAX_THREADS),
    help=f"Threads per worker [default: ISSUER_THREADS, else {serving.DEFAULT_THREADS}].",
)
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the issuer with gunicorn: WORKERS processes of THREADS threads each.

    Each worker builds its own app after the fork (its own database connection pool) and
    follows key changes on its next request. SIGTERM or SIGINT (Ctrl-C) stops gracefully:
    requests in flight are answered first. Needs Linux or another POSIX system.
    """
    from issuer import create_app
    from serving import server

    config = settings()
    # Built once here, then dropped before any fork: a bad setting, key or database stops
    # start-up with one line, and first-start files (the development session secret) exist
    # before the workers start.
    checked = create_app()
    checked.extensions["issuer"].engine.dispose()
    del checked
    workers = workers or config.workers or serving.default_workers()
    threads = threads or config.threads

    def ready(url: str) -> None:
        click.echo(f"issuer listening on {url} ({workers} workers x {threads} threads)")

    server.run(create_app, name="issuer", host=host, port=port, workers=workers, threads=threads,
               on_ready=ready)


@main.command()
@click.option("--admin-token/--no-admin-token", default=False, help="Also print a new admin token.")
def demo(admin_token: bool) -> None:
    """Load demo data (idempotent) and print its URLs."""
    from issuer import access
    from issuer import demo as demo_data
    from issuer.credentials import issuance

    with opened() as rt, rt.sessions() as session:
        row = demo_data.load(session, rt.ctx)
        info = issuance.credential_json(rt.ctx, row)
        secret = access.create_token(session, rt.ctx, "admin", "demo admin") if admin_token else None
    click.echo(f"demo credential:  {row.id}")
    click.echo(f"holder page:      {info['holder_url']}")
    click.echo(f"verify page:      {info['verify_url']}")
    if secret:
        click.echo(f"admin token:      {secret}")
