"""Signing keys: generation, files at rest, RFC 7638 key ids and the public JWK Set.

Pure key management on ``cryptography`` and PyJWT; no Flask, no database. Private keys
live only in a key directory (files mode 0600, PKCS#8, encrypted when a passphrase is
given) and never in git. A :class:`LocalSigner` satisfies :class:`vc.jose.Signer`, the one
interface signing goes through: a KMS or HSM signer would implement the same three members.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import string
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vc._json import b64url_encode

ALGORITHMS = ("ES256", "EdDSA")
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
_KID_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


class KeyStoreError(Exception):
    """A key cannot be created, read or used; the message says which and why."""


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of a public EC or OKP key."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty", ""))
    if members is None:
        raise KeyStoreError(f"unsupported key type {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


class LocalSigner:
    """A private key held in this process, bound to exactly one JOSE algorithm."""

    def __init__(self, private_key: PrivateKey, alg: str) -> None:
        if alg == "ES256":
            if not (isinstance(private_key, ec.EllipticCurvePrivateKey)
                    and isinstance(private_key.curve, ec.SECP256R1)):
                raise KeyStoreError("ES256 needs a P-256 key")
        elif alg == "EdDSA":
            if not isinstance(private_key, ed25519.Ed25519PrivateKey):
                raise KeyStoreError("EdDSA needs an Ed25519 key")
        else:
            raise KeyStoreError(f"unsupported algorithm {alg!r} (use one of {ALGORITHMS})")
        self._private_key = private_key
        self._alg = alg
        self._algorithm = jwt.get_algorithm_by_name(alg)
        jwk = json.loads(self._algorithm.to_jwk(private_key.public_key()))
        self._kid = thumbprint(jwk)
        self._public_jwk = {**jwk, "alg": alg, "use": "sig", "kid": self._kid}

    @property
    def kid(self) -> str:
        """RFC 7638 thumbprint of the public key."""
        return self._kid

    @property
    def alg(self) -> str:
        """``ES256`` or ``EdDSA``."""
        return self._alg

    def sign(self, signing_input: bytes) -> bytes:
        """Raw JWS signature (``r || s`` for ES256)."""
        return bytes(self._algorithm.sign(signing_input, self._private_key))

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK (never a private member)."""
        return dict(self._public_jwk)

    def private_pem(self, passphrase: bytes | None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )


def generate(alg: str = "ES256") -> LocalSigner:
    """A fresh key for ``alg``."""
    if alg == "ES256":
        return LocalSigner(ec.generate_private_key(ec.SECP256R1()), alg)
    if alg == "EdDSA":
        return LocalSigner(ed25519.Ed25519PrivateKey.generate(), alg)
    raise KeyStoreError(f"unsupported algorithm {alg!r} (use one of {ALGORITHMS})")


