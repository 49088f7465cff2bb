"""The staff console through the Flask test client: sign-in, lockout, CSRF, roles, actions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer import access, create_app
from issuer.runtime import Runtime
from tests.conftest import PROGRAM, FakeClock, enrol, issue

pytestmark = [pytest.mark.http, pytest.mark.db]

PASSWORD = "correct horse battery staple"


def make_staff(app: Flask, role: str, email: str | None = None) -> str:
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        account = access.create_account(session, rt.ctx, email or f"{role}@example.org", role, PASSWORD)
    return account.email


def csrf(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> object:
    token = csrf(client, "/console/login")
    return client.post("/console/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def admin(issuer_app: Flask, issuer_client: FlaskClient) -> FlaskClient:
    login(issuer_client, make_staff(issuer_app, "admin"))
    return issuer_client


def test_console_requires_sign_in(issuer_client: FlaskClient) -> None:
    response = issuer_client.get("/console/")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/login")


def test_sign_in_and_cookie_flags(issuer_app: Flask, issuer_client: FlaskClient) -> None:
    email = make_staff(issuer_app, "registrar")

    response = login(issuer_client, email)

    assert response.status_code == 302  # type: ignore[attr-defined]
    cookie = response.headers["Set-Cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = issuer_client.get("/console/")
    assert page.status_code == 200
    assert "Signed in as registrar@example.org (registrar)" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_cookie_is_secure_under_https(database_url: str, keys_dir: Path, clock: FakeClock) -> None:
    app = create_app(
        {"database_url": database_url, "keys_dir": str(keys_dir), "issuer_url": "https://issuer.example"},
        clock=clock,
    )
    try:
        client = app.test_client()
        response = client.get("/console/login", base_url="https://issuer.example")
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        app.extensions["issuer"].engine.dispose()


def test_wrong_password_then_lockout_then_unlock(
    issuer_app: Flask, issuer_client: FlaskClient, clock: FakeClock
) -> None:
    email = make_staff(issuer_app, "admin")

    for _ in range(access.MAX_FAILURES - 1):
        failed = login(issuer_client, email, "wrong password!!")
        assert failed.status_code == 401  # type: ignore[attr-defined]
        assert "wrong e-mail address or password" in failed.get_data(as_text=True)  # type: ignore[attr-defined]
    locked = login(issuer_client, email, "wrong password!!")
    assert locked.status_code == 401  # type: ignore[attr-defined]
    # While locked even the right password is refused, in the same words as a wrong one.
    clock.advance(minutes=14)
    refused = login(issuer_client, email)
    assert refused.status_code == 401  # type: ignore[attr-defined]
    assert "wrong e-mail address or password" in refused.get_data(as_text=True)  # type: ignore[attr-defined]
    clock.advance(minutes=2)
    assert login(issuer_client, email).status_code == 302  # type: ignore[attr-defined]


def test_unknown_email_says_the_same_as_a_wrong_password(issuer_client: FlaskClient) -> None:
    response = login(issuer_client, "nobody@example.org")

    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "wrong e-mail address or password" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_posts_without_the_csrf_token_are_refused(issuer_app: Flask, admin: FlaskClient) -> None:
    body = issue(admin, _tokens(issuer_app), enrol(admin, _tokens(issuer_app)))

    response = admin.post(f"/console/credentials/{body['id']}/revoke", data={"reason": "x"})

    assert response.status_code == 403
    assert "reload the page" in response.get_data(as_text=True)
    assert admin.get(f"/api/v1/credentials/{body['id']}").status_code == 401  # API needs a token


def test_cross_site_posts_are_refused_even_with_a_token(issuer_app: Flask, admin: FlaskClient) -> None:
    tokens = _tokens(issuer_app)
    body = issue(admin, tokens, enrol(admin, tokens))
    token = csrf(admin, f"/console/credentials/{body['id']}")

    response = admin.post(
        f"/console/credentials/{body['id']}/revoke",
        data={"reason": "x", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    page = admin.get(f"/console/credentials/{body['id']}").get_data(as_text=True)
    assert 'data-status="active"' in page


def test_login_form_itself_needs_the_csrf_token(issuer_app: Flask, issuer_client: FlaskClient) -> None:
    email = make_staff(issuer_app, "admin")

    response = issuer_client.post("/console/login", data={"email": email, "password": PASSWORD})

    assert response.status_code == 403


def _tokens(app: Flask) -> dict[str, str]:

    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        return {role: access.create_token(session, rt.ctx, role, role) for role in access.ROLES}


def test_search_practitioner_eligibility_and_issue(issuer_app: Flask, issuer_client: FlaskClient) -> None:
    tokens = _tokens(issuer_app)
    pid = enrol(issuer_client, tokens, family_name="Okafor")
    login(issuer_client, make_staff(issuer_app, "certifier"))

    found = issuer_client.get("/console/?q=okaf").get_data(as_text=True)
    assert f"/console/practitioners/{pid}" in found
    page = issuer_client.get(f"/console/practitioners/{pid}").get_data(as_text=True)
    assert "eligible" in page and "Met:" in page
    token = csrf(issuer_client, f"/console/practitioners/{pid}")

    issued = issuer_client.post(
        f"/console/practitioners/{pid}/issue", data={"program_id": PROGRAM, "csrf_token": token}
    )

    assert issued.status_code == 302
    credential_page = issuer_client.get(issued.headers["Location"]).get_data(as_text=True)
    assert "Credential issued." in credential_page and 'data-status="active"' in credential_page
    again = issuer_client.post(
        f"/console/practitioners/{pid}/issue", data={"program_id": PROGRAM, "csrf_token": token}
    )
    assert "already holds credential" in issuer_client.get(again.headers["Location"]).get_data(as_text=True)


def test_issue_lists_unmet_requirements(issuer_app: Flask, issuer_client: FlaskClient) -> None:
    tokens = _tokens(issuer_app)
    pid = enrol(issuer_client, tokens, records=[])
    login(issuer_client, make_staff(issuer_app, "admin"))
    token = csrf(issuer_client, f"/console/practitioners/{pid}")

    issued = issuer_client.post(
        f"/console/practitioners/{pid}/issue", data={"program_id": PROGRAM, "csrf_token": token}
    )

    assert "Not issued:" in issuer_client.get(issued.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(("role", "allowed"), [("registrar", False), ("certifier", False), ("admin", True)])
def test_status_changes_follow_the_api_roles(
    issuer_app: Flask, issuer_client: FlaskClient, role: str, allowed: bool
) -> None:
    tokens = _tokens(issuer_app)
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    login(issuer_client, make_staff(issuer_app, role))
    page = issuer_client.get(f"/console/credentials/{body['id']}").get_data(as_text=True)
    token = csrf(issuer_client, "/console/")
    assert ("Revoke for good" in page) is allowed

    response = issuer_client.post(
        f"/console/credentials/{body['id']}/suspend", data={"reason": "review", "csrf_token": token}
    )

    assert response.status_code == (302 if allowed else 403)


def test_registrar_may_not_issue(issuer_app: Flask, issuer_client: FlaskClient) -> None:
    tokens = _tokens(issuer_app)
    pid = enrol(issuer_client, tokens)
    login(issuer_client, make_staff(issuer_app, "registrar"))
    token = csrf(issuer_client, "/console/")

    response = issuer_client.post(
        f"/console/practitioners/{pid}/issue", data={"program_id": PROGRAM, "csrf_token": token}
    )

    assert response.status_code == 403


def test_suspend_reinstate_revoke_with_reasons(issuer_app: Flask, admin: FlaskClient) -> None:
    tokens = _tokens(issuer_app)
    body = issue(admin, tokens, enrol(admin, tokens))
    path = f"/console/credentials/{body['id']}"
    token = csrf(admin, path)

    no_reason = admin.post(f"{path}/suspend", data={"reason": "  ", "csrf_token": token})
    assert "give a reason" in admin.get(no_reason.headers["Location"]).get_data(as_text=True)
    admin.post(f"{path}/suspend", data={"reason": "license under review", "csrf_token": token})
    assert 'data-status="suspended"' in admin.get(path).get_data(as_text=True)
    admin.post(f"{path}/reinstate", data={"reason": "", "csrf_token": token})
    assert 'data-status="active"' in admin.get(path).get_data(as_text=True)
    admin.post(f"{path}/revoke", data={"reason": "issued in error", "confirm": "yes", "csrf_token": token})
    page = admin.get(path).get_data(as_text=True)
    assert 'data-status="revoked"' in page and "issued in error" in page
    assert "No status change is possible" in page
    twice = admin.post(f"{path}/revoke", data={"reason": "again", "confirm": "yes", "csrf_token": token})
    assert "Not revoked:" in admin.get(twice.headers["Location"]).get_data(as_text=True)


def test_names_with_html_are_text_in_the_console(issuer_app: Flask, admin: FlaskClient) -> None:
    tokens = _tokens(issuer_app)
    enrol(admin, tokens, family_name="<img src=x onerror=alert(1)>")

    html = admin.get("/console/?q=img").get_data(as_text=True)

    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_sign_out_ends_the_session(admin: FlaskClient) -> None:
    token = csrf(admin, "/console/")

    admin.post("/console/logout", data={"csrf_token": token})

    assert admin.get("/console/").status_code == 302


def test_session_expires_after_eight_hours(admin: FlaskClient, clock: FakeClock) -> None:
    clock.advance(hours=9)

    assert admin.get("/console/").status_code == 302


def test_credential_page_shows_its_audit_trail(issuer_app: Flask, admin: FlaskClient) -> None:
    tokens = _tokens(issuer_app)
    body = issue(admin, tokens, enrol(admin, tokens))
    path = f"/console/credentials/{body['id']}"
    admin.post(f"{path}/suspend", data={"reason": "license under review", "csrf_token": csrf(admin, path)})
    page = admin.get(path).get_data(as_text=True)
    table = page[page.index('<table class="audit">') :]
    assert table.index(">issue<") < table.index(">suspend<")
    assert "license under review" in table
