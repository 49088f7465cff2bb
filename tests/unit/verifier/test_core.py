"""The verdict, end to end through the resolver with a fake issuer and a fixed clock."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import quote

import pytest

from keys import generate
from tests.unit.verifier.fake_issuer import (
    ISSUER_NAME,
    VALID_FROM,
    VALID_UNTIL,
    Clock,
    FakeIssuer,
    Network,
    credential_uuid,
    verification_link,
)
from vc._json import b64url_encode
from vc.status_list import status_entry
from verifier.core import Policy, Verdict, Verifier
from verifier.registry import parse_registry
from verifier.resolver import FetchResponse, Resolver


def ids(verdict: Verdict) -> list[str]:
    return [check.id for check in verdict.checks]


def failed(verdict: Verdict) -> dict[str, str]:
    return {check.id: check.detail for check in verdict.checks if not check.ok}


# -- the happy path and the status lists -----------------------------------------------------


def test_valid_credential(verifier: Verifier, issuer: FakeIssuer) -> None:
    verdict = verifier.verify_credential(issuer.issue())

    assert verdict.status == "valid"
    assert ids(verdict) == [
        "format", "issuer", "signature", "claims", "validity", "revocation", "suspension"
    ]
    assert all(check.ok for check in verdict.checks)
    assert verdict.credential is not None
    assert verdict.credential["name"] == "Jane Doe"
    assert verdict.credential["license"]["number"] == "RN-884512"
    assert verdict.to_json()["checked_at"] == "2026-11-15T12:00:00Z"


def test_issuer_name_comes_from_registry_not_token(verifier: Verifier, issuer: FakeIssuer) -> None:
    verdict = verifier.verify_credential(issuer.issue(name_in_token="Totally Legit Academy"))

    assert verdict.credential is not None
    assert verdict.credential["issuer_name"] == ISSUER_NAME


def test_revoked(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.revoked.add(4242)

    verdict = verifier.verify_credential(issuer.issue(index=4242))

    assert verdict.status == "revoked"
    assert "revoked" in failed(verdict)["revocation"]
    assert verdict.credential is not None  # authentic, so the page can say whose it is


def test_suspended(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.suspended.add(4242)

    assert verifier.verify_credential(issuer.issue(index=4242)).status == "suspended"


def test_revoked_and_suspended_is_revoked(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.revoked.add(4242)
    issuer.suspended.add(4242)

    verdict = verifier.verify_credential(issuer.issue(index=4242))

    assert verdict.status == "revoked"
    assert set(failed(verdict)) == {"revocation", "suspension"}


def test_other_indexes_do_not_affect_this_credential(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.revoked.update({4241, 4243, 0})

    assert verifier.verify_credential(issuer.issue(index=4242)).status == "valid"


def test_revoked_beats_expired(verifier: Verifier, issuer: FakeIssuer, clock: Clock) -> None:
    issuer.revoked.add(4242)
    token = issuer.issue(index=4242)
    clock.now = VALID_UNTIL + timedelta(days=3)

    assert verifier.verify_credential(token).status == "revoked"


# -- validity period and leeway -----------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "status"), [(60, "valid"), (61, "expired")])
def test_expiry_leeway_is_exactly_60_seconds(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, seconds: int, status: str
) -> None:
    token = issuer.issue()
    clock.now = VALID_UNTIL + timedelta(seconds=seconds)

    assert verifier.verify_credential(token).status == status


@pytest.mark.parametrize(("seconds", "status"), [(60, "valid"), (61, "not_yet_valid")])
def test_not_yet_valid_leeway(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, seconds: int, status: str
) -> None:
    token = issuer.issue()
    clock.now = VALID_FROM - timedelta(seconds=seconds)

    verdict = verifier.verify_credential(token)

    assert verdict.status == status
    if status == "not_yet_valid":
        assert "only valid from 2026-11-01 00:00 UTC" in failed(verdict)["validity"]


def test_expired_detail_names_the_date(verifier: Verifier, issuer: FakeIssuer, clock: Clock) -> None:
    token = issuer.issue()
    clock.now = VALID_UNTIL + timedelta(days=1)

    verdict = verifier.verify_credential(token)

    assert verdict.status == "expired"
    assert failed(verdict) == {"validity": "This certification expired on 2027-11-01 00:00 UTC."}


# -- status lists that cannot be had fresh --------------------------------------------------------


def test_status_list_unreachable_nothing_cached(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.unreachable.add(issuer.list_url("revocation"))

    verdict = verifier.verify_credential(issuer.issue())

    assert verdict.status == "status_unknown"
    assert "could not be fetched" in failed(verdict)["revocation"]
    assert verdict.credential is not None


def test_cached_list_within_ttl_used_when_issuer_down(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, network: Network
) -> None:
    token = issuer.issue()
    assert verifier.verify_credential(token).status == "valid"
    issuer.down = True
    clock.advance(299)
    before = len(network.log)

    assert verifier.verify_credential(token).status == "valid"
    assert len(network.log) == before  # nothing was even tried: the cache is fresh


def test_past_ttl_and_issuer_down_is_status_unknown(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue()
    assert verifier.verify_credential(token).status == "valid"
    issuer.down = True
    clock.advance(301)

    verdict = verifier.verify_credential(token)

    assert verdict.status == "status_unknown"
    # The JWKS is used stale-if-error, so the credential is still shown as authentic.
    assert verdict.credential is not None


def test_ttl_shorter_than_max_age_wins(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    issuer.list_ttl_ms = 10_000  # 10 s, while Cache-Control says 300 s
    token = issuer.issue()
    verifier.verify_credential(token)
    issuer.unreachable.add(issuer.list_url("revocation"))
    clock.advance(11)

    assert verifier.verify_credential(token).status == "status_unknown"


def test_list_signed_by_key_not_in_jwks(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.list_signer = generate("ES256")

    verdict = verifier.verify_credential(issuer.issue())

    assert verdict.status == "status_unknown"
    assert set(failed(verdict)) == {"revocation", "suspension"}


def test_list_from_another_issuer_claim(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.list_payload_changes = {"iss": "https://someone-else.example"}

    assert verifier.verify_credential(issuer.issue()).status == "status_unknown"


def test_expired_list_is_status_unknown(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    issuer.list_valid_until = clock.now - timedelta(seconds=1)

    assert verifier.verify_credential(issuer.issue()).status == "status_unknown"


def test_malformed_list_is_status_unknown(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.overrides[issuer.list_url("revocation")] = lambda _h: FetchResponse(
        200, {"Cache-Control": "max-age=300"}, b"this is not a token"
    )

    assert verifier.verify_credential(issuer.issue()).status == "status_unknown"


def test_list_for_other_purpose_is_status_unknown(verifier: Verifier, issuer: FakeIssuer) -> None:
    url = issuer.list_url("suspension")
    token = issuer.issue(
        status=[status_entry(url, "revocation", 5), status_entry(url, "suspension", 5)]
    )

    verdict = verifier.verify_credential(token)

    assert verdict.status == "status_unknown"
    assert "different purpose" in failed(verdict)["revocation"]


def test_index_beyond_list_is_status_unknown(verifier: Verifier, issuer: FakeIssuer) -> None:
    verdict = verifier.verify_credential(issuer.issue(index=131_072))

    assert verdict.status == "status_unknown"


def test_missing_status_entries_is_status_unknown(verifier: Verifier, issuer: FakeIssuer) -> None:
    verdict = verifier.verify_credential(issuer.issue(status=[]))

    assert verdict.status == "status_unknown"
    assert set(failed(verdict)) == {"revocation", "suspension"}


@pytest.mark.parametrize(
    "list_url",
    [
        "https://evil.example/status/revocation/1",
        "https://issuer.example/credentials/revocation/1",
        "https://issuer.example/status/../admin/1",
        "https://issuer.example.evil.example/status/revocation/1",
        "https://issuer.example/status/revocation/1?x=1",
    ],
)
def test_list_url_outside_issuer_status_never_fetched(
    verifier: Verifier, issuer: FakeIssuer, network: Network, list_url: str
) -> None:
    token = issuer.issue(
        status=[
            status_entry(list_url, "revocation", 1),
            status_entry(issuer.list_url("suspension"), "suspension", 1),
        ]
    )

    verdict = verifier.verify_credential(token)

    assert verdict.status == "status_unknown"
    assert "not hosted by" in failed(verdict)["revocation"]
    assert list_url not in network.urls()
    assert all(url.startswith(issuer.id + "/") for url in network.urls())


# -- trust --------------------------------------------------------------------------------------


def test_untrusted_issuer_fetches_nothing(
    verifier: Verifier, stranger: FakeIssuer, network: Network
) -> None:
    verdict = verifier.verify_credential(stranger.issue())

    assert verdict.status == "issuer_not_recognised"
    assert verdict.credential is None
    assert network.log == []


def test_jwks_unreachable_nothing_cached(verifier: Verifier, issuer: FakeIssuer) -> None:
    token = issuer.issue()
    issuer.down = True

    verdict = verifier.verify_credential(token)

    assert verdict.status == "status_unknown"
    assert verdict.credential is None
    assert "could not be fetched" in failed(verdict)["signature"]


def test_stale_jwks_used_if_refresh_fails(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, network: Network
) -> None:
    issuer.jwks_max_age = 60
    token = issuer.issue()
    verifier.verify_credential(token)
    issuer.unreachable.add(issuer.jwks_url)
    clock.advance(120)  # JWKS stale, lists (300 s) still fresh

    assert verifier.verify_credential(token).status == "valid"
    assert network.count(issuer.jwks_url) == 2  # the refresh was tried, and failed


def test_unknown_kid_triggers_one_refresh_within_window(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, network: Network
) -> None:
    assert verifier.verify_credential(issuer.issue()).status == "valid"
    assert network.count(issuer.jwks_url) == 1

    clock.advance(31)
    new_key = issuer.publish_new_key()
    rotated = issuer.sign(issuer.claims(), signer=new_key)
    assert verifier.verify_credential(rotated).status == "valid"  # one refresh found it
    assert network.count(issuer.jwks_url) == 2

    forged = issuer.sign(issuer.claims(), signer=generate("ES256"))
    clock.advance(5)
    for _ in range(3):
        verdict = verifier.verify_credential(forged)
        assert verdict.status == "not_authentic"
        assert verdict.credential is None
    assert network.count(issuer.jwks_url) == 2  # rate limited: no refresh within 30 s

    clock.advance(30)
    verifier.verify_credential(forged)
    verifier.verify_credential(forged)
    assert network.count(issuer.jwks_url) == 3  # exactly one more refresh


def test_etag_revalidation_with_304(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, network: Network
) -> None:
    token = issuer.issue()
    verifier.verify_credential(token)
    clock.advance(301)

    assert verifier.verify_credential(token).status == "valid"

    revalidations = [h for url, h in network.log if url == issuer.list_url("revocation")]
    assert len(revalidations) == 2
    assert "If-None-Match" not in revalidations[0]
    assert revalidations[1]["If-None-Match"].startswith('"')
    jwks_requests = [h for url, h in network.log if url == issuer.jwks_url]
    assert jwks_requests[-1].get("If-None-Match")

    # The 304 renewed the entry: the next 300 s need no network at all.
    issuer.down = True
    clock.advance(299)
    assert verifier.verify_credential(token).status == "valid"


def test_changed_list_is_refetched_after_ttl(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue(index=9)
    assert verifier.verify_credential(token).status == "valid"
    issuer.revoked.add(9)
    clock.advance(301)

    assert verifier.verify_credential(token).status == "revoked"


def test_oversized_jwks_refused(verifier: Verifier, issuer: FakeIssuer) -> None:
    issuer.overrides[issuer.jwks_url] = lambda _h: FetchResponse(200, {}, b" " * ((1 << 20) + 1))

    verdict = verifier.verify_credential(issuer.issue())

    assert verdict.status == "status_unknown"
    assert verdict.credential is None


# -- forgeries: all not_authentic, nothing of the credential shown -------------------------------


def _b64json(value: object) -> str:
    return b64url_encode(json.dumps(value).encode())


def _alg_none(issuer: FakeIssuer) -> str:
    header = {"alg": "none", "typ": "vc+jwt", "kid": issuer.signer.kid}
    return f"{_b64json(header)}.{_b64json(issuer.claims())}.AAAA"


def _hs256_with_public_key(issuer: FakeIssuer) -> str:
    header = {"alg": "HS256", "typ": "vc+jwt", "kid": issuer.signer.kid}
    signing_input = f"{_b64json(header)}.{_b64json(issuer.claims())}"
    secret = json.dumps(issuer.signer.public_jwk()).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(mac)}"


def _tampered(issuer: FakeIssuer) -> str:
    head, _, sig = issuer.issue().split(".")
    claims = issuer.claims(given_name="Mallory")
    return f"{head}.{_b64json(claims)}.{sig}"


def _wrong_typ(issuer: FakeIssuer) -> str:
    return issuer.sign(issuer.claims(), typ="JWT")


def _vc_claim(issuer: FakeIssuer) -> str:
    payload = issuer.claims()
    payload["vc"] = {"type": ["VerifiableCredential"]}
    return issuer.sign(payload)


def _iss_not_issuer_id(issuer: FakeIssuer) -> str:
    payload = issuer.claims()
    payload["iss"] = "https://someone-else.example"
    return issuer.sign(payload)


def _embedded_jwk(issuer: FakeIssuer) -> str:
    header = {"alg": "ES256", "typ": "vc+jwt", "kid": issuer.signer.kid, "jwk": {"kty": "EC"}}
    signing_input = f"{_b64json(header)}.{_b64json(issuer.claims())}"
    return f"{signing_input}.{b64url_encode(issuer.signer.sign(signing_input.encode()))}"


@pytest.mark.parametrize(
    ("make", "failing_check"),
    [
        (_alg_none, "signature"),
        (_hs256_with_public_key, "signature"),
        (_tampered, "signature"),
        (_wrong_typ, "signature"),
        (_embedded_jwk, "signature"),
        (_vc_claim, "claims"),
        (_iss_not_issuer_id, "claims"),
    ],
    ids=[
        "alg_none", "hs256_with_public_key", "tampered_payload", "wrong_typ", "embedded_jwk",
        "vc_claim", "iss_not_issuer_id",
    ],
)
def test_forgeries_are_not_authentic(
    verifier: Verifier, issuer: FakeIssuer, make: object, failing_check: str
) -> None:
    assert callable(make)
    verdict = verifier.verify_credential(make(issuer))

    assert verdict.status == "not_authentic"
    assert verdict.credential is None
    assert verdict.to_json()["credential"] is None
    assert list(failed(verdict)) == [failing_check]
    assert "Mallory" not in json.dumps(verdict.to_json())


def test_algorithm_allow_list_comes_from_policy(clock: Clock) -> None:
    eddsa_issuer = FakeIssuer(clock, alg="EdDSA")
    network = Network([eddsa_issuer])
    reg = parse_registry({"issuers": [eddsa_issuer.entry()]})
    es256_only = Verifier(
        reg,
        Resolver(reg, fetch=network.fetch, clock=clock, algorithms={"ES256"}),
        Policy(frozenset({"ES256"})),
        clock,
    )

    verdict = es256_only.verify_credential(eddsa_issuer.issue())

    assert verdict.status == "not_authentic"
    assert "(unsupported_algorithm)" in failed(verdict)["signature"]


# -- QR text and verification links ----------------------------------------------------------------


def test_qr_with_compact_jwt(verifier: Verifier, issuer: FakeIssuer) -> None:
    assert verifier.verify_qr("  " + issuer.issue() + "\n").status == "valid"


def test_qr_link_valid(verifier: Verifier, issuer: FakeIssuer, network: Network) -> None:
    token = issuer.issue()
    uuid = credential_uuid(token)

    verdict = verifier.verify_qr(verification_link(issuer, uuid))

    assert verdict.status == "valid"
    assert ids(verdict)[:4] == ["link", "issuer", "fetch", "format"]
    assert f"{issuer.id}/credentials/{uuid}/jwt" in network.urls()
    assert verdict.credential is not None and verdict.credential["id"] == uuid


def test_qr_link_uppercase_uuid_is_normalised(verifier: Verifier, issuer: FakeIssuer) -> None:
    uuid = credential_uuid(issuer.issue())

    assert verifier.verify_qr(verification_link(issuer, uuid.upper())).status == "valid"


def test_qr_link_untrusted_issuer_fetches_nothing(
    verifier: Verifier, stranger: FakeIssuer, network: Network
) -> None:
    uuid = credential_uuid(stranger.issue())

    verdict = verifier.verify_qr(verification_link(stranger, uuid))

    assert verdict.status == "issuer_not_recognised"
    assert verdict.credential is None
    assert network.log == []


@pytest.mark.parametrize("suffix", ["/", "/x", ":443"])
def test_qr_link_issuer_must_match_exactly(
    verifier: Verifier, issuer: FakeIssuer, network: Network, suffix: str
) -> None:
    uuid = credential_uuid(issuer.issue())
    link = f"https://verify.example/v/{uuid}?issuer={quote(issuer.id + suffix, safe='')}"

    assert verifier.verify_qr(link).status == "issuer_not_recognised"
    assert network.log == []


def test_qr_link_to_unknown_credential(verifier: Verifier, issuer: FakeIssuer) -> None:
    link = verification_link(issuer, "0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e")

    verdict = verifier.verify_qr(link)

    assert verdict.status == "not_authentic"
    assert "has no credential" in failed(verdict)["fetch"]


def test_qr_link_served_token_must_have_linked_id(verifier: Verifier, issuer: FakeIssuer) -> None:
    other = issuer.issue()
    linked = "0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e"
    issuer.credentials[linked] = other  # the issuer serves a different credential

    verdict = verifier.verify_qr(verification_link(issuer, linked))

    assert verdict.status == "not_authentic"
    assert verdict.credential is None
    assert "not the one the QR code points to" in failed(verdict)["claims"]


def test_qr_link_issuer_down_is_status_unknown(verifier: Verifier, issuer: FakeIssuer) -> None:
    uuid = credential_uuid(issuer.issue())
    issuer.down = True

    verdict = verifier.verify_qr(verification_link(issuer, uuid))

    assert verdict.status == "status_unknown"
    assert verdict.credential is None


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "not-a-token",
        "a.b.c",
        "https://verify.example/somewhere-else",
        "https://verify.example/v/not-a-uuid?issuer=https%3A%2F%2Fissuer.example",
        "https://verify.example/v/0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e",
        "ftp://verify.example/v/0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e?issuer=x",
        "javascript://alert(1)",
    ],
)
def test_garbage_qr_is_unreadable_and_fetches_nothing(
    verifier: Verifier, network: Network, text: str
) -> None:
    verdict = verifier.verify_qr(text)

    assert verdict.status == "unreadable"
    assert verdict.credential is None
    assert len(verdict.checks) == 1 and not verdict.checks[0].ok
    assert verdict.checks[0].id in ("link", "format")
    assert network.log == []


@pytest.mark.parametrize(("skew", "status"), [(60, "valid"), (61, "status_unknown")])
def test_list_valid_from_allows_60_seconds_of_clock_skew(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, skew: int, status: str
) -> None:
    token = issuer.issue()
    # The fake issuer dates a list from one hour before its own clock.
    issuer.clock = Clock(clock.now + timedelta(hours=1, seconds=skew))

    assert verifier.verify_credential(token).status == status
