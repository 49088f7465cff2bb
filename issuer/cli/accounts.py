"""Who may act: API tokens (``token``) and console accounts (``staff``)."""

from __future__ import annotations

import sys

import click

from issuer import access
from issuer.cli.base import main, opened


@main.group()
def token() -> None:
    """API bearer tokens."""


@token.command("create")
@click.option("--role", required=True, metavar="[admin|certifier|registrar]")
@click.option("--label", default="", help="Who or what the token is for.")
def token_create(role: str, label: str) -> None:
    """Print a new token once; only its hash is stored."""
    # Checked here, not with click.Choice, so a wrong role is one line, like every error.
    if role not in access.ROLES:
        raise click.ClickException(f"unknown role {role!r} (use one of {', '.join(sorted(access.ROLES))})")
    with opened() as rt, rt.sessions() as session:
        secret = access.create_token(session, rt.ctx, role, label or f"{role} token")
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
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with opened() as rt, rt.sessions() as session:
        account = access.create_account(session, rt.ctx, email, role, password)
    click.echo(f"staff account {account.email} ({account.role}) created")
