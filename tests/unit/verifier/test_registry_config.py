"""Trust registry loading and layered configuration: bad input stops start-up, clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from verifier import create_app
from verifier.config import settings_from
from verifier.registry import (
    ConfigError,
    RegistryError,
    default_registry,
    load_registry,
    parse_registry,
)

GOOD = {
    "id": "https://issuer.example",
    "name": "Example Institute",
    "jwks_url": "https://issuer.example/.well-known/jwks.json",
}


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "trusted.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_load_registry_from_file(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, json.dumps({"issuers": [GOOD]})))

    issuer = registry.get("https://issuer.example")
    assert issuer is not None and issuer.name == "Example Institute"
    assert registry.get("https://issuer.example/") is None  # exact match only


def test_default_registry_trusts_the_demo_issuer() -> None:
    issuer = default_registry().get("http://127.0.0.1:5000")

    assert issuer is not None
    assert issuer.name == "Demo Aesthetic Training Institute"
    assert issuer.jwks_url == "http://127.0.0.1:5000/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected an object"),
        ('{"issuers": []}', "empty"),
        (json.dumps({"issuers": [{**GOOD, "id": "https://issuer.example/"}]}), "trailing"),
        (json.dumps({"issuers": [{**GOOD, "id": "issuer.example"}]}), "not an http(s) URL"),
        (json.dumps({"issuers": [{**GOOD, "name": "  "}]}), "name must be a non-empty"),
        (json.dumps({"issuers": [{**GOOD, "jwks_url": "ftp://x/jwks"}]}), "jwks_url"),
        (json.dumps({"issuers": [{**GOOD, "extra": 1}]}), "unknown fields"),
        (json.dumps({"issuers": [GOOD, GOOD]}), "listed twice"),
        (json.dumps({"issuers": ["https://issuer.example"]}), "not an object"),
    ],
)
def test_malformed_registry_names_file_and_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = write(tmp_path, content)
    if problem == "trailing":
        problem = "must not end with a slash"

    with pytest.raises(RegistryError) as info:
        create_app({"TRUSTED_ISSUERS": str(path)})

    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_missing_registry_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "nope.json")


def test_registry_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, json.dumps({"issuers": [GOOD]}))
    monkeypatch.setenv("VERIFIER_TRUSTED_ISSUERS", str(path))
    monkeypatch.setenv("VERIFIER_ALGORITHMS", "EdDSA")
    monkeypatch.setenv("VERIFIER_LEEWAY_SECONDS", "30")

    settings = create_app().extensions["verifier"].settings

    assert settings.registry.get("https://issuer.example") is not None
    assert settings.algorithms == {"EdDSA"}
    assert settings.leeway.total_seconds() == 30


def test_test_config_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_ALGORITHMS", "EdDSA")

    app = create_app({"ALGORITHMS": "ES256", "TRUSTED_ISSUERS": {"issuers": [GOOD]}})

    assert app.extensions["verifier"].settings.algorithms == {"ES256"}


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VERIFIER_TRUSTED_ISSUERS", "VERIFIER_ALGORITHMS", "VERIFIER_LEEWAY_SECONDS"):
        monkeypatch.delenv(name, raising=False)

    app = create_app()
    settings = app.extensions["verifier"].settings

    assert settings.algorithms == {"ES256", "EdDSA"}
    assert settings.leeway.total_seconds() == 60
    assert settings.registry.get("http://127.0.0.1:5000") is not None
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ALGORITHMS", "HS256"),
        ("ALGORITHMS", "none"),
        ("ALGORITHMS", "ES256,RS256"),
        ("ALGORITHMS", ""),
        ("LEEWAY_SECONDS", -1),
        ("LEEWAY_SECONDS", "lots"),
        ("LEEWAY_SECONDS", 100_000),
        ("FETCH_DEADLINE_SECONDS", 0),
        ("FETCH_DEADLINE_SECONDS", 0.1),
        ("FETCH_DEADLINE_SECONDS", 31),
        ("FETCH_DEADLINE_SECONDS", "soon"),
        ("FETCH_DEADLINE_SECONDS", True),
        ("FETCH_DEADLINE_SECONDS", float("nan")),
        ("FETCH_DEADLINE_SECONDS", None),
    ],
)
def test_bad_settings_refused(key: str, value: object) -> None:
    config = {
        "TRUSTED_ISSUERS": {"issuers": [GOOD]},
        "ALGORITHMS": "ES256",
        "LEEWAY_SECONDS": 60,
        "JWKS_REFRESH_INTERVAL_SECONDS": 30,
        "JWKS_DEFAULT_MAX_AGE_SECONDS": 300,
        "FETCH_DEADLINE_SECONDS": 5,
        key: value,
    }
    with pytest.raises(ConfigError, match=key):
        settings_from(config)


def test_fetch_deadline_defaults_to_5_seconds_and_reaches_the_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VERIFIER_FETCH_DEADLINE_SECONDS", raising=False)
    services = create_app({"TRUSTED_ISSUERS": {"issuers": [GOOD]}}).extensions["verifier"]
    assert services.settings.fetch_deadline == 5.0

    monkeypatch.setenv("VERIFIER_FETCH_DEADLINE_SECONDS", "2.5")
    services = create_app({"TRUSTED_ISSUERS": {"issuers": [GOOD]}}).extensions["verifier"]

    assert services.settings.fetch_deadline == 2.5
    assert services.resolver._deadline == 2.5


@pytest.mark.parametrize("value", [0.5, 1, "3", " 4.5 ", 30])
def test_fetch_deadline_accepts_seconds_within_bounds(value: object) -> None:
    config = {
        "TRUSTED_ISSUERS": {"issuers": [GOOD]},
        "ALGORITHMS": "ES256",
        "LEEWAY_SECONDS": 60,
        "JWKS_REFRESH_INTERVAL_SECONDS": 30,
        "JWKS_DEFAULT_MAX_AGE_SECONDS": 300,
        "FETCH_DEADLINE_SECONDS": value,
    }
    assert settings_from(config).fetch_deadline == float(str(value).strip())


def test_parse_registry_names_source() -> None:
    with pytest.raises(RegistryError, match="^my source: "):
        parse_registry({"issuers": [{**GOOD, "name": ""}]}, "my source")


def test_import_verifier_loads_no_issuer_or_sqlalchemy() -> None:
    # ``keys`` is allowed: the verifier signs its receipts with a key of its own.
    code = (
        "import sys, verifier, verifier.cli;"
        "bad = [m for m in ('issuer', 'sqlalchemy') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.stdout.strip() == ""


def test_cli_serve_reports_bad_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from verifier.cli import main

    path = write(tmp_path, "{oops")
    monkeypatch.setenv("VERIFIER_TRUSTED_ISSUERS", str(path))

    result = CliRunner().invoke(main, ["serve", "--port", "0"])

    assert result.exit_code != 0
    assert str(path) in result.output
    assert "not valid JSON" in result.output


def test_cli_serve_runs_gunicorn_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from serving import server
    from verifier.cli import main

    for name in ("VERIFIER_TRUSTED_ISSUERS", "VERIFIER_ALGORITHMS", "VERIFIER_LEEWAY_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VERIFIER_WORKERS", "3")
    monkeypatch.setenv("VERIFIER_THREADS", "5")
    served: dict[str, Any] = {}

    def run(factory: Any, **options: Any) -> None:
        served.update(factory=factory, **options)
        options["on_ready"]("http://127.0.0.1:5999")

    monkeypatch.setattr(server, "run", run)

    result = CliRunner().invoke(main, ["serve", "--host", "127.0.0.1", "--port", "5999"])

    assert result.exit_code == 0, result.output
    # Each worker builds its own app (and caches) after the fork: the factory, not an app.
    assert served["factory"] is create_app
    assert (served["host"], served["port"], served["workers"], served["threads"]) == ("127.0.0.1", 5999, 3, 5)
    assert "http://127.0.0.1:5999/ (3 workers x 5 threads)" in result.output

    result = CliRunner().invoke(main, ["serve", "--port", "5999", "--workers", "1", "--threads", "2"])
    assert result.exit_code == 0, result.output
    assert (served["workers"], served["threads"]) == (1, 2)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("VERIFIER_WORKERS", "0",
         "WORKERS (VERIFIER_WORKERS) must be between 1 and 256 worker processes, got 0"),
        ("VERIFIER_WORKERS", "many",
         "WORKERS (VERIFIER_WORKERS) must be between 1 and 256 worker processes, got 'many'"),
        ("VERIFIER_THREADS", "65",
         "THREADS (VERIFIER_THREADS) must be between 1 and 64 threads per worker, got 65"),
    ],
)
def test_cli_serve_refuses_bad_workers_or_threads(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    from click.testing import CliRunner

    from serving import server
    from verifier.cli import main

    monkeypatch.delenv("VERIFIER_TRUSTED_ISSUERS", raising=False)
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(server, "run", lambda *a, **kw: pytest.fail("must not serve"))

    result = CliRunner().invoke(main, ["serve", "--port", "5999"])

    assert result.exit_code == 1
    assert result.output.strip() == f"Error: cannot start the verifier: {message}"
