"""The ``issuer`` command line (DESIGN §6, §7), driven as a user drives it.

Most checks run the installed console script in a subprocess with only ``ISSUER_*``
settings in its environment; database checks use the ``database_url`` fixture, so they
run on SQLite and, with ``TEST_DATABASE_URL``, on PostgreSQL. Commands that touch no
database use ``click.testing.CliRunner`` to stay quick.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, inspect, select

from issuer import access, create_app
from issuer.cli import main
from issuer.config import _ENV
from issuer.errors import ConfigurationError
from issuer.runtime import Runtime
from issuer.store.models import ApiToken
from vc import jose
from vc.status_list import BitstringStatusList

ISSUER = Path(sys.executable).parent / "issuer"

pytestmark = pytest.mark.db


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def one_line_error(self) -> str:
        """The command failed with exactly one line on stderr, no traceback, nothing on stdout."""
        assert self.returncode != 0, self
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert self.stdout == "", self.stdout
        return lines[0]


@dataclass
class Issuer:
    """One issuer installation: a database, a key directory, the environment naming them."""

    home: Path
    database_url: str
    keys_dir: Path
    passphrase: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "ISSUER_DATABASE_URL": self.database_url,
            "ISSUER_KEYS_DIR": str(self.keys_dir),
        }
        if self.passphrase is not None:
            env["ISSUER_KEY_PASSPHRASE"] = self.passphrase
        env.update(extra)
        return env

    def run(self, *args: str, timeout: float = 60, **extra_env: str) -> Result:
        done = subprocess.run(
            [str(ISSUER), *args], env=self.env(**extra_env), cwd=self.home,
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, **extra_env: str) -> str:
        result = self.run(*args, **extra_env)
        assert result.returncode == 0, result
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout

    def invoke(self, *args: str) -> Any:
        """In-process run through CliRunner, with the same settings (for commands without a database)."""
        env: dict[str, str | None] = {var: None for var in _ENV}
        env.update({k: v for k, v in self.env().items() if k.startswith("ISSUER_")})
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    def pem_files(self) -> list[Path]:
        return sorted(self.keys_dir.glob("*.pem"))

    @contextmanager
    def app(self, **settings: Any) -> Iterator[Flask]:
        """A freshly started issuer app on this database and key directory."""
        config = {"database_url": self.database_url, "keys_dir": str(self.keys_dir),
                  "key_passphrase": self.passphrase, **settings}
        app = create_app(config)
        try:
            yield app
        finally:
            app.extensions["issuer"].engine.dispose()


@pytest.fixture
def issuer(tmp_path: Path, database_url: str) -> Issuer:
    """An issuer on the test database after ``issuer init`` (in-process, to save a start-up)."""
    inst = Issuer(home=tmp_path, database_url=database_url, keys_dir=tmp_path / "data" / "keys")
    result = inst.invoke("init")
    assert result.exit_code == 0, result.output
    return inst


def _admin_token(app: Flask) -> str:
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        return access.create_token(session, rt.ctx, "admin", "test admin")


def _status_bit(app: Flask, credential_id: str, purpose: str) -> bool:
    """Whether the credential's bit is set in the status list the app serves (signature checked)."""
    client = app.test_client()
    token = _admin_token(app)
    info = client.get(f"/api/v1/credentials/{credential_id}",
                      headers={"Authorization": f"Bearer {token}"}).json
    entry = next(e for e in info["status_entries"] if e["purpose"] == purpose)
    served = client.get(entry["list_url"].removeprefix("http://127.0.0.1:5000"))
    assert served.status_code == 200
    assert served.mimetype == "application/vc+jwt"
    keys = {k["kid"]: k for k in client.get("/.well-known/jwks.json").json["keys"]}
    verified = jose.verify(served.get_data(as_text=True), typ="vc+jwt", algorithms=["ES256"],
                           key_for=lambda kid: jose.jwk_to_key(keys[kid]) if kid in keys else None)
    subject = verified.payload["credentialSubject"]
    assert subject["statusPurpose"] == purpose
    return BitstringStatusList.decode(subject["encodedList"]).get(int(entry["index"]))


def _demo_credential(issuer: Issuer) -> str:
    out = issuer.ok("demo")
    first = out.splitlines()[0]
    assert first.startswith("demo credential:"), out
    return first.split()[-1]


# --- init ------------------------------------------------------------------------------------


def test_init_creates_database_and_one_private_key_then_reuses_it(tmp_path: Path) -> None:
    db_file = tmp_path / "fresh.db"
    inst = Issuer(home=tmp_path, database_url=f"sqlite:///{db_file}",
                  keys_dir=tmp_path / "data" / "keys")

    out = inst.ok("init")
    assert db_file.is_file()
    engine = create_engine(inst.database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"practitioners", "records", "credentials", "status_lists", "api_tokens"} <= tables
    assert stat.S_IMODE(inst.keys_dir.stat().st_mode) == 0o700
    [pem] = inst.pem_files()
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert f"created signing key {pem.stem} (ES256)" in out
    assert b"PRIVATE KEY" in pem.read_bytes()

    again = inst.ok("init")
    assert inst.pem_files() == [pem]
    assert "created signing key" not in again
    assert "database ready" in again


