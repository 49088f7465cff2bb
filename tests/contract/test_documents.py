"""The OpenAPI 3.1 documents: valid (openapi-spec-validator), served at /openapi.json by
each service, and in step with the routes (every route but the pages for people is
documented; every documented operation is a route)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

import verifier
from issuer.web import openapi as issuer_openapi
from verifier import openapi as verifier_openapi

TRUST = {"issuers": [{"id": "http://127.0.0.1:9", "name": "x", "jwks_url": "http://127.0.0.1:9/.well-known/jwks.json"}]}


@pytest.fixture
def verifier_app() -> Flask:
    return verifier.create_app({"TRUSTED_ISSUERS": TRUST})


@pytest.mark.parametrize("module", [issuer_openapi, verifier_openapi], ids=["issuer", "verifier"])
def test_document_is_valid_openapi_3_1(module: object) -> None:
    document = module.document()  # type: ignore[attr-defined]
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


@pytest.mark.parametrize("module", [issuer_openapi, verifier_openapi], ids=["issuer", "verifier"])
def test_every_response_body_has_a_schema_and_errors_are_problem_json(module: object) -> None:
    document = module.document()  # type: ignore[attr-defined]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation["responses"].items():
                for media, content in answer.get("content", {}).items():
                    assert content["schema"], (method, path, status, media)
                if status in ("401", "403", "404", "413", "422") or (
                    status == "400" and path != "/credentials/verify"
                ):
                    assert list(answer["content"]) == ["application/problem+json"], (method, path, status)


def test_issuer_routes_and_document_agree(issuer_app: Flask) -> None:
    assert issuer_openapi.undocumented(issuer_app) == set()
    assert issuer_openapi.unrouted(issuer_app) == set()


def test_verifier_routes_and_document_agree(verifier_app: Flask) -> None:
    assert verifier_openapi.undocumented(verifier_app) == set()
    assert verifier_openapi.unrouted(verifier_app) == set()


def test_an_undocumented_route_is_found(verifier_app: Flask) -> None:
    verifier_app.add_url_rule("/api/v1/secret/<thing>", "secret", lambda thing: "")
    assert verifier_openapi.undocumented(verifier_app) == {("GET", "/api/v1/secret/{thing}")}


def test_issuer_staff_api_needs_a_bearer_token_public_documents_none() -> None:
    document = issuer_openapi.document()
    assert document["components"]["securitySchemes"]["bearer"] == {
        **document["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    for path, methods in document["paths"].items():
        for operation in methods.values():
            expected = [{"bearer": []}] if path.startswith("/api/v1/") else []
            assert operation["security"] == expected, path


@pytest.mark.http
def test_issuer_serves_its_document(issuer_app: Flask) -> None:
    response = issuer_app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.json == issuer_openapi.document()


@pytest.mark.http
def test_verifier_serves_its_document(verifier_app: Flask) -> None:
    response = verifier_app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.json == verifier_openapi.document()


def test_documents_are_generated_not_written() -> None:
    """No JSON or YAML copy of a document is kept in the tree: the models are the source."""
    root = Path(__file__).resolve().parents[2]
    assert not [p for p in (root / "issuer").rglob("openapi*.*") if p.suffix in (".json", ".yaml", ".yml")]
    assert not [p for p in (root / "verifier").rglob("openapi*.*") if p.suffix in (".json", ".yaml", ".yml")]


def test_enumerations_match_their_sources() -> None:
    from typing import get_args

    from issuer.credentials.certificate import PAPERS
    from issuer.web import responses
    from vc.protocol import CATEGORIES, PUBLIC_STATES
    from verifier import core

    assert set(get_args(responses.Category)) == set(CATEGORIES)
    assert set(get_args(responses.CredentialStatus)) == set(PUBLIC_STATES)
    assert set(issuer_openapi.PAPERS) == set(PAPERS)
    # Every verdict a run can reach: one of PRECEDENCE, or valid when nothing failed.
    verdicts = set(core.PRECEDENCE) | {core.VALID}
    assert set(get_args(verifier_openapi.Verdict.model_fields["status"].annotation)) == verdicts
