"""One practitioner per license (jurisdiction + number): the API answers 409 with the
existing id, the CSV import matches the same identity, and the migration that adds the
unique constraint names the duplicated licenses it finds."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from flask.testing import FlaskClient

from issuer.store.db import alembic_config
from tests.conftest import auth, practitioner_body
from tests.http.issuer.test_imports import good_row, post_csv, to_csv

pytestmark = [pytest.mark.http, pytest.mark.db]


def test_registering_a_license_twice_answers_409_with_the_existing_id(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    first = issuer_client.post(
        "/api/v1/practitioners", json=practitioner_body(), headers=auth(tokens["registrar"])
    )
    assert first.status_code == 201

    again = issuer_client.post(
        "/api/v1/practitioners",
        json=practitioner_body(email="someone.else@example.org", given_name="Janet",
                               license={"number": "RN-884512"}),
        headers=auth(tokens["registrar"]),
    )

    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.json["practitioner_id"] == first.json["id"]
    assert "US-TX RN-884512 is already registered" in again.json["detail"]
    other_state = issuer_client.post(
        "/api/v1/practitioners", json=practitioner_body(license={"jurisdiction": "US-CA"}),
        headers=auth(tokens["registrar"]),
    )
    assert other_state.status_code == 201  # the same number in another jurisdiction is another license


def test_the_csv_import_finds_a_practitioner_registered_through_the_api_by_license(
    issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = practitioner_body(
        email="rosa.example@example.org", given_name="Rosa", family_name="Example",
        license={"number": "EXAMPLE-RN-5001", "expires_on": "2028-01-31"},
    )
    registered = issuer_client.post("/api/v1/practitioners", json=body, headers=auth(tokens["registrar"]))
    assert registered.status_code == 201

    report = post_csv(issuer_client, tokens, to_csv(good_row()))

    assert report.status_code == 200, report.json
    [line] = report.json["lines"]
    assert line["status"] == "updated" and line["practitioner_id"] == registered.json["id"]


def test_the_migration_names_the_duplicated_licenses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0006")
    engine = sa.create_engine(url)
    insert = sa.text(
        "INSERT INTO practitioners (id, given_name, family_name, email, profession, license_number, "
        "license_jurisdiction, license_status, license_expires_on, license_checked_on, "
        "license_checked_source, created_at, created_by) VALUES (:id, 'A', 'B', 'a@example.org', 'RN', "
        ":number, 'US-TX', 'active', '2027-01-01', '2026-01-01', 'https://x', '2026-01-01 00:00:00', 't')"
    )
    with engine.begin() as conn:
        for pid, number in (("p-1", "RN-1"), ("p-2", "RN-1"), ("p-3", "RN-2")):
            conn.execute(insert, {"id": pid, "number": number})
    engine.dispose()

    with pytest.raises(RuntimeError) as refused:
        command.upgrade(config, "head")

    message = str(refused.value)
    assert "1 license(s) are registered to more than one practitioner" in message
    assert "US-TX RN-1: practitioners p-1, p-2" in message and "RN-2" not in message
