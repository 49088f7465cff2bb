"""Fetching and caching of issuer keys (JWK Sets) and status lists, and nothing else.

Every network access goes through :meth:`Resolver._get`, which first asks the trust
registry's guard (:meth:`verifier.registry.TrustRegistry.allows_fetch`) and refuses any
other URL: defence in depth behind the checks in :mod:`verifier.core`.

Slow issuers: every default fetch (:func:`http_fetch`) has a *total* deadline (connect,
headers and whole body; 5 s by default), so a server that trickles bytes is cut off too.
No lock is held across network I/O: concurrent requests for one URL share a single fetch
(:class:`_SingleFlight`) and wait for it at most the deadline, so a stuck issuer holds up
only the verifications that need that issuer's URL. The status lists one verdict needs are
fetched concurrently (:meth:`Resolver.status_lists`).

Size: status lists may be up to :data:`MAX_LIST_BODY_BYTES` (a list of the largest size
the verifier inflates, at any fill); keys, credentials and lifecycle records are bounded by
the smaller :data:`MAX_BODY_BYTES`.

Caching (in memory, keyed by URL; verdicts are never cached):

* JWK Sets are fresh for the response's ``Cache-Control: max-age`` (default 300 s). A
  ``kid`` that is not in the cached set triggers at most one refresh per issuer per
  ``jwks_refresh_interval`` (30 s by default). **Stale-if-error:** when a refresh fails, a
  previously fetched set is still used, because keys change rarely and a rotated-out key
  only makes verification fail closed; with nothing cached, :class:`KeysUnavailable`.
* Status lists are cached only after their signature, issuer and shape check out, and are
  fresh for the smaller of the list's ``ttl`` (milliseconds) and ``max-age`` (seconds), or
  not at all when neither is given. There is **no** stale-if-error for lists: a list that
  cannot be had fresh raises :class:`StatusUnavailable` so the verdict is ``status_unknown``.
* Revalidation sends ``If-None-Match`` with the stored ``ETag``; ``304`` renews the entry.
* Credential JWTs fetched for verification links are kept by issuer and credential id in a
  bounded LRU (:data:`CREDENTIAL_CACHE_SIZE`): a signed credential never changes (a
  correction is a new credential), so repeated scans of one QR code fetch it once. Whether
  it is still good comes from the status lists and keys, which keep their own freshness.
* Each status list snapshot carries ``as_of`` (when it was last fetched or revalidated) and
  ``refresh_every``, so a verdict can say truthfully how fresh its status is.
* A credential's public lifecycle record (``<issuer id>/status/credentials/<uuid>``: status,
  public reason category, current successor) is fetched only when a status bit is set, and
  cached for its ``max-age``.

The clock is injected so freshness and the list's ``validUntil`` are judged with the same
time the verdict uses.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Generic, TypeVar
from urllib.parse import SplitResult, urlsplit

from jwt.api_jwk import PyJWK

from vc import jose
from vc.credential import TYP, issuer_id_of, parse_timestamp
from vc.errors import CredentialError
from vc.protocol import PublicStatus, public_status_path
from vc.status_list import MAX_LIST_TOKEN_CHARS, ParsedList, read_list_credential
from verifier.registry import TrustedIssuer, TrustRegistry, canonical_uuid

#: Largest response body accepted from an issuer for keys, credentials and lifecycle records.
MAX_BODY_BYTES = 1 << 20
#: Largest status-list response: the largest list token accepted, plus room for the
#: whitespace around it (the body is stripped before it is read as a token).
MAX_LIST_BODY_BYTES = MAX_LIST_TOKEN_CHARS + 1024
#: Total seconds a default fetch may take: connecting, the headers and the whole body.
FETCH_DEADLINE_SECONDS = 5.0
#: At most this many status lists of one verdict are fetched at the same time.
MAX_PARALLEL_LIST_FETCHES = 4
#: How many credential JWTs (immutable once issued) are kept, least recently used dropped.
CREDENTIAL_CACHE_SIZE = 1024
#: Longest time anything fetched is considered fresh, whatever the issuer says.
MAX_FRESHNESS = timedelta(days=1)

_READ_CHUNK = 64 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$|=)", re.IGNORECASE)

T = TypeVar("T")


@dataclass(frozen=True)
class FetchResponse:
    """What a fetch returns: the HTTP status, response headers and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


