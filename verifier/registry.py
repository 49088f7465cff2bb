"""The trust registry: which issuers this verifier believes, and the only URLs it may fetch.

The registry is data (a JSON file named by ``VERIFIER_TRUSTED_ISSUERS``)::

    {"issuers": [{"id": "http://127.0.0.1:5000",
                  "name": "Demo Aesthetic Training Institute",
                  "jwks_url": "http://127.0.0.1:5000/.well-known/jwks.json"}]}

It is loaded once at start-up; a malformed file raises :class:`RegistryError` naming the
file and the problem. :meth:`TrustRegistry.allows_fetch` is the single rule that decides
whether a URL may be fetched at all, whatever a token or a QR code says.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vc.protocol import STATUS_PREFIX, credential_jwt_path

#: Largest registry file read at start-up.
MAX_REGISTRY_BYTES = 1 << 20

DEFAULT_ISSUERS: tuple[dict[str, str], ...] = (
    {
        "id": "http://127.0.0.1:5000",
        "name": "Demo Aesthetic Training Institute",
        "jwks_url": "http://127.0.0.1:5000/.well-known/jwks.json",
    },
)

# One or more path segments of unreserved characters, none of them "." or "..": a status
# list path that no server can normalise into somewhere else.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_~.-]+(?:/[A-Za-z0-9_~.-]+)*")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ConfigError(Exception):
    """The verifier's configuration is unusable; the message says what to fix."""


class RegistryError(ConfigError):
    """The trust registry file is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class TrustedIssuer:
    """One registry entry: the issuer URL (its identifier), a display name and its JWKS URL."""

    id: str
    name: str
    jwks_url: str

    @property
    def status_prefix(self) -> str:
        """Every status list of this issuer lives under this URL prefix."""
        return self.id + STATUS_PREFIX

    def credential_url(self, credential_uuid: str) -> str:
        """Where this issuer serves the compact JWT of one credential."""
        return self.id + credential_jwt_path(credential_uuid)


def canonical_uuid(text: object) -> str | None:
    """The lower-case 8-4-4-4-12 form of a UUID, or ``None`` if ``text`` is not one."""
    if not isinstance(text, str) or len(text) != 36:
        return None
    try:
        value = str(uuid.UUID(text))
    except ValueError:
        return None
    return value if value == text.lower() else None


class TrustRegistry:
    """The trusted issuers, looked up by exact issuer URL."""

    def __init__(self, issuers: Iterable[TrustedIssuer]) -> None:
        self._by_id: dict[str, TrustedIssuer] = {}
        for issuer in issuers:
            if issuer.id in self._by_id:
                raise RegistryError(f"issuer {issuer.id} is listed twice")
            self._by_id[issuer.id] = issuer
        self._jwks_urls = frozenset(i.jwks_url for i in self._by_id.values())

    @property
    def issuers(self) -> tuple[TrustedIssuer, ...]:
        """Every trusted issuer, in registry order."""
        return tuple(self._by_id.values())

    def get(self, issuer_id: object) -> TrustedIssuer | None:
        """The entry whose ``id`` equals ``issuer_id`` exactly (no normalisation), or ``None``."""
        if not isinstance(issuer_id, str):
            return None
        return self._by_id.get(issuer_id)

    @staticmethod
    def is_status_list_url(issuer: TrustedIssuer, url: object) -> bool:
        """Whether ``url`` is a status list URL this issuer may serve (``<id>/status/...``)."""
        if not isinstance(url, str) or not url.startswith(issuer.status_prefix):
            return False
        rest = url[len(issuer.status_prefix) :]
        if not _SAFE_PATH.fullmatch(rest):
            return False
        return all(segment not in (".", "..") for segment in rest.split("/"))

    def allows_fetch(self, url: str) -> bool:
        """The fetch guard: a registered JWKS URL, a status list, or a credential's JWT.

        Nothing else may ever be fetched, whatever a token or a QR code names.
        """
        if url in self._jwks_urls:
            return True
        for issuer in self._by_id.values():
            if self.is_status_list_url(issuer, url):
                return True
            found = _CANONICAL_UUID.search(url, len(issuer.id)) if url.startswith(issuer.id) else None
            if found is not None and url == issuer.credential_url(found.group()):
                return True
        return False


def _http_url(value: object, field: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise RegistryError(f"{where}: {field} must be a non-empty string")
    if value != value.strip() or any(ord(c) < 0x21 or c == "\\" for c in value):
        raise RegistryError(f"{where}: {field} {value!r} contains spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistryError(f"{where}: {field} {value!r} is not an http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise RegistryError(f"{where}: {field} {value!r} must not carry a query, fragment or user")
    return value


def parse_registry(data: object, source: str = "trust registry") -> TrustRegistry:
    """Validate registry data (the parsed JSON) and build the registry.

    Each entry needs ``id`` (an http(s) URL without a trailing slash), a non-empty ``name``
    and ``jwks_url`` (an http(s) URL). Raises :class:`RegistryError` naming ``source``.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("issuers"), list):
        raise RegistryError(f'{source}: expected an object {{"issuers": [...]}}')
    raw_issuers: list[Any] = data["issuers"]
    if not raw_issuers:
        raise RegistryError(f"{source}: the issuers list is empty, so nothing could be verified")
    issuers = []
    for position, entry in enumerate(raw_issuers):
        where = f"{source}: issuers[{position}]"
        if not isinstance(entry, Mapping):
            raise RegistryError(f"{where} is not an object")
        unknown = sorted(set(entry) - {"id", "name", "jwks_url"})
        if unknown:
            raise RegistryError(f"{where} has unknown fields {unknown}")
        issuer_id = _http_url(entry.get("id"), "id", where)
        if issuer_id.endswith("/"):
            raise RegistryError(f"{where}: id {issuer_id!r} must not end with a slash")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RegistryError(f"{where}: name must be a non-empty string")
        jwks_url = _http_url(entry.get("jwks_url"), "jwks_url", where)
        issuers.append(TrustedIssuer(id=issuer_id, name=name.strip(), jwks_url=jwks_url))
    try:
        return TrustRegistry(issuers)
    except RegistryError as exc:
        raise RegistryError(f"{source}: {exc}") from exc


def load_registry(path: str | Path) -> TrustRegistry:
    """Read and validate the registry file at ``path``; raises :class:`RegistryError`."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_REGISTRY_BYTES + 1)
    except OSError as exc:
        raise RegistryError(f"{source}: cannot read the trust registry ({exc.strerror})") from exc
    if len(raw) > MAX_REGISTRY_BYTES:
        raise RegistryError(f"{source}: the trust registry is over {MAX_REGISTRY_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{source}: the trust registry is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise RegistryError(
            f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    return parse_registry(data, source)


def default_registry() -> TrustRegistry:
    """The registry used when none is configured: the local demo issuer."""
    return parse_registry({"issuers": [dict(i) for i in DEFAULT_ISSUERS]}, "default registry")