def test_init_on_an_existing_database_keeps_its_data(issuer: Issuer) -> None:
    credential_id = _demo_credential(issuer)
    issuer.ok("init")
    assert len(issuer.pem_files()) == 1
    assert _demo_credential(issuer) == credential_id


# --- tokens ------------------------------------------------------------------------------------


def test_token_create_prints_a_token_once_that_the_api_accepts(issuer: Issuer) -> None:
    out = issuer.ok("token", "create", "--role", "admin", "--label", "ops laptop")
    [secret] = out.split()
    assert out == secret + "\n"
    with issuer.app() as app:
        client = app.test_client()
        accepted = client.get("/api/v1/programs", headers={"Authorization": f"Bearer {secret}"})
        assert accepted.status_code == 200
        assert "botox-cosmetic-injector" in [p["id"] for p in accepted.json["programs"]]
        refused = client.get("/api/v1/programs", headers={"Authorization": f"Bearer {secret}x"})
        assert refused.status_code == 401
        with app.extensions["issuer"].sessions() as session:
            stored = session.scalars(select(ApiToken)).all()
    assert [(t.role, t.label) for t in stored] == [("admin", "ops laptop")]
    assert secret not in {t.token_hash for t in stored}


def test_registrar_token_cannot_revoke(issuer: Issuer) -> None:
    secret = issuer.ok("token", "create", "--role", "registrar").strip()
    credential_id = _demo_credential(issuer)
    with issuer.app() as app:
        response = app.test_client().post(
            f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "x"},
            headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403


def test_token_create_with_unknown_role_is_one_line(issuer: Issuer) -> None:
    line = issuer.run("token", "create", "--role", "nobody").one_line_error()
    assert "nobody" in line
    assert "admin, certifier, registrar" in line
    with issuer.app() as app, app.extensions["issuer"].sessions() as session:
        assert session.scalars(select(ApiToken)).all() == []


# --- keys ------------------------------------------------------------------------------------


