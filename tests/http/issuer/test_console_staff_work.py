"""The console for real staff work (issue 10, item 6): revoke and suspend with a public
category and a confirmation, no Issue button for the ineligible, issuing to the selected
of those waiting, readable records and actors, focusable table regions, CSV import."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PROGRAM, enrol, issue
from tests.http.issuer.test_console import _tokens, csrf, login, make_staff

pytestmark = [pytest.mark.http, pytest.mark.db]

SAMPLE = Path(__file__).resolve().parents[3] / "docs" / "sample-cohort.csv"


@pytest.fixture
def tokens(issuer_app: Flask) -> dict[str, str]:
    return _tokens(issuer_app)


def signed_in(app: Flask, client: FlaskClient, role: str) -> FlaskClient:
    login(client, make_staff(app, role))
    return client


def text(client: FlaskClient, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def test_suspend_and_revoke_take_a_public_category_and_private_note_and_revoke_is_confirmed(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    admin = signed_in(issuer_app, issuer_client, "admin")
    path = f"/console/credentials/{body['id']}"
    page = text(admin, path)
    assert '<select id="category-revoke" name="category" required>' in page
    assert ">Action against the holder&#39;s professional license</option>" in page
    assert 'id="note-suspend"' in page and "cannot be undone" in page
    assert 'name="confirm" type="checkbox" value="yes" required' in page
    token = csrf(admin, path)

    admin.post(f"{path}/suspend", data={
        "category": "license_action", "reason": "board letter 12", "note": "call back Monday",
        "csrf_token": token,
    })
    page = text(admin, path)
    assert 'data-status="suspended"' in page
    assert "Action against the holder&#39;s professional license" in page and "call back Monday" in page
    public = admin.get(f"/status/credentials/{body['id']}").json
    assert public["category"] == "license_action" and "call back" not in str(public)

    unconfirmed = admin.post(f"{path}/revoke", data={
        "category": "issued_in_error", "reason": "wrong person", "csrf_token": token,
    })
    assert "cannot be undone" in text(admin, unconfirmed.headers["Location"])
    assert 'data-status="suspended"' in text(admin, path)
    admin.post(f"{path}/revoke", data={
        "category": "issued_in_error", "reason": "wrong person", "confirm": "yes", "csrf_token": token,
    })
    assert 'data-status="revoked"' in text(admin, path)
    assert admin.get(f"/status/credentials/{body['id']}").json["category"] == "issued_in_error"


def test_an_unknown_category_is_refused(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = issue(issuer_client, tokens, enrol(issuer_client, tokens))
    admin = signed_in(issuer_app, issuer_client, "admin")
    path = f"/console/credentials/{body['id']}"

    refused = admin.post(f"{path}/suspend", data={
        "category": "because", "reason": "x", "csrf_token": csrf(admin, path),
    })

    assert "Not suspended: unknown category" in text(admin, refused.headers["Location"])
    assert 'data-status="active"' in text(admin, path)


def test_no_issue_button_for_the_ineligible_but_the_unmet_requirements(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    ready = enrol(issuer_client, tokens, email="ready@example.org")
    not_ready = enrol(issuer_client, tokens, records=[], email="not-ready@example.org")
    certifier = signed_in(issuer_app, issuer_client, "certifier")

    page = text(certifier, f"/console/practitioners/{not_ready}")

    assert f"/console/practitioners/{not_ready}/issue" not in page
    unmet = page[page.index('<ul class="unmet">') :]
    assert "Not issued until these requirements are met" in page and "<li>" in unmet[: unmet.index("</ul>")]
    assert f"/console/practitioners/{ready}/issue" in text(certifier, f"/console/practitioners/{ready}")


def test_ready_to_certify_lists_the_eligible_uncertified_and_issues_the_selected(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    first = enrol(issuer_client, tokens, family_name="First", email="f@example.org")
    second = enrol(issuer_client, tokens, family_name="Second", email="s@example.org")
    third = enrol(issuer_client, tokens, family_name="Third", email="t@example.org")
    enrol(issuer_client, tokens, records=[], family_name="Unready", email="u@example.org")
    issue(issuer_client, tokens, third)
    certifier = signed_in(issuer_app, issuer_client, "certifier")

    page = text(certifier, f"/console/awaiting?program_id={PROGRAM}")
    assert "2 eligible without a current credential" in page
    assert first in page and second in page and third not in page and "Unready" not in page
    token = csrf(certifier, "/console/awaiting")
    done = certifier.post("/console/awaiting", data={
        "program_id": PROGRAM, "practitioner_id": [first], "csrf_token": token,
    })
    assert "Issued 1 credential(s)." in text(certifier, done.headers["Location"])
    page = text(certifier, "/console/awaiting")
    assert "1 eligible without a current credential" in page and first not in page

    # Someone else certifies the second between the page and the click.
    raced = issue(issuer_client, tokens, second)
    late = certifier.post("/console/awaiting", data={
        "program_id": PROGRAM, "practitioner_id": [second], "csrf_token": token,
    })
    answer = text(certifier, late.headers["Location"])
    assert "is already certified" in answer and raced["id"] in answer


def test_registrar_sees_who_is_waiting_but_may_not_issue(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    pid = enrol(issuer_client, tokens)
    registrar = signed_in(issuer_app, issuer_client, "registrar")
    page = text(registrar, "/console/awaiting")
    assert pid in page and 'name="practitioner_id"' not in page

    response = registrar.post("/console/awaiting", data={
        "program_id": PROGRAM, "practitioner_id": [pid], "csrf_token": csrf(registrar, "/console/awaiting"),
    })

    assert response.status_code == 403


def test_records_and_actors_read_as_words(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    pid = enrol(issuer_client, tokens)
    email = make_staff(issuer_app, "certifier")
    login(issuer_client, email)
    path = f"/console/practitioners/{pid}"
    token = csrf(issuer_client, path)
    issued = issuer_client.post(f"{path}/issue", data={"program_id": PROGRAM, "csrf_token": token})

    page = text(issuer_client, path)
    records = page[page.index('<table class="records">') :]
    records = records[: records.index("</table>")]
    assert "None" not in records and "True" not in records and "False" not in records
    assert "passed: passed" in records and "supervised injections: 24" in records
    assert "API token “registrar”" in records and "token:" not in records
    credential = text(issuer_client, issued.headers["Location"])
    assert f"<dt>Issued by</dt><dd>{email}</dd>" in credential and "staff:" not in credential


def test_every_console_table_is_a_focusable_labelled_scroll_region(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    pid = enrol(issuer_client, tokens, family_name="Wide")
    body = issue(issuer_client, tokens, pid)
    admin = signed_in(issuer_app, issuer_client, "admin")

    for path in ("/console/?q=wide", f"/console/practitioners/{pid}", f"/console/credentials/{body['id']}"):
        page = text(admin, path)
        tables = page.count("<table")
        assert tables, path
        region = r'<div class="table-scroll" tabindex="0" role="region" aria-label="[^"]+">\s*<table'
        regions = re.findall(region, page)
        assert len(regions) == tables, path


def test_csv_import_dry_run_report_then_import(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    registrar = signed_in(issuer_app, issuer_client, "registrar")
    token = csrf(registrar, "/console/import")
    raw = SAMPLE.read_bytes()

    checked = registrar.post("/console/import", data={
        "csrf_token": token, "step": "dry_run", "file": (SAMPLE.open("rb"), "cohort.csv"),
    }, content_type="multipart/form-data")

    page = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "Dry run, nothing written" in page and "<td>created</td>" in page
    assert page.count('<tr class="') == raw.count(b"\n") - 1  # one row per line of the file
    assert "Alvarez" not in text(registrar, "/console/?q=alvarez")
    content = re.search(r'name="content" value="([^"]+)"', page)
    assert content
    imported = registrar.post("/console/import", data={
        "csrf_token": token, "step": "import", "content": content.group(1),
    })
    assert "Imported:" in imported.get_data(as_text=True)
    assert "Alvarez" in text(registrar, "/console/?q=alvarez")


def test_csv_import_shows_refused_lines_and_can_skip_them(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    registrar = signed_in(issuer_app, issuer_client, "registrar")
    token = csrf(registrar, "/console/import")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    bad = lines[1].replace("2028-06-30", "not-a-date")
    raw = "\n".join([lines[0], bad, *lines[2:4]]).encode() + b"\n"

    page = registrar.post("/console/import", data={
        "csrf_token": token, "step": "dry_run", "file": (io.BytesIO(raw), "bad.csv"),
    }, content_type="multipart/form-data").get_data(as_text=True)

    assert '<tr class="refused"><td>2</td><td>refused</td>' in page and "license_expires_on" in page
    assert "Import the accepted lines only (skip 1 refused)" in page
    content = re.search(r'name="content" value="([^"]+)"', page)
    assert content
    done = registrar.post("/console/import", data={
        "csrf_token": token, "step": "import", "content": content.group(1), "skip_invalid": "yes",
    }).get_data(as_text=True)
    assert "Imported:" in done and "1 refused lines skipped" in done


def test_csv_import_of_an_unreadable_file_says_so(
    issuer_app: Flask, issuer_client: FlaskClient, tokens: dict[str, str]
) -> None:
    registrar = signed_in(issuer_app, issuer_client, "registrar")

    reply = registrar.post("/console/import", data={
        "csrf_token": csrf(registrar, "/console/import"), "step": "dry_run",
        "file": (io.BytesIO(b"\xff\xfe not csv"), "x.csv"),
    }, content_type="multipart/form-data")

    assert reply.status_code == 422 and 'role="alert"' in reply.get_data(as_text=True)
