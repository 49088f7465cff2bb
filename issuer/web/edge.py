"""The HTTP edge shared by the issuer's blueprints: the database session of a request,
bearer-token roles, JSON bodies, security headers, and the one translation of errors into
RFC 9457 problem JSON or a readable page.

Hostile input stops here: a NUL character in the path (404), a query parameter or a form
field (422), and JSON that cannot be read safely (:mod:`issuer.records.untrusted`: 400 or
422) never reach a view or the database. A :class:`ConfigurationError` met while serving
(a key file readable by others) is logged in full and answered with a generic problem:
paths and settings are for the operator, not the public."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from issuer import access
from issuer.context import IssuerContext
from issuer.errors import (
    BadRequest,
    Busy,
    ConfigurationError,
    Forbidden,
    IssuerError,
    NotFound,
    Unauthorized,
)
from issuer.records import untrusted
from issuer.runtime import Runtime
from issuer.store.db import unavailable

F = TypeVar("F", bound=Callable[..., Any])
#: What the public is told of a configuration error met while serving (the log says which).
PUBLIC_CONFIGURATION_DETAIL = (
    "the issuer cannot answer because of a configuration problem; its operator has the details in the log"
)
HTML_ENDPOINTS = {"public.index", "public.holder_page"}
#: Where a request that matched no route (404, 405) is for a person: the home page, a holder
#: page and the console. Every other path (the API, status lists, a credential's JWT, QR,
#: PDF, Open Badge, keys, contexts, /openapi.json) answers problem JSON.
PAGE_PATHS = re.compile(r"/(?:credentials/[^/]+/?|console(?:/.*)?)?")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def runtime() -> Runtime:
    """This app's runtime (keys, rules, sessions)."""
    return cast(Runtime, current_app.extensions["issuer"])


def ctx() -> IssuerContext:
    """This app's service context, with the signing key active for this request."""
    if "ctx" not in g:
        g.ctx = runtime().current_ctx()
    return cast(IssuerContext, g.ctx)


def db() -> Session:
    """The request's database session (closed at teardown)."""
    if "db" not in g:
        g.db = runtime().sessions()
    return cast(Session, g.db)


def read_db() -> Session:
    """A session for a view that only reads (public pages, key set, documents): on SQLite
    it neither takes nor waits for the write lock. Never write through it."""
    if "read_db" not in g:
        g.read_db = runtime().readers()
    return cast(Session, g.read_db)


def rendered(etag: str, cache_control: str, mimetype: str, render: Callable[[], bytes | str]) -> Response:
    """A deterministic document named by the strong ``etag`` (unquoted): ``304 Not Modified``
    when the request's ``If-None-Match`` already names it, otherwise ``render()``, which runs
    only then."""
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(render(), mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    return response


def json_body() -> Any:
    """The request's JSON object; :class:`BadRequest` if it is not one or cannot be read
    safely, :class:`ValidationFailed` if a string in it holds a NUL character."""
    if not request.is_json:
        raise BadRequest("send a JSON body with Content-Type: application/json")
    return untrusted.json_object(request.get_data(cache=True))


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul() -> None:
    """No NUL character in the path (:class:`NotFound`), the query or a form field
    (:class:`ValidationFailed` naming them)."""
    if untrusted.NUL in request.path:
        raise NotFound("no such page or resource")
    fields = [f"?{name}" for name, value in request.args.items(multi=True)
              if untrusted.NUL in name or untrusted.NUL in value]
    if request.method == "POST" and request.mimetype in FORM_TYPES:
        fields += [name for name, value in request.form.items(multi=True)
                   if untrusted.NUL in name or untrusted.NUL in value]
    untrusted.refuse_nul([f.replace(untrusted.NUL, "\\u0000") for f in fields])


def require(*roles: str) -> Callable[[F], F]:
    """Allow the view to bearer tokens of ``roles`` (``admin`` is always allowed)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret:
                raise Unauthorized("send 'Authorization: Bearer <token>'")
            token = access.authenticate_token(db(), secret.strip(), ctx().now())
            if token is None:
                raise Unauthorized("the bearer token is not valid (unknown, revoked or expired)")
            if token.role != "admin" and token.role not in roles:
                raise Forbidden(
                    f"role {token.role} may not do this (needs {' or '.join(roles + ('admin',))})"
                )
            g.actor = f"token:{token.id}"
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def _wants_html() -> bool:
    if request.endpoint in HTML_ENDPOINTS or (request.endpoint or "").startswith("console."):
        return True
    if request.endpoint is None and PAGE_PATHS.fullmatch(request.path):
        return request.accept_mimetypes.accept_html
    return False


def _problem(problem: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    status = int(problem["status"])
    if _wants_html():
        response = Response(
            render_template("issuer/error.html", problem=problem), status=status, mimetype="text/html"
        )
    else:
        response = jsonify(problem)
        response.status_code = status
        response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install(app: Flask) -> None:
    """Register the error translation, teardown and security headers on ``app``."""

    app.before_request(refuse_nul)

    @app.errorhandler(IssuerError)
    def _issuer_error(exc: IssuerError) -> Response:
        if isinstance(exc, ConfigurationError):
            app.logger.error("configuration error while serving %s: %s", request.path, exc.detail)
            return _problem({**exc.problem(), "detail": PUBLIC_CONFIGURATION_DETAIL})
        headers = {"WWW-Authenticate": 'Bearer realm="issuer"'} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, Busy):
            headers = {"Retry-After": str(exc.retry_after)}
        return _problem(exc.problem(), headers)

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError) -> Response:
        if not unavailable(exc):
            return _unexpected(exc)
        app.logger.warning("database busy or unreachable while serving %s: %s", request.path,
                           str(exc).splitlines()[0])
        return _issuer_error(Busy("the database could not serve this request now (busy or unreachable); "
                                  "nothing was changed: try again shortly"))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        allow = getattr(exc, "valid_methods", None)  # a 405 names the methods (RFC 9110 15.5.6)
        return _problem(
            {
                "type": "about:blank",
                "title": exc.name,
                "status": exc.code or 500,
                "detail": exc.description or exc.name,
            },
            {"Allow": ", ".join(allow)} if allow else None,
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unexpected error")
        return _problem(
            {
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "detail": "something went wrong on our side; nothing was changed",
            }
        )

    @app.teardown_appcontext
    def _close_db(_exc: BaseException | None) -> None:
        for name in ("db", "read_db"):
            session = g.pop(name, None)
            if session is not None:
                session.rollback()
                session.close()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
