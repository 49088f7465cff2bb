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
