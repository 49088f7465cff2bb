"""The issuer's staff API through the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from tests.conftest import PROGRAM, auth, complete_records, enrol, issue, practitioner_body

pytestmark = pytest.mark.http


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.json
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


# --- authentication and roles -------------------------------------------------------------


def test_programs_need_a_token(issuer_client: FlaskClient) -> None:
    response = issuer_client.get("/api/v1/programs")
    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_refused(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    problem(issuer_client.get("/api/v1/programs", headers=auth("bxc_not-a-real-token")), 401)


def test_programs_list_the_shipped_program_with_requirements(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    response = issuer_client.get("/api/v1/programs", headers=auth(tokens["registrar"]))
    assert response.status_code == 200
    (program,) = [p for p in response.json["programs"] if p["id"] == PROGRAM]
    kinds = {r["kind"] for r in program["requirements"]}
    assert {
        "profession",
        "license_active",
        "didactic_modules",
        "hands_on",
        "written_exam",
        "practical_exam",
    } <= kinds


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("certifier", "post", "/api/v1/practitioners", practitioner_body()),
        ("registrar", "post", "/api/v1/credentials", {"practitioner_id": "x", "program_id": PROGRAM}),
        ("certifier", "post", "/api/v1/credentials/x/revoke", {"reason": "r"}),
        ("registrar", "post", "/api/v1/credentials/x/suspend", {"reason": "r"}),
        ("certifier", "post", "/api/v1/credentials/x/reinstate", {}),
    ],
    ids=[
        "certifier-registers",
        "registrar-issues",
        "certifier-revokes",
        "registrar-suspends",
        "certifier-reinstates",
    ],
)
def test_wrong_role_is_forbidden(
    issuer_client: FlaskClient,
    tokens: dict[str, str],
    role: str,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    response = getattr(issuer_client, method)(path, json=body, headers=auth(tokens[role]))
    assert "may not" in problem(response, 403)["detail"]


# --- practitioners --------------------------------------------------------------------------


def test_register_practitioner(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    response = issuer_client.post(
        "/api/v1/practitioners", json=practitioner_body(), headers=auth(tokens["registrar"])
    )
    assert response.status_code == 201
    assert response.headers["Location"].endswith(response.json["id"])
    fetched = issuer_client.get(
        f"/api/v1/practitioners/{response.json['id']}", headers=auth(tokens["certifier"])
    )
    assert fetched.json["license"]["jurisdiction"] == "US-TX"
    assert fetched.json["records"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in practitioner_body().items() if k != "family_name"}, "family_name"),
        (practitioner_body(profession="DDS"), "profession"),
        (practitioner_body(email="not-an-email"), "email"),
        (practitioner_body(given_name=""), "given_name"),
        (practitioner_body(given_name="x" * 101), "given_name"),
        (practitioner_body(license={"jurisdiction": "Texas"}), "license.jurisdiction"),
        (practitioner_body(license={"status": "great"}), "license.status"),
        (practitioner_body(license={"expires_on": "31/08/2027"}), "license.expires_on"),
        (practitioner_body(license={"checked_source": "javascript:alert(1)"}), "license.checked_source"),
        (practitioner_body(nickname="JD"), "nickname"),
        (practitioner_body() | {"license": 7}, "license"),
    ],
    ids=[
        "missing-field",
        "bad-profession",
        "bad-email",
        "empty-name",
        "long-name",
        "bad-jurisdiction",
        "bad-status",
        "bad-date",
        "bad-source-url",
        "unknown-field",
        "wrong-type",
    ],
)
def test_bad_practitioner_is_refused_naming_the_field(
    issuer_client: FlaskClient, tokens: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = issuer_client.post("/api/v1/practitioners", json=body, headers=auth(tokens["registrar"]))
    assert field in {e["field"] for e in problem(response, 422)["errors"]}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("not json", "application/json"), ("[1, 2]", "application/json"), ("{}", "text/plain")],
    ids=["not-json", "not-object", "wrong-content-type"],
)
def test_unreadable_body_is_a_400(
    issuer_client: FlaskClient, tokens: dict[str, str], data: str, content_type: str
) -> None:
    response = issuer_client.post(
        "/api/v1/practitioners", data=data, content_type=content_type, headers=auth(tokens["registrar"])
    )
    problem(response, 400)


def test_oversized_body_is_a_413(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    response = issuer_client.post(
        "/api/v1/practitioners",
        data="{" + " " * (2 << 20) + "}",
        content_type="application/json",
        headers=auth(tokens["registrar"]),
    )
    problem(response, 413)


def test_unknown_practitioner_is_a_404(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    problem(issuer_client.get("/api/v1/practitioners/nope", headers=auth(tokens["registrar"])), 404)


# --- records ---------------------------------------------------------------------------------


def test_every_record_kind_is_accepted(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    ce = {
        "program_id": PROGRAM,
        "kind": "ce_credits",
        "credits": 4.0,
        "provider": "Example CME Institute",
        "completed_on": "2026-09-20",
    }
    practitioner_id = enrol(issuer_client, tokens, complete_records() + [ce])
    records = issuer_client.get(
        f"/api/v1/practitioners/{practitioner_id}", headers=auth(tokens["registrar"])
    ).json["records"]
    assert {r["kind"] for r in records} == {
        "didactic",
        "hands_on",
        "written_exam",
        "practical_exam",
        "ce_credits",
    }
    assert all(r["created_by"].startswith("token:") for r in records)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (
            {
                "program_id": "no-such-program",
                "kind": "didactic",
                "module": "pharmacology",
                "hours": 2,
                "completed_on": "2026-10-02",
            },
            "program_id",
        ),
        ({"program_id": PROGRAM, "kind": "yoga", "completed_on": "2026-10-02"}, ""),
        (
            {
                "program_id": PROGRAM,
                "kind": "didactic",
                "module": "astrology",
                "hours": 2,
                "completed_on": "2026-10-02",
            },
            "module",
        ),
        (
            {
                "program_id": PROGRAM,
                "kind": "didactic",
                "module": "pharmacology",
                "hours": -1,
                "completed_on": "2026-10-02",
            },
            "hours",
        ),
        (
            {
                "program_id": PROGRAM,
                "kind": "hands_on",
                "hours": 4,
                "supervised_injections": "many",
                "live_models": 4,
                "supervisor": "Ana Ruiz, MD",
                "completed_on": "2026-10-03",
            },
            "supervised_injections",
        ),
        (
            {
                "program_id": PROGRAM,
                "kind": "written_exam",
                "score": 120,
                "max_score": 100,
                "taken_on": "2026-10-04",
            },
            "",
        ),
        (
            {"program_id": PROGRAM, "kind": "practical_exam", "passed": True, "taken_on": "2026-10-04"},
            "examiner",
        ),
        (
            {
                "program_id": PROGRAM,
                "kind": "didactic",
                "module": "pharmacology",
                "hours": 2,
                "completed_on": "2027-01-01",
            },
            "completed_on",
        ),
    ],
    ids=[
        "unknown-program",
        "unknown-kind",
        "unknown-module",
        "negative-hours",
        "wrong-type",
        "score-above-max",
        "missing-examiner",
        "future-date",
    ],
)
def test_bad_record_is_refused(
    issuer_client: FlaskClient, tokens: dict[str, str], record: dict[str, Any], field: str
) -> None:
    practitioner_id = enrol(issuer_client, tokens, records=[])
    response = issuer_client.post(
        f"/api/v1/practitioners/{practitioner_id}/records", json=record, headers=auth(tokens["registrar"])
    )
    body = problem(response, 422)
    if field:
        assert field in {e["field"] for e in body["errors"]}


def test_record_for_unknown_practitioner_is_a_404(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    response = issuer_client.post(
        "/api/v1/practitioners/nope/records", json=complete_records()[0], headers=auth(tokens["registrar"])
    )
    problem(response, 404)


# --- eligibility -------------------------------------------------------------------------------


def test_eligibility_lists_every_requirement_with_numbers(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    partial = [r for r in complete_records() if r["kind"] != "hands_on"] + [
        {
            "program_id": PROGRAM,
            "kind": "hands_on",
            "hours": 3.0,
            "supervised_injections": 14,
            "live_models": 2,
            "supervisor": "Ana Ruiz, MD",
            "completed_on": "2026-10-03",
        }
    ]
    practitioner_id = enrol(issuer_client, tokens, partial)
    response = issuer_client.get(
        f"/api/v1/practitioners/{practitioner_id}/eligibility?program={PROGRAM}",
        headers=auth(tokens["certifier"]),
    )
    assert response.status_code == 200
    body = response.json
    assert body["eligible"] is False
    details = {r["id"]: r for r in body["requirements"]}
    assert details["hands_on.supervised_injections"] == {
        "id": "hands_on.supervised_injections",
        "ok": False,
        "detail": "supervised injections: 14 of 20",
    }
    assert details["hands_on.hours"]["detail"] == "hands-on training: 3 of 8 hours"
    assert details["didactic.pharmacology"]["ok"] is True
    assert {u["id"] for u in body["unmet"]} == {
        "hands_on.hours",
        "hands_on.supervised_injections",
        "hands_on.live_models",
    }


def test_eligibility_needs_a_known_program(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    practitioner_id = enrol(issuer_client, tokens)
    base = f"/api/v1/practitioners/{practitioner_id}/eligibility"
    problem(issuer_client.get(base, headers=auth(tokens["certifier"])), 422)
    problem(issuer_client.get(f"{base}?program=nope", headers=auth(tokens["certifier"])), 422)


# --- issuing ----------------------------------------------------------------------------------------


def test_issue_returns_a_vc_jwt_as_designed(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    practitioner_id = enrol(issuer_client, tokens)
    body = issue(issuer_client, tokens, practitioner_id)
    assert set(body) >= {"id", "credential", "holder_url", "verify_url", "qr_png_url"}
    header = jwt.get_unverified_header(body["credential"])
    jwks = issuer_client.get("/.well-known/jwks.json").json
    assert header == {"alg": "ES256", "typ": "vc+jwt", "cty": "vc", "kid": jwks["keys"][0]["kid"]}
    claims = jwt.decode(body["credential"], options={"verify_signature": False})
    assert claims["jti"] == claims["id"] == f"urn:uuid:{body['id']}"
    assert claims["iss"] == claims["issuer"]["id"] == "http://127.0.0.1:5000"
    assert "vc" not in claims and "nbf" not in claims
    assert claims["validFrom"] == "2026-11-22T12:00:00Z"
    assert claims["validUntil"] == "2028-11-22T12:00:00Z"
    subject = claims["credentialSubject"]
    assert subject["name"] == "Jane Doe"
    assert subject["trainingResults"]["supervisedInjections"] == 24
    assert [s["statusPurpose"] for s in claims["credentialStatus"]] == ["revocation", "suspension", "refresh"]
    text = body["credential"]
    assert "88" not in str(subject["trainingResults"]) and "jane.doe@example.org" not in str(claims)
    assert issuer_client.get(f"/credentials/{body['id']}/jwt").data.decode() == text


def test_not_eligible_is_a_422_listing_every_unmet_requirement(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    practitioner_id = enrol(issuer_client, tokens, records=[], license={"status": "suspended"})
    response = issuer_client.post(
        "/api/v1/credentials",
        json={"practitioner_id": practitioner_id, "program_id": PROGRAM},
        headers=auth(tokens["certifier"]),
    )
    body = problem(response, 422)
    unmet = {u["id"] for u in body["unmet"]}
    assert {
        "license.status",
        "didactic.pharmacology",
        "hands_on.supervised_injections",
        "exam.written",
        "exam.practical",
    } <= unmet
    assert "license.profession" not in unmet


def test_second_credential_for_the_same_program_conflicts(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    practitioner_id = enrol(issuer_client, tokens)
    first = issue(issuer_client, tokens, practitioner_id)
    response = issuer_client.post(
        "/api/v1/credentials",
        json={"practitioner_id": practitioner_id, "program_id": PROGRAM},
        headers=auth(tokens["certifier"]),
    )
    assert problem(response, 409)["credential_id"] == first["id"]


def test_issue_for_unknown_practitioner_is_a_404(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    response = issuer_client.post(
        "/api/v1/credentials",
        json={"practitioner_id": "nope", "program_id": PROGRAM},
        headers=auth(tokens["certifier"]),
    )
    problem(response, 404)


# --- status changes ----------------------------------------------------------------------------


def _post(
    client: FlaskClient, tokens: dict[str, str], cid: str, action: str, body: dict[str, Any] | None = None
) -> Any:
    return client.post(
        f"/api/v1/credentials/{cid}/{action}",
        json=body if body is not None else {},
        headers=auth(tokens["admin"]),
    )


def test_suspend_reinstate_revoke_lifecycle(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    cid = issue(issuer_client, tokens, enrol(issuer_client, tokens))["id"]
    meta = issuer_client.get(f"/api/v1/credentials/{cid}", headers=auth(tokens["registrar"]))
    assert meta.json["status"] == "active"
    suspended = _post(issuer_client, tokens, cid, "suspend", {"reason": "license under review"})
    assert suspended.json["status"] == "suspended"
    assert suspended.json["status_reason"] == "license under review"
    assert _post(issuer_client, tokens, cid, "reinstate").json["status"] == "active"
    assert (
        _post(issuer_client, tokens, cid, "revoke", {"reason": "issued in error"}).json["status"] == "revoked"
    )
    problem(_post(issuer_client, tokens, cid, "revoke", {"reason": "again"}), 409)
    problem(_post(issuer_client, tokens, cid, "suspend", {"reason": "x"}), 409)
    problem(_post(issuer_client, tokens, cid, "reinstate"), 409)


def test_revoke_needs_a_reason(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    cid = issue(issuer_client, tokens, enrol(issuer_client, tokens))["id"]
    assert "reason" in {
        e["field"] for e in problem(_post(issuer_client, tokens, cid, "revoke"), 422)["errors"]
    }
    problem(_post(issuer_client, tokens, "nope", "revoke", {"reason": "x"}), 404)


def test_credential_reports_the_exam_attempts_eligibility_counted(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    old_high_score = {
        "program_id": PROGRAM,
        "kind": "written_exam",
        "score": 99,
        "max_score": 100,
        "taken_on": "2025-06-01",
    }
    old_practical = {
        "program_id": PROGRAM,
        "kind": "practical_exam",
        "passed": True,
        "examiner": "Old Examiner, MD",
        "taken_on": "2025-06-01",
    }
    practitioner_id = enrol(issuer_client, tokens, complete_records() + [old_high_score, old_practical])
    claims = jwt.decode(
        issue(issuer_client, tokens, practitioner_id)["credential"], options={"verify_signature": False}
    )
    results = claims["credentialSubject"]["trainingResults"]
    assert results["writtenExam"] == {"passed": True, "date": "2026-10-04"}
    assert results["practicalExam"]["examiner"] == "Ana Ruiz, MD"
