"""What the issuer publishes, read with independent tools: every document expands cleanly
with pyld (offline, vendored contexts plus the context the issuer serves), the Open Badges
3.0 profile at /credentials/<id>/ob3 passes 1EdTech's schema and JWT rules and verifies with
jwcrypto against the one JWK its kid URL serves, and refreshService leads to the current
credential."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import jwt
import pytest
from flask.testing import FlaskClient
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from tests.conftest import FakeClock, auth, enrol, issue
from tests.jsonld_offline import VECTORS, expand

pytestmark = [pytest.mark.http, pytest.mark.db]

ISSUER = "http://127.0.0.1:5000"
CONTEXT_URL = f"{ISSUER}/contexts/botox-credentials-v1.jsonld"
OB_SCHEMA = json.loads(
    (VECTORS / "openbadges-3.0" / "ob_v3p0_achievementcredential_schema.json").read_text("utf-8")
)


def _served_context(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/contexts/botox-credentials-v1.jsonld")
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    return {CONTEXT_URL: response.json}


def _payload(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_every_published_document_expands_cleanly(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    issued = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    contexts = _served_context(issuer_client)
    credential = _payload(issuer_client.get(f"/credentials/{issued['id']}/jwt").data.decode())
    expand(credential, contexts)
    assert len(credential["credentialStatus"]) == 3
    for entry in credential["credentialStatus"]:
        listed = issuer_client.get(entry["statusListCredential"].removeprefix(ISSUER))
        expand(_payload(listed.data.decode()), contexts)
    expand(_payload(issuer_client.get(f"/credentials/{issued['id']}/ob3").data.decode()), contexts)
    expand(contexts[CONTEXT_URL])


def test_ob3_profile_meets_the_1edtech_schema_and_jwt_rules(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    issued = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    response = issuer_client.get(f"/credentials/{issued['id']}/ob3")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    token = response.data.decode()
    header = jwt.get_unverified_header(token)
    assert set(header) == {"alg", "typ", "kid"} and header["alg"] == "ES256" and header["typ"] == "JWT"
    assert header["kid"].startswith(f"{ISSUER}/keys/")

    key_response = issuer_client.get(header["kid"].removeprefix(ISSUER))
    assert key_response.status_code == 200 and key_response.mimetype == "application/jwk+json"
    public = key_response.json
    assert public["kid"] == header["kid"].rsplit("/", 1)[1] and "d" not in public
    verifier = jwcrypto_jws.JWS()
    verifier.deserialize(token)
    verifier.verify(jwcrypto_jwk.JWK(**public), alg="ES256")

    claims = json.loads(verifier.payload)
    validator = jsonschema.Draft201909Validator(OB_SCHEMA)
    assert [e.message for e in validator.iter_errors(claims)] == []
    primary = _payload(issued["credential"])
    assert claims["@context"][:2] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert claims["iss"] == claims["issuer"]["id"] == primary["iss"]
    assert claims["jti"] == claims["id"] == primary["id"]
    assert claims["sub"] == claims["credentialSubject"]["id"] and claims["sub"].startswith("urn:uuid:")
    assert claims["nbf"] == primary["iat"] and claims["exp"] == primary["exp"]
    (revocation,) = [e for e in primary["credentialStatus"] if e["statusPurpose"] == "revocation"]
    assert claims["credentialStatus"] == revocation
    assert claims["credentialSubject"]["achievement"] == primary["credentialSubject"]["achievement"]
    # The primary form is unchanged: VC-JOSE-COSE header, three status entries.
    assert jwt.get_unverified_header(issued["credential"])["typ"] == "vc+jwt"


def test_ob3_subject_is_stable_for_one_practitioner_and_hides_the_internal_id(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    practitioner = enrol(issuer_client, tokens)
    issued = issue(issuer_client, tokens, practitioner)
    first = _payload(issuer_client.get(f"/credentials/{issued['id']}/ob3").data.decode())
    again = _payload(issuer_client.get(f"/credentials/{issued['id']}/ob3").data.decode())
    assert first["sub"] == again["sub"] and practitioner not in first["sub"]


def test_unknown_credential_and_key_are_404(issuer_client: FlaskClient) -> None:
    assert issuer_client.get("/credentials/00000000-0000-4000-8000-000000000000/ob3").status_code == 404
    assert issuer_client.get("/keys/not-a-published-kid").status_code == 404


def test_refresh_service_returns_the_current_credential_of_the_chain(
    issuer_client: FlaskClient, tokens: dict[str, str], clock: FakeClock
) -> None:
    old = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    service = _payload(old["credential"])["refreshService"]
    assert service == {"id": f"{ISSUER}/credentials/{old['id']}/refresh", "type": "1EdTechCredentialRefresh"}
    itself = issuer_client.get(service["id"].removeprefix(ISSUER))
    assert itself.status_code == 200 and itself.mimetype == "application/vc+jwt"
    assert itself.data.decode() == old["credential"]

    clock.advance(days=30)
    renewed = issuer_client.post(f"/api/v1/credentials/{old['id']}/renew", headers=auth(tokens["certifier"]))
    assert renewed.status_code == 201, renewed.json
    new_id = renewed.json["id"]
    current = issuer_client.get(service["id"].removeprefix(ISSUER)).data.decode()
    assert _payload(current)["id"] == f"urn:uuid:{new_id}"
    assert _payload(current)["refreshService"]["id"] == f"{ISSUER}/credentials/{new_id}/refresh"
    ob3_current = issuer_client.get(f"/credentials/{old['id']}/ob3/refresh").data.decode()
    assert _payload(ob3_current)["id"] == f"urn:uuid:{new_id}"


def test_holder_page_offers_the_open_badge(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    issued = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    page = issuer_client.get(f"/credentials/{issued['id']}").data.decode()
    assert f'href="/credentials/{issued["id"]}/ob3" download>Open Badge (for badge backpacks)</a>' in page
