"""Credential lifecycle through the issuer's HTTP API, judged by the real verifier whose
network is the issuer's test client: key rotation and compromise, re-issue, renewal,
correction, public reason categories and private notes, and the audit trail of it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer import access, audit, create_app
from issuer.credentials import signing_keys, supersession
from issuer.runtime import Runtime
from issuer.web.edge import PUBLIC_CONFIGURATION_DETAIL
from keys import KeyStore
from tests.conftest import FakeClock, auth, enrol, issue
from verifier.core import Policy, Verifier
from verifier.registry import TrustedIssuer, TrustRegistry
from verifier.resolver import FetchResponse, Resolver

pytestmark = pytest.mark.http

ISSUER_URL = "http://127.0.0.1:5000"


@pytest.fixture
def own_keys(tmp_path: Path) -> KeyStore:
    """A key directory of this test only (tests here rotate and compromise keys)."""
    store = KeyStore(tmp_path / "keys")
    store.generate("ES256")
    return store


@pytest.fixture
def keys_dir(own_keys: KeyStore) -> Path:
    """The shared ``issuer_app`` fixture, but on this test's own key directory."""
    return own_keys.directory


@pytest.fixture
def app(issuer_app: Flask) -> Flask:
    return issuer_app


@pytest.fixture
def client(issuer_client: FlaskClient) -> FlaskClient:
    return issuer_client


def verifier_of(client: FlaskClient, now: datetime) -> Verifier:
    """A fresh verifier (empty caches) trusting the test issuer, fetching through ``client``."""

    def fetch(url: str, headers: dict[str, str]) -> FetchResponse:
        response = client.get(url.removeprefix(ISSUER_URL), headers=headers)
        return FetchResponse(response.status_code, dict(response.headers), response.data)

    registry = TrustRegistry(
        [TrustedIssuer(ISSUER_URL, "Test Academy", f"{ISSUER_URL}/.well-known/jwks.json")]
    )
    algorithms = frozenset({"ES256", "EdDSA"})
    resolver = Resolver(registry, fetch=fetch, clock=lambda: now, algorithms=algorithms)
    return Verifier(registry, resolver, Policy(algorithms), lambda: now)


def status_of(client: FlaskClient, clock: FakeClock, token: str) -> str:
    return verifier_of(client, clock.now).verify_credential(token).status


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def published(client: FlaskClient) -> set[str]:
    return {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}


def certify(client: FlaskClient, tokens: dict[str, str], email: str, **overrides: Any) -> dict[str, Any]:
    return issue(client, tokens, enrol(client, tokens, email=email, **overrides))


# --- keys ------------------------------------------------------------------------------------------


def test_rotation_keeps_old_credentials_valid_and_signs_new_ones_with_the_new_key(
    client: FlaskClient, tokens: dict[str, str], own_keys: KeyStore, clock: FakeClock
) -> None:
    old = certify(client, tokens, "a@example.org")
    first = kid_of(old["credential"])
    # Another process (the CLI) rotates; the running issuer notices on its next request.
    second = KeyStore(own_keys.directory).generate("ES256").kid
    new = certify(client, tokens, "b@example.org")
    assert kid_of(new["credential"]) == second != first
    assert published(client) == {first, second}
    assert status_of(client, clock, old["credential"]) == "valid"
    assert status_of(client, clock, new["credential"]) == "valid"


def test_retired_key_leaves_the_jwk_set_only_after_its_credentials_have_expired(
    client: FlaskClient, tokens: dict[str, str], own_keys: KeyStore, clock: FakeClock
) -> None:
    old = certify(client, tokens, "a@example.org")
    first = kid_of(old["credential"])
    second = KeyStore(own_keys.directory).generate("ES256").kid
    clock.advance(days=30)  # well past any status list the first key signed
    assert published(client) == {first, second}
    valid_until = datetime.fromisoformat(old["valid_until"])
    clock.now = valid_until + signing_keys.KEY_PUBLISH_GRACE - timedelta(seconds=1)
    assert published(client) == {first, second}
    clock.now = valid_until + signing_keys.KEY_PUBLISH_GRACE + timedelta(seconds=1)
    assert published(client) == {second}


