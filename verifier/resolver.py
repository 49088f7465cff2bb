"""Fetching and caching of issuer keys (JWK Sets) and status lists, and nothing else.

Every network access goes through :meth:`Resolver._get`, which first asks the trust
registry's guard (:meth:`verifier.registry.TrustRegistry.allows_fetch`) and refuses any
other URL: defence in depth behind the checks in :mod:`verifier.core`.

Caching (in memory, keyed by URL, guarded by locks; verdicts are never cached):

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
* A credential's public lifecycle record (``<issuer id>/status/credentials/<uuid>``: status,
  public reason category, current successor) is fetched only when a status bit is set, and
  cached for its ``max-age``.

The clock is injected so freshness and the list's ``validUntil`` are judged with the same
time the verdict uses.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from jwt.api_jwk import PyJWK

from vc import jose
from vc.credential import TYP, issuer_id_of, parse_timestamp
from vc.errors import CredentialError
from vc.status_list import ParsedList, read_list_credential
from verifier.registry import TrustedIssuer, TrustRegistry, canonical_uuid

#: Largest response body accepted from an issuer.
MAX_BODY_BYTES = 1 << 20
#: Seconds before a default fetch gives up.
FETCH_TIMEOUT_SECONDS = 5.0
#: Longest time anything fetched is considered fresh, whatever the issuer says.
MAX_FRESHNESS = timedelta(days=1)

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
    """A fetch failed: network, timeout, size limit, redirect or unexpected status."""


class FetchRefused(ResolverError):
    """The guard refused to fetch a URL the trust registry does not allow."""


class KeysUnavailable(ResolverError):
    """The issuer's JWK Set could not be fetched and none is cached."""


class StatusUnavailable(ResolverError):
    """A status list could not be had fresh and verified."""


