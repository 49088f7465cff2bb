"""The issuer-verifier contract: links, paths, categories and the public lifecycle record."""

from __future__ import annotations

import pytest

from vc import protocol

ISSUER = "https://issuer.example.org/academy"
ID = "5b0f7c2e-2a53-4a51-9e0e-2a8c4f9d1e11"


def test_a_verification_link_round_trips_with_any_verifier_base() -> None:
    link = protocol.verify_link("https://verify.example.com", ISSUER, ID)
    assert link == f"https://verify.example.com/v/{ID}?issuer=https%3A%2F%2Fissuer.example.org%2Facademy"
    assert protocol.parse_verify_link(link) == (ID, ISSUER)
    assert protocol.parse_verify_link(link.replace("verify.example.com", "other.example/x")) == (ID, ISSUER)


@pytest.mark.parametrize("text", [
    "hello world", f"ftp://x/v/{ID}?issuer=a", f"https://x/credentials/{ID}", "https://x/v/",
    f"https://x/v/{ID}/extra?issuer=a", "https://x/v/" + "a" * 3000,
])
def test_text_that_is_not_a_verification_link_is_none(text: str) -> None:
    assert protocol.parse_verify_link(text) is None


def test_an_issuer_given_twice_or_not_at_all_is_none() -> None:
    assert protocol.parse_verify_link(f"https://x/v/{ID}") == (ID, None)
    assert protocol.parse_verify_link(f"https://x/v/{ID}?issuer=a&issuer=b") == (ID, None)


def test_paths_under_the_issuer() -> None:
    assert protocol.holder_path(ID) == f"/credentials/{ID}"
    assert protocol.credential_jwt_path(ID) == f"/credentials/{ID}/jwt"
    assert protocol.public_status_path(ID) == f"/status/credentials/{ID}"
    assert protocol.status_list_path("revocation", "ab12") == "/status/revocation/ab12"


def test_category_words_are_fixed_and_unspecified_says_nothing() -> None:
    assert protocol.category_words("issued_in_error") == "issued in error"
    assert protocol.category_words("unspecified") is None
    assert protocol.category_words("<script>") is None


def test_the_public_record_round_trips_and_never_carries_unknown_words() -> None:
    record = protocol.PublicStatus(ID, "superseded", None, "new-id",
                                   protocol.Successor("new-id", f"{ISSUER}/credentials/new-id", "https://v/x"))
    body = record.to_json()
    assert protocol.PublicStatus.from_json(body, ID) == record
    revoked = protocol.PublicStatus(ID, "revoked", "fraud").to_json()
    assert revoked["category_text"] == "Obtained by fraud"
    assert protocol.PublicStatus(ID, "active", "fraud").to_json()["category"] is None  # only when withdrawn
    assert protocol.PublicStatus.from_json({**revoked, "category": "made up"}, ID) == protocol.PublicStatus(
        ID, "revoked", None)
    assert protocol.PublicStatus.from_json({**revoked, "status": "valid"}, ID) is None
    assert protocol.PublicStatus.from_json(revoked, "another-id") is None


def test_a_holder_page_url_gives_its_issuer_and_id() -> None:
    holder = f"{ISSUER}{protocol.holder_path(ID)}"
    assert protocol.parse_holder_url(holder) == (ISSUER, ID)
    assert protocol.parse_holder_url(holder + "/?utm=x#top") == (ISSUER, ID)
    assert protocol.parse_holder_url(f"http://127.0.0.1:5000/credentials/{ID}") == (
        "http://127.0.0.1:5000", ID)


@pytest.mark.parametrize("text", [
    "hello world", f"ftp://x/credentials/{ID}", f"https://x/credentials/{ID}/jwt",
    "https://x/credentials/", f"https://x/v/{ID}?issuer=a", "https://x/credentials/" + "a" * 3000,
])
def test_text_that_is_not_a_holder_page_url_is_none(text: str) -> None:
    assert protocol.parse_holder_url(text) is None
