"""Hardening, in the verdict core: a token that says "not before" a future time is not yet
valid, even though our own issuer never sets ``nbf``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.verifier.fake_issuer import NOW, FakeIssuer
from tests.unit.verifier.test_lifecycle_verdicts import check
from verifier.core import Verifier


@pytest.mark.parametrize(
    ("ahead", "status"), [(60, "valid"), (61, "not_yet_valid"), (86_400, "not_yet_valid")]
)
def test_an_nbf_in_the_future_is_not_yet_valid(
    verifier: Verifier, issuer: FakeIssuer, ahead: int, status: str
) -> None:
    claims = issuer.claims()
    claims["nbf"] = int((NOW + timedelta(seconds=ahead)).timestamp())

    verdict = verifier.verify_credential(issuer.sign(claims))

    assert verdict.status == status  # the same 60 s leeway as validFrom
    if status != "valid":
        assert not check(verdict, "validity")[0]


def test_an_nbf_in_the_past_changes_nothing(verifier: Verifier, issuer: FakeIssuer) -> None:
    claims = issuer.claims()
    claims["nbf"] = int((NOW - timedelta(days=1)).timestamp())

    assert verifier.verify_credential(issuer.sign(claims)).status == "valid"
