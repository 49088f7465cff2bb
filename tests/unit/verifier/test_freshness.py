"""How fresh a verdict's status is, said truthfully: ``status_as_of`` is when the oldest
status list used was fetched or revalidated from the issuer, never the time of the request;
and a credential's JWT (immutable) is fetched once however often its link is scanned."""

from __future__ import annotations

from tests.unit.verifier.fake_issuer import Clock, FakeIssuer, Network, credential_uuid
from tests.unit.verifier.test_lifecycle_verdicts import check, with_refresh
from verifier.core import Verifier
from verifier.registry import TrustRegistry
from verifier.resolver import Resolver


def test_status_as_of_is_when_the_list_was_fetched_not_the_request_time(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    token = issuer.issue()
    verifier.verify_credential(token)  # lists fetched at 12:00, fresh for 5 minutes
    clock.advance(180)

    body = verifier.verify_credential(token).to_json()

    assert body["checked_at"] == "2026-11-15T12:03:00Z"
    assert body["status_as_of"] == "2026-11-15T12:00:00Z"
    for purpose in ("revocation", "suspension"):
        assert "as of 12:00 UTC (refreshed at least every 5 minutes)" in check(
            verifier.verify_credential(token), purpose
        )[1]
    assert "12:03" not in str(body["checks"])


def test_a_revalidated_list_is_as_of_its_revalidation(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock, network: Network
) -> None:
    token = issuer.issue()
    verifier.verify_credential(token)
    clock.advance(301)  # stale: asked again with If-None-Match, the issuer answers 304

    body = verifier.verify_credential(token).to_json()

    assert body["status_as_of"] == "2026-11-15T12:05:01Z"
    assert any(h.get("If-None-Match") for url, h in network.log if url == issuer.list_url("revocation"))


def test_the_oldest_list_used_gives_status_as_of(
    verifier: Verifier, issuer: FakeIssuer, clock: Clock
) -> None:
    verifier.verify_credential(issuer.issue())  # revocation and suspension lists at 12:00
    clock.advance(120)

    verdict = verifier.verify_credential(issuer.issue(status=with_refresh(issuer)))  # refresh list now

    assert verdict.status == "valid"
    assert "as of 12:02 UTC" in check(verdict, "supersession")[1]
    assert verdict.to_json()["status_as_of"] == "2026-11-15T12:00:00Z"


def test_no_list_consulted_means_status_as_of_is_null(
    verifier: Verifier, issuer: FakeIssuer
) -> None:
    head, payload, signature = issuer.issue().split(".")
    forged = verifier.verify_credential(f"{head}.{payload}.{signature[::-1]}")
    issuer.unreachable.update({issuer.list_url("revocation"), issuer.list_url("suspension")})
    unreachable = verifier.verify_credential(issuer.issue())

    assert forged.to_json()["status_as_of"] is None
    assert unreachable.status == "status_unknown"
    assert unreachable.to_json()["status_as_of"] is None


def test_a_list_cached_for_no_time_says_it_was_fetched_for_this_check(
    verifier: Verifier, issuer: FakeIssuer
) -> None:
    issuer.list_ttl_ms = issuer.list_max_age = None

    verdict = verifier.verify_credential(issuer.issue())

    assert "as of 12:00 UTC (fetched from the issuer for this check)" in check(verdict, "revocation")[1]


def test_two_scans_of_a_link_fetch_the_credential_once(
    verifier: Verifier, issuer: FakeIssuer, network: Network, clock: Clock
) -> None:
    uuid = credential_uuid(issuer.issue())

    first = verifier.verify_link(uuid, issuer.id)
    clock.advance(3600)  # long after every list went stale
    second = verifier.verify_link(uuid, issuer.id)

    assert first.status == second.status == "valid"
    assert network.count(issuer.credential_url(uuid)) == 1
    assert network.count(issuer.list_url("revocation")) == 2  # status is still re-read


def test_the_credential_cache_is_bounded_least_recently_used_first(
    registry: TrustRegistry, issuer: FakeIssuer, network: Network, clock: Clock
) -> None:
    resolver = Resolver(
        registry, fetch=network.fetch, clock=clock, algorithms={"ES256"}, credential_cache_size=2
    )
    (trusted,) = registry.issuers
    a, b, c = (credential_uuid(issuer.issue()) for _ in range(3))

    for uuid in (a, b, a, c, a, b):  # c evicts b (a was used more recently); b comes back
        resolver.credential_token(trusted, uuid)

    assert [network.count(issuer.credential_url(u)) for u in (a, b, c)] == [1, 2, 1]


def test_a_missing_credential_is_not_cached(
    verifier: Verifier, issuer: FakeIssuer, network: Network
) -> None:
    uuid = "0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e"
    assert verifier.verify_link(uuid, issuer.id).status == "not_authentic"
    assert verifier.verify_link(uuid, issuer.id).status == "not_authentic"
    assert network.count(issuer.credential_url(uuid)) == 2
