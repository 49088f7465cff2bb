"""``issuer keys generate|rotate --alg`` agrees with ISSUER_SIGNING_ALG or refuses in one line
(exit 2), and commands that never sign are not blocked by the state of the keys."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from issuer.cli import main
from issuer.config import _ENV
from tests.cli.test_cli import Issuer, issuer  # noqa: F401 - the fixture
from tests.http.issuer.test_imports import good_row, to_csv

pytestmark = pytest.mark.db


def _invoke(inst: Issuer, *args: str, **extra_env: str) -> Any:
    env: dict[str, str | None] = {var: None for var in _ENV}
    env.update({k: v for k, v in inst.env(**extra_env).items() if k.startswith("ISSUER_")})
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("command", ["generate", "rotate"])
def test_alg_other_than_the_configured_one_is_refused_in_one_line(
    issuer: Issuer, command: str  # noqa: F811
) -> None:
    before = issuer.pem_files()

    result = _invoke(issuer, "keys", command, "--alg", "EdDSA")

    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "Error: --alg EdDSA differs from ISSUER_SIGNING_ALG=ES256: set ISSUER_SIGNING_ALG=EdDSA for this "
        "command and for every issuer process, or leave out --alg; no key was made"
    ]
    assert issuer.pem_files() == before


def test_alg_equal_to_the_configuration_makes_the_key(issuer: Issuer) -> None:  # noqa: F811
    result = _invoke(issuer, "keys", "rotate", "--alg", "EdDSA", ISSUER_SIGNING_ALG="EdDSA")

    assert result.exit_code == 0, result.output
    assert "(EdDSA)" in result.output
    assert _invoke(issuer, "audit", "verify", ISSUER_SIGNING_ALG="EdDSA").exit_code == 0


@pytest.mark.parametrize(
    ("state", "env"),
    [
        ("no active key", {}),
        ("active key of another algorithm", {"ISSUER_SIGNING_ALG": "EdDSA"}),
        ("wrong passphrase", {"ISSUER_KEY_PASSPHRASE": "not the passphrase"}),
    ],
)
def test_commands_that_do_not_sign_are_not_blocked_by_the_keys(
    issuer: Issuer, tmp_path: Any, state: str, env: dict[str, str]  # noqa: F811
) -> None:
    if state == "no active key":
        [kid] = [line.split()[0] for line in _invoke(issuer, "keys", "list").output.splitlines()]
        assert _invoke(issuer, "keys", "retire", kid).exit_code == 0
    csv_file = tmp_path / "cohort.csv"
    csv_file.write_bytes(to_csv(good_row()))

    for args in (
        ("audit", "verify"),
        ("audit", "export", "-o", str(tmp_path / "audit.jsonl")),
        ("eligibility", "nobody", "--program", "botox-cosmetic-injector"),
        ("records", "import", "--dry-run", str(csv_file)),
        ("records", "import", str(csv_file)),
        ("records", "export"),
    ):
        result = _invoke(issuer, *args, **env)
        if args[0] == "eligibility":
            assert "no practitioner 'nobody'" in result.output, result.output
        else:
            assert result.exit_code == 0, (state, args, result.output)
    # Signing still refuses while the keys are in that state.
    assert _invoke(issuer, "demo", **env).exit_code != 0
