"""What the issuer publishes: keys, status lists, the holder's page and QR codes."""

from __future__ import annotations

import io
from typing import Any

import jwt
import pytest
import zxingcpp
from flask.testing import FlaskClient
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from PIL import Image

from tests.conftest import auth, enrol, issue
from vc.status_list import BitstringStatusList

pytestmark = pytest.mark.http


def _list_for(client: FlaskClient, credential: str, purpose: str) -> tuple[Any, int]:
    claims = jwt.decode(credential, options={"verify_signature": False})
    (entry,) = [e for e in claims["credentialStatus"] if e["statusPurpose"] == purpose]
    path = entry["statusListCredential"].removeprefix("http://127.0.0.1:5000")
    return client.get(path), int(entry["statusListIndex"])


def _bit(response: Any, index: int) -> bool:
    claims = jwt.decode(response.data.decode(), options={"verify_signature": False})
    return BitstringStatusList.decode(claims["credentialSubject"]["encodedList"]).get(index)


def test_jwks_has_public_keys_only(issuer_client: FlaskClient) -> None:
    response = issuer_client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    (key,) = response.json["keys"]
    assert key["alg"] == "ES256" and key["use"] == "sig" and key["kty"] == "EC"
    assert not {"d", "p", "q"} & set(key)


def test_credential_verifies_with_an_independent_jose_library(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    token = issue(issuer_client, tokens, enrol(issuer_client, tokens))["credential"]
    keyset = jwcrypto_jwk.JWKSet.from_json(issuer_client.get("/.well-known/jwks.json").data.decode())
    header = jwt.get_unverified_header(token)
    verifier = jwcrypto_jws.JWS()
    verifier.deserialize(token)
    verifier.verify(keyset.get_key(header["kid"]), alg="ES256")
    assert b'"credentialSubject"' in verifier.payload
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    other = jwcrypto_jws.JWS()
    other.deserialize(tampered)
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        other.verify(keyset.get_key(header["kid"]), alg="ES256")


def test_status_list_is_a_signed_bitstring_credential(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    token = issue(issuer_client, tokens, enrol(issuer_client, tokens))["credential"]
    response, index = _list_for(issuer_client, token, "revocation")
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert jwt.get_unverified_header(response.data.decode())["typ"] == "vc+jwt"
    claims = jwt.decode(response.data.decode(), options={"verify_signature": False})
    assert "BitstringStatusListCredential" in claims["type"]
    assert claims["credentialSubject"]["statusPurpose"] == "revocation"
    assert claims["credentialSubject"]["ttl"] == 60_000
    bits = BitstringStatusList.decode(claims["credentialSubject"]["encodedList"])
    assert bits.size == 131_072 and not bits.get(index)


def test_status_list_supports_etag_revalidation(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    token = issue(issuer_client, tokens, enrol(issuer_client, tokens))["credential"]
    first, _ = _list_for(issuer_client, token, "revocation")
    path = first.request.path
    again = issuer_client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_revoke_sets_the_revocation_bit_and_changes_the_etag(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    before, index = _list_for(issuer_client, body["credential"], "revocation")
    issuer_client.post(
        f"/api/v1/credentials/{body['id']}/revoke", json={"reason": "fraud"}, headers=auth(tokens["admin"])
    )
    after, _ = _list_for(issuer_client, body["credential"], "revocation")
    assert _bit(after, index) is True
    assert after.headers["ETag"] != before.headers["ETag"]
    stale = issuer_client.get(after.request.path, headers={"If-None-Match": before.headers["ETag"]})
    assert stale.status_code == 200


def test_suspend_and_reinstate_flip_the_suspension_bit(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    other = issue(issuer_client, tokens, enrol(issuer_client, tokens, email="o@example.org"))
    issuer_client.post(
        f"/api/v1/credentials/{body['id']}/suspend", json={"reason": "review"}, headers=auth(tokens["admin"])
    )
    suspended, index = _list_for(issuer_client, body["credential"], "suspension")
    _, other_index = _list_for(issuer_client, other["credential"], "suspension")
    assert _bit(suspended, index) is True
    assert _bit(suspended, other_index) is False
    revocation, rev_index = _list_for(issuer_client, body["credential"], "revocation")
    assert _bit(revocation, rev_index) is False
    issuer_client.post(f"/api/v1/credentials/{body['id']}/reinstate", json={}, headers=auth(tokens["admin"]))
    reinstated, _ = _list_for(issuer_client, body["credential"], "suspension")
    assert _bit(reinstated, index) is False


def test_status_indexes_are_not_reused(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    seen: set[tuple[str, int]] = set()
    for n in range(6):
        token = issue(issuer_client, tokens, enrol(issuer_client, tokens, email=f"p{n}@example.org"))[
            "credential"
        ]
        claims = jwt.decode(token, options={"verify_signature": False})
        for entry in claims["credentialStatus"]:
            key = (entry["statusListCredential"], int(entry["statusListIndex"]))
            assert key not in seen
            seen.add(key)


def test_unknown_status_list_is_a_404_problem(issuer_client: FlaskClient) -> None:
    for path in ("/status/revocation/nope", "/status/other/nope"):
        response = issuer_client.get(path)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_qr_png_decodes_to_the_verify_link(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    response = issuer_client.get(f"/credentials/{body['id']}/qr.png")
    assert response.mimetype == "image/png"
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert decoded.text == body["verify_url"]
    assert decoded.text == f"http://127.0.0.1:5001/v/{body['id']}?issuer=http%3A%2F%2F127.0.0.1%3A5000"


def test_qr_svg_is_served_as_svg(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    response = issuer_client.get(f"/credentials/{body['id']}/qr.svg")
    assert response.mimetype == "image/svg+xml" and b"<svg" in response.data and b"<path" in response.data


def test_holder_page_shows_the_credential_and_its_status(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    page = issuer_client.get(f"/credentials/{body['id']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.data.decode()
    assert "Jane Doe" in text and "This certification is current." in text
    assert f"/credentials/{body['id']}/qr.svg" in text and body["verify_url"].replace("&", "&amp;") in text
    issuer_client.post(
        f"/api/v1/credentials/{body['id']}/revoke", json={"reason": "fraud"}, headers=auth(tokens["admin"])
    )
    assert "has been revoked" in issuer_client.get(f"/credentials/{body['id']}").data.decode()


def test_holder_page_escapes_names(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    practitioner_id = enrol(issuer_client, tokens, given_name="<script>alert(1)</script>")
    body = issue(issuer_client, tokens, practitioner_id)
    text = issuer_client.get(f"/credentials/{body['id']}").data.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_pages_carry_security_headers(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    headers = issuer_client.get(f"/credentials/{body['id']}").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_credential_page_is_a_readable_404(issuer_client: FlaskClient) -> None:
    page = issuer_client.get("/credentials/00000000-0000-4000-8000-000000000000")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "no credential" in page.data.decode()
    jwt_response = issuer_client.get("/credentials/00000000-0000-4000-8000-000000000000/jwt")
    assert jwt_response.status_code == 404 and jwt_response.mimetype == "application/problem+json"


def test_context_document_is_served(issuer_client: FlaskClient) -> None:
    response = issuer_client.get("/contexts/botox-credentials-v1.jsonld")
    assert response.status_code == 200 and "trainingResults" in response.json["@context"]


def test_a_list_whose_signature_is_getting_old_is_resigned_when_served(
    issuer_client: FlaskClient, tokens: dict[str, str], clock: Any
) -> None:
    credential = issue(issuer_client, tokens, enrol(issuer_client, tokens))["credential"]
    first, index = _list_for(issuer_client, credential, "revocation")
    clock.advance(days=1, minutes=1)
    again, _ = _list_for(issuer_client, credential, "revocation")
    assert again.status_code == 200 and again.data != first.data
    claims = jwt.decode(again.data.decode(), options={"verify_signature": False})
    assert claims["iat"] == int(clock.now.timestamp())
    assert not _bit(again, index)
    clock.advance(hours=1)  # fresh enough now: served as stored
    assert _list_for(issuer_client, credential, "revocation")[0].data == again.data


def test_public_reads_do_not_wait_for_a_writer(
    issuer_app: Any, issuer_client: FlaskClient, tokens: dict[str, str], database_url: str
) -> None:
    """On SQLite a write transaction holds the one write lock; the public key set, status
    lists and holder pages still answer at once (they read in WAL mode without it)."""
    import time

    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    writer = issuer_app.extensions["issuer"].sessions()
    try:
        writer.connection()  # BEGIN IMMEDIATE on SQLite: the write lock is held from here
        started = time.monotonic()
        assert issuer_client.get("/.well-known/jwks.json").status_code == 200
        assert _list_for(issuer_client, body["credential"], "suspension")[0].status_code == 200
        assert issuer_client.get(f"/credentials/{body['id']}").status_code == 200
        assert issuer_client.get(f"/credentials/{body['id']}/jwt").status_code == 200
        assert time.monotonic() - started < 5
    finally:
        writer.rollback()
        writer.close()