def test_retired_key_that_signed_nothing_stays_published_while_its_lists_may_be_cached(
    client: FlaskClient, own_keys: KeyStore, clock: FakeClock
) -> None:
    first = published(client).pop()
    own_keys.generate("ES256")
    retired_at = datetime.fromisoformat(own_keys.record(first).changed_at or "")  # the key store's clock
    clock.now = retired_at + timedelta(days=6, hours=23)
    assert first in published(client)
    clock.now = retired_at + timedelta(days=7, seconds=1)
    assert first not in published(client)


def test_compromise_makes_exactly_its_credentials_not_authentic_and_reissue_restores_them(
    app: Flask, client: FlaskClient, tokens: dict[str, str], own_keys: KeyStore, clock: FakeClock
) -> None:
    a = certify(client, tokens, "a@example.org")
    b = certify(client, tokens, "b@example.org")
    bad = kid_of(a["credential"])
    good = KeyStore(own_keys.directory).generate("ES256").kid
    c = certify(client, tokens, "c@example.org")
    assert kid_of(c["credential"]) == good

    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        done = signing_keys.compromise_key(session, rt.current_ctx(), bad, "test", "laptop stolen")
        assert sorted(row.id for row in done.affected) == sorted([a["id"], b["id"]])
        assert done.new_active is None
    # At once: the served key set no longer holds it.
    assert published(client) == {good}
    assert status_of(client, clock, a["credential"]) == "not_authentic"
    assert status_of(client, clock, b["credential"]) == "not_authentic"
    assert status_of(client, clock, c["credential"]) == "valid"

    with rt.sessions() as session:
        pairs = dict(supersession.reissue_for_kid(session, rt.current_ctx(), bad, "test", "key compromised"))
    assert set(pairs) == {a["id"], b["id"]}
    for old in (a, b):
        new_id = pairs[old["id"]]
        assert new_id != old["id"]
        token = client.get(f"/credentials/{new_id}/jwt").get_data(as_text=True)
        assert kid_of(token) == good
        assert status_of(client, clock, token) == "valid"
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["validUntil"] == old["valid_until"]
        info = client.get(f"/api/v1/credentials/{old['id']}", headers=auth(tokens["admin"])).json
        assert info["status"] == "superseded" and info["superseded_by"] == new_id
    # Running it again finds nothing left to re-issue.
    with rt.sessions() as session:
        assert supersession.reissue_for_kid(session, rt.current_ctx(), bad, "test", None) == []


