"""Every staff API endpoint against every kind of caller: no token, a token of each role,
a revoked token and an expired one. The table below is the contract; a new endpoint that
is not in it fails :func:`test_the_matrix_covers_every_api_endpoint`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer import access
from issuer.runtime import Runtime
from tests.conftest import FakeClock, auth

pytestmark = [pytest.mark.db, pytest.mark.http]

ANY = frozenset({"registrar", "certifier", "admin"})
REGISTRAR = frozenset({"registrar", "admin"})
CERTIFIER = frozenset({"certifier", "admin"})
ADMIN = frozenset({"admin"})
ID = "00000000-0000-4000-8000-000000000000"

#: (method, path, roles allowed): the roles of the README's API table.
MATRIX: list[tuple[str, str, frozenset[str]]] = [
    ("GET", "/api/v1/programs", ANY),
    ("POST", "/api/v1/practitioners", REGISTRAR),
    ("GET", f"/api/v1/practitioners/{ID}", ANY),
    ("POST", f"/api/v1/practitioners/{ID}/records", REGISTRAR),
    ("GET", f"/api/v1/practitioners/{ID}/eligibility", ANY),
    ("POST", f"/api/v1/practitioners/{ID}/correction", ADMIN),
    ("POST", "/api/v1/credentials", CERTIFIER),
    ("POST", "/api/v1/credentials/bulk", CERTIFIER),
    ("GET", f"/api/v1/credentials/{ID}", ANY),
    ("POST", f"/api/v1/credentials/{ID}/revoke", ADMIN),
    ("POST", f"/api/v1/credentials/{ID}/suspend", ADMIN),
    ("POST", f"/api/v1/credentials/{ID}/reinstate", ADMIN),
    ("POST", f"/api/v1/credentials/{ID}/renew", CERTIFIER),
    ("POST", f"/api/v1/credentials/{ID}/reissue", ADMIN),
    ("POST", "/api/v1/imports", REGISTRAR),
    ("GET", "/api/v1/records.csv", ANY),
    ("GET", "/api/v1/audit/verify", ADMIN),
    ("GET", "/api/v1/tokens", ADMIN),
    ("POST", "/api/v1/tokens", ADMIN),
    ("POST", f"/api/v1/tokens/{ID}/revoke", ADMIN),
]

CALLERS = ["none", "registrar", "certifier", "admin", "revoked", "expired", "garbage"]


@pytest.fixture
def callers(issuer_app: Flask, clock: FakeClock) -> dict[str, str | None]:
    """A bearer secret per kind of caller (``None``: no Authorization header)."""
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        secrets = {
            role: access.create_token(session, rt.ctx, role, f"matrix {role}") for role in access.ROLES
        }
        revoked, revoked_secret = access.new_token(session, rt.ctx, "admin", "matrix revoked")
        access.revoke_token(session, rt.ctx, revoked.id, "test")
        clock.advance(days=-2)
        expired = access.create_token(session, rt.ctx, "admin", "matrix expired", expires_in_days=1)
        clock.advance(days=2)
    return {
        **secrets,
        "none": None,
        "revoked": revoked_secret,
        "expired": expired,
        "garbage": "bxc_" + "A" * 43,
    }


def _call(client: FlaskClient, method: str, path: str, secret: str | None) -> int:
    headers = auth(secret) if secret is not None else {}
    return client.open(path, method=method, json={}, headers=headers).status_code


def test_the_matrix_covers_every_api_endpoint(issuer_app: Flask) -> None:
    routes = {
        (method, rule.rule)
        for rule in issuer_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    listed = {(method, path.replace(ID, "<x>")) for method, path, _ in MATRIX}
    normalised = {(m, "/".join("<x>" if p.startswith("<") else p for p in r.split("/"))) for m, r in routes}
    assert normalised == listed


@pytest.mark.parametrize(("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_every_endpoint_against_every_caller(
    issuer_client: FlaskClient,
    callers: dict[str, str | None],
    method: str,
    path: str,
    allowed: frozenset[str],
) -> None:
    seen = {who: _call(issuer_client, method, path, callers[who]) for who in CALLERS}

    for who in ("none", "revoked", "expired", "garbage"):
        assert seen[who] == 401, seen
    for role in access.ROLES:
        if role in allowed:
            assert seen[role] not in (401, 403), seen
            assert seen[role] < 500, seen
        else:
            assert seen[role] == 403, seen


def test_a_token_revoked_mid_session_is_refused_on_its_next_request(
    issuer_app: Flask, issuer_client: FlaskClient, callers: dict[str, str | None]
) -> None:
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        row, secret = access.new_token(session, rt.ctx, "registrar", "soon revoked")
    assert issuer_client.get("/api/v1/programs", headers=auth(secret)).status_code == 200

    revoked = issuer_client.post(f"/api/v1/tokens/{row.id}/revoke", headers=auth(str(callers["admin"])))

    assert revoked.status_code == 200
    assert issuer_client.get("/api/v1/programs", headers=auth(secret)).status_code == 401


def test_every_console_page_needs_a_session(issuer_app: Flask, issuer_client: FlaskClient) -> None:
    for rule in issuer_app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint == "console.login":
            continue
        path = "/".join("x" if p.startswith("<") else p for p in rule.rule.split("/"))
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            answer = issuer_client.open(path, method=method)
            # GET: sent to sign in; POST: refused before anything (no CSRF token) or sent to sign in.
            assert answer.status_code in ((302,) if method == "GET" else (302, 403)), (method, path)
            if answer.status_code == 302:
                assert answer.headers["Location"].endswith("/console/login")


def test_expiry_is_checked_against_the_clock_not_the_token(
    issuer_app: Flask, issuer_client: FlaskClient, clock: FakeClock
) -> None:
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        secret = access.create_token(session, rt.ctx, "admin", "one day", expires_in_days=1)
    clock.advance(seconds=timedelta(days=1).total_seconds() - 1)
    assert issuer_client.get("/api/v1/tokens", headers=auth(secret)).status_code == 200
    clock.advance(seconds=1)
    assert issuer_client.get("/api/v1/tokens", headers=auth(secret)).status_code == 401
