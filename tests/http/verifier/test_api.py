"""POST /api/v1/verify and the API's error answers (RFC 9457 problem JSON)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.unit.verifier.fake_issuer import (
    FakeIssuer,
    Network,
    credential_uuid,
    verification_link,
)

pytestmark = pytest.mark.http

SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def assert_problem(response: object, status: int) -> dict[str, object]:
    from werkzeug.test import TestResponse

    assert isinstance(response, TestResponse)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert isinstance(body, dict)
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_verify_valid_credential(client: FlaskClient, issuer: FakeIssuer) -> None:
    response = client.post("/api/v1/verify", json={"credential": issuer.issue()})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "valid"
    assert body["checked_at"] == "2026-11-15T12:00:00Z"
    assert body["credential"]["name"] == "Jane Doe"
    assert body["credential"]["issuer_name"] == "Registry Name Of The Institute"
    assert [c["id"] for c in body["checks"]][:3] == ["format", "issuer", "signature"]
    assert all(set(c) == {"id", "ok", "detail"} for c in body["checks"])
    assert response.headers["Cache-Control"] == "no-store"


def test_verify_qr_link(client: FlaskClient, issuer: FakeIssuer) -> None:
    link = verification_link(issuer, credential_uuid(issuer.issue()))

    body = client.post("/api/v1/verify", json={"qr": link}).get_json()

    assert body["status"] == "valid"
    assert body["checks"][0]["id"] == "link"


def test_verify_revoked(client: FlaskClient, issuer: FakeIssuer) -> None:
    issuer.revoked.add(17)

    body = client.post("/api/v1/verify", json={"credential": issuer.issue(index=17)}).get_json()

    assert body["status"] == "revoked"


def test_verify_forgery_is_200_not_authentic(client: FlaskClient, issuer: FakeIssuer) -> None:
    head, payload, sig = issuer.issue().split(".")
    forged = f"{head}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"

    response = client.post("/api/v1/verify", json={"credential": forged})

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "not_authentic"
    assert body["credential"] is None


def test_verify_garbage_qr_is_judged(client: FlaskClient, network: Network) -> None:
    response = client.post("/api/v1/verify", json={"qr": "WIFI:S:cafe;T:WPA;P:secret;;"})

    assert response.status_code == 200
    assert response.get_json()["status"] == "unreadable"
    assert network.log == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "exactly one"),
        ({"credentials": "x"}, "exactly one"),
        ({"credential": "a.b.c", "qr": "a.b.c"}, "exactly one"),
        ({"credential": 5}, "must be a string"),
        ({"qr": ["a"]}, "must be a string"),
        ({"credential": None}, "must be a string"),
        ({"credential": "   "}, "must not be empty"),
        (["credential"], "JSON object"),
        ("a.b.c", "JSON object"),
    ],
)
def test_malformed_requests_are_400_problems(
    client: FlaskClient, network: Network, body: object, detail: str
) -> None:
    response = client.post("/api/v1/verify", json=body)

    problem = assert_problem(response, 400)
    assert detail in str(problem["detail"])
    assert problem["title"] == "Bad Request"
    assert network.log == []


@pytest.mark.parametrize(
    ("data", "content_type", "detail"),
    [
        ("{not json", "application/json", "not valid JSON"),
        ('{"credential": "a", "credential": "b"}', "application/json", "duplicate JSON member"),
        (b"\xff\xfe", "application/json", "not UTF-8"),
        ("credential=abc", "application/x-www-form-urlencoded", "must be JSON"),
        ('{"credential": "a.b.c"}', "text/plain", "must be JSON"),
    ],
)
def test_non_json_bodies_are_400_problems(
    client: FlaskClient, data: str | bytes, content_type: str, detail: str
) -> None:
    response = client.post("/api/v1/verify", data=data, content_type=content_type)

    assert detail in str(assert_problem(response, 400)["detail"])


def test_huge_body_is_413_problem(client: FlaskClient, network: Network) -> None:
    response = client.post(
        "/api/v1/verify", json={"credential": "a" * (64 * 1024 + 1)}
    )

    assert_problem(response, 413)
    assert network.log == []


def test_unknown_api_path_is_404_problem(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_405_problem_with_allow(client: FlaskClient) -> None:
    response = client.get("/api/v1/verify")

    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_unexpected_failure_is_500_problem_revealing_nothing(
    app: Flask, issuer: FakeIssuer
) -> None:
    from verifier import create_app

    def broken(url: str, headers: dict[str, str]) -> object:
        raise RuntimeError("secret internal detail")

    broken_app = create_app(
        {"TRUSTED_ISSUERS": {"issuers": [issuer.entry()]}},
        fetch=broken,  # type: ignore[arg-type]
    )
    app.logger.disabled = True
    broken_app.logger.disabled = True

    response = broken_app.test_client().post("/api/v1/verify", json={"credential": issuer.issue()})

    body = assert_problem(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert body["title"] == "Internal Server Error"
    for name, value in SECURITY.items():
        assert response.headers[name] == value


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/verify"), ("get", "/api/nowhere"), ("get", "/"), ("get", "/nowhere")],
)
def test_security_headers_on_every_response(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path, json={"credential": "x"} if method == "post" else None)

    for name, value in SECURITY.items():
        assert response.headers[name] == value


def test_verify_text_that_is_no_credential_is_unreadable(client: FlaskClient, network: Network) -> None:
    for body in ({"qr": "hello world"}, {"credential": "hello world"}):
        response = client.post("/api/v1/verify", json=body)
        assert response.status_code == 200
        assert response.get_json()["status"] == "unreadable"
        assert response.get_json()["credential"] is None
    assert network.log == []


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"credential": ' + '{"a":' * 10_000 + "1" + "}" * 10_001,
        '{"credential": "x", "n": ' + "9" * 4_301 + "}",
    ],
    ids=["nested_10000_deep", "nested_object_10000_deep", "integer_4301_digits"],
)
def test_pathological_json_is_a_400_problem_not_a_500(client: FlaskClient, raw: str) -> None:
    response = client.post("/api/v1/verify", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400
