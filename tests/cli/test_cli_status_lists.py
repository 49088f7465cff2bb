"""``issuer status-lists verify [--repair]``: a status written around the issuer (straight
into the database, as a restored backup or a hand-made fix would) is found at once, not at
the next daily re-signing, and ``--repair`` publishes what the statuses say, audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.cli.test_cli import Issuer, _demo_credential, _status_bit, issuer  # noqa: F401 - fixture

pytestmark = pytest.mark.db


def _set_status_in_sql(inst: Issuer, credential_id: str, status: str) -> None:
    engine = create_engine(inst.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE credentials SET status = :s WHERE id = :id"),
                     {"s": status, "id": credential_id})
    engine.dispose()


def test_lists_that_say_what_the_statuses_say_pass(issuer: Issuer) -> None:  # noqa: F811
    credential_id = _demo_credential(issuer)
    issuer.ok("credentials", "revoke", credential_id, "--reason", "issued in error")
    out = issuer.ok("status-lists", "verify")
    assert out == "3 status lists checked: each says what the credential statuses say\n"


def test_a_status_written_in_sql_is_found_then_repaired_and_audited(issuer: Issuer) -> None:  # noqa: F811
    credential_id = _demo_credential(issuer)
    _set_status_in_sql(issuer, credential_id, "suspended")

    found = issuer.run("status-lists", "verify")
    assert found.returncode == 1
    assert found.stdout.startswith("suspension list "), found.stdout
    assert "1 bit(s) differ from the credential statuses (index " in found.stdout
    assert found.stderr.strip() == ("Error: 1 of 3 status lists differ from the credential statuses; "
                                    "'issuer status-lists verify --repair' re-signs them")
    with issuer.app() as app:
        assert _status_bit(app, credential_id, "suspension") is False, "checking alone changes nothing"

    repaired = issuer.ok("status-lists", "verify", "--repair")
    assert repaired.endswith("; re-signed\n3 status lists checked, 1 re-signed\n"), repaired
    with issuer.app() as app:
        assert _status_bit(app, credential_id, "suspension") is True
        assert _status_bit(app, credential_id, "revocation") is False
    assert issuer.ok("status-lists", "verify").startswith("3 status lists checked: each says")
    assert issuer.ok("audit", "verify").startswith("audit log intact")
    entries = [json.loads(line) for line in issuer.ok("audit", "export").splitlines()]
    repair = [e for e in entries if e["action"] == "status_list_repair"]
    assert len(repair) == 1 and repair[0]["data"]["purpose"] == "suspension"
    assert repair[0]["data"]["differing"] == 1 and len(repair[0]["data"]["indexes"]) == 1


def test_repair_with_no_active_key_is_refused_in_one_line(issuer: Issuer) -> None:  # noqa: F811
    credential_id = _demo_credential(issuer)
    _set_status_in_sql(issuer, credential_id, "revoked")
    kid = issuer.ok("keys", "list").split()[0]
    issuer.ok("keys", "retire", kid)
    error = issuer.run("status-lists", "verify", "--repair").one_line_error()
    assert "no active signing key" in error, error
    assert issuer.run("status-lists", "verify").returncode == 1, "the list is still as it was"
