"""Nothing private in public answers or on an operator's screen: a key-permission problem
is told to the public in general words (the path goes to the log), database passwords are
masked on every CLI line, and the sign-in form answers an unknown address and a locked
account in the same words."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer import access, create_app
from issuer.config import mask_passwords
from issuer.runtime import Runtime
from keys import KeyStore
from tests.cli.test_cli import Issuer
from tests.conftest import FakeClock

pytestmark = [pytest.mark.db, pytest.mark.http]

SECRET = "hunter2-not-for-logs"


def test_an_unsafe_key_file_is_a_generic_problem_for_the_public_and_the_path_is_logged(
    database_url: str, tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    keys = tmp_path / "operator-only-keys"
    KeyStore(keys).generate("ES256")
    app = create_app({"database_url": database_url, "keys_dir": str(keys)}, clock=clock)
    try:
        [pem] = keys.glob("*.pem")
        pem.chmod(0o644)  # a careless operator
        with caplog.at_level(logging.ERROR):
            answer = app.test_client().get("/.well-known/jwks.json")
    finally:
        app.extensions["issuer"].engine.dispose()

    assert answer.status_code == 500
    text = answer.get_data(as_text=True)
    assert str(keys) not in text and "operator-only-keys" not in text and ".pem" not in text
    assert answer.json["detail"] == (
        "the issuer cannot answer because of a configuration problem; its operator has the details in the log"
    )
    assert "operator-only-keys" in caplog.text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql+psycopg://app:s3cret@db:5432/issuer", "postgresql+psycopg://app:***@db:5432/issuer"),
        ("failed for postgresql://app:p@ss@db/x today", "failed for postgresql://app:***@db/x today"),
        (
            "postgresql://app@db/x?password=s3cret&sslmode=require",
            "postgresql://app@db/x?password=***&sslmode=require",
        ),
        ("sqlite:////srv/issuer/issuer.db", "sqlite:////srv/issuer/issuer.db"),
    ],
)
def test_mask_passwords(text: str, masked: str) -> None:
    assert mask_passwords(text) == masked


def _with_password(url: str) -> str:
    return re.sub(r"://([^:/@]+)@", rf"://\1:{SECRET}@", url, count=1)


def test_issuer_init_never_prints_the_database_password(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite URLs have no password")
    inst = Issuer(home=tmp_path, database_url=_with_password(database_url), keys_dir=tmp_path / "keys")
    assert SECRET in inst.database_url

    done = inst.run("init")

    assert done.returncode == 0, done.stderr
    assert "database ready at postgresql+psycopg://postgres:***@" in done.stdout
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize("command", [("init",), ("token", "list"), ("audit", "verify")])
def test_a_database_failure_never_prints_the_password(tmp_path: Path, command: tuple[str, ...]) -> None:
    inst = Issuer(
        home=tmp_path,
        database_url=f"postgresql+psycopg://app:{SECRET}@127.0.0.1:1/issuer",
        keys_dir=tmp_path / "keys",
    )

    done = inst.run(*command)

    assert done.returncode != 0
    assert SECRET not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def _failed_sign_in(client: FlaskClient, email: str, password: str) -> tuple[int, str]:
    form = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    answer = client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    page = answer.get_data(as_text=True).replace(token.group(1), "")
    return answer.status_code, page.replace(email, "<email>")


def test_an_unknown_address_and_a_locked_account_get_the_same_answer(
    issuer_app: Flask, issuer_client: FlaskClient
) -> None:
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        access.create_account(session, rt.ctx, "locked@example.org", "admin", "correct horse battery")
    for _ in range(access.MAX_FAILURES):
        _failed_sign_in(issuer_client, "locked@example.org", "wrong guess!!")

    locked = _failed_sign_in(issuer_client, "locked@example.org", "correct horse battery")
    unknown = _failed_sign_in(issuer_client, "nobody@example.org", "correct horse battery")
    wrong = _failed_sign_in(issuer_app.test_client(), "nobody@example.org", "another guess!")

    assert locked == unknown == wrong
    assert locked[0] == 401