#: ``fetch(url, request_headers)``. Raises :class:`FetchError` (or ``OSError``) on failure;
#: a non-2xx answer is returned, not raised.
Fetch = Callable[[str, dict[str, str]], FetchResponse]
Clock = Callable[[], datetime]


class ResolverError(Exception):
    """Base of everything the resolver refuses or cannot do; ``detail`` is readable."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class FetchError(ResolverError):
    """A fetch failed: network, deadline, size limit, redirect or unexpected status."""


class FetchRefused(ResolverError):
    """The guard refused to fetch a URL the trust registry does not allow."""


class KeysUnavailable(ResolverError):
    """The issuer's JWK Set could not be fetched and none is cached."""


class StatusUnavailable(ResolverError):
    """A status list could not be had fresh and verified."""


class CredentialNotFound(ResolverError):
    """The issuer answered that it has no credential with this id (404 or 410)."""


# -- the default fetch ----------------------------------------------------------------------------


class _Deadline:
    """The end of one fetch, enforced on its connection's socket.

    A socket timeout bounds each read, not the exchange: a server sending a byte now and then
    never trips one. So the body is read in chunks with the socket timeout set to the time
    left before each read (:meth:`check`), and a watchdog timer shuts the socket down at the
    deadline, which also ends a connect, TLS handshake or header read that is still blocking.
    """

    def __init__(self, seconds: float, connection: http.client.HTTPConnection) -> None:
        self.seconds = seconds
        self.expired = False
        self._end = time.monotonic() + seconds
        self._connection = connection
        self._sock: socket.socket | None = None
        self._watchdog = threading.Timer(seconds, self._cut)
        self._watchdog.daemon = True

    def __enter__(self) -> _Deadline:
        self._watchdog.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._watchdog.cancel()

    def watch(self) -> None:
        """Keep hold of the connection's socket (http.client drops it when the answer says
        ``Connection: close``, though the response still reads from it)."""
        self._sock = self._connection.sock

    def _socket(self) -> socket.socket | None:
        return self._sock or self._connection.sock

    def _cut(self) -> None:
        self.expired = True
        sock = self._socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, even under TLS: it wakes a blocked reader at
                # once and leaves the TLS object alone (the reader's thread still uses it).
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    @property
    def passed(self) -> bool:
        """Whether the deadline has passed (whether or not the watchdog has fired yet)."""
        return self.expired or time.monotonic() >= self._end

    def check(self) -> None:
        """Raise :class:`FetchError` if the deadline has passed; else let the next socket
        operation take no longer than the time left."""
        left = self._end - time.monotonic()
        if self.expired or left <= 0:
            raise FetchError(f"no complete answer within {self.seconds:g} s")
        sock = self._socket()
        if sock is not None:
            sock.settimeout(left)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _connection(parts: SplitResult, seconds: float) -> http.client.HTTPConnection:
    """An unopened connection to the URL's host (``ValueError`` for a malformed port)."""
    host = parts.hostname or ""
    if parts.scheme.lower() == "https":
        return http.client.HTTPSConnection(
            host, parts.port or 443, timeout=seconds, context=_tls_context()
        )
    return http.client.HTTPConnection(host, parts.port or 80, timeout=seconds)


