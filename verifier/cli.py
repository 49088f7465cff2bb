"""The ``verifier`` console script: ``verifier serve [--host 127.0.0.1] [--port 5001]``."""

from __future__ import annotations

import click

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
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, threads: int) -> None:
    """Serve the verifier with waitress (a production WSGI server, not Flask's debug server).

    Configuration comes from VERIFIER_TRUSTED_ISSUERS, VERIFIER_ALGORITHMS,
    VERIFIER_LEEWAY_SECONDS and VERIFIER_FETCH_DEADLINE_SECONDS (see verifier.config); a bad
    trust registry stops start-up with the reason.
    """
    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(f"cannot start the verifier: {exc}") from exc
    import waitress  # imported here so `import verifier` stays light

    registry = app.extensions["verifier"].settings.registry
    names = ", ".join(f"{i.name} <{i.id}>" for i in registry.issuers)
    click.echo(f"verifier: trusting {names}")
    click.echo(f"verifier: listening on http://{host}:{port}/")
    waitress.serve(app, host=host, port=port, threads=threads)


if __name__ == "__main__":  # pragma: no cover
    main()
