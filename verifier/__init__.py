"""The verifier service: trust registry -> keys and status lists (cached) -> verdict.

Use :func:`create_app`; the pieces are :mod:`verifier.core` (the verdict, no Flask),
:mod:`verifier.resolver` (fetching and caching), :mod:`verifier.registry` (trust registry),
:mod:`verifier.config` (settings), :mod:`verifier.receipt` (signed receipts, with the
verifier's own key) and :mod:`verifier.views` (HTTP). This package imports :mod:`vc` and
:mod:`keys` (for its own receipt key), never ``issuer`` or SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask

from verifier import openapi, vcapi, views
from verifier.config import DEFAULTS, Settings, settings_from
from verifier.core import Policy, Verdict, Verifier
from verifier.receipt import ReceiptSigner
from verifier.registry import ConfigError, RegistryError, TrustedIssuer, TrustRegistry
from verifier.resolver import Clock, Fetch, FetchError, FetchResponse, Resolver

__all__ = [
    "ConfigError",
    "FetchError",
    "FetchResponse",
    "RegistryError",
    "Services",
    "TrustRegistry",
    "TrustedIssuer",
    "Verdict",
    "create_app",
]

# The top-level ``templates`` package (package data of the wheel), wherever it is installed.
TEMPLATES = Path(str(resources.files("templates")))


@dataclass(frozen=True)
class Services:
    """What :func:`create_app` builds once and keeps in ``app.extensions["verifier"]``."""

    settings: Settings
    resolver: Resolver
    verifier: Verifier


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    fetch: Fetch | None = None,
    clock: Clock | None = None,
) -> Flask:
    """Build the verifier app: defaults, then ``VERIFIER_*`` environment, then ``test_config``.

    ``fetch(url, headers) -> FetchResponse`` replaces the network (default:
    :func:`verifier.resolver.http_fetch`: ``FETCH_DEADLINE_SECONDS`` in total per fetch, no
    redirects, 1 MiB per answer, about 1.9 MB for a status list); ``clock() -> aware
    datetime`` replaces the time used for cache freshness and validity checks. The trust
    registry is loaded and checked here, so a malformed one raises :class:`ConfigError`
    (:class:`RegistryError` names the file) before any request is served.
    """
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("VERIFIER")
    if test_config is not None:
        app.config.from_mapping(test_config)
    settings = settings_from(app.config)
    now = clock or _utc_now
    resolver = Resolver(
        settings.registry,
        fetch=fetch,
        clock=now,
        algorithms=settings.algorithms,
        jwks_refresh_interval=settings.jwks_refresh_interval,
        jwks_default_max_age=settings.jwks_default_max_age,
        leeway=settings.leeway,
        fetch_deadline=settings.fetch_deadline,
    )
    verifier = Verifier(
        settings.registry, resolver, Policy(settings.algorithms, settings.leeway), now
    )
    app.extensions["verifier"] = Services(settings, resolver, verifier)
    app.extensions["verifier_receipts"] = ReceiptSigner(str(app.config["KEYS_DIR"]))
    views.init_app(app)
    vcapi.init_app(app)
    openapi.init_app(app)
    return app
