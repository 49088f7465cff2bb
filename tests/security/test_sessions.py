"""Console sessions are the server's: signing out, a password change and a lockout end
every copy of a cookie, and the idle (30 min) and absolute (8 h) timeouts are enforced by
the server, not by the cookie's own claims."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from issuer import access
from issuer.runtime import Runtime
from issuer.store.models import StaffSession
from tests.conftest import FakeClock
from tests.e2e.conftest import Server, free_port

pytestmark = [pytest.mark.db, pytest.mark.http]

PASSWORD = "correct horse battery staple"
COOKIE = "issuer_console"


def make_staff(app: Flask, email: str = "admin@example.org", role: str = "admin") -> str:
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        access.create_account(session, rt.ctx, email, role, PASSWORD)
    return email


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> int:
    form = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, form
    answer = client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    return answer.status_code


def sign_out(client: FlaskClient) -> None:
    page = client.get("/console/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    assert client.post("/console/logout", data={"csrf_token": token.group(1)}).status_code == 302


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s console cookie (as an attacker would)."""
    cookie = client.get_cookie(COOKIE, path="/console")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(COOKIE, cookie.value, path="/console")
    return other


def signed_in(client: FlaskClient) -> bool:
    answer = client.get("/console/")
    if answer.status_code == 302:
        assert answer.headers["Location"].endswith("/console/login")
        return False
    assert answer.status_code == 200
    return True


@pytest.fixture
def browser(issuer_app: Flask, issuer_client: FlaskClient) -> FlaskClient:
    assert sign_in(issuer_client, make_staff(issuer_app)) == 302
    return issuer_client


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(
    issuer_app: Flask, browser: FlaskClient
) -> None:
    thief = copy_of(issuer_app, browser)
    assert signed_in(thief)

    sign_out(browser)

    assert not signed_in(thief)
    assert not signed_in(browser)


def test_the_cookie_holds_no_account_id_only_a_session_secret(
    issuer_app: Flask, browser: FlaskClient
) -> None:
    rt: Runtime = issuer_app.extensions["issuer"]
    cookie = browser.get_cookie(COOKIE, path="/console")
    assert cookie is not None
    with rt.sessions() as session:
        rows = session.scalars(select(StaffSession)).all()
        account_id = rows[0].account_id
    assert len(rows) == 1 and rows[0].ended_at is None
    assert account_id not in cookie.value  # signed, not encrypted: nothing worth reading in it


def test_an_idle_session_ends_after_30_minutes(browser: FlaskClient, clock: FakeClock) -> None:
    clock.advance(minutes=20)
    assert signed_in(browser)  # activity keeps it alive...
    clock.advance(minutes=20)
    assert signed_in(browser)  # ...40 minutes after sign-in
    clock.advance(minutes=30, seconds=1)

    assert not signed_in(browser)
    clock.advance(seconds=1)
    assert not signed_in(browser)  # ended, not merely asleep


def test_a_busy_session_still_ends_8_hours_after_sign_in(browser: FlaskClient, clock: FakeClock) -> None:
    for _ in range(23):  # a request every 20 minutes: never idle
        clock.advance(minutes=20)
        assert signed_in(browser)
    clock.advance(minutes=20)  # 8 h

    assert not signed_in(browser)


def test_a_password_change_ends_every_session_of_the_account(issuer_app: Flask, browser: FlaskClient) -> None:
    rt: Runtime = issuer_app.extensions["issuer"]
    other_device = issuer_app.test_client()
    assert sign_in(other_device, "admin@example.org") == 302
    colleague = issuer_app.test_client()
    assert sign_in(colleague, make_staff(issuer_app, "colleague@example.org")) == 302

    with rt.sessions() as session:
        access.set_password(session, rt.ctx, "admin@example.org", "a brand new passphrase", "test")

    assert not signed_in(browser)
    assert not signed_in(other_device)
    assert signed_in(colleague)  # another account's session is untouched
    assert sign_in(browser, "admin@example.org") == 401  # the old password is gone
    assert sign_in(browser, "admin@example.org", "a brand new passphrase") == 302


def test_a_lockout_ends_the_sessions_of_the_locked_account(issuer_app: Flask, browser: FlaskClient) -> None:
    attacker = issuer_app.test_client()
    for _ in range(access.MAX_FAILURES):
        assert sign_in(attacker, "admin@example.org", "a wrong guess here") == 401

    assert not signed_in(browser)


def test_a_signed_in_session_gets_a_fresh_secret_each_time(issuer_app: Flask, browser: FlaskClient) -> None:
    before = browser.get_cookie(COOKIE, path="/console")
    assert before is not None
    sign_out(browser)
    assert sign_in(browser, "admin@example.org") == 302
    after = browser.get_cookie(COOKIE, path="/console")

    assert after is not None and after.value != before.value
    stale = issuer_app.test_client()
    stale.set_cookie(COOKIE, before.value, path="/console")
    assert not signed_in(stale)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener(jar: CookieJar) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())


def _status(opener: urllib.request.OpenerDirector, request: str | urllib.request.Request) -> tuple[int, str]:
    try:
        with opener.open(request, timeout=30) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def _post(base: str, path: str, fields: dict[str, str]) -> urllib.request.Request:
    return urllib.request.Request(
        f"{base}{path}", data=urllib.parse.urlencode(fields).encode(), method="POST", headers={"Origin": base}
    )


def test_sign_out_ends_a_copied_cookie_on_a_real_server(issuer_app: Flask) -> None:
    make_staff(issuer_app)
    server = Server(issuer_app, free_port())
    try:
        base = server.url
        jar = CookieJar()
        browser = _opener(jar)
        _, form = _status(browser, f"{base}/console/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        signed = _status(
            browser,
            _post(
                base,
                "/console/login",
                {"email": "admin@example.org", "password": PASSWORD, "csrf_token": csrf.group(1)},
            ),
        )
        assert signed[0] == 302
        [cookie] = [c for c in jar if c.name == COOKIE]
        thief = urllib.request.build_opener(_NoRedirect())
        thief.addheaders = [("Cookie", f"{COOKIE}={cookie.value}")]
        assert _status(thief, f"{base}/console/")[0] == 200

        _, page = _status(browser, f"{base}/console/")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        assert _status(browser, _post(base, "/console/logout", {"csrf_token": csrf.group(1)}))[0] == 302

        assert _status(thief, f"{base}/console/")[0] == 302
    finally:
        server.stop()
