"""The ``issuer`` command group and what its commands share: settings, the runtime, and
the one place where errors become a single line on stderr and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from issuer import config as config_module
from issuer import keyring
from issuer.errors import IssuerError
from issuer.runtime import Runtime, open_runtime
from keys import KeyStore, KeyStoreError


class IssuerGroup(click.Group):
    """A command group that translates the domain's errors once, for every subcommand
    (nested groups included): one line on stderr, exit 1, no traceback, and never a
    database password (:func:`issuer.config.mask_passwords`)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IssuerError as exc:
            raise click.ClickException(config_module.mask_passwords(exc.detail)) from exc
        except KeyStoreError as exc:
            raise click.ClickException(config_module.mask_passwords(str(exc))) from exc
        except SQLAlchemyError as exc:
            line = config_module.mask_passwords(str(exc).splitlines()[0])
            raise click.ClickException(f"database error: {line}") from exc
        except click.ClickException as exc:
            masked = config_module.mask_passwords(exc.format_message())
            if masked == exc.format_message():
                raise
            raise click.ClickException(masked) from exc


class KeyIdCommand(click.Command):
    """A command whose argument is a key id. A kid is a base64url thumbprint and may begin
    with ``-`` (one in 64 does): such a token is the key id, not an unknown option, so
    ``issuer keys compromised -bEu3…`` works as typed (``--`` before it works too)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = {name: param for param in self.get_params(ctx) if isinstance(param, click.Option)
                   for name in (*param.opts, *param.secondary_opts)}
        flags: list[str] = []
        positional: list[str] = []
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                positional.extend(tokens)
                break
            option = options.get(token.split("=", 1)[0])
            if option is None:
                positional.append(token)
                continue
            flags.append(token)
            if "=" not in token and not option.is_flag and not option.count:
                value = next(tokens, None)  # an option's value may itself begin with "-"
                if value is not None:
                    flags.append(value)
        return super().parse_args(ctx, [*flags, "--", *positional])


@click.group(cls=IssuerGroup)
def main() -> None:
    """Issue and manage Botox injector certification credentials."""


def settings() -> config_module.Config:
    """Defaults, then the ``ISSUER_*`` environment."""
    return config_module.load()


@contextmanager
def opened(*, signing: bool = True) -> Iterator[Runtime]:
    """The issuer's runtime; its database connections are closed afterwards (commands may
    run in-process, in tests). Commands that never sign pass ``signing=False``: the state of
    the keys (none active, another algorithm, a wrong passphrase) then blocks nothing."""
    rt = open_runtime(settings(), signing=signing)
    try:
        yield rt
    finally:
        rt.engine.dispose()


def keystore() -> KeyStore:
    """The key directory of the configuration."""
    config = settings()
    return KeyStore(config.keys_dir, config.key_passphrase)


@contextmanager
def key_runtime() -> Iterator[Runtime]:
    """A runtime for key commands: it opens even when no key is active (after a retire),
    and checks first that the audit log can be written (key events are audited)."""
    from sqlalchemy import select

    from issuer.context import IssuerContext, system_clock
    from issuer.rules.programs import load_programs
    from issuer.store.db import make_engine, make_sessionmaker
    from issuer.store.models import AuditEntry

    config = settings()
    store = KeyStore(config.keys_dir, config.key_passphrase)
    store.check_permissions()
    store.public_jwks()  # every key must open with this passphrase
    programs = load_programs(config.programs)
    ring = keyring.KeyRing(store)
    signer = ring.signer()
    engine = make_engine(config.resolved_database_url)
    try:
        try:
            with engine.connect() as conn:
                conn.execute(select(AuditEntry.seq).limit(1))
        except SQLAlchemyError as exc:
            reason = str(exc).splitlines()[0]
            raise click.ClickException(f"database not ready ({reason}): run 'issuer init' first") from exc
        ctx = IssuerContext(
            config=config, programs=programs, keystore=store, signer=signer, clock=system_clock
        )
        yield Runtime(ctx=ctx, engine=engine, sessions=make_sessionmaker(engine), jwks={}, keyring=ring)
    finally:
        engine.dispose()