def test_compromising_the_active_key_makes_a_new_one_and_re_signs_the_status_lists(
    app: Flask, client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    a = certify(client, tokens, "a@example.org")
    bad = kid_of(a["credential"])
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        done = signing_keys.compromise_key(session, rt.current_ctx(), bad, "test", None)
    assert done.new_active is not None
    assert published(client) == {done.new_active.kid}
    with rt.sessions() as session:
        [(_, new_id)] = supersession.reissue_for_kid(session, rt.current_ctx(), bad, "test", None)
    token = client.get(f"/credentials/{new_id}/jwt").get_data(as_text=True)
    # "valid" needs the status lists too: they were re-signed with the new key.
    assert status_of(client, clock, token) == "valid"


def test_retiring_the_only_key_stops_issuing_but_keeps_publishing(
    client: FlaskClient, tokens: dict[str, str], own_keys: KeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    [record] = own_keys.records()
    KeyStore(own_keys.directory).retire(record.kid)
    practitioner = enrol(client, tokens, email="a@example.org")
    response = client.post(
        "/api/v1/credentials",
        json={"practitioner_id": practitioner, "program_id": "botox-cosmetic-injector"},
        headers=auth(tokens["certifier"]),
    )
    assert response.status_code == 500
    assert response.json["detail"] == PUBLIC_CONFIGURATION_DETAIL  # the reason is the operator's
    assert "no active signing key" in caplog.text
    assert published(client) == {record.kid}


def test_key_file_made_readable_by_others_at_runtime_stops_serving(
    client: FlaskClient, own_keys: KeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.get("/.well-known/jwks.json").status_code == 200
    [pem] = own_keys.directory.glob("*.pem")
    pem.chmod(0o644)
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 500
    assert str(pem) not in response.text and "chmod" not in response.text  # no path to the public
    assert f"chmod 600 {pem}" in caplog.text  # the operator's log says what to do
    pem.chmod(0o600)
    assert client.get("/.well-known/jwks.json").status_code == 200


# --- renewal, correction, supersession ------------------------------------------------------------


def test_renewal_supersedes_the_old_credential_which_links_to_the_new_one(
    client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    old = certify(client, tokens, "a@example.org")
    clock.advance(days=30)
    response = client.post(f"/api/v1/credentials/{old['id']}/renew", headers=auth(tokens["certifier"]))
    assert response.status_code == 201, response.json
    new = response.json
    assert new["supersedes"] == old["id"]
    assert new["valid_until"] > old["valid_until"]

    verdict = verifier_of(client, clock.now).verify_credential(old["credential"]).to_json()
    assert verdict["status"] == "superseded"
    assert verdict["superseded_by"] == f"{ISSUER_URL}/credentials/{new['id']}"
    assert verifier_of(client, clock.now).verify_credential(new["credential"]).status == "valid"

    again = client.post(f"/api/v1/credentials/{old['id']}/renew", headers=auth(tokens["certifier"]))
    assert again.status_code == 409
    public = client.get(f"/status/credentials/{old['id']}").json
    assert public["status"] == "superseded"
    assert public["current"]["id"] == new["id"]


def test_a_chain_of_renewals_links_to_the_newest(
    client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    first = certify(client, tokens, "a@example.org")
    second = client.post(f"/api/v1/credentials/{first['id']}/renew", headers=auth(tokens["certifier"])).json
    third = client.post(f"/api/v1/credentials/{second['id']}/renew", headers=auth(tokens["certifier"])).json
    verdict = verifier_of(client, clock.now).verify_credential(first["credential"])
    assert verdict.status == "superseded"
    assert verdict.superseded_by == f"{ISSUER_URL}/credentials/{third['id']}"


def test_renewal_checks_eligibility_again(
    client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    old = certify(client, tokens, "a@example.org")
    clock.advance(days=800)  # exams and the license check are now too old
    response = client.post(f"/api/v1/credentials/{old['id']}/renew", headers=auth(tokens["certifier"]))
    assert response.status_code == 422
    assert response.json["unmet"]
    info = client.get(f"/api/v1/credentials/{old['id']}", headers=auth(tokens["admin"])).json
    assert info["superseded_by"] is None


def test_name_correction_reissues_with_the_corrected_name_and_same_validity(
    client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    practitioner = enrol(client, tokens, email="a@example.org", given_name="Jnae")
    old = issue(client, tokens, practitioner)
    response = client.post(
        f"/api/v1/practitioners/{practitioner}/correction",
        json={"given_name": "Jane", "reason": "typo in the given name"},
        headers=auth(tokens["admin"]),
    )
    assert response.status_code == 200, response.json
    assert response.json["given_name"] == "Jane"
    [new] = response.json["reissued"]
    token = client.get(f"/credentials/{new['id']}/jwt").get_data(as_text=True)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["credentialSubject"]["name"] == "Jane Doe"
    assert claims["credentialSubject"]["identifier"][0]["identityHash"] == "Jane Doe"
    assert claims["validUntil"] == old["valid_until"]
    assert verifier_of(client, clock.now).verify_credential(old["credential"]).status == "superseded"
    assert verifier_of(client, clock.now).verify_credential(token).status == "valid"


def test_correction_needs_a_field_and_a_reason(client: FlaskClient, tokens: dict[str, str]) -> None:
    practitioner = enrol(client, tokens, email="a@example.org")
    for body in ({"reason": "nothing"}, {"given_name": "Jane"}):
        response = client.post(
            f"/api/v1/practitioners/{practitioner}/correction", json=body, headers=auth(tokens["admin"])
        )
        assert response.status_code == 422


def test_reissue_of_one_credential_and_refusals(client: FlaskClient, tokens: dict[str, str]) -> None:
    old = certify(client, tokens, "a@example.org")
    response = client.post(f"/api/v1/credentials/{old['id']}/reissue", headers=auth(tokens["admin"]),
                           json={"reason": "re-sign"})
    assert response.status_code == 201
    assert client.post(f"/api/v1/credentials/{old['id']}/reissue",
                       headers=auth(tokens["admin"])).status_code == 409
    assert client.post(f"/api/v1/credentials/{old['id']}/reissue",
                       headers=auth(tokens["certifier"])).status_code == 403


def test_a_superseded_credential_can_still_be_revoked(
    client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    old = certify(client, tokens, "a@example.org")
    client.post(f"/api/v1/credentials/{old['id']}/renew", headers=auth(tokens["certifier"]))
    response = client.post(
        f"/api/v1/credentials/{old['id']}/revoke",
        json={"reason": "fraud", "category": "fraud"},
        headers=auth(tokens["admin"]),
    )
    assert response.status_code == 200
    assert verifier_of(client, clock.now).verify_credential(old["credential"]).status == "revoked"


# --- reasons: public category, private note -------------------------------------------------------


def test_revocation_category_is_public_and_the_note_is_not(
    client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    cred = certify(client, tokens, "a@example.org")
    secret = "Board order 2026-114; call Dr. X at 555-0100"
    response = client.post(
        f"/api/v1/credentials/{cred['id']}/revoke",
        json={"reason": "license suspended by the board", "category": "license_action", "note": secret},
        headers=auth(tokens["admin"]),
    )
    assert response.status_code == 200
    assert response.json["status_category"] == "license_action"
    assert response.json["status_note"] == secret  # staff API only

    public = client.get(f"/status/credentials/{cred['id']}")
    assert public.json["category"] == "license_action"
    pages = (public, client.get(f"/credentials/{cred['id']}"), client.get(f"/credentials/{cred['id']}/jwt"))
    for page in pages:
        assert secret not in page.get_data(as_text=True)
        assert "license suspended by the board" not in page.get_data(as_text=True)

    verdict = verifier_of(client, clock.now).verify_credential(cred["credential"]).to_json()
    assert verdict["status"] == "revoked"
    assert "professional license" in str(verdict["checks"])
    assert secret not in str(verdict)


def test_unknown_category_is_refused(client: FlaskClient, tokens: dict[str, str]) -> None:
    cred = certify(client, tokens, "a@example.org")
    response = client.post(
        f"/api/v1/credentials/{cred['id']}/revoke",
        json={"reason": "x", "category": "because"},
        headers=auth(tokens["admin"]),
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "category"


@pytest.mark.parametrize(
    ("reason", "category"), [("issued in error", "issued_in_error"), ("the holder cheated", "unspecified")]
)
def test_reason_only_body_still_works(
    client: FlaskClient, tokens: dict[str, str], reason: str, category: str
) -> None:
    cred = certify(client, tokens, "a@example.org")
    response = client.post(
        f"/api/v1/credentials/{cred['id']}/revoke", json={"reason": reason}, headers=auth(tokens["admin"])
    )
    assert response.status_code == 200
    assert response.json["status_category"] == category
    assert client.get(f"/status/credentials/{cred['id']}").json["category"] == category


def test_public_status_of_unknown_credential_is_404(client: FlaskClient) -> None:
    assert client.get("/status/credentials/00000000-0000-4000-8000-000000000000").status_code == 404


# --- the audit trail of all of the above ----------------------------------------------------------


def test_every_change_is_audited_with_actor_time_target_and_reason(
    app: Flask, client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    cred = certify(client, tokens, "a@example.org")
    admin = auth(tokens["admin"])
    client.post(f"/api/v1/credentials/{cred['id']}/suspend", json={"reason": "review"}, headers=admin)
    client.post(f"/api/v1/credentials/{cred['id']}/reinstate", headers=admin)
    renewed = client.post(f"/api/v1/credentials/{cred['id']}/renew", headers=auth(tokens["certifier"])).json
    client.post(f"/api/v1/credentials/{renewed['id']}/revoke",
                json={"reason": "r", "category": "fraud", "note": "n"}, headers=admin)

    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        entries = list(audit.entries(session))
        assert audit.verify(session).ok
    actions = [(e.action, e.target) for e in entries]
    assert actions[:3] == [("token_create", actions[0][1]), ("token_create", actions[1][1]),
                           ("token_create", actions[2][1])]
    assert actions[3:] == [
        ("issue", f"credential:{cred['id']}"),
        ("suspend", f"credential:{cred['id']}"),
        ("reinstate", f"credential:{cred['id']}"),
        ("issue", f"credential:{renewed['id']}"),
        ("supersede", f"credential:{cred['id']}"),
        ("revoke", f"credential:{renewed['id']}"),
    ]
    revoke = entries[-1]
    assert revoke.category == "fraud" and revoke.reason == "r\nn"
    assert revoke.actor.startswith("token:") and revoke.at == clock.now.astimezone(UTC)
    assert client.get("/api/v1/audit/verify", headers=admin).json == {
        "ok": True, "checked": len(entries), "broken_seq": None, "problem": None
    }


def test_encrypted_keys_rotate_under_a_running_issuer(
    database_url: str, tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = KeyStore(tmp_path / "enc", passphrase="correct horse")
    first = store.generate("ES256").kid
    assert (tmp_path / "enc" / f"{first}.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY")
    app = create_app({"database_url": database_url, "keys_dir": str(store.directory),
                      "key_passphrase": "correct horse"}, clock=clock)
    try:
        client = app.test_client()
        rt: Runtime = app.extensions["issuer"]
        with rt.sessions() as session:
            tokens = {r: access.create_token(session, rt.ctx, r, r) for r in access.ROLES}
        second = KeyStore(store.directory, passphrase="correct horse").generate("ES256").kid
        token = certify(client, tokens, "a@example.org")["credential"]
        assert kid_of(token) == second
        assert status_of(client, clock, token) == "valid"
        # A key written under another passphrase is refused with a clear message, not used.
        KeyStore(store.directory, passphrase="battery staple").generate("ES256")
        response = client.get("/.well-known/jwks.json")
        assert response.status_code == 500
        assert response.json["detail"] == PUBLIC_CONFIGURATION_DETAIL
        assert "wrong passphrase?" in caplog.text
    finally:
        app.extensions["issuer"].engine.dispose()


def test_holder_pages_link_a_superseded_credential_to_the_current_one(
    client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    old = certify(client, tokens, "a@example.org")
    clock.advance(days=30)
    new = client.post(f"/api/v1/credentials/{old['id']}/renew", headers=auth(tokens["certifier"])).json
    page = client.get(f"/credentials/{old['id']}").get_data(as_text=True)
    assert "has been superseded" in page
    assert f'href="{ISSUER_URL}/credentials/{new["id"]}"' in page


def test_holder_page_shows_the_public_category_never_the_private_note(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    issued = certify(client, tokens, "a@example.org")
    client.post(
        f"/api/v1/credentials/{issued['id']}/revoke",
        json={"reason": "board order 2026-114", "category": "license_action", "note": "call from the board"},
        headers=auth(tokens["admin"]),
    )
    page = client.get(f"/credentials/{issued['id']}").get_data(as_text=True)
    assert "has been revoked" in page
    assert "Reason: Action against the holder&#39;s professional license" in page
    assert "board order 2026-114" not in page and "call from the board" not in page
