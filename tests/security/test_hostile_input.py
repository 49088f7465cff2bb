"""What an attacker sends gets a clear 4xx problem on SQLite as on PostgreSQL, never a
500 and never a stored surprise: NUL characters anywhere, JSON nested thousands deep,
integers of thousands of digits, booleans for numbers, duplicate members, impossible dates,
a CSV header built to draw a huge answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.runtime import Runtime
from issuer.store.models import Practitioner
from tests.conftest import PROGRAM, auth, enrol, issue, practitioner_body
from tests.http.issuer.test_imports import good_row, post_csv, to_csv

pytestmark = [pytest.mark.db, pytest.mark.http]

NUL = "\u0000"


def practitioners_on_file(app: Flask) -> int:
    rt: Runtime = app.extensions["issuer"]
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Practitioner)) or 0)


def post_raw(client: FlaskClient, token: str, path: str, raw: bytes) -> Any:
    return client.post(path, data=raw, content_type="application/json", headers=auth(token))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (practitioner_body(given_name=f"Ja{NUL}ne"), "given_name"),
        (practitioner_body(license={"number": f"RN-1{NUL}"}), "license.number"),
        (practitioner_body(email=f"jane{NUL}@example.org"), "email"),
    ],
)
def test_a_nul_in_a_json_string_is_422_naming_the_field(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str], body: dict[str, Any], field: str
) -> None:
    answer = issuer_client.post("/api/v1/practitioners", json=body, headers=auth(tokens["registrar"]))

    assert answer.status_code == 422, answer.json
    assert answer.mimetype == "application/problem+json"
    assert answer.json["errors"] == [{"field": field, "detail": "contains a NUL character (\\u0000)"}]
    assert practitioners_on_file(issuer_app) == 0  # nothing stored, not even on SQLite


def test_a_nul_in_a_member_name_is_refused(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    body = {**practitioner_body(), f"x{NUL}": "y"}
    answer = issuer_client.post("/api/v1/practitioners", json=body, headers=auth(tokens["registrar"]))
    assert answer.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/credentials/%00",
        "/credentials/%00/jwt",
        "/credentials/%00/qr.png",
        "/status/revocation/%00",
        "/status/credentials/%00",
        "/api/v1/credentials/%00",
        "/api/v1/practitioners/%00",
        "/api/v1/practitioners/a%00b/eligibility?program=" + PROGRAM,
    ],
)
def test_a_nul_in_a_url_id_is_404(issuer_client: FlaskClient, tokens: dict[str, str], path: str) -> None:
    answer = issuer_client.get(path, headers=auth(tokens["admin"]))

    assert answer.status_code == 404
    assert answer.status_code < 500


def test_a_nul_in_a_post_url_id_is_404(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    answer = issuer_client.post(
        "/api/v1/credentials/%00/revoke", json={"reason": "x"}, headers=auth(tokens["admin"])
    )
    assert answer.status_code == 404


def test_a_nul_in_a_query_parameter_is_422(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    practitioner_id = enrol(issuer_client, tokens, records=[])
    answer = issuer_client.get(
        f"/api/v1/practitioners/{practitioner_id}/eligibility?program=x%00", headers=auth(tokens["registrar"])
    )
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "?program"


def test_a_nul_in_a_console_form_field_is_refused(issuer_client: FlaskClient) -> None:
    answer = issuer_client.post("/console/login", data={"email": f"a{NUL}@example.org", "password": "x"})
    assert answer.status_code in (403, 422)  # no CSRF token: refused before the database anyway
    form = issuer_client.get("/console/login").get_data(as_text=True)
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = issuer_client.post(
        "/console/login", data={"email": f"a{NUL}@example.org", "password": "x", "csrf_token": token}
    )
    assert answer.status_code == 422
    assert "NUL character" in answer.get_data(as_text=True)


def test_a_nul_in_a_csv_cell_refuses_that_line(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    answer = post_csv(issuer_client, tokens, to_csv(good_row(given_name=f"Ro{NUL}sa")), dry_run="true")

    assert answer.status_code == 200, answer.json
    [line] = answer.json["lines"]
    assert line["status"] == "refused"
    assert {"field": "given_name", "detail": "contains a NUL character (\\u0000)"} in line["errors"]
    imported = post_csv(issuer_client, tokens, to_csv(good_row(given_name=f"Ro{NUL}sa")))
    assert imported.status_code == 422
    assert practitioners_on_file(issuer_app) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"given_name": ' + b"[" * 10_001 + b"]" * 10_001 + b"}",
        b'{"given_name": ' + b'{"a":' * 10_001 + b"1" + b"}" * 10_001 + b"}",
        b'{"given_name": ' + b"[" * 40 + b"]" * 40 + b"}",
    ],
    ids=["array-10001-deep", "object-10001-deep", "array-40-deep"],
)
def test_deeply_nested_json_is_400(issuer_client: FlaskClient, tokens: dict[str, str], raw: bytes) -> None:
    answer = post_raw(issuer_client, tokens["registrar"], "/api/v1/practitioners", raw)

    assert answer.status_code == 400
    assert "nested deeper than 32 levels" in answer.json["detail"]


def test_an_integer_of_5000_digits_is_400(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    practitioner_id = enrol(issuer_client, tokens, records=[])
    raw = json.dumps(
        {
            "program_id": PROGRAM,
            "kind": "hands_on",
            "hours": 8.0,
            "supervisor": "Dr A",
            "supervised_injections": 1,
            "live_models": 4,
            "completed_on": "2026-10-03",
        }
    )
    raw = raw.replace('"supervised_injections": 1', '"supervised_injections": ' + "9" * 5000)

    answer = post_raw(
        issuer_client, tokens["registrar"], f"/api/v1/practitioners/{practitioner_id}/records", raw.encode()
    )

    assert answer.status_code == 400
    assert "more than 40 digits" in answer.json["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"live_models": True}, "live_models"),
        ({"supervised_injections": False}, "supervised_injections"),
        ({"hours": True}, "hours"),
        ({"hours": "8"}, "hours"),
        ({"live_models": 4.5}, "live_models"),
        ({"completed_on": 20261003}, "completed_on"),
        ({"completed_on": "2026-02-30"}, "completed_on"),
    ],
)
def test_numbers_and_dates_are_validated_strictly(
    issuer_client: FlaskClient, tokens: dict[str, str], change: dict[str, Any], field: str
) -> None:
    practitioner_id = enrol(issuer_client, tokens, records=[])
    body = {
        "program_id": PROGRAM,
        "kind": "hands_on",
        "hours": 8.0,
        "supervised_injections": 24,
        "live_models": 4,
        "supervisor": "Ana Ruiz, MD",
        "completed_on": "2026-10-03",
        **change,
    }

    answer = issuer_client.post(
        f"/api/v1/practitioners/{practitioner_id}/records", json=body, headers=auth(tokens["registrar"])
    )

    assert answer.status_code == 422, answer.json
    assert field in [e["field"] for e in answer.json["errors"]]


def test_a_boolean_is_not_a_flag_string_but_a_flag_is_a_boolean(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    answer = issuer_client.post(
        "/api/v1/credentials/bulk",
        json={"program_id": PROGRAM, "dry_run": "yes"},
        headers=auth(tokens["certifier"]),
    )
    assert answer.status_code == 422
    answer = issuer_client.post(
        "/api/v1/credentials/bulk",
        json={"program_id": PROGRAM, "dry_run": True},
        headers=auth(tokens["certifier"]),
    )
    assert answer.status_code == 200


def test_duplicate_json_members_are_refused(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = json.dumps(practitioner_body())[:-1] + ', "given_name": "Mallory"}'

    answer = post_raw(issuer_client, tokens["registrar"], "/api/v1/practitioners", body.encode())

    assert answer.status_code == 400
    assert "duplicate JSON member 'given_name'" in answer.json["detail"]
    assert practitioners_on_file(issuer_app) == 0


def test_nan_is_not_a_number(issuer_client: FlaskClient, tokens: dict[str, str]) -> None:
    practitioner_id = enrol(issuer_client, tokens, records=[])
    raw = (
        b'{"program_id": "' + PROGRAM.encode() + b'", "kind": "didactic", "module": "pharmacology",'
        b' "hours": NaN, "completed_on": "2026-10-02"}'
    )
    answer = post_raw(
        issuer_client, tokens["registrar"], f"/api/v1/practitioners/{practitioner_id}/records", raw
    )
    assert answer.status_code == 400


def test_a_license_checked_in_the_future_is_refused_at_registration(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = practitioner_body(license={"checked_on": "2026-11-23"})  # the clock says 2026-11-22

    answer = issuer_client.post("/api/v1/practitioners", json=body, headers=auth(tokens["registrar"]))

    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": "license.checked_on", "detail": "date is in the future"}]
    assert practitioners_on_file(issuer_app) == 0
    today = practitioner_body(license={"checked_on": "2026-11-22"})
    assert (
        issuer_client.post("/api/v1/practitioners", json=today, headers=auth(tokens["registrar"])).status_code
        == 201
    )


def test_a_license_checked_in_the_future_is_refused_in_the_csv_import(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    answer = post_csv(
        issuer_client, tokens, to_csv(good_row(license_checked_on="2027-01-01")), dry_run="true"
    )

    [line] = answer.json["lines"]
    assert line["status"] == "refused"
    assert "future" in json.dumps(line["errors"])
    assert (
        post_csv(issuer_client, tokens, to_csv(good_row(license_checked_on="2027-01-01"))).status_code == 422
    )
    assert practitioners_on_file(issuer_app) == 0


def test_a_600_kb_header_of_unknown_columns_draws_a_short_answer(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    header = ",".join(f"junk_column_{n:06d}" for n in range(30_000)).encode()  # ~600 kB
    assert len(header) > 550_000

    answer = post_csv(issuer_client, tokens, header + b"\r\n", dry_run="true")

    assert answer.status_code == 422
    assert len(answer.get_data()) < 4_000
    assert "and 29990 more" in answer.json["detail"]


def test_hostile_input_after_an_issue_leaves_the_credential_readable(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    credential = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    issuer_client.post(
        f"/api/v1/credentials/{credential['id']}/revoke",
        json={"reason": f"x{NUL}"},
        headers=auth(tokens["admin"]),
    )

    answer = issuer_client.get(f"/api/v1/credentials/{credential['id']}", headers=auth(tokens["admin"]))
    assert answer.status_code == 200 and answer.json["status"] == "active"
