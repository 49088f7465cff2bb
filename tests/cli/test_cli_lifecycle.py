"""The lifecycle commands: keys compromised, credentials reissue/renew, revoke categories,
audit verify/export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from issuer.credentials import status_lists
from tests.cli.test_cli import Issuer, _demo_credential, issuer  # noqa: F401 - fixture

__all__ = ["issuer"]


def _kid(inst: Issuer) -> str:
    [pem] = inst.pem_files()
    return pem.stem


def test_compromised_lists_the_credentials_then_reissue_by_kid(issuer: Issuer) -> None:  # noqa: F811
    credential = _demo_credential(issuer)
    bad = _kid(issuer)

    out = issuer.ok("keys", "compromised", bad, "--reason", "laptop stolen")
    assert f"key {bad} is compromised" in out
    assert "new active signing key:" in out
    assert f"{credential}  active" in out
    assert f"issuer credentials reissue --kid {bad}" in out
    states = {line.split()[0]: line.split()[2] for line in issuer.ok("keys", "list").splitlines()}
    assert states[bad] == "compromised"
    assert list(states.values()).count("active") == 1

    with issuer.app() as app:
        served = {k["kid"] for k in app.test_client().get("/.well-known/jwks.json").json["keys"]}
    assert bad not in served

    reissued = issuer.ok("credentials", "reissue", "--kid", bad)
    [mapping] = [line for line in reissued.splitlines() if "->" in line]
    assert mapping.startswith(f"{credential} -> ")
    assert "1 credential(s) re-issued" in reissued
    assert "0 credential(s) re-issued" in issuer.ok("credentials", "reissue", "--kid", bad)


def test_compromised_unknown_kid_is_one_line(issuer: Issuer) -> None:  # noqa: F811
    assert "no key nope" in issuer.run("keys", "compromised", "nope").one_line_error()


@pytest.mark.parametrize("command", ["compromised", "retire"])
def test_a_kid_that_begins_with_a_dash_is_taken_as_the_kid(issuer: Issuer, command: str) -> None:  # noqa: F811
    # One thumbprint in 64 begins with "-"; copied from `keys list`, it must not read as an option.
    kid = "-bEu3u5T7ldsSBIRlDcjqjYKQqEpbD-L362FSdutFys"
    assert f"no key {kid}" in issuer.run("keys", command, kid).one_line_error()
    assert f"no key {kid}" in issuer.run("keys", command, "--", kid).one_line_error()
    if command == "compromised":
        line = issuer.run("keys", command, "--reason", "-lost", kid).one_line_error()
        assert f"no key {kid}" in line
    usage = issuer.run("keys", command, kid, "--nope")
    assert usage.returncode == 2 and "unexpected extra argument (--nope)" in usage.stderr


def test_reissue_needs_an_id_or_a_kid(issuer: Issuer) -> None:  # noqa: F811
    assert "either a credential id or --kid" in issuer.run("credentials", "reissue").one_line_error()


def test_renew_and_revoke_with_a_public_category(issuer: Issuer) -> None:  # noqa: F811
    credential = _demo_credential(issuer)
    out = issuer.ok("credentials", "renew", credential)
    new = out.split()[2]
    assert out.startswith(f"{credential} -> {new}")
    line = issuer.run("credentials", "revoke", new, "--reason", "x", "--category", "nope").one_line_error()
    assert "unknown category 'nope'" in line
    done = issuer.ok("credentials", "revoke", new, "--reason", "board order",
                     "--category", "license_action", "--note", "case 114")
    assert done.strip() == f"credential {new} is now revoked"
    with issuer.app() as app:
        public = app.test_client().get(f"/status/credentials/{new}").json
    assert public["category"] == "license_action"
    assert "case 114" not in json.dumps(public)


def test_audit_verify_export_and_tampering(issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    credential = _demo_credential(issuer)
    issuer.ok("credentials", "suspend", credential, "--reason", "review")
    issuer.ok("keys", "rotate")
    out = issuer.ok("audit", "verify")
    assert out.startswith("audit log intact:")

    target = tmp_path / "audit.jsonl"
    assert "entries written" in issuer.ok("audit", "export", "--output", str(target))
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    actions = [line["action"] for line in lines]
    assert actions[0] == "key_generate"  # issuer init made the first key
    assert {"issue", "suspend", "key_rotate"} <= set(actions)
    assert all(line["actor"] for line in lines) and all(line["at"].endswith("Z") for line in lines)

    suspend_seq = next(line["seq"] for line in lines if line["action"] == "suspend")
    engine = create_engine(issuer.database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # someone able to switch the trigger off
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET reason = 'routine' WHERE seq = :s"), {"s": suspend_seq})
        if engine.dialect.name == "postgresql":  # and back on: the schema is shared with other tests
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"))
    engine.dispose()
    line = issuer.run("audit", "verify").one_line_error()
    assert f"audit log broken at entry {suspend_seq}" in line


def test_key_commands_need_the_database_and_change_nothing_without_it(tmp_path: Path) -> None:
    inst = Issuer(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'missing.db'}",
                  keys_dir=tmp_path / "keys")
    from keys import KeyStore

    KeyStore(inst.keys_dir).generate("ES256")
    line = inst.run("keys", "rotate").one_line_error()
    assert "run 'issuer init' first" in line
    assert len(inst.pem_files()) == 1


# --- key changes are all or nothing ------------------------------------------------------------


def _key_state(inst: Issuer) -> tuple[dict[str, bytes], list[str], list[str]]:
    """Key files (name -> bytes), the audit log's actions, and the kid of every stored list."""
    files = {p.name: p.read_bytes() for p in sorted(inst.keys_dir.iterdir())}
    engine = create_engine(inst.database_url)
    try:
        with engine.connect() as conn:
            actions = [row[0] for row in conn.execute(text("SELECT action FROM audit_log ORDER BY seq"))]
            tokens = conn.execute(text("SELECT token FROM status_lists ORDER BY id"))
            lists = [row[0].split(".")[0] for row in tokens]
    finally:
        engine.dispose()
    return files, actions, lists


@pytest.mark.parametrize("command", [("keys", "rotate"), ("keys", "compromised", "{kid}")])
@pytest.mark.parametrize("failure", ["second list", "commit"])
def test_a_key_change_that_fails_part_way_changes_nothing(
    issuer: Issuer, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...], failure: str  # noqa: F811
) -> None:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session


    _demo_credential(issuer)  # three signed lists
    before = _key_state(issuer)
    lost = OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
    if failure == "second list":
        real_sign, calls = status_lists.sign_list, []

        def sign_then_fail(*args: object) -> None:
            calls.append(1)
            if len(calls) == 2:
                raise lost
            real_sign(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(status_lists, "sign_list", sign_then_fail)
    else:
        def commit_fails(self: Session) -> None:
            raise lost

        monkeypatch.setattr(Session, "commit", commit_fails)
    args = [part.format(kid=_kid(issuer)) for part in command]
    result = issuer.invoke(*args)
    monkeypatch.undo()

    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "the database refused the key change" in line and "nothing was changed" in line
    assert _key_state(issuer) == before
    assert len(issuer.pem_files()) == 1
    issuer.ok(*args)  # and the same command then works
    files, actions, lists = _key_state(issuer)
    assert actions[len(before[1])] == ("key_rotate" if command[1] == "rotate" else "key_compromised")
    assert len(set(lists)) == 1 and lists != before[2]
