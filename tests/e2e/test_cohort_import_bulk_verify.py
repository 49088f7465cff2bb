"""A provider's day, over real HTTP: import the sample cohort, see who is ready, certify
everyone eligible in one go, and check a few of the credentials with the verifier."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

import pytest

from tests.cohort import ELIGIBLE, sample_as_of
from tests.conftest import PROGRAM
from tests.e2e.conftest import Reply, Stack, http

pytestmark = pytest.mark.e2e


def post_csv(url: str, body: bytes, token: str) -> Reply:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "text/csv")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        return Reply(response.status, dict(response.headers), response.read())


def test_import_cohort_issue_to_all_eligible_and_verify(stack: Stack) -> None:
    base, tokens = stack.issuer.url, stack.tokens
    cohort = sample_as_of(datetime.now(UTC).date())

    dry = post_csv(f"{base}/api/v1/imports?dry_run=true", cohort, tokens["registrar"]).json()
    assert dry["summary"] == {"created": 16, "updated": 125, "unchanged": 0, "refused": 0}
    imported = post_csv(f"{base}/api/v1/imports", cohort, tokens["registrar"]).json()
    assert imported["written"] is True

    summary = http("POST", f"{base}/api/v1/credentials/bulk", {"program_id": PROGRAM},
                   tokens["certifier"]).json()
    assert {i["name"] for i in summary["issued"]} == ELIGIBLE
    assert summary["counts"]["not_eligible"] == 9

    for item in summary["issued"][:3]:
        token = http("GET", f"{base}/credentials/{item['credential_id']}/jwt")
        assert token.status == 200
        verdict = http("POST", f"{stack.verifier.url}/api/v1/verify",
                       {"credential": token.body.decode("ascii")}).json()
        assert verdict["status"] == "valid", verdict
        assert all(check["ok"] for check in verdict["checks"])
        assert item["name"].split()[-1] in json.dumps(verdict["credential"])

    again = http("POST", f"{base}/api/v1/credentials/bulk", {"program_id": PROGRAM},
                 tokens["certifier"]).json()
    assert again["counts"]["issued"] == 0 and again["counts"]["already_certified"] == 7
