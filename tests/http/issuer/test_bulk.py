"""``POST /api/v1/credentials/bulk``: everyone eligible gets one credential, the others are
told why, holders are left alone; an interruption leaves only whole credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.credentials import bulk as bulk_issuance
from issuer.credentials import issuance
from issuer.runtime import Runtime
from issuer.store.models import Credential, StatusEntry
from tests.conftest import PROGRAM, auth, enrol
from vc import jose

SAMPLE = Path(__file__).resolve().parents[3] / "docs" / "sample-cohort.csv"
ELIGIBLE = {"Maria Alvarez", "David Chen", "Priya Natarajan", "Grace Kim", "Aisha Rahman", "Kevin O'Brien",
            "Hannah Weiss"}

pytestmark = pytest.mark.db


def load_sample(client: FlaskClient, tokens: dict[str, str]) -> None:
    reply = client.post("/api/v1/imports", data=SAMPLE.read_bytes(), content_type="text/csv",
                        headers=auth(tokens["registrar"]))
    assert reply.status_code == 200 and reply.json["written"], reply.json


def bulk(client: FlaskClient, tokens: dict[str, str], dry_run: bool = False) -> Any:
    return client.post("/api/v1/credentials/bulk", json={"program_id": PROGRAM, "dry_run": dry_run},
                       headers=auth(tokens["certifier"]))


def test_bulk_issues_to_every_eligible_practitioner_once(issuer_client: FlaskClient,
                                                         tokens: dict[str, str]) -> None:
    load_sample(issuer_client, tokens)
    dry = bulk(issuer_client, tokens, dry_run=True)
    assert dry.status_code == 200
    assert {i["name"] for i in dry.json["issued"]} == ELIGIBLE
    assert all("credential_id" not in i for i in dry.json["issued"])
    assert dry.json["counts"] == {"issued": 7, "not_eligible": 9, "already_certified": 0, "failed": 0}

    real = bulk(issuer_client, tokens).json
    assert {i["name"] for i in real["issued"]} == ELIGIBLE
    reasons = {i["name"]: [u["detail"] for u in i["unmet"]] for i in real["not_eligible"]}
    assert reasons["Emily Johansson"] == ["supervised injections: 14 of 20"]
    assert reasons["Samuel Okafor"] == ["continuing-education credits: 2 of 4"]
    assert reasons["Laura Santos"][0].startswith("profession RN is not allowed for licenses of US-NV")
    assert reasons["Robert Fischer"] == ["license check is 68 days old; it must be at most 30 days old"]
    assert reasons["Thomas Becker"] == [
        "no supervising physician licensed in US-NY on record (required for PA licensees in US-NY)"]
    assert reasons["Marcus Lee"] == ["written exam taken on 2025-09-10 is older than 12 months"]
    assert reasons["Daniel Park"] == ["practical exam not passed yet"]
    assert "license EXAMPLE-NP-0014 (US-TX) is expired, not active" in reasons["Olivia Grant"]
    for item in real["issued"]:
        info = issuer_client.get(f"/api/v1/credentials/{item['credential_id']}",
                                 headers=auth(tokens["certifier"])).json
        assert info["status"] == "active" and len(info["status_entries"]) == 3

    again = bulk(issuer_client, tokens).json
    assert again["counts"] == {"issued": 0, "not_eligible": 9, "already_certified": 7, "failed": 0}
    assert {i["credential_id"] for i in again["already_certified"]} == {
        i["credential_id"] for i in real["issued"]}


def test_bulk_needs_the_certifier_role_and_a_known_program(issuer_client: FlaskClient,
                                                           tokens: dict[str, str]) -> None:
    as_registrar = issuer_client.post("/api/v1/credentials/bulk", json={"program_id": PROGRAM},
                                      headers=auth(tokens["registrar"]))
    assert as_registrar.status_code == 403
    unknown = issuer_client.post("/api/v1/credentials/bulk", json={"program_id": "nope"},
                                 headers=auth(tokens["certifier"]))
    assert unknown.status_code == 422


def test_an_interrupted_bulk_run_leaves_only_whole_credentials(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        enrol(issuer_client, tokens, email=f"p{n}@example.org", license={"number": f"RN-{n}"})
    real_sign = issuance.jose.sign_parts
    signed = {"credentials": 0}

    def failing_sign(payload: dict[str, Any], *args: Any, **kwargs: Any) -> jose.Signed:
        if "BitstringStatusListCredential" not in payload.get("type", []):
            signed["credentials"] += 1
            if signed["credentials"] == 3:
                raise RuntimeError("power cut while signing")
        return real_sign(payload, *args, **kwargs)

    monkeypatch.setattr(issuance.jose, "sign_parts", failing_sign)
    monkeypatch.setattr(bulk_issuance, "DEFAULT_BATCH_SIZE", 2)  # the first batch commits, the second fails
    issuer_app.config["PROPAGATE_EXCEPTIONS"] = False
    interrupted = bulk(issuer_client, tokens)
    assert interrupted.status_code == 500

    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as session:
        credentials = session.scalars(select(Credential)).all()
        assert len(credentials) == 2
        for row in credentials:
            assert row.token and {e.purpose for e in row.entries} == {"revocation", "suspension", "refresh"}
        assert session.scalar(select(func.count()).select_from(StatusEntry)) == 6

    monkeypatch.setattr(issuance.jose, "sign_parts", real_sign)
    resumed = bulk(issuer_client, tokens).json
    assert resumed["counts"]["issued"] == 2 and resumed["counts"]["already_certified"] == 2
    with rt.sessions() as session:
        entries = session.execute(select(StatusEntry.list_id, StatusEntry.index)).all()
        assert len(entries) == len(set(entries)) == 12
