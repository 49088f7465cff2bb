"""The resolver: the fetch guard, caching rules, thread safety and the default HTTP fetch."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.unit.verifier.fake_issuer import Clock, FakeIssuer, Network
from verifier.registry import TrustedIssuer, TrustRegistry
from verifier.resolver import (
    FetchError,
    FetchRefused,
    FetchResponse,
    KeysUnavailable,
    Resolver,
    StatusUnavailable,
    http_fetch,
    max_age,
)

# -- the guard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://issuer.example/.well-known/jwks.json",
        "https://issuer.example/status/revocation/1",
        "https://issuer.example/status/suspension/list-2",
        "https://issuer.example/credentials/0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e/jwt",
    ],
)
def test_guard_allows_registry_urls(registry: TrustRegistry, url: str) -> None:
    assert registry.allows_fetch(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/.well-known/jwks.json",
        "https://issuer.example/.well-known/jwks.json?x",
        "https://issuer.example/admin",
        "https://issuer.example/status/",
        "https://issuer.example/status/../admin",
        "https://issuer.example/status/revocation/./1",
        "https://issuer.example/status/revocation/%2e%2e/x",
        "https://issuer.example/status/revocation/1#frag",
        "https://issuer.example.evil.example/status/revocation/1",
        "https://issuer.example@evil.example/status/revocation/1",
        "http://issuer.example/status/revocation/1",
        "https://issuer.example/credentials/not-a-uuid/jwt",
        "https://issuer.example/credentials/0b0d3c3e-58a4-4a8e-9d7e-6f9a1c2b3d4e/qr.png",
        "file:///etc/passwd",
    ],
)
def test_guard_refuses_everything_else(
    registry: TrustRegistry, resolver: Resolver, network: Network, url: str
) -> None:
    assert not registry.allows_fetch(url)
    with pytest.raises(FetchRefused):
        resolver._get(url, accept="*/*")
    assert network.log == []


def test_status_list_outside_prefix_refused_before_fetch(
    resolver: Resolver, issuer: FakeIssuer, network: Network
) -> None:
    entry = TrustedIssuer(**issuer.entry())
    with pytest.raises(StatusUnavailable):
        resolver.status_list(entry, issuer.jwks_url)
    assert network.log == []


def test_credential_fetch_only_for_canonical_uuid(
    resolver: Resolver, issuer: FakeIssuer, network: Network
) -> None:
    entry = TrustedIssuer(**issuer.entry())
    with pytest.raises(FetchRefused):
        resolver.credential_token(entry, "../../admin")
    assert network.log == []


# -- caching details ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("public, max-age=300", 300),
        ("max-age=0", 0),
        ('max-age="60", public', 60),
        ("no-store", 0),
        ("public, no-cache", 0),
        ("public", None),
        ("s-maxage=10", None),
    ],
)
def test_max_age_parsing(header: str, seconds: int | None) -> None:
    expected = None if seconds is None else timedelta(seconds=seconds)
    assert max_age({"cache-control": header}) == expected
    assert max_age({"Cache-Control": header}) == expected


def test_list_without_ttl_or_max_age_is_not_cached(
    resolver: Resolver, issuer: FakeIssuer, network: Network
) -> None:
    issuer.list_ttl_ms = None
    issuer.list_max_age = None
    entry = TrustedIssuer(**issuer.entry())
    url = issuer.list_url("revocation")
    resolver.status_list(entry, url)
    issuer.unreachable.add(url)

    with pytest.raises(StatusUnavailable):
        resolver.status_list(entry, url)


def test_oversized_body_from_injected_fetch_refused(
    registry: TrustRegistry, issuer: FakeIssuer, clock: Clock
) -> None:
    calls: list[str] = []

    def huge(url: str, headers: dict[str, str]) -> FetchResponse:
        calls.append(url)
        return FetchResponse(200, {}, b"x" * ((1 << 20) + 1))

    resolver = Resolver(registry, fetch=huge, clock=clock, algorithms={"ES256"})
    with pytest.raises(FetchError, match="larger than"):
        resolver._get(issuer.jwks_url, accept="*/*")
    assert calls == [issuer.jwks_url]


def test_concurrent_verifications_fetch_jwks_once(
    resolver: Resolver, issuer: FakeIssuer, network: Network
) -> None:
    entry = TrustedIssuer(**issuer.entry())
    barrier = threading.Barrier(8)
    found: list[object] = []

    def worker() -> None:
        barrier.wait()
        found.append(resolver.key_for(entry, issuer.signer.kid))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(found) == 8 and all(key is not None for key in found)
    assert network.count(issuer.jwks_url) == 1


def test_jwks_private_keys_are_ignored(
    resolver: Resolver, issuer: FakeIssuer, clock: Clock
) -> None:
    leaked = {**issuer.signer.public_jwk(), "d": "c2VjcmV0"}
    issuer.overrides[issuer.jwks_url] = lambda _h: FetchResponse(
        200, {}, json.dumps({"keys": [leaked]}).encode()
    )
    with pytest.raises(KeysUnavailable, match="no usable public signing key"):
        resolver.key_for(TrustedIssuer(**issuer.entry()), issuer.signer.kid)


# -- the default fetch, against a real local server ---------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/big":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * ((1 << 20) + 10))
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://example.invalid/elsewhere")
            self.end_headers()
        elif self.path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
            else:
                body = b"hello"
                self.send_response(200)
                self.send_header("ETag", '"v1"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_default_fetch_refuses_oversized_body(local_server: str) -> None:
    with pytest.raises(FetchError, match="larger than"):
        http_fetch(local_server + "/big", {})


def test_default_fetch_does_not_follow_redirects(local_server: str) -> None:
    response = http_fetch(local_server + "/redirect", {})

    assert response.status == 302
    assert response.body == b""


def test_default_fetch_sends_if_none_match_and_returns_304(local_server: str) -> None:
    first = http_fetch(local_server + "/etag", {})
    second = http_fetch(local_server + "/etag", {"If-None-Match": first.headers["ETag"]})

    assert (first.status, first.body) == (200, b"hello")
    assert second.status == 304


def test_default_fetch_returns_error_status(local_server: str) -> None:
    assert http_fetch(local_server + "/missing", {}).status == 404


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:,hello"])
def test_default_fetch_only_http(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        http_fetch(url, {})


def test_default_fetch_network_error() -> None:
    with pytest.raises(FetchError):
        http_fetch("http://127.0.0.1:9/", {}, deadline=2)
