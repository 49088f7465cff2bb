"""Configuration defaults that an existing installation relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from issuer import config


def test_the_default_database_is_var_issuer_db_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade must find the database `make run` and earlier versions made."""
    monkeypatch.chdir(tmp_path)
    settings = config.load(environ={})
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'issuer.db'}"


def test_the_shipped_programs_and_keys_directory_are_the_defaults() -> None:
    settings = config.load(environ={})
    assert Path(settings.programs) == config.SHIPPED_PROGRAMS
    assert str(settings.keys_dir).endswith("var/keys")


def test_serve_workers_and_threads_come_from_the_environment() -> None:
    assert (config.load(environ={}).workers, config.load(environ={}).threads) == (None, 8)
    settings = config.load(environ={"ISSUER_WORKERS": "3", "ISSUER_THREADS": "2"})
    assert (settings.workers, settings.threads) == (3, 2)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ISSUER_WORKERS", "0", "ISSUER_WORKERS must be between 1 and 256 worker processes, got 0"),
        ("ISSUER_WORKERS", "257", "ISSUER_WORKERS must be between 1 and 256 worker processes, got 257"),
        ("ISSUER_WORKERS", "two", "ISSUER_WORKERS must be a whole number, got 'two'"),
        ("ISSUER_THREADS", "0", "ISSUER_THREADS must be between 1 and 64 threads per worker, got 0"),
        ("ISSUER_THREADS", "1.5", "ISSUER_THREADS must be a whole number, got '1.5'"),
    ],
)
def test_bad_workers_or_threads_are_one_clear_line(variable: str, value: str, message: str) -> None:
    with pytest.raises(config.ConfigurationError) as caught:
        config.load(environ={variable: value})
    assert str(caught.value) == message
