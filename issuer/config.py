"""All configuration of the issuer, read in one place: defaults, then environment, then
the overrides a caller passes (tests)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from issuer.errors import ConfigurationError
from serving import DEFAULT_THREADS, MAX_THREADS, MAX_WORKERS

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_PROGRAMS = PACKAGE_DIR / "programs.toml"


@dataclass(frozen=True)
class Config:
    """Settings of one issuer instance (see the README's configuration table)."""

    issuer_url: str = "http://127.0.0.1:5000"
    issuer_name: str = "Demo Aesthetic Training Institute"
    database_url: str = ""
    keys_dir: str = "var/keys"
    key_passphrase: str | None = None
    verifier_url: str = "http://127.0.0.1:5001"
    programs: str = str(SHIPPED_PROGRAMS)
    status_list_ttl: int = 300
    signing_alg: str = "ES256"
    max_body_bytes: int = 1 << 20
    secret_key: str = ""
    #: ``issuer serve``: worker processes (``None``: one per core) and threads in each.
    workers: int | None = None
    threads: int = DEFAULT_THREADS

    def __post_init__(self) -> None:
        for name in ("issuer_url", "verifier_url"):
            value = getattr(self, name)
            if not value.startswith(("http://", "https://")) or value.endswith("/"):
                raise ConfigurationError(
                    f"{name.upper()} must be an http(s) URL without a trailing slash, got {value!r}"
                )
        if self.status_list_ttl < 1 or self.status_list_ttl > 86_400:
            raise ConfigurationError("ISSUER_STATUS_LIST_TTL must be between 1 and 86400 seconds")
        if self.signing_alg not in ("ES256", "EdDSA"):
            raise ConfigurationError("ISSUER_SIGNING_ALG must be ES256 or EdDSA")
        if self.workers is not None and not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigurationError(
                f"ISSUER_WORKERS must be between 1 and {MAX_WORKERS} worker processes, got {self.workers}"
            )
        if not 1 <= self.threads <= MAX_THREADS:
            raise ConfigurationError(
                f"ISSUER_THREADS must be between 1 and {MAX_THREADS} threads per worker, got {self.threads}"
            )

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL; the default is a SQLite file under ``var/``."""
        if self.database_url:
            return self.database_url
        Path("var").mkdir(exist_ok=True)
        return f"sqlite:///{Path('var/issuer.db').resolve()}"


_ENV = {
    "ISSUER_URL": "issuer_url",
    "ISSUER_NAME": "issuer_name",
    "ISSUER_DATABASE_URL": "database_url",
    "ISSUER_KEYS_DIR": "keys_dir",
    "ISSUER_KEY_PASSPHRASE": "key_passphrase",
    "ISSUER_VERIFIER_URL": "verifier_url",
    "ISSUER_PROGRAMS": "programs",
    "ISSUER_STATUS_LIST_TTL": "status_list_ttl",
    "ISSUER_SIGNING_ALG": "signing_alg",
    "ISSUER_SECRET_KEY": "secret_key",
    "ISSUER_WORKERS": "workers",
    "ISSUER_THREADS": "threads",
}


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Defaults, then ``ISSUER_*`` environment variables, then ``overrides`` (field names)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(Config)}
    for var, name in _ENV.items():
        if var in env and env[var] != "":
            raw = env[var]
            if types[name] in ("int", "int | None"):
                try:
                    values[name] = int(raw)
                except ValueError as exc:
                    raise ConfigurationError(f"{var} must be a whole number, got {raw!r}") from exc
            else:
                values[name] = raw
    values.update(overrides or {})
    unknown = set(values) - set(types)
    if unknown:
        raise ConfigurationError(f"unknown settings {sorted(unknown)}")
    return replace(Config(), **values)


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^\s/]*@")
_PARAM_PASSWORD = re.compile(r"(?P<head>\bpassword=)[^&\s'\"]*", re.IGNORECASE)


def mask_passwords(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``
    (``postgresql+psycopg://app:***@db/issuer``): for every line an operator may paste."""
    return _PARAM_PASSWORD.sub(r"\g<head>***", _URL_PASSWORD.sub(r"\g<head>***@", text))