def test_keys_list_rotate_and_jwks(issuer: Issuer) -> None:
    [first] = [p.stem for p in issuer.pem_files()]
    listed = issuer.invoke("keys", "list")
    assert listed.exit_code == 0
    assert listed.output.split()[:3] == [first, "ES256", "active"]

    rotated = issuer.invoke("keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    [second] = [p.stem for p in issuer.pem_files() if p.stem != first]
    assert f"active signing key is now {second}" in rotated.output

    states = {line.split()[0]: line.split()[2] for line in issuer.invoke("keys", "list").output.splitlines()}
    assert states == {first: "retired", second: "active"}
    with issuer.app() as app:
        assert app.extensions["issuer"].ctx.signer.kid == second
        served = app.test_client().get("/.well-known/jwks.json").json
    assert sorted(k["kid"] for k in served["keys"]) == sorted([first, second])
    assert all("d" not in k for k in served["keys"])


def test_keys_retire_unknown_kid_is_one_line(issuer: Issuer) -> None:
    line = issuer.run("keys", "retire", "no-such-kid").one_line_error()
    assert "no key no-such-kid" in line
    assert len(issuer.pem_files()) == 1


def test_serve_runs_gunicorn_workers_that_each_build_the_app(
    issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving import server

    served: dict[str, Any] = {}

    def run(factory: Any, **options: Any) -> None:
        served.update(factory=factory, **options)
        options["on_ready"]("http://127.0.0.1:5998")

    monkeypatch.setattr(server, "run", run)

    def serve(*args: str, **extra_env: str) -> Any:
        env: dict[str, str | None] = {var: None for var in _ENV}
        env.update({k: v for k, v in issuer.env(**extra_env).items() if k.startswith("ISSUER_")})
        return CliRunner().invoke(main, ["serve", "--port", "5998", *args], env=env)

    result = serve(ISSUER_WORKERS="3", ISSUER_THREADS="5")
    assert result.exit_code == 0, result.output
    # The factory, not an app: each worker builds its own (its own database pool) after the fork.
    assert served["factory"] is create_app
    assert (served["host"], served["port"], served["workers"], served["threads"]) == ("127.0.0.1", 5998, 3, 5)
    assert "issuer listening on http://127.0.0.1:5998 (3 workers x 5 threads)" in result.output

    assert serve("--workers", "1", "--threads", "2", ISSUER_WORKERS="3").exit_code == 0
    assert (served["workers"], served["threads"]) == (1, 2)

    served.clear()
    refused = serve(ISSUER_WORKERS="0")
    assert refused.exit_code == 1 and not served
    assert refused.output.strip() == "Error: ISSUER_WORKERS must be between 1 and 256 worker processes, got 0"


def test_private_key_readable_by_others_stops_the_issuer(issuer: Issuer) -> None:
    [pem] = issuer.pem_files()
    pem.chmod(0o644)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = issuer.run("serve", "--port", str(port), timeout=30).one_line_error()
    assert f"chmod 600 {pem}" in line
    with pytest.raises(ConfigurationError, match=r"chmod 600"), issuer.app():
        pass
    assert "chmod 600" in issuer.run("credentials", "revoke", "x", "--reason", "r").one_line_error()

    pem.chmod(0o600)
    with issuer.app() as app:
        assert app.test_client().get("/.well-known/jwks.json").status_code == 200


def test_encrypted_key_needs_the_right_passphrase(tmp_path: Path, database_url: str) -> None:
    inst = Issuer(home=tmp_path, database_url=database_url, keys_dir=tmp_path / "keys",
                  passphrase="correct horse")
    inst.ok("init")
    [pem] = inst.pem_files()
    assert pem.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    wrong = inst.run("token", "create", "--role", "admin",
                     ISSUER_KEY_PASSPHRASE="battery staple").one_line_error()
    assert f"key {pem.stem} could not be decrypted: wrong passphrase?" in wrong
    missing = inst.run("token", "create", "--role", "admin", ISSUER_KEY_PASSPHRASE="").one_line_error()
    assert "set ISSUER_KEY_PASSPHRASE" in missing
    with pytest.raises(ConfigurationError, match=r"wrong passphrase"), inst.app(key_passphrase="nope"):
        pass

    assert inst.ok("token", "create", "--role", "admin").startswith("bxc_")


def test_rotate_with_a_wrong_passphrase_writes_no_key(tmp_path: Path, database_url: str) -> None:
    """Otherwise the new key is encrypted under the wrong passphrase and the issuer cannot start."""
    inst = Issuer(home=tmp_path, database_url=database_url, keys_dir=tmp_path / "keys",
                  passphrase="correct horse")
    inst.ok("init")
    before = inst.pem_files()

    line = inst.run("keys", "rotate", ISSUER_KEY_PASSPHRASE="battery staple").one_line_error()
    assert "wrong passphrase" in line
    assert inst.pem_files() == before
    again = inst.run("init", ISSUER_KEY_PASSPHRASE="battery staple").one_line_error()
    assert "wrong passphrase" in again
    assert inst.pem_files() == before

    with inst.app() as app:
        assert app.extensions["issuer"].ctx.signer.kid == before[0].stem


# --- credentials: revoke, suspend, reinstate -------------------------------------------------


def test_revoke_unknown_credential_is_one_line(issuer: Issuer) -> None:
    result = issuer.run("credentials", "revoke", "no-such-id", "--reason", "x")
    assert result.returncode == 1
    assert result.one_line_error() == "Error: no credential 'no-such-id'"


def test_demo_is_idempotent(issuer: Issuer) -> None:
    first = issuer.ok("demo")
    second = issuer.ok("demo")
    assert first == second
    credential_id = first.splitlines()[0].split()[-1]
    assert f"holder page:      http://127.0.0.1:5000/credentials/{credential_id}" in first
    with issuer.app() as app:
        assert app.test_client().get(f"/credentials/{credential_id}/jwt").status_code == 200


def test_suspend_then_reinstate_clears_the_served_bit(issuer: Issuer) -> None:
    credential_id = _demo_credential(issuer)
    with issuer.app() as app:
        assert _status_bit(app, credential_id, "suspension") is False

    out = issuer.ok("credentials", "suspend", credential_id, "--reason", "complaint under review")
    assert out == f"credential {credential_id} is now suspended\n"
    with issuer.app() as app:
        assert _status_bit(app, credential_id, "suspension") is True
        assert _status_bit(app, credential_id, "revocation") is False

    twice = issuer.run("credentials", "suspend", credential_id, "--reason", "again").one_line_error()
    assert twice == "Error: cannot suspend a credential that is suspended"

    out = issuer.ok("credentials", "reinstate", credential_id)
    assert out == f"credential {credential_id} is now active\n"
    with issuer.app() as app:
        assert _status_bit(app, credential_id, "suspension") is False
        token = _admin_token(app)
        info = app.test_client().get(f"/api/v1/credentials/{credential_id}",
                                     headers={"Authorization": f"Bearer {token}"}).json
    assert info["status"] == "active"


def test_revoked_credential_cannot_be_suspended_or_reinstated(issuer: Issuer) -> None:
    credential_id = _demo_credential(issuer)
    out = issuer.ok("credentials", "revoke", credential_id, "--reason", "license revoked by board")
    assert out == f"credential {credential_id} is now revoked\n"

    suspend = issuer.run("credentials", "suspend", credential_id, "--reason", "x")
    assert suspend.returncode == 1
    assert suspend.one_line_error() == "Error: cannot suspend a credential that is revoked"
    reinstate = issuer.run("credentials", "reinstate", credential_id).one_line_error()
    assert reinstate == "Error: cannot reinstate a credential that is revoked"
    with issuer.app() as app:
        assert _status_bit(app, credential_id, "revocation") is True
        assert _status_bit(app, credential_id, "suspension") is False


def test_revoke_requires_a_reason(issuer: Issuer) -> None:
    credential_id = _demo_credential(issuer)
    result = issuer.run("credentials", "revoke", credential_id)
    assert result.returncode != 0
    assert "--reason" in result.stderr
    with issuer.app() as app:
        assert _status_bit(app, credential_id, "revocation") is False