def _read_body(response: http.client.HTTPResponse, deadline: _Deadline, limit: int) -> bytes:
    """The whole body, read in chunks under the deadline; at most ``limit`` bytes."""
    declared = response.getheader("Content-Length")
    expected = int(declared) if declared and declared.isdigit() and not response.chunked else None
    if expected is not None and expected > limit:
        raise FetchError(f"the response is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        deadline.check()
        chunk = response.read1(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise FetchError(f"the response is larger than {limit} bytes")
    deadline.check()  # a body cut short at the deadline may look complete: it is not
    if expected is not None and size != expected:
        raise FetchError("the response ended before its declared length")
    return b"".join(chunks)


def http_fetch(
    url: str,
    headers: dict[str, str],
    *,
    deadline: float = FETCH_DEADLINE_SECONDS,
    max_bytes: int = MAX_BODY_BYTES,
) -> FetchResponse:
    """The default :data:`Fetch`: one GET over http(s), no redirects, bounded in time and size.

    ``deadline`` bounds the whole exchange in seconds: connecting, sending, the headers and
    every byte of the body. Raises :class:`FetchError` for another scheme, a network error,
    the deadline passing, or a body over ``max_bytes``. Other statuses (including 3xx and
    304, never followed) are returned as responses; a 3xx answer's body is not read.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError("only http and https URLs are fetched")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection = _connection(parts, deadline)
    except ValueError as exc:
        raise FetchError(f"could not fetch {url}: {exc}") from exc
    try:
        with _Deadline(deadline, connection) as clock:
            try:
                connection.request("GET", target, headers=headers)
                clock.watch()
                with connection.getresponse() as response:
                    redirect = 300 <= response.status < 400
                    body = b"" if redirect else _read_body(response, clock, max_bytes)
                    clock.check()
                    return FetchResponse(response.status, dict(response.getheaders()), body)
            except (http.client.HTTPException, OSError, ValueError) as exc:
                if clock.passed:
                    raise FetchError(f"{url} gave no complete answer within {deadline:g} s") from exc
                raise FetchError(f"could not fetch {url}: {exc}") from exc
    finally:
        connection.close()


# -- single flight ------------------------------------------------------------------------------


class _SingleFlight(Generic[T]):
    """At most one run of the work per key at a time; callers meanwhile share its outcome.

    No lock is held while the work runs, so a slow URL holds up only the callers asking for
    that URL, and each of them waits at most ``wait`` seconds (then :class:`FetchError`).
    The work should first look at the cache: a caller that arrives just after a run ended
    starts its own.
    """

    def __init__(self, wait: float) -> None:
        self._wait = wait
        self._lock = threading.Lock()
        self._running: dict[str, Future[T]] = {}

    def run(self, key: str, work: Callable[[], T]) -> T:
        """``work()``, or the outcome (value or exception) of the run already under way."""
        with self._lock:
            flight = self._running.get(key)
            leading = flight is None
            if flight is None:
                flight = self._running[key] = Future()
        if not leading:
            try:
                return flight.result(timeout=self._wait)
            except TimeoutError as exc:
                raise FetchError(f"no answer from {key} within {self._wait:g} s") from exc
        try:
            result = work()
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            with self._lock:
                del self._running[key]


@dataclass
class _Entry(Generic[T]):
    value: T
    etag: str | None
    fresh_until: datetime


@dataclass(frozen=True)
class StatusListSnapshot:
    """A verified status list as cached: its bits, purposes and validity period, and how
    fresh it is: ``as_of`` is when it was last fetched or revalidated (``304``) from the
    issuer, ``refresh_every`` how long that answer is then used without asking again (the
    smaller of its ``ttl`` and ``max-age``)."""

    url: str
    parsed: ParsedList
    valid_from: datetime | None
    valid_until: datetime | None
    ttl: timedelta | None
    as_of: datetime | None = None
    refresh_every: timedelta | None = None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def max_age(headers: Mapping[str, str]) -> timedelta | None:
    """Freshness from ``Cache-Control``: ``max-age`` seconds, zero for no-store/no-cache."""
    value = _lower(headers).get("cache-control")
    if value is None:
        return None
    if _NO_CACHE.search(value):
        return timedelta(0)
    match = _MAX_AGE.search(value)
    return timedelta(seconds=int(match.group(1))) if match else None


class Resolver:
    """Fetches and caches JWK Sets and status lists of trusted issuers (thread-safe).

    ``fetch`` replaces the network (tests); by default :func:`http_fetch` runs with
    ``fetch_deadline`` seconds for each fetch, which is also the longest a caller waits for
    a fetch of the same URL that another caller started.
    """

    def __init__(
        self,
        registry: TrustRegistry,
        *,
        fetch: Fetch | None = None,
        clock: Clock,
        algorithms: Collection[str],
        jwks_refresh_interval: timedelta = timedelta(seconds=30),
        jwks_default_max_age: timedelta = timedelta(seconds=300),
        leeway: timedelta = timedelta(seconds=60),
        max_body: int = MAX_BODY_BYTES,
        max_list_body: int = MAX_LIST_BODY_BYTES,
        fetch_deadline: float = FETCH_DEADLINE_SECONDS,
        credential_cache_size: int = CREDENTIAL_CACHE_SIZE,
    ) -> None:
        self._registry = registry
        self._fetch = fetch
        self._clock = clock
        self._algorithms = frozenset(algorithms)
        self._refresh_interval = jwks_refresh_interval
        self._jwks_default_max_age = jwks_default_max_age
        self._leeway = leeway
        self._max_body = max_body
        self._max_list_body = max_list_body
        self._deadline = fetch_deadline
        self._jwks: dict[str, _Entry[dict[str, PyJWK]]] = {}
        self._last_jwks_attempt: dict[str, datetime] = {}
        self._lists: dict[str, _Entry[StatusListSnapshot]] = {}
        self._lifecycles: dict[str, _Entry[PublicStatus]] = {}
        self._credentials: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._credentials_size = credential_cache_size
        self._credentials_lock = threading.Lock()
        self._jwks_flights: _SingleFlight[dict[str, PyJWK]] = _SingleFlight(fetch_deadline)
        self._list_flights: _SingleFlight[_Entry[StatusListSnapshot]] = _SingleFlight(
            fetch_deadline
        )
        self._lifecycle_flights: _SingleFlight[PublicStatus] = _SingleFlight(fetch_deadline)

    # -- the one door to the network ------------------------------------------------------

    def _get(
        self, url: str, *, accept: str, etag: str | None = None, limit: int | None = None
    ) -> FetchResponse:
        """Fetch ``url`` if, and only if, the trust registry allows it.

        The body may be up to ``limit`` bytes (default: the limit for keys and credentials).
        Raises :class:`FetchRefused` (nothing is fetched) or :class:`FetchError`.
        """
        if not self._registry.allows_fetch(url):
            raise FetchRefused(f"refusing to fetch {url}: not allowed by the trust registry")
        limit = self._max_body if limit is None else limit
        headers = {"Accept": accept}
        if etag is not None:
            headers["If-None-Match"] = etag
        try:
            if self._fetch is None:
                response = http_fetch(url, headers, deadline=self._deadline, max_bytes=limit)
            else:
                response = self._fetch(url, headers)
        except (FetchError, OSError, ValueError) as exc:
            raise FetchError(f"could not fetch {url}: {exc}") from exc
        if len(response.body) > limit:
            raise FetchError(f"the response from {url} is larger than {limit} bytes")
        return response

    # -- keys -------------------------------------------------------------------------------

    def key_for(self, issuer: TrustedIssuer, kid: str) -> PyJWK | None:
        """The issuer's published key with this ``kid``, or ``None`` if it publishes none.

        An unknown ``kid`` causes one refresh of the JWK Set unless one was attempted within
        the refresh interval. Raises :class:`KeysUnavailable` when no key set can be had, or
        when the refresh caused by an unknown ``kid`` fails.
        """
        url = issuer.jwks_url
        now = self._clock()
        entry = self._jwks.get(url)
        if entry is None or now >= entry.fresh_until:
            try:
                keys = self._jwks_flights.run(url, lambda: self._fresh_jwks(url))
            except ResolverError as exc:
                if entry is None:
                    raise KeysUnavailable(
                        f"the keys of {issuer.name} could not be fetched: {exc.detail}"
                    ) from exc
                if kid in entry.value:
                    return entry.value[kid]  # stale-if-error: see the module docstring
                raise KeysUnavailable(
                    f"the keys of {issuer.name} could not be refreshed: {exc.detail}"
                ) from exc
        else:
            keys = entry.value
        if kid in keys:
            return keys[kid]
        last = self._last_jwks_attempt.get(url)
        if last is not None and now - last < self._refresh_interval:
            return None
        try:
            keys = self._jwks_flights.run(url, lambda: self._jwks_with(url, kid))
        except ResolverError as exc:
            raise KeysUnavailable(
                f"the keys of {issuer.name} could not be refreshed: {exc.detail}"
            ) from exc
        return keys.get(kid)

    def _fresh_jwks(self, url: str) -> dict[str, PyJWK]:
        """The cached key set if it is fresh (another caller just fetched it), else a new one."""
        now = self._clock()
        entry = self._jwks.get(url)
        if entry is not None and now < entry.fresh_until:
            return entry.value
        return self._refresh_jwks(url, entry, now)

    def _jwks_with(self, url: str, kid: str) -> dict[str, PyJWK]:
        """A key set refreshed for an unknown ``kid``, unless another caller just did so."""
        now = self._clock()
        entry = self._jwks.get(url)
        last = self._last_jwks_attempt.get(url)
        just_refreshed = last is not None and now - last < self._refresh_interval
        if entry is not None and (kid in entry.value or just_refreshed):
            return entry.value
        return self._refresh_jwks(url, entry, now)

    def _refresh_jwks(
        self, url: str, entry: _Entry[dict[str, PyJWK]] | None, now: datetime
    ) -> dict[str, PyJWK]:
        self._last_jwks_attempt[url] = now
        response = self._get(
            url,
            accept="application/jwk-set+json, application/json",
            etag=entry.etag if entry is not None else None,
        )
        age = max_age(response.headers)
        fresh_for = min(self._jwks_default_max_age if age is None else age, MAX_FRESHNESS)
        etag = _lower(response.headers).get("etag")
        if response.status == 304 and entry is not None:
            self._jwks[url] = _Entry(entry.value, etag or entry.etag, now + fresh_for)
            return entry.value
        if response.status != 200:
            raise FetchError(f"{url} answered HTTP {response.status}")
        keys = _parse_jwks(response.body)
        self._jwks[url] = _Entry(keys, etag, now + fresh_for)
        return keys

    # -- status lists -----------------------------------------------------------------------

    def status_lists(
        self, issuer: TrustedIssuer, urls: Collection[str]
    ) -> dict[str, StatusListSnapshot | StatusUnavailable]:
        """Several status lists of one issuer: each URL's snapshot, or why it is unavailable.

        Lists fresh in the cache are read from it; the others are fetched concurrently, on at
        most :data:`MAX_PARALLEL_LIST_FETCHES` threads made for this call (never a shared
        pool, which one stuck issuer could fill), so a verdict waits for its slowest list
        rather than for the sum of them.
        """
        wanted = list(dict.fromkeys(urls))
        now = self._clock()
        stale = [url for url in wanted if not self._is_fresh(url, now)]
        outcomes = {url: self._list_outcome(issuer, url) for url in wanted if url not in stale}
        if len(stale) == 1:
            outcomes[stale[0]] = self._list_outcome(issuer, stale[0])
        elif stale:
            workers = min(len(stale), MAX_PARALLEL_LIST_FETCHES)
            with ThreadPoolExecutor(workers, thread_name_prefix="status-list") as pool:
                running = {url: pool.submit(self._list_outcome, issuer, url) for url in stale}
            outcomes.update((url, future.result()) for url, future in running.items())
        return {url: outcomes[url] for url in wanted}

    def _is_fresh(self, url: str, now: datetime) -> bool:
        entry = self._lists.get(url)
        return entry is not None and now < entry.fresh_until

    def _list_outcome(
        self, issuer: TrustedIssuer, url: str
    ) -> StatusListSnapshot | StatusUnavailable:
        try:
            return self.status_list(issuer, url)
        except StatusUnavailable as exc:
            return exc

    def status_list(self, issuer: TrustedIssuer, url: str) -> StatusListSnapshot:
        """The issuer's status list at ``url``, fresh from cache or fetched and verified.

        The list must be a ``vc+jwt`` signed with one of the issuer's keys (configured
        algorithms only), with ``iss`` and ``issuer`` equal to the issuer's id, a valid
        Bitstring Status List, a ``validUntil`` (if any) not passed (no leeway: fail closed)
        and a ``validFrom`` (if any) reached, with the leeway for clock skew. Raises
        :class:`StatusUnavailable` otherwise, or when it cannot be fetched and no fresh copy
        is cached.
        """
        if not self._registry.is_status_list_url(issuer, url):
            raise StatusUnavailable(f"{url} is not a status list of {issuer.name}")
        now = self._clock()
        entry = self._lists.get(url)
        if entry is None or now >= entry.fresh_until:
            try:
                entry = self._list_flights.run(url, lambda: self._fresh_list(issuer, url))
            except ResolverError as exc:
                raise StatusUnavailable(exc.detail) from exc
            except CredentialError as exc:
                raise StatusUnavailable(f"the status list at {url} is unusable: {exc}") from exc
        snapshot = entry.value
        if snapshot.valid_until is not None and now > snapshot.valid_until:
            raise StatusUnavailable(f"the status list at {url} expired at {snapshot.valid_until}")
        if snapshot.valid_from is not None and now < snapshot.valid_from - self._leeway:
            raise StatusUnavailable(f"the status list at {url} is not valid yet")
        return snapshot

    def _fresh_list(self, issuer: TrustedIssuer, url: str) -> _Entry[StatusListSnapshot]:
        """The cached list if it is fresh (another caller just fetched it), else a new one."""
        now = self._clock()
        entry = self._lists.get(url)
        if entry is not None and now < entry.fresh_until:
            return entry
        return self._refresh_list(issuer, url, entry, now)

    def _refresh_list(
        self,
        issuer: TrustedIssuer,
        url: str,
        entry: _Entry[StatusListSnapshot] | None,
        now: datetime,
    ) -> _Entry[StatusListSnapshot]:
        response = self._get(
            url,
            accept="application/vc+jwt",
            etag=entry.etag if entry is not None else None,
            limit=self._max_list_body,
        )
        age = max_age(response.headers)
        etag = _lower(response.headers).get("etag")
        if response.status == 304 and entry is not None:
            fresh = _list_freshness(entry.value.ttl, age)
            revalidated = replace(entry.value, as_of=now, refresh_every=fresh)
            renewed = _Entry(revalidated, etag or entry.etag, now + fresh)
            self._lists[url] = renewed
            return renewed
        if response.status != 200:
            raise FetchError(f"{url} answered HTTP {response.status}")
        snapshot = self._verify_list(issuer, url, response.body)
        fresh = _list_freshness(snapshot.ttl, age)
        snapshot = replace(snapshot, as_of=now, refresh_every=fresh)
        fresh_entry = _Entry(snapshot, etag, now + fresh)
        self._lists[url] = fresh_entry
        return fresh_entry

    def _verify_list(self, issuer: TrustedIssuer, url: str, body: bytes) -> StatusListSnapshot:
        """Check a fetched list's token (up to :data:`MAX_LIST_TOKEN_CHARS`) and decode it."""
        try:
            token = body.decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise StatusUnavailable(f"the status list at {url} is not a compact JWT") from exc

        def lookup(kid: str) -> PyJWK | None:
            return self.key_for(issuer, kid)

        verified = jose.verify(
            token,
            typ=TYP,
            algorithms=self._algorithms,
            key_for=lookup,
            max_chars=MAX_LIST_TOKEN_CHARS,
        )
        payload = verified.payload
        if payload.get("iss") != issuer.id or issuer_id_of(payload) != issuer.id:
            raise StatusUnavailable(f"the status list at {url} was not issued by {issuer.name}")
        parsed = read_list_credential(payload, list_url=url)
        valid_from, valid_until = (
            parse_timestamp(payload[name], name) if name in payload else None
            for name in ("validFrom", "validUntil")
        )
        ttl = timedelta(milliseconds=parsed.ttl_ms) if parsed.ttl_ms is not None else None
        return StatusListSnapshot(url, parsed, valid_from, valid_until, ttl)

    # -- credentials (QR links) ---------------------------------------------------------------

    def credential_token(self, issuer: TrustedIssuer, credential_uuid: str) -> str:
        """The compact JWT of one credential, from the LRU cache or fetched from the issuer.

        Only a ``200`` answer is cached (the token is still verified on every use). Raises
        :class:`CredentialNotFound` on 404/410, :class:`FetchRefused` if the URL is not
        allowed, :class:`FetchError` otherwise.
        """
        key = (issuer.id, credential_uuid)
        with self._credentials_lock:
            cached = self._credentials.get(key)
            if cached is not None:
                self._credentials.move_to_end(key)
                return cached
        token = self._fetch_credential(issuer, credential_uuid)
        with self._credentials_lock:
            self._credentials[key] = token
            self._credentials.move_to_end(key)
            while len(self._credentials) > self._credentials_size:
                self._credentials.popitem(last=False)
        return token

    def _fetch_credential(self, issuer: TrustedIssuer, credential_uuid: str) -> str:
        url = issuer.credential_url(credential_uuid)
        response = self._get(url, accept="application/vc+jwt")
        if response.status in (404, 410):
            raise CredentialNotFound(f"{issuer.name} has no credential {credential_uuid}")
        if response.status != 200:
            raise FetchError(f"{url} answered HTTP {response.status}")
        try:
            return response.body.decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise FetchError(f"{url} did not return a compact JWT") from exc

    def credential_status(self, issuer: TrustedIssuer, credential_uuid: str) -> PublicStatus:
        """The issuer's public lifecycle record of one credential (cached for ``max-age``).

        Only ``<issuer id>/status/credentials/<canonical uuid>`` of a trusted issuer is
        fetched, and read by :meth:`vc.protocol.PublicStatus.from_json` (unknown categories
        dropped). Raises :class:`CredentialNotFound` on 404/410, :class:`FetchError` otherwise.
        """
        uuid = canonical_uuid(credential_uuid)
        if uuid is None:
            raise FetchError("not a credential id")
        url = issuer.id + public_status_path(uuid)
        now = self._clock()
        entry = self._lifecycles.get(url)
        if entry is not None and now < entry.fresh_until:
            return entry.value
        return self._lifecycle_flights.run(url, lambda: self._fresh_lifecycle(issuer, url, uuid))

    def _fresh_lifecycle(self, issuer: TrustedIssuer, url: str, uuid: str) -> PublicStatus:
        now = self._clock()
        entry = self._lifecycles.get(url)
        if entry is not None and now < entry.fresh_until:
            return entry.value
        response = self._get(url, accept="application/json")
        if response.status in (404, 410):
            raise CredentialNotFound(f"{issuer.name} has no credential {uuid}")
        if response.status != 200:
            raise FetchError(f"{url} answered HTTP {response.status}")
        try:
            body = json.loads(response.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise FetchError(f"{url} did not return JSON") from exc
        record = PublicStatus.from_json(body, uuid)
        if record is None:
            raise FetchError(f"{url} did not describe credential {uuid}")
        fresh = min(max_age(response.headers) or timedelta(0), MAX_FRESHNESS)
        self._lifecycles[url] = _Entry(record, None, now + fresh)
        return record


def _list_freshness(ttl: timedelta | None, age: timedelta | None) -> timedelta:
    candidates = [value for value in (ttl, age) if value is not None]
    return min([*candidates, MAX_FRESHNESS]) if candidates else timedelta(0)


def _parse_jwks(body: bytes) -> dict[str, PyJWK]:
    """Usable public signing keys of a JWK Set by ``kid``; raises :class:`FetchError`."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError("the JWK Set is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise FetchError('the JWK Set has no "keys" list')
    keys: dict[str, PyJWK] = {}
    for jwk in data["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or kid in keys:
            continue
        try:
            keys[kid] = jose.jwk_to_key(jwk)
        except CredentialError:
            continue  # a private, malformed or unsupported key is simply not used
    if not keys:
        raise FetchError("the JWK Set holds no usable public signing key")
    return keys
