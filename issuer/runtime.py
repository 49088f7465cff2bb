"""Everything an issuer process builds once at start-up: settings, rules, keys, database.

Both the Flask app and the CLI start from :func:`open_runtime`, so a bad programs file,
a missing key or a key file readable by others stops either one with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from issuer.config import Config
from issuer.context import IssuerContext, system_clock
from issuer.errors import ConfigurationError
from issuer.keyring import KeyRing, NoActiveKey
from issuer.rules.programs import load_programs
from issuer.store.db import make_engine, make_sessionmaker, readers
from keys import KeyStore, KeyStoreError


@dataclass
class Runtime:
    """The long-lived objects of one issuer process.

    ``ctx.signer`` is the key that was active at start-up; :meth:`current_ctx` re-reads
    the key directory when it changed (rotation, retirement, compromise) so a running
    issuer follows key changes without a restart. ``jwks`` is the start-up key set; the
    served JWK Set is computed per request (:func:`issuer.published_jwks`).
    ``sessions`` may write; ``readers`` must not.
    """

    ctx: IssuerContext
    engine: Engine
    sessions: sessionmaker[Session]
    jwks: dict[str, Any]
    keyring: KeyRing | None = None
    #: Sessions for requests that only read (no write lock on SQLite); see :mod:`issuer.store.db`.
    readers: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.readers = readers(self.engine)

    def current_ctx(self) -> IssuerContext:
        """The service context with the currently active key (a snapshot: one request signs
        with one key). Raises :class:`ConfigurationError` if the key directory became unsafe."""
        if self.keyring is None:
            return self.ctx
        signer = self.keyring.signer()
        if signer is not self.ctx.signer:
            self.ctx = replace(self.ctx, signer=signer)
        return self.ctx


def open_runtime(
    config: Config, clock: Callable[[], datetime] | None = None, *, signing: bool = True
) -> Runtime:
    """Load rules and keys (parsed once) and connect the database; raises ConfigurationError.

    With ``signing=False`` (commands that never sign: import, export, eligibility, audit)
    the key directory is not read at all: its state, whatever it is, blocks nothing, and a
    signature attempted anyway is refused by :class:`NoActiveKey`.
    """
    programs = load_programs(config.programs)
    keystore = KeyStore(config.keys_dir, config.key_passphrase)
    if not signing:
        engine = make_engine(config.resolved_database_url)
        ctx = IssuerContext(
            config=config, programs=programs, keystore=keystore, signer=NoActiveKey(),
            clock=clock or system_clock,
        )
        return Runtime(ctx=ctx, engine=engine, sessions=make_sessionmaker(engine), jwks={})
    try:
        keystore.check_permissions()
        signer = keystore.active()
        jwks = keystore.public_jwks()
    except KeyStoreError as exc:
        raise ConfigurationError(str(exc)) from exc
    if signer.alg != config.signing_alg:
        raise ConfigurationError(
            f"the active key {signer.kid} is {signer.alg} but ISSUER_SIGNING_ALG is "
            f"{config.signing_alg}: run 'issuer keys rotate'"
        )
    engine = make_engine(config.resolved_database_url)
    ctx = IssuerContext(
        config=config,
        programs=programs,
        keystore=keystore,
        signer=signer,
        clock=clock or system_clock,
    )
    keyring = KeyRing(keystore)
    keyring.signer()  # remembers the directory as it is now
    return Runtime(ctx=ctx, engine=engine, sessions=make_sessionmaker(engine), jwks=jwks, keyring=keyring)
