"""Layered configuration: defaults, then ``VERIFIER_*`` environment variables, then test config.

Flask config keys (the environment variable without its ``VERIFIER_`` prefix):

``TRUSTED_ISSUERS``
    Path of the trust registry JSON file (``VERIFIER_TRUSTED_ISSUERS``). Unset: trust only
    the local demo issuer ``http://127.0.0.1:5000``. Tests may also pass the registry data
    itself (a mapping ``{"issuers": [...]}``).
``ALGORITHMS``
    Comma-separated JOSE algorithm allow-list (``VERIFIER_ALGORITHMS``), default
    ``ES256,EdDSA``; only these two can ever be enabled.
``LEEWAY_SECONDS``
    Clock-skew leeway for validity periods (``VERIFIER_LEEWAY_SECONDS``), default ``60``.
``JWKS_REFRESH_INTERVAL_SECONDS``
    Least time between two JWKS refreshes caused by an unknown ``kid`` (default ``30``).
``JWKS_DEFAULT_MAX_AGE_SECONDS``
    JWKS freshness when the issuer sends no ``Cache-Control: max-age`` (default ``300``).
``FETCH_DEADLINE_SECONDS``
    Total time one fetch from an issuer may take, connecting and reading the whole answer
    (``VERIFIER_FETCH_DEADLINE_SECONDS``), default ``5``; a number of seconds from ``0.5``
    to ``30`` (decimals allowed). A verdict waits about this long at most for the status
    lists of a slow issuer (they are fetched concurrently), then says ``status_unknown``.
``URL``
    The verifier's own public base URL (``VERIFIER_URL``), default
    ``http://127.0.0.1:5001``: it names the verifier in signed receipts (``iss``) and in the
    receipt's ``jwks_url``. Always from configuration, never from a request's ``Host``
    header, which a client chooses.
``KEYS_DIR``
    Where the verifier keeps its own receipt-signing key (``VERIFIER_KEYS_DIR``, default
    ``var/verifier-keys``); generated on first start, never an issuer's key.
``MAX_CONTENT_LENGTH``
    Largest request body (default 64 KiB; larger requests get ``413``).
``WORKERS``
    ``verifier serve``'s worker processes (``VERIFIER_WORKERS``), 1 to 256; unset: one per
    core. Each worker keeps its own caches (key sets, status lists), each fresh for its ttl.
``THREADS``
    Threads per worker (``VERIFIER_THREADS``), 1 to 64, default ``8``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from serving import DEFAULT_THREADS, MAX_THREADS, MAX_WORKERS
from vc.jose import SUPPORTED_ALGORITHMS
from verifier.registry import (
    ConfigError,
    TrustRegistry,
    default_registry,
    load_registry,
    parse_registry,
)

#: Where the verifier is reached when ``VERIFIER_URL`` is not set (``verifier serve``'s default).
DEFAULT_URL = "http://127.0.0.1:5001"

DEFAULTS: dict[str, Any] = {
    "TRUSTED_ISSUERS": None,
    "ALGORITHMS": "ES256,EdDSA",
    "LEEWAY_SECONDS": 60,
    "JWKS_REFRESH_INTERVAL_SECONDS": 30,
    "JWKS_DEFAULT_MAX_AGE_SECONDS": 300,
    "FETCH_DEADLINE_SECONDS": 5,
    "URL": DEFAULT_URL,
    "KEYS_DIR": "var/verifier-keys",
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    "WORKERS": None,
    "THREADS": DEFAULT_THREADS,
}

#: Upper bound on the configurable leeway: more would make expiry meaningless.
MAX_LEEWAY_SECONDS = 600
#: Bounds of the fetch deadline: less cannot reach a real issuer, more keeps users waiting.
MIN_FETCH_DEADLINE_SECONDS = 0.5
MAX_FETCH_DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    """The validated configuration the verifier runs with."""

    registry: TrustRegistry
    algorithms: frozenset[str]
    leeway: timedelta
    jwks_refresh_interval: timedelta
    jwks_default_max_age: timedelta
    #: Total seconds one fetch from an issuer may take.
    fetch_deadline: float
    #: The verifier's public base URL (no trailing slash), as configured.
    verifier_url: str = DEFAULT_URL
    #: ``verifier serve``: worker processes (``None``: one per core) and threads in each.
    workers: int | None = None
    threads: int = DEFAULT_THREADS


def _algorithms(value: object) -> frozenset[str]:
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple | set | frozenset):
        names = [str(part).strip() for part in value]
    else:
        raise ConfigError("ALGORITHMS must be a comma-separated list such as 'ES256,EdDSA'")
    unsupported = sorted(set(names) - SUPPORTED_ALGORITHMS)
    if unsupported or not names:
        raise ConfigError(
            f"ALGORITHMS {value!r}: choose from {sorted(SUPPORTED_ALGORITHMS)}"
            + (f" ({unsupported} not supported)" if unsupported else "")
        )
    return frozenset(names)


def _seconds(config: Mapping[str, Any], key: str, maximum: int) -> timedelta:
    value = config.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise ConfigError(f"{key} must be a whole number of seconds between 0 and {maximum}")
    return timedelta(seconds=value)


def _deadline(config: Mapping[str, Any], key: str) -> float:
    value = config.get(key)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not MIN_FETCH_DEADLINE_SECONDS <= value <= MAX_FETCH_DEADLINE_SECONDS
    ):
        raise ConfigError(
            f"{key} must be a number of seconds between {MIN_FETCH_DEADLINE_SECONDS:g} "
            f"and {MAX_FETCH_DEADLINE_SECONDS:g}"
        )
    return float(value)


def _count(config: Mapping[str, Any], key: str, maximum: int, what: str) -> int | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise ConfigError(f"{key} (VERIFIER_{key}) must be between 1 and {maximum} {what}, got {value!r}")
    return value


def _base_url(value: object, key: str) -> str:
    text = value.strip().rstrip("/") if isinstance(value, str) else ""
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or any(ch.isspace() for ch in text)
    ):
        raise ConfigError(f"{key} must be an http(s) base URL such as 'https://verify.example.org'")
    return text


def _registry(value: object) -> TrustRegistry:
    if value is None or value == "":
        return default_registry()
    if isinstance(value, TrustRegistry):
        return value
    if isinstance(value, Mapping):
        return parse_registry(value, "TRUSTED_ISSUERS (test config)")
    if isinstance(value, str) or hasattr(value, "__fspath__"):
        return load_registry(str(value))
    raise ConfigError("TRUSTED_ISSUERS must be the path of a JSON trust registry")


def settings_from(config: Mapping[str, Any]) -> Settings:
    """Validate a Flask config mapping into :class:`Settings`.

    Raises :class:`ConfigError` (or its subclass ``RegistryError``, naming the registry file)
    so that a bad configuration stops start-up instead of surfacing at the first request.
    """
    return Settings(
        registry=_registry(config.get("TRUSTED_ISSUERS")),
        algorithms=_algorithms(config.get("ALGORITHMS")),
        leeway=_seconds(config, "LEEWAY_SECONDS", MAX_LEEWAY_SECONDS),
        jwks_refresh_interval=_seconds(config, "JWKS_REFRESH_INTERVAL_SECONDS", 86_400),
        jwks_default_max_age=_seconds(config, "JWKS_DEFAULT_MAX_AGE_SECONDS", 86_400),
        fetch_deadline=_deadline(config, "FETCH_DEADLINE_SECONDS"),
        verifier_url=_base_url(config.get("URL") or DEFAULT_URL, "URL (VERIFIER_URL)"),
        workers=_count(config, "WORKERS", MAX_WORKERS, "worker processes"),
        threads=_count(config, "THREADS", MAX_THREADS, "threads per worker") or DEFAULT_THREADS,
    )
