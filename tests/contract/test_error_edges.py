"""Every answer of the HTTP API is JSON, errors RFC 9457 problem JSON, whatever the method or
the size of the body: the verifier's VC-API call once answered 405 and 413 with a page."""

from __future__ import annotations

import pytest
from flask import Flask

import verifier

pytestmark = pytest.mark.http

TRUST = {"issuers": [{"id": "http://127.0.0.1:9", "name": "x", "jwks_url": "http://127.0.0.1:9/.well-known/jwks.json"}]}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
TOO_LARGE = b'{"verifiableCredential": "' + b"a" * (2 * 1024 * 1024) + b'"}'


@pytest.fixture
def verifier_app() -> Flask:
    return verifier.create_app({"TRUSTED_ISSUERS": TRUST})


@pytest.mark.parametrize("path", ["/credentials/verify", "/api/v1/verify"])
def test_verifier_wrong_method_is_problem_json(verifier_app: Flask, path: str) -> None:
    response = verifier_app.test_client().get(path, headers=BROWSER)
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 405
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/credentials/verify", "/api/v1/verify"])
def test_verifier_too_large_is_problem_json(verifier_app: Flask, path: str) -> None:
    response = verifier_app.test_client().post(
        path, data=TOO_LARGE, content_type="application/json", headers=BROWSER
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 413


def test_verifier_pages_still_answer_errors_as_pages(verifier_app: Flask) -> None:
    response = verifier_app.test_client().put("/", headers=BROWSER)
    assert response.status_code == 405
    assert response.mimetype == "text/html"


@pytest.mark.db
def test_issuer_api_wrong_method_is_problem_json(issuer_app: Flask) -> None:
    response = issuer_app.test_client().delete("/api/v1/credentials/x", headers=BROWSER)
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 405


@pytest.mark.db
def test_issuer_api_too_large_is_problem_json(issuer_app: Flask, tokens: dict[str, str]) -> None:
    response = issuer_app.test_client().post(
        "/api/v1/credentials", data=TOO_LARGE, content_type="application/json",
        headers={**BROWSER, "Authorization": f"Bearer {tokens['admin']}"},
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 413


@pytest.mark.db
@pytest.mark.parametrize("path", ["/credentials/x/jwt", "/credentials/x/qr.png", "/credentials/x/ob3",
                                  "/keys/x", "/openapi.json", "/status/credentials/x"])
def test_issuer_machine_paths_answer_a_wrong_method_with_problem_json_and_allow(
    issuer_app: Flask, path: str
) -> None:
    response = issuer_app.test_client().post(path, headers=BROWSER)
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert response.headers["Allow"].split(", ").count("GET") == 1


@pytest.mark.db
@pytest.mark.parametrize("path", ["/", "/credentials/x", "/console/login"])
def test_issuer_pages_answer_a_wrong_method_with_a_page_and_allow(issuer_app: Flask, path: str) -> None:
    response = issuer_app.test_client().put(path, headers=BROWSER)
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "GET" in response.headers["Allow"]
