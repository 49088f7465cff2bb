"""Honest input never gets the forgery verdict: a trusted issuer's holder-page address is
judged as its credential, a compact JWT wrapped by a paste is read whole, and text that is
neither a credential nor a link is ``unreadable`` (never ``not_authentic``, never green)."""

from __future__ import annotations

import pytest

from tests.unit.verifier.fake_issuer import FakeIssuer, Network, credential_uuid
from vc import protocol
from verifier.core import Verifier


def test_a_trusted_issuers_holder_page_address_is_verified_as_that_credential(
    verifier: Verifier, issuer: FakeIssuer, network: Network
) -> None:
    uuid = credential_uuid(issuer.issue())
    holder_page = issuer.id + protocol.holder_path(uuid)

    verdict = verifier.verify_qr(f"  {holder_page}\n")

    assert verdict.status == "valid"
    assert verdict.credential is not None and verdict.credential["id"] == uuid
    assert verdict.checks[0].detail == f"The text is the holder's page of credential {uuid}."
    assert issuer.credential_url(uuid) in network.urls()


def test_an_unknown_issuers_holder_page_fetches_nothing(
    verifier: Verifier, stranger: FakeIssuer, network: Network
) -> None:
    uuid = credential_uuid(stranger.issue())

    verdict = verifier.verify_qr(stranger.id + protocol.holder_path(uuid))

    assert verdict.status == "issuer_not_recognised"
    assert network.log == []


@pytest.mark.parametrize("wrap", ["\n", "\r\n", " ", "\t", " \n  "])
def test_whitespace_inside_a_pasted_credential_is_removed(
    verifier: Verifier, issuer: FakeIssuer, wrap: str
) -> None:
    token = issuer.issue()
    wrapped = wrap.join(token[i : i + 64] for i in range(0, len(token), 64))

    assert verifier.verify_qr(wrapped).status == "valid"
    assert verifier.verify_credential(wrapped).status == "valid"


def test_a_wrapped_verification_link_is_read_whole(verifier: Verifier, issuer: FakeIssuer) -> None:
    link = protocol.verify_link("https://verify.example", issuer.id, credential_uuid(issuer.issue()))

    assert verifier.verify_qr(link[:30] + "\n" + link[30:]).status == "valid"


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "https://verify.example/v/0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e",  # no issuer=
        "https://www.example.com/about",
        "eyJhbGciOiJFUzI1NiJ9.truncated",
    ],
)
def test_neither_a_link_nor_a_credential_is_unreadable_not_forged(
    verifier: Verifier, text: str
) -> None:
    verdict = verifier.verify_qr(text)

    assert verdict.status == "unreadable"
    assert verdict.credential is None
    assert "forged" not in str(verdict.to_json()) and "altered" not in str(verdict.to_json())


def test_a_real_forgery_is_still_not_authentic(verifier: Verifier, issuer: FakeIssuer) -> None:
    head, payload, signature = issuer.issue().split(".")

    verdict = verifier.verify_qr(f"{head}.{payload}.{signature[::-1]}")

    assert verdict.status == "not_authentic"
