"""A credential scanned again is not re-checked while its key is still published, and a
withdrawn or replaced key, a tampered copy or a failed check is never taken from memory."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.unit.verifier.fake_issuer import Clock, FakeIssuer
from vc import jose
from verifier import signatures
from verifier.core import Verifier
from verifier.signatures import SignatureMemo


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every full signature check the verifier makes (the token it checked)."""
    seen: list[str] = []
    real = jose.verify

    def counting(token: Any, **kwargs: Any) -> jose.Verified:
        seen.append(token)
        return real(token, **kwargs)

    # Only the memo's own module sees the counter: status lists are checked elsewhere.
    monkeypatch.setattr(signatures, "jose", SimpleNamespace(verify=counting))
    return seen


def test_a_credential_scanned_again_is_judged_the_same_without_a_second_signature_check(
    verifier: Verifier, issuer: FakeIssuer, checks: list[str]
) -> None:
    token = issuer.issue()
    first = verifier.verify_credential(token)
    again = verifier.verify_credential(token)

    assert first.status == again.status == "valid"
    assert [c.id for c in again.checks] == [c.id for c in first.checks]
    assert checks == [token]


def test_a_withdrawn_key_is_noticed_on_the_next_scan(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, checks: list[str]
) -> None:
    token = issuer.issue()
    assert verifier.verify_credential(token).status == "valid"

    replacement = issuer.publish_new_key()
    issuer.published = [replacement.public_jwk()]  # the old key is compromised and withdrawn
    issuer.list_signer = replacement
    clock.advance(301)  # past the JWK Set's max-age

    verdict = verifier.verify_credential(token)
    assert verdict.status == "not_authentic"
    assert len(checks) == 2


def test_a_tampered_copy_of_a_remembered_credential_is_checked_and_refused(
    verifier: Verifier, issuer: FakeIssuer, checks: list[str]
) -> None:
    token = issuer.issue()
    assert verifier.verify_credential(token).status == "valid"
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BA'}"

    assert verifier.verify_credential(forged).status == "not_authentic"
    assert verifier.verify_credential(forged).status == "not_authentic"
    assert checks == [token, forged, forged]  # a failed check is never remembered


def test_the_memory_is_bounded_least_recently_used_first(issuer: FakeIssuer, checks: list[str]) -> None:
    key = jose.jwk_to_key(issuer.signer.public_jwk())
    memo = SignatureMemo("vc+jwt", {"ES256"}, size=2)
    first, second, third = issuer.issue(), issuer.issue(), issuer.issue()
    for token in (first, second, first, third, first, second):
        memo.verify(token, lambda kid: key)

    # first stays (used again before third came); second was the least recently used.
    assert checks == [first, second, third, second]
