"""Who may act: API tokens (``token``) and console accounts (``staff``)."""

from __future__ import annotations

import sys

import click

from issuer import access
from issuer.cli.base import main, opened


@main.group()
def token() -> None:
    """API bearer tokens: create, list, revoke."""


@token.command("create")
@click.option("--role", required=True, metavar="[admin|certifier|registrar]")
@click.option("--label", default="", help="Who or what the token is for.")
@click.option(
    "--expires-in",
    "expires_in",
    type=int,
    default=None,
    metavar="DAYS",
    help=f"Days until the token stops working (1-{access.MAX_TOKEN_DAYS}); default: never.",
)
def token_create(role: str, label: str, expires_in: int | None) -> None:
    """Print a new token once; only its hash is stored."""
    # Checked here, not with click.Choice, so a wrong role is one line, like every error.
    if role not in access.ROLES:
        raise click.ClickException(f"unknown role {role!r} (use one of {', '.join(sorted(access.ROLES))})")
    with opened() as rt, rt.sessions() as session:
        secret = access.create_token(session, rt.ctx, role, label or f"{role} token", "cli", expires_in)
    click.echo(secret)


@token.command("list")
def token_list() -> None:
    """Every token: id, state, role, label, created, last used, expiry (never a secret)."""
    with opened() as rt, rt.sessions() as session:
        now = rt.ctx.now()
        rows = [access.token_json(t, now) for t in access.list_tokens(session)]
    if not rows:
        click.echo("no tokens")
        return
    for row in rows:
        click.echo(
            f"{row['id']}  {row['state']:<7}  {row['role']:<9}  {row['label']!r}  "
            f"created {row['created_at']}  last used {row['last_used_at'] or 'never'}  "
            f"expires {row['expires_at'] or 'never'}"
        )


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token for good: its next request gets 401."""
    with opened() as rt, rt.sessions() as session:
        row = access.revoke_token(session, rt.ctx, token_id, "cli")
    click.echo(f"token {row.id} ({row.role}, {row.label!r}) revoked")


@main.group()
def staff() -> None:
    """Staff accounts of the web console (/console)."""


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@staff.command("create")
@click.option("--email", required=True, help="The staff member's e-mail address (their login).")
@click.option("--role", required=True, metavar="[admin|certifier|registrar]")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a console account; the password is asked for (or read with --password-stdin)."""
    password = _password(password_stdin)
    with opened() as rt, rt.sessions() as session:
        account = access.create_account(session, rt.ctx, email, role, password)
    click.echo(f"staff account {account.email} ({account.role}) created")


@staff.command("password")
@click.option("--email", required=True, help="The account's e-mail address.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def staff_password(email: str, password_stdin: bool) -> None:
    """Set a new password: every console session of the account ends and its lock is lifted."""
    password = _password(password_stdin)
    with opened() as rt, rt.sessions() as session:
        account = access.set_password(session, rt.ctx, email, password, "cli")
    click.echo(f"password of {account.email} changed; its console sessions have ended")
