"""The ``verifier`` console script: ``verifier serve [--host 127.0.0.1] [--port 5001]``."""

from __future__ import annotations

import click

import serving
from verifier import create_app
from verifier.registry import ConfigError


@click.group()
def main() -> None:
    """Verify botox-credentials certifications (web page and JSON API)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=5001, show_default=True, type=click.IntRange(0, 65535), help="TCP port."
)
@click.option(
    "--workers",
    type=click.IntRange(1, serving.MAX_WORKERS),
    help="Worker processes, each with its own caches "
    f"[default: VERIFIER_WORKERS, else one per core: {serving.default_workers()} here].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, serving.MAX_THREADS),
    help=f"Threads per worker [default: VERIFIER_THREADS, else {serving.DEFAULT_THREADS}].",
)
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the verifier with gunicorn: WORKERS processes of THREADS threads each.

    Configuration comes from VERIFIER_TRUSTED_ISSUERS, VERIFIER_ALGORITHMS,
    VERIFIER_LEEWAY_SECONDS, VERIFIER_FETCH_DEADLINE_SECONDS, VERIFIER_WORKERS and
    VERIFIER_THREADS (see verifier.config); a bad trust registry stops start-up with the
    reason. Each worker builds its own app after the fork and keeps its own caches of key
    sets and status lists, each fresh for its ttl. SIGTERM or SIGINT (Ctrl-C) stops
    gracefully: requests in flight are answered first. Needs Linux or another POSIX system.
    """
    # Built once here, then dropped before any fork: a bad configuration stops start-up
    # with the reason, and the receipt key exists before the workers start.
    try:
        checked = create_app()
    except ConfigError as exc:
        raise click.ClickException(f"cannot start the verifier: {exc}") from exc
    from serving import server  # imported here so `import verifier` stays light

    settings = checked.extensions["verifier"].settings
    del checked
    workers = workers or settings.workers or serving.default_workers()
    threads = threads or settings.threads
    names = ", ".join(f"{i.name} <{i.id}>" for i in settings.registry.issuers)
    click.echo(f"verifier: trusting {names}")

    def ready(url: str) -> None:
        click.echo(f"verifier: listening on {url}/ ({workers} workers x {threads} threads)")

    server.run(create_app, name="verifier", host=host, port=port, workers=workers, threads=threads,
               on_ready=ready)


if __name__ == "__main__":  # pragma: no cover
    main()
