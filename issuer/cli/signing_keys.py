"""``issuer keys``: list, generate, rotate, retire, compromised. Every change re-signs the
status lists and is audited, all or nothing (:mod:`issuer.credentials.signing_keys`)."""

from __future__ import annotations

import click

from issuer.cli.base import KeyIdCommand, key_runtime, keystore, main, settings
from issuer.credentials import signing_keys
from keys import ALGORITHMS


@main.group()
def keys() -> None:
    """Signing keys."""


@keys.command("list")
def keys_list() -> None:
    """List keys: kid, algorithm, state, creation time."""
    records = keystore().records()
    if not records:
        click.echo("no keys; run 'issuer init'")
    for record in records:
        click.echo(f"{record.kid}  {record.alg:6} {record.state:11} {record.created_at}")


ALG_HELP = "Must equal ISSUER_SIGNING_ALG (the default); refused otherwise."


@keys.command("generate")
@click.option("--alg", type=click.Choice(list(ALGORITHMS)), default=None, help=ALG_HELP)
def keys_generate(alg: str | None) -> None:
    """Create a key and make it the active signing key."""
    _new_key(alg, "key_generate")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(list(ALGORITHMS)), default=None, help=ALG_HELP)
def keys_rotate(alg: str | None) -> None:
    """Make a new active key; earlier keys stay published while credentials they signed are valid."""
    _new_key(alg, "key_rotate")


class AlgorithmMismatch(click.ClickException):
    """``--alg`` names another algorithm than the configuration: a usage error (exit 2)."""

    exit_code = 2


def _new_key(alg: str | None, action: str) -> None:
    configured = settings().signing_alg
    if alg is not None and alg != configured:
        # An active key of another algorithm than ISSUER_SIGNING_ALG stops every issuer at
        # start-up: refuse before anything changes, and say which setting to change.
        raise AlgorithmMismatch(
            f"--alg {alg} differs from ISSUER_SIGNING_ALG={configured}: set ISSUER_SIGNING_ALG={alg} "
            f"for this command and for every issuer process, or leave out --alg; no key was made"
        )
    with key_runtime() as rt, rt.sessions() as session:
        record = signing_keys.new_active_key(session, rt.ctx, configured, "cli", action)
    click.echo(
        f"active signing key is now {record.kid} ({record.alg}); "
        "running issuers use it from their next request"
    )


@keys.command("retire", cls=KeyIdCommand)
@click.argument("kid")
def keys_retire(kid: str) -> None:
    """Stop signing with KID (it stays in the JWK Set while credentials it signed are valid)."""
    with key_runtime() as rt, rt.sessions() as session:
        record = signing_keys.retire_key(session, rt.ctx, kid, "cli")
    click.echo(f"key {record.kid} is retired")


@keys.command("compromised", cls=KeyIdCommand)
@click.argument("kid")
@click.option("--reason", default=None, help="What happened (kept in the audit log).")
def keys_compromised(kid: str, reason: str | None) -> None:
    """Withdraw KID from the JWK Set at once and list the credentials it signed."""
    with key_runtime() as rt, rt.sessions() as session:
        done = signing_keys.compromise_key(session, rt.ctx, kid, "cli", reason)
        now = rt.ctx.now()
        lines = [
            f"{row.id}  {row.status:10} valid until {row.valid_until:%Y-%m-%d}"
            + ("  (expired)" if row.valid_until <= now else "")
            for row in done.affected
        ]
    click.echo(f"key {kid} is compromised and no longer published; its credentials verify as not authentic")
    if done.new_active is not None:
        click.echo(f"new active signing key: {done.new_active.kid} ({done.new_active.alg})")
    click.echo(f"{len(lines)} credential(s) signed with it:")
    for line in lines:
        click.echo(line)
    if lines:
        click.echo(f"re-sign the still-valid ones: issuer credentials reissue --kid {kid}")
