"""The issuer service: records completions, checks eligibility, signs credentials,
publishes keys and status lists, and revokes, suspends and reinstates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask

from issuer import config as config_module
from issuer.runtime import open_runtime

# The top-level ``templates`` package (package data of the wheel), wherever it is installed.
TEMPLATES = Path(str(resources.files("templates")))


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Flask:
    """Build the issuer app: settings (defaults, ``ISSUER_*`` environment, ``test_config``),
    programs, keys and database are loaded once here; a problem stops start-up."""
    from issuer.web import api, badges, console, edge, holder, openapi, public

    settings = config_module.load(test_config)
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["issuer"] = open_runtime(settings, clock)
    edge.install(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(badges.bp)
    app.register_blueprint(openapi.bp)
    holder.install(app)
    console.install(app, settings)
    return app
