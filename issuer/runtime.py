"""Everything an issuer process builds once at start-up: settings, rules, keys, database.

Both the Flask app and the CLI start from :func:`open_runtime`, so a bad programs file,
a missing key or a key file readable by others stops either one with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from issuer.config import Config
from issuer.db import make_engine, make_sessionmaker
from issuer.errors import ConfigurationError
from issuer.programs import load_programs
from issuer.service import IssuerContext
from keys import KeyStore, KeyStoreError


def system_clock() -> datetime:
    """The real time, UTC."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The long-lived objects of one issuer process."""

    ctx: IssuerContext
    engine: Engine
    sessions: sessionmaker[Session]
    jwks: dict[str, Any]


def open_runtime(config: Config, clock: Callable[[], datetime] | None = None) -> Runtime:
    """Load rules and keys (parsed once) and connect the database; raises ConfigurationError."""
    programs = load_programs(config.programs)
    keystore = KeyStore(config.keys_dir, config.key_passphrase)
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
    return Runtime(ctx=ctx, engine=engine, sessions=make_sessionmaker(engine), jwks=jwks)
