"""Signed verification receipts: what this verifier checked, when, and what it found.

The verifier holds its own signing key (never an issuer's), kept by :class:`keys.KeyStore`
in ``VERIFIER_KEYS_DIR`` (default ``var/verifier-keys``) and generated on first start. Its
public key is served at the verifier's ``/.well-known/jwks.json``. A receipt is a compact
JWS with ``typ: verification-receipt+jwt``; anyone holding the verifier's JWK Set can check
it with any JOSE library.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from keys import KeyStore, KeyStoreError, LocalSigner
from vc import jose
from vc.credential import timestamp
from verifier.core import Verdict
from verifier.registry import ConfigError

RECEIPT_TYP = "verification-receipt+jwt"


class ReceiptSigner:
    """The verifier's receipt key and its public JWK Set (loaded once at start-up)."""

    def __init__(self, directory: str | Path) -> None:
        store = KeyStore(directory)
        try:
            store.check_permissions()
            if not any(r.state == "active" for r in store.records()):
                store.generate("ES256")
            self._signer: LocalSigner = store.active()
            self.jwks: dict[str, Any] = store.public_jwks()
        except (KeyStoreError, OSError) as exc:
            raise ConfigError(f"verifier receipt key in {directory}: {exc}") from exc

    @property
    def kid(self) -> str:
        """Key id of the receipt key."""
        return self._signer.kid

    def claims(self, verdict: Verdict, *, verifier_url: str, subject: str) -> dict[str, Any]:
        """The receipt's payload for ``verdict``; ``subject`` says what was presented.

        It names who was verified (``practitioner``: name, profession, license jurisdiction
        and number; ``program``; ``credential_id``), all ``null`` unless the credential was
        authentic, and how fresh the status was: ``status_as_of`` (the oldest list) and
        each entry of ``status_lists`` with its own ``as_of``. ``iss`` is ``verifier_url``,
        the configured ``VERIFIER_URL``.
        """
        credential = verdict.credential or {}
        evidence = verdict.evidence
        body = verdict.to_json()
        license_ = credential.get("license") or {}
        program = credential.get("program") or {}
        return {
            "iss": verifier_url,
            "iat": int(verdict.checked_at.timestamp()),
            "jti": f"urn:uuid:{uuid.uuid4()}",
            "type": "VerificationReceipt",
            "checked_at": timestamp(verdict.checked_at),
            "presented": subject,
            "result": verdict.status,
            "credential_id": credential.get("id"),
            "practitioner": {
                "name": credential.get("name"),
                "profession": credential.get("profession"),
                "profession_name": credential.get("profession_name"),
                "license_jurisdiction": license_.get("jurisdiction"),
                "license_number": license_.get("number"),
            }
            if credential
            else None,
            "program": {"id": program.get("id"), "name": program.get("name")} if credential else None,
            "status_as_of": body["status_as_of"],
            "issuer": {"id": evidence.get("issuer_id"), "name": credential.get("issuer_name")},
            "credential_kid": evidence.get("kid"),
            "credential_alg": evidence.get("alg"),
            "status_lists": evidence.get("status_entries", []),
            "checks": body["checks"],
            "notes": body.get("notes", []),
            "superseded_by": body.get("superseded_by"),
        }

    def sign(self, verdict: Verdict, *, verifier_url: str, subject: str) -> tuple[str, dict[str, Any]]:
        """The compact JWS receipt and its payload."""
        payload = self.claims(verdict, verifier_url=verifier_url, subject=subject)
        return jose.sign(payload, self._signer, typ=RECEIPT_TYP), payload
