"""``issuer credentials issue --all-eligible --workers N``: the option is documented, goes
with --all-eligible only, and a run with workers or without issues the same counts. On
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from issuer.runtime import Runtime
from tests.cli.test_cli import Issuer, issuer  # noqa: F401 - the fixture
from tests.eligible import seed_eligible

pytestmark = pytest.mark.db
PROGRAM = "botox-cosmetic-injector"


def test_workers_is_documented_and_goes_with_all_eligible(issuer: Issuer) -> None:  # noqa: F811
    shown = issuer.invoke("credentials", "issue", "--help").output
    assert "--workers" in shown and "one per core" in shown
    refused = issuer.run("credentials", "issue", "--program", PROGRAM, "--practitioner", "x",
                         "--workers", "2")
    assert refused.returncode != 0 and "--workers go with --all-eligible" in refused.stderr


def test_runs_with_and_without_workers_issue_alike(issuer: Issuer) -> None:  # noqa: F811
    with issuer.app() as app:
        rt: Runtime = app.extensions["issuer"]
        seed_eligible(rt.engine, rt.ctx, 30)
        dry = issuer.ok("credentials", "issue", "--program", PROGRAM, "--all-eligible", "--dry-run",
                        "--workers", "2", "--batch-size", "7")
        assert dry.splitlines()[0] == (
            f"{PROGRAM}: would issue 30, not eligible 0, already certified 0, failed 0")
        done = issuer.ok("credentials", "issue", "--program", PROGRAM, "--all-eligible", "--workers", "2",
                         "--batch-size", "7")
        assert done.splitlines()[0] == f"{PROGRAM}: issued 30, not eligible 0, already certified 0, failed 0"
        seed_eligible(rt.engine, rt.ctx, 5, first=30)
        alone = issuer.ok("credentials", "issue", "--program", PROGRAM, "--all-eligible", "--workers", "0")
        assert alone.splitlines()[0] == f"{PROGRAM}: issued 5, not eligible 0, already certified 30, failed 0"