class CredentialNotFound(ResolverError):
    """The issuer answered that it has no credential with this id (404 or 410)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the 3xx answer becomes an ``HTTPError``."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _bounded_read(stream: Any, limit: int) -> bytes:
    body: bytes = stream.read(limit + 1)
    if len(body) > limit:
        raise FetchError(f"the response is larger than {limit} bytes")
    return body


def urllib_fetch(
    url: str,
    headers: dict[str, str],
    *,
    timeout: float = FETCH_TIMEOUT_SECONDS,
    max_bytes: int = MAX_BODY_BYTES,
) -> FetchResponse:
    """The default :data:`Fetch`: ``urllib`` over http(s) only, no redirects, bounded body.

    Raises :class:`FetchError` for another scheme, a network error or timeout, or a body over
    ``max_bytes``. HTTP error statuses (including 3xx and 304) are returned as responses.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError("only http and https URLs are fetched")
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _NoRedirect(),
    ):
        opener.add_handler(handler)
    request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310 - http(s) only
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"the response is larger than {max_bytes} bytes")
            body = _bounded_read(response, max_bytes)
            return FetchResponse(response.status, dict(response.headers.items()), body)
    except urllib.error.HTTPError as exc:
        with exc:
            body = _bounded_read(exc, max_bytes) if exc.code >= 400 else b""
            return FetchResponse(exc.code, dict(exc.headers.items()), body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchError(f"could not fetch {url}: {exc}") from exc


@dataclass
class _Entry(Generic[T]):
    value: T
    etag: str | None
    fresh_until: datetime


@dataclass(frozen=True)
class StatusListSnapshot:
    """A verified status list as cached: its bits, purposes and validity period."""

    url: str
    parsed: ParsedList
    valid_from: datetime | None
    valid_until: datetime | None
    ttl: timedelta | None


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
    """Fetches and caches JWK Sets and status lists of trusted issuers (thread-safe)."""

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
    ) -> None:
        self._registry = registry
        self._fetch: Fetch = fetch or urllib_fetch
        self._clock = clock
        self._algorithms = frozenset(algorithms)
        self._refresh_interval = jwks_refresh_interval
        self._jwks_default_max_age = jwks_default_max_age
        self._leeway = leeway
        self._max_body = max_body
        self._guard_lock = threading.Lock()
        self._url_locks: dict[str, threading.Lock] = {}
        self._jwks: dict[str, _Entry[dict[str, PyJWK]]] = {}
        self._last_jwks_attempt: dict[str, datetime] = {}
        self._lists: dict[str, _Entry[StatusListSnapshot]] = {}
        self._lifecycles: dict[str, _Entry[dict[str, Any]]] = {}

    # -- the one door to the network ------------------------------------------------------

    def _lock_for(self, url: str) -> threading.Lock:
        with self._guard_lock:
            return self._url_locks.setdefault(url, threading.Lock())

    def _get(self, url: str, *, accept: str, etag: str | None = None) -> FetchResponse:
        """Fetch ``url`` if, and only if, the trust registry allows it.

        Raises :class:`FetchRefused` (nothing is fetched) or :class:`FetchError`.
        """
        if not self._registry.allows_fetch(url):
            raise FetchRefused(f"refusing to fetch {url}: not allowed by the trust registry")
        headers = {"Accept": accept}
        if etag is not None:
            headers["If-None-Match"] = etag
        try:
            response = self._fetch(url, headers)
        except (FetchError, OSError, ValueError) as exc:
            raise FetchError(f"could not fetch {url}: {exc}") from exc
        if len(response.body) > self._max_body:
            raise FetchError(f"the response from {url} is larger than {self._max_body} bytes")
        return response

    # -- keys -------------------------------------------------------------------------------

    def key_for(self, issuer: TrustedIssuer, kid: str) -> PyJWK | None:
        """The issuer's published key with this ``kid``, or ``None`` if it publishes none.

        An unknown ``kid`` causes one refresh of the JWK Set unless one was attempted within
        the refresh interval. Raises :class:`KeysUnavailable` when no key set can be had, or
        when the refresh caused by an unknown ``kid`` fails.
        """
        url = issuer.jwks_url
        with self._lock_for(url):
            now = self._clock()
            entry = self._jwks.get(url)
            if entry is None or now >= entry.fresh_until:
                try:
                    keys = self._refresh_jwks(url, entry, now)
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
                keys = self._refresh_jwks(url, self._jwks.get(url), now)
            except ResolverError as exc:
                raise KeysUnavailable(
                    f"the keys of {issuer.name} could not be refreshed: {exc.detail}"
                ) from exc
            return keys.get(kid)

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
        with self._lock_for(url):
            now = self._clock()
            entry = self._lists.get(url)
            if entry is None or now >= entry.fresh_until:
                try:
                    entry = self._refresh_list(issuer, url, entry, now)
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

    def _refresh_list(
        self,
        issuer: TrustedIssuer,
        url: str,
        entry: _Entry[StatusListSnapshot] | None,
        now: datetime,
    ) -> _Entry[StatusListSnapshot]:
        response = self._get(
            url, accept="application/vc+jwt", etag=entry.etag if entry is not None else None
        )
        age = max_age(response.headers)
        etag = _lower(response.headers).get("etag")
        if response.status == 304 and entry is not None:
            fresh = _list_freshness(entry.value.ttl, age)
            renewed = _Entry(entry.value, etag or entry.etag, now + fresh)
            self._lists[url] = renewed
            return renewed
        if response.status != 200:
            raise FetchError(f"{url} answered HTTP {response.status}")
        snapshot = self._verify_list(issuer, url, response.body)
        fresh_entry = _Entry(snapshot, etag, now + _list_freshness(snapshot.ttl, age))
        self._lists[url] = fresh_entry
        return fresh_entry

    def _verify_list(self, issuer: TrustedIssuer, url: str, body: bytes) -> StatusListSnapshot:
        try:
            token = body.decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise StatusUnavailable(f"the status list at {url} is not a compact JWT") from exc

        def lookup(kid: str) -> PyJWK | None:
            return self.key_for(issuer, kid)

        verified = jose.verify(token, typ=TYP, algorithms=self._algorithms, key_for=lookup)
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
        """Fetch the compact JWT of one credential from the issuer (never cached).

        Raises :class:`CredentialNotFound` on 404/410, :class:`FetchRefused` if the URL is
        not allowed, :class:`FetchError` otherwise.
        """
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


    def credential_status(self, issuer: TrustedIssuer, credential_uuid: str) -> dict[str, Any]:
        """The issuer's public lifecycle record of one credential (cached for ``max-age``).

        Only ``<issuer id>/status/credentials/<canonical uuid>`` of a trusted issuer is
        fetched. Raises :class:`CredentialNotFound` on 404/410, :class:`FetchError` otherwise.
        """
        uuid = canonical_uuid(credential_uuid)
        if uuid is None:
            raise FetchError("not a credential id")
        url = f"{issuer.status_prefix}credentials/{uuid}"
        with self._lock_for(url):
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
                record = json.loads(response.body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise FetchError(f"{url} did not return JSON") from exc
            if not isinstance(record, dict) or record.get("id") != uuid:
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