def jwks(keys: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWK Set of public keys; refuses anything with a private member."""
    for key in keys:
        if "d" in key:
            raise KeyStoreError("refusing to publish a private key")
    return {"keys": [dict(k) for k in keys]}


@dataclass(frozen=True)
class KeyRecord:
    """What the store knows about one key besides its material."""

    kid: str
    alg: str
    #: "active" (signs), "retired" (no longer signs, published while credentials it signed
    #: are in use) or "compromised" (never published again).
    state: str
    created_at: str
    #: When the key left the active state (retired or compromised); None while active.
    changed_at: str | None = None


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class KeyStore:
    """Keys in one directory: ``<kid>.pem`` (private, 0600) and ``<kid>.json`` (metadata)."""

    def __init__(self, directory: Path | str, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase.encode("utf-8") if passphrase else None
        self._cache: dict[str, LocalSigner] = {}

    def _meta_path(self, kid: str) -> Path:
        if not kid or any(c not in _KID_ALPHABET for c in kid):
            raise KeyStoreError(f"not a key id: {kid!r}")
        return self.directory / f"{kid}.json"

    def records(self) -> list[KeyRecord]:
        """Every key in the store, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob("*.json"):
            try:
                found.append(KeyRecord(**json.loads(path.read_text("utf-8"))))
            except (ValueError, TypeError) as exc:
                raise KeyStoreError(f"key metadata {path} is unreadable: {exc}") from exc
        return sorted(found, key=lambda r: (r.created_at, r.kid))

    def check_permissions(self) -> None:
        """Refuse to go on if any private key file is readable or writable by others."""
        for record in self.records():
            pem = self.directory / f"{record.kid}.pem"
            if not pem.exists():
                raise KeyStoreError(f"private key file {pem} is missing")
            mode = stat.S_IMODE(pem.stat().st_mode)
            if mode & 0o077:
                raise KeyStoreError(
                    f"private key file {pem} has mode {mode:o}; run: chmod 600 {pem}"
                )

    def load(self, kid: str) -> LocalSigner:
        """The signer for ``kid`` (parsed once, then cached)."""
        if kid in self._cache:
            return self._cache[kid]
        meta = self._meta_path(kid)
        if not meta.exists():
            raise KeyStoreError(f"no key {kid} in {self.directory}")
        try:
            record = KeyRecord(**json.loads(meta.read_text("utf-8")))
            pem = (self.directory / f"{kid}.pem").read_bytes()
        except (OSError, ValueError, TypeError) as exc:
            raise KeyStoreError(f"key {kid} in {self.directory} is unreadable: {exc}") from exc
        try:
            private = serialization.load_pem_private_key(pem, password=self._passphrase)
        except TypeError as exc:
            raise KeyStoreError(
                f"key {kid} is encrypted: set ISSUER_KEY_PASSPHRASE"
                if self._passphrase is None
                else f"key {kid} is not encrypted but a passphrase was given"
            ) from exc
        except ValueError as exc:
            raise KeyStoreError(f"key {kid} could not be decrypted: wrong passphrase?") from exc
        if not isinstance(private, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
            raise KeyStoreError(f"key {kid} is of an unsupported type")
        signer = LocalSigner(private, record.alg)
        if signer.kid != kid:
            raise KeyStoreError(f"key file {kid}.pem holds a different key ({signer.kid})")
        self._cache[kid] = signer
        return signer

    def add(self, signer: LocalSigner, state: str = "active") -> KeyRecord:
        """Store a key; an ``active`` one retires the previously active key."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if state == "active":
            for record in self.records():
                if record.state == "active":
                    self._set_state(record, "retired")
        record = KeyRecord(
            kid=signer.kid,
            alg=signer.alg,
            state=state,
            created_at=_now_text(),
        )
        _write_private(self.directory / f"{signer.kid}.pem", signer.private_pem(self._passphrase))
        _write_private(self._meta_path(signer.kid), json.dumps(asdict(record)).encode("utf-8"))
        self._cache[signer.kid] = signer
        return record

    def _set_state(self, record: KeyRecord, state: str) -> KeyRecord:
        changed_at = record.changed_at or _now_text()
        updated = KeyRecord(record.kid, record.alg, state, record.created_at, changed_at)
        _write_private(self._meta_path(record.kid), json.dumps(asdict(updated)).encode("utf-8"))
        return updated

    def generate(self, alg: str = "ES256") -> KeyRecord:
        """Create a new key and make it the active signing key (the old one is retired)."""
        return self.add(generate(alg))

    def record(self, kid: str) -> KeyRecord:
        """The metadata of ``kid``; raises :class:`KeyStoreError` if there is no such key."""
        for record in self.records():
            if record.kid == kid:
                return record
        raise KeyStoreError(f"no key {kid} in {self.directory}")

    def retire(self, kid: str) -> KeyRecord:
        """Stop signing with ``kid``; it stays published for credentials it signed."""
        record = self.record(kid)
        if record.state == "compromised":
            raise KeyStoreError(f"key {kid} is compromised; it cannot be retired")
        return self._set_state(record, "retired")

    def compromise(self, kid: str) -> KeyRecord:
        """Mark ``kid`` compromised: it never signs and is never published again."""
        return self._set_state(self.record(kid), "compromised")

    def snapshot(self) -> dict[str, bytes]:
        """Every key file's name and content, for :meth:`restore` (a change that must
        commit together with a database transaction, or not at all)."""
        if not self.directory.is_dir():
            return {}
        return {
            path.name: path.read_bytes()
            for path in self.directory.iterdir()
            if path.suffix in (".json", ".pem") and not path.name.startswith(".")
        }

    def restore(self, saved: dict[str, bytes]) -> None:
        """Put the key files back as :meth:`snapshot` found them: files added since are
        removed, changed ones rewritten (atomically, mode 0600)."""
        for name, data in saved.items():
            path = self.directory / name
            if not path.exists() or path.read_bytes() != data:
                _write_private(path, data)
        for name in set(self.snapshot()) - set(saved):
            (self.directory / name).unlink(missing_ok=True)
            self._cache.pop(name.rsplit(".", 1)[0], None)

    def fingerprint(self) -> tuple[tuple[str, int, int, int], ...]:
        """Cheap summary of the key files (name, mtime, size, mode): changes when any key
        is added or changes state, and when a file's permissions change."""
        found = []
        try:
            entries = os.scandir(self.directory)  # one call per request: no Path objects
        except (FileNotFoundError, NotADirectoryError):
            return ()
        with entries:
            for entry in entries:
                if not entry.name.endswith((".json", ".pem")):
                    continue
                try:
                    info = entry.stat()
                except OSError:
                    continue
                found.append((entry.name, info.st_mtime_ns, info.st_size, info.st_mode))
        return tuple(sorted(found))

    def active(self) -> LocalSigner:
        """The key that signs new credentials."""
        actives = [r for r in self.records() if r.state == "active"]
        if not actives:
            raise KeyStoreError(
                f"no active signing key in {self.directory}: run 'issuer keys generate'"
            )
        return self.load(actives[-1].kid)

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set of every key not compromised (active and retired).

        The issuer narrows it further to the keys still needed (``issuer.credentials.signing_keys``).
        """
        return jwks([self.load(r.kid).public_jwk() for r in self.records() if r.state != "compromised"])
