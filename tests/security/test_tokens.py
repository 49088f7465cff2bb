"""API tokens have a lifecycle: created (optionally expiring), listed without secrets,
revoked; a revoked or expired token is refused at once; every event is audited. From the
command line and, for admins, through the API."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from issuer.runtime import Runtime
from issuer.store.models import ApiToken, AuditEntry
from tests.cli.test_cli import Issuer, issuer  # noqa: F401 - the fixture
from tests.conftest import FakeClock, auth

pytestmark = [pytest.mark.db, pytest.mark.http]


def audit_actions(app: Flask) -> list[tuple[str, str]]:
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        return [(e.action, e.target) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def create(client: FlaskClient, admin: str, **body: object) -> dict[str, object]:
    answer = client.post(
        "/api/v1/tokens", json={"role": "registrar", "label": "lab import", **body}, headers=auth(admin)
    )
    assert answer.status_code == 201, answer.json
    assert answer.json is not None
    return dict(answer.json)


def test_an_admin_creates_lists_and_revokes_a_token_through_the_api(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    made = create(issuer_client, tokens["admin"], expires_in_days=30)
    secret = str(made["token"])
    assert secret.startswith("bxc_")
    assert made["expires_at"] == "2026-12-22T12:00:00Z" and made["state"] == "active"
    assert issuer_client.get("/api/v1/programs", headers=auth(secret)).status_code == 200

    listed = issuer_client.get("/api/v1/tokens", headers=auth(tokens["admin"]))
    assert listed.status_code == 200
    mine = [t for t in listed.json["tokens"] if t["id"] == made["id"]]
    assert mine == [
        {**{k: v for k, v in made.items() if k != "token"}, "last_used_at": "2026-11-22T12:00:00Z"}
    ]
    with issuer_app.extensions["issuer"].sessions() as session:
        hashes = set(session.scalars(select(ApiToken.token_hash)))
    text = listed.get_data(as_text=True)
    assert secret not in text and not any(h in text for h in hashes)

    revoked = issuer_client.post(f"/api/v1/tokens/{made['id']}/revoke", headers=auth(tokens["admin"]))
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"

    refused = issuer_client.get("/api/v1/programs", headers=auth(secret))
    assert refused.status_code == 401
    assert refused.json["detail"] == "the bearer token is not valid (unknown, revoked or expired)"
    again = issuer_client.post(f"/api/v1/tokens/{made['id']}/revoke", headers=auth(tokens["admin"]))
    assert again.status_code == 409
    assert ("token_create", f"token:{made['id']}") in audit_actions(issuer_app)
    assert ("token_revoke", f"token:{made['id']}") in audit_actions(issuer_app)


def test_an_expired_token_is_refused_the_moment_it_expires(
    issuer_client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    secret = str(create(issuer_client, tokens["admin"], expires_in_days=1)["token"])
    clock.advance(hours=23, minutes=59)
    assert issuer_client.get("/api/v1/programs", headers=auth(secret)).status_code == 200
    clock.advance(minutes=1)

    assert issuer_client.get("/api/v1/programs", headers=auth(secret)).status_code == 401
    listed = issuer_client.get("/api/v1/tokens", headers=auth(tokens["admin"])).json["tokens"]
    assert [t["state"] for t in listed if t["label"] == "lab import"] == ["expired"]


@pytest.mark.parametrize("role", ["registrar", "certifier"])
def test_only_admins_manage_tokens(issuer_client: FlaskClient, tokens: dict[str, str], role: str) -> None:
    assert issuer_client.get("/api/v1/tokens", headers=auth(tokens[role])).status_code == 403
    made = issuer_client.post(
        "/api/v1/tokens", json={"role": "admin", "label": "escalation"}, headers=auth(tokens[role])
    )
    assert made.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "owner", "label": "x"}, "role"),
        ({"role": "admin", "label": ""}, "label"),
        ({"role": "admin", "label": "x", "expires_in_days": 0}, "expires_in_days"),
        ({"role": "admin", "label": "x", "expires_in_days": 3651}, "expires_in_days"),
        ({"role": "admin", "label": "x", "expires_in_days": True}, "expires_in_days"),
        ({"role": "admin", "label": "x", "secret": "mine"}, "secret"),
    ],
)
def test_a_bad_token_request_names_the_field(
    issuer_client: FlaskClient, tokens: dict[str, str], body: dict[str, object], field: str
) -> None:
    answer = issuer_client.post("/api/v1/tokens", json=body, headers=auth(tokens["admin"]))

    assert answer.status_code == 422
    assert field in [e["field"] for e in answer.json["errors"]]


def test_revoking_an_unknown_token_is_404(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    answer = issuer_client.post("/api/v1/tokens/nope/revoke", headers=auth(tokens["admin"]))
    assert answer.status_code == 404


def test_the_cli_creates_lists_and_revokes_tokens(issuer: Issuer) -> None:  # noqa: F811
    secret = issuer.ok(
        "token", "create", "--role", "certifier", "--label", "batch job", "--expires-in", "7"
    ).strip()

    with issuer.app() as app:
        client = app.test_client()
        assert client.get("/api/v1/programs", headers=auth(secret)).status_code == 200
        listing = issuer.ok("token", "list")
        [line] = [row for row in listing.splitlines() if "'batch job'" in row]
        token_id = line.split()[0]
        assert "active" in line and "certifier" in line and "last used 20" in line and "expires 20" in line
        assert secret not in listing

        assert f"token {token_id} (certifier, 'batch job') revoked" in issuer.ok("token", "revoke", token_id)

        assert client.get("/api/v1/programs", headers=auth(secret)).status_code == 401
        assert "revoked" in issuer.ok("token", "list")
        assert issuer.run("token", "revoke", token_id).one_line_error().endswith("was already revoked")
        assert "no token" in issuer.run("token", "revoke", "nope").one_line_error()
        assert (
            "1 to 3650 days"
            in issuer.run("token", "create", "--role", "admin", "--expires-in", "0").one_line_error()
        )
        actions = audit_actions(app)
    assert ("token_create", f"token:{token_id}") in actions
    assert ("token_revoke", f"token:{token_id}") in actions
