"""W3C CCG VC-API verification on the verifier: POST /credentials/verify."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from tests.unit.verifier.fake_issuer import FakeIssuer
from verifier.core import Check, Verdict
from verifier.vcapi import answer_for

pytestmark = pytest.mark.http

CRYPTO = "https://www.w3.org/TR/vc-data-model#CRYPTOGRAPHIC_SECURITY_ERROR"


def test_compact_jwt_verifies_200_with_checks(client: FlaskClient, issuer: FakeIssuer) -> None:
    response = client.post("/credentials/verify", json={"verifiableCredential": issuer.issue()})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"checks", "warnings", "errors"}
    assert "proof" in body["checks"] and "revocation" in body["checks"] and body["errors"] == []


def test_enveloped_credential_verifies(client: FlaskClient, issuer: FakeIssuer) -> None:
    enveloped = {
        "@context": "https://www.w3.org/ns/credentials/v2",
        "id": "data:application/vc+jwt," + issuer.issue(),
        "type": "EnvelopedVerifiableCredential",
    }
    response = client.post("/credentials/verify", json={"verifiableCredential": enveloped, "options": {}})
    assert response.status_code == 200 and "proof" in response.get_json()["checks"]


def test_revoked_is_400_with_the_reason_as_an_error(client: FlaskClient, issuer: FakeIssuer) -> None:
    issuer.revoked.add(17)
    response = client.post("/credentials/verify", json={"verifiableCredential": issuer.issue(index=17)})
    assert response.status_code == 400
    (error,) = response.get_json()["errors"]
    assert error["title"] == "revocation" and "revoked" in error["detail"]


def test_forgery_is_400_cryptographic_security_error(client: FlaskClient, issuer: FakeIssuer) -> None:
    head, payload, sig = issuer.issue().split(".")
    forged = f"{head}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    response = client.post("/credentials/verify", json={"verifiableCredential": forged})
    assert response.status_code == 400
    assert [e["type"] for e in response.get_json()["errors"]] == [CRYPTO]
    assert "proof" not in response.get_json()["checks"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"verifiableCredential": 7},
        {"verifiableCredential": {"type": "VerifiableCredential", "id": "urn:uuid:x"}},
        {"verifiableCredential": {"type": "EnvelopedVerifiableCredential", "id": "data:text/plain,x"}},
        {"verifiableCredential": "a.b.c", "options": []},
        [],
    ],
)
def test_malformed_requests_are_400_in_the_vc_api_shape(client: FlaskClient, body: object) -> None:
    response = client.post("/credentials/verify", json=body)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["checks"] == [] and payload["errors"][0]["type"].endswith("PARSING_ERROR")


def test_not_json_is_400(client: FlaskClient) -> None:
    response = client.post("/credentials/verify", data="{", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["errors"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"verifiableCredential": "a.b.c", "verifiableCredential": "%s"}',  # which one is judged?
        '{"verifiableCredential": "%s", "options": {"x": NaN}}',
        '{"verifiableCredential": "%s", "options": ' + '{"x": ' * 40 + "1" + "}" * 41,
    ],
)
def test_json_read_strictly_as_on_the_api(client: FlaskClient, issuer: FakeIssuer, raw: str) -> None:
    response = client.post("/credentials/verify", data=raw % issuer.issue(), content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["type"].endswith("PARSING_ERROR")


def test_existing_api_is_unchanged(client: FlaskClient, issuer: FakeIssuer) -> None:
    assert client.post("/api/v1/verify", json={"credential": issuer.issue()}).get_json()["status"] == "valid"


def _verdict(status: str, *checks: Check) -> Verdict:
    return Verdict(status=status, checks=checks, credential={}, checked_at=datetime(2026, 1, 1, tzinfo=UTC),
                   superseded_by="https://issuer.example/credentials/new")


def test_superseded_alone_verifies_with_a_warning_naming_the_current_one() -> None:
    """Bitstring Status List: refresh "does not by itself invalidate" the credential."""
    status, checks, warnings, errors = answer_for(
        _verdict("superseded", Check("signature", True, "ok"), Check("supersession", False, "replaced"))
    )
    assert (status, checks, errors) == (200, ["proof"], [])
    assert warnings[0]["current"] == "https://issuer.example/credentials/new"


def test_superseded_and_expired_is_an_error() -> None:
    status, _, _, errors = answer_for(
        _verdict("superseded", Check("supersession", False, "replaced"), Check("validity", False, "expired"))
    )
    assert status == 400 and {e["title"] for e in errors} == {"supersession", "validity"}
