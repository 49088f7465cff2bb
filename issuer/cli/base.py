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
