"""``issuer staff create``: console accounts from the command line."""

from __future__ import annotations

import subprocess

import pytest

from issuer import access
from tests.cli.test_cli import ISSUER, Issuer, issuer  # noqa: F401 - the fixture

pytestmark = pytest.mark.db


def create(inst: Issuer, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ISSUER), "staff", "create", *args, "--password-stdin"],
        input=password + "\n", env=inst.env(), cwd=inst.home,
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_staff_create_then_sign_in(issuer: Issuer) -> None:  # noqa: F811
    done = create(issuer, "--email", "Ana@Example.org", "--role", "certifier", password="a long passphrase 1")

    assert done.returncode == 0, done.stderr
    assert "ana@example.org (certifier) created" in done.stdout
    assert "a long passphrase" not in done.stdout
    with issuer.app() as app:
        rt = app.extensions["issuer"]
        with rt.sessions() as session:
            account = access.sign_in(session, rt.ctx, "ana@example.org", "a long passphrase 1")
            assert account.role == "certifier"
            assert account.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("--email", "x@example.org", "--role", "owner"), "a long passphrase 1", "unknown role"),
        (("--email", "x@example.org", "--role", "admin"), "short", "at least 12 characters"),
    ],
)
def test_staff_create_refusals_are_one_line(
    issuer: Issuer, args: tuple[str, ...], password: str, message: str  # noqa: F811
) -> None:
    done = create(issuer, *args, password=password)

    assert done.returncode != 0
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_staff_create_twice_is_a_conflict(issuer: Issuer) -> None:  # noqa: F811
    create(issuer, "--email", "b@example.org", "--role", "admin", password="a long passphrase 1")

    done = create(issuer, "--email", "b@example.org", "--role", "admin", password="a long passphrase 2")

    assert done.returncode != 0 and "already exists" in done.stderr
