"""Typed evidence over the API: license checks, supervision agreements, CE credit types,
supervisor credentials; corrections that supersede (both stay visible); who and when."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import PROGRAM, auth, complete_records, enrol

SUPERVISION = {"kind": "supervision", "physician_name": "Dr. Ada Byrne",
               "physician_license_number": "MD-000123", "physician_jurisdiction": "US-NY",
               "agreement_on": "2026-09-01"}


def post_record(client: FlaskClient, tokens: dict[str, str], pid: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/practitioners/{pid}/records", json=body, headers=auth(tokens["registrar"]))


def fetch(client: FlaskClient, tokens: dict[str, str], pid: str) -> Any:
    return client.get(f"/api/v1/practitioners/{pid}", headers=auth(tokens["registrar"])).json


def eligibility(client: FlaskClient, tokens: dict[str, str], pid: str) -> dict[str, Any]:
    reply = client.get(f"/api/v1/practitioners/{pid}/eligibility?program={PROGRAM}",
                       headers=auth(tokens["certifier"]))
    assert reply.status_code == 200
    return {r["id"]: (r["ok"], r["detail"]) for r in reply.json["requirements"]}


def test_registration_records_the_initial_license_check(issuer_client: FlaskClient,
                                                        tokens: dict[str, str]) -> None:
    pid = enrol(issuer_client, tokens, [])
    body = fetch(issuer_client, tokens, pid)
    assert body["records"] == []
    [check] = body["license_checks"]
    assert check["status"] == "active" and check["checked_on"] == "2026-11-01"
    assert check["created_by"].startswith("token:") and check["created_at"]


def test_a_newer_license_check_is_what_eligibility_and_the_credential_see(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    pid = enrol(issuer_client, tokens)
    suspended = {"kind": "license_check", "status": "suspended", "expires_on": "2027-08-31",
                 "checked_on": "2026-11-20", "checked_source": "https://www.bon.texas.gov/verify"}
    assert post_record(issuer_client, tokens, pid, suspended).status_code == 201
    assert eligibility(issuer_client, tokens, pid)["license.status"] == (
        False, "license RN-884512 (US-TX) is suspended, not active")
    assert fetch(issuer_client, tokens, pid)["license"]["status"] == "suspended"
    active = {**suspended, "status": "active", "checked_on": "2026-11-21", "expires_on": "2028-08-31"}
    assert post_record(issuer_client, tokens, pid, active).status_code == 201
    reply = issuer_client.post("/api/v1/credentials", json={"practitioner_id": pid, "program_id": PROGRAM},
                               headers=auth(tokens["certifier"]))
    assert reply.status_code == 201
    assert len(fetch(issuer_client, tokens, pid)["license_checks"]) == 3


def test_typed_evidence_is_kept(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    records = [
        {"program_id": PROGRAM, "kind": "ce_credits", "credits": 2.0, "provider": "Example CME Institute",
         "credit_type": "AMA PRA Category 1", "completed_on": "2026-09-20"},
        {"program_id": PROGRAM, "kind": "hands_on", "hours": 2.0, "supervised_injections": 5,
         "live_models": 1, "supervisor": "Ana Ruiz, MD", "supervisor_credential": "MD, TX license MD-000777",
         "completed_on": "2026-10-05"},
        SUPERVISION,
    ]
    pid = enrol(issuer_client, tokens, records)
    kept = {r["kind"]: r for r in fetch(issuer_client, tokens, pid)["records"]}
    assert kept["ce_credits"]["credit_type"] == "AMA PRA Category 1"
    assert kept["hands_on"]["supervisor_credential"] == "MD, TX license MD-000777"
    assert kept["supervision"]["physician_license_number"] == "MD-000123"
    assert kept["supervision"]["program_id"] is None


def test_new_york_rn_needs_a_supervising_physician(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    extra = {"program_id": PROGRAM, "kind": "hands_on", "hours": 1.0, "supervised_injections": 6,
             "live_models": 2, "supervisor": "Ana Ruiz, MD", "completed_on": "2026-10-05"}
    pid = enrol(issuer_client, tokens, [*complete_records(), extra],
                license={"jurisdiction": "US-NY", "checked_source": "https://www.op.nysed.gov/"})
    reply = issuer_client.post("/api/v1/credentials", json={"practitioner_id": pid, "program_id": PROGRAM},
                               headers=auth(tokens["certifier"]))
    assert reply.status_code == 422
    assert [u["id"] for u in reply.json["unmet"]] == ["supervision.physician"]
    assert {r["id"] for r in reply.json["requirements"]} >= {"supervision.physician", "exam.written"}
    assert post_record(issuer_client, tokens, pid, SUPERVISION).status_code == 201
    assert eligibility(issuer_client, tokens, pid)["supervision.physician"][0] is True


def test_a_correction_supersedes_and_both_stay_visible(issuer_client: FlaskClient,
                                                       tokens: dict[str, str]) -> None:
    pid = enrol(issuer_client, tokens)
    hands_on = next(r for r in fetch(issuer_client, tokens, pid)["records"] if r["kind"] == "hands_on")
    fixed = {"program_id": PROGRAM, "kind": "hands_on", "hours": 8.0, "supervised_injections": 14,
             "live_models": 4, "supervisor": "Ana Ruiz, MD", "completed_on": "2026-10-03",
             "supersedes": hands_on["id"]}
    reply = post_record(issuer_client, tokens, pid, fixed)
    assert reply.status_code == 201
    assert reply.json["supersedes"] == hands_on["id"]
    listed = {r["id"]: r for r in fetch(issuer_client, tokens, pid)["records"]}
    assert listed[hands_on["id"]]["superseded_by"] == reply.json["id"]
    assert listed[reply.json["id"]]["superseded_by"] is None
    assert eligibility(issuer_client, tokens, pid)["hands_on.supervised_injections"] == (
        False, "supervised injections: 14 of 20")

    again = post_record(issuer_client, tokens, pid, fixed)
    assert again.status_code == 409
    assert again.json["superseded_by"] == reply.json["id"]


@pytest.mark.parametrize(("change", "detail"), [
    ({"supersedes": "00000000-0000-0000-0000-000000000000"}, "no such record for this practitioner"),
    ({"kind": "ce_credits", "credits": 1.0, "provider": "X", "completed_on": "2026-10-01"},
     "a ce_credits record can only supersede a ce_credits record of the same program"),
])
def test_a_bad_correction_is_refused(issuer_client: FlaskClient, tokens: dict[str, str],
                                     change: dict[str, Any], detail: str) -> None:
    pid = enrol(issuer_client, tokens)
    hands_on = next(r for r in fetch(issuer_client, tokens, pid)["records"] if r["kind"] == "hands_on")
    body: dict[str, Any] = {"program_id": PROGRAM, "kind": "hands_on", "hours": 8.0,
                            "supervised_injections": 14, "live_models": 4, "supervisor": "Ana Ruiz, MD",
                            "completed_on": "2026-10-03", "supersedes": hands_on["id"]}
    if "kind" in change:
        body = {"program_id": PROGRAM, "supersedes": hands_on["id"], **change}
    else:
        body.update(change)
    reply = post_record(issuer_client, tokens, pid, body)
    assert reply.status_code == 422
    assert reply.json["errors"] == [{"field": "supersedes", "detail": detail}]


def test_a_record_of_another_practitioner_cannot_be_superseded(issuer_client: FlaskClient,
                                                              tokens: dict[str, str]) -> None:
    first = enrol(issuer_client, tokens)
    second = enrol(issuer_client, tokens, [], email="other@example.org")
    theirs = fetch(issuer_client, tokens, first)["records"][0]
    body = {**{k: v for k, v in theirs.items() if k in ("program_id", "kind", "module", "hours")},
            "completed_on": "2026-10-02", "supersedes": theirs["id"]}
    assert post_record(issuer_client, tokens, second, body).status_code == 422
