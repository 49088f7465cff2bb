"""The service context: settings, rules, keys and clock, and the public URLs built from them.

Every domain function takes a SQLAlchemy ``Session`` and an :class:`IssuerContext`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from issuer.config import Config
from issuer.errors import ValidationFailed
from issuer.rules.programs import Program
from keys import KeyStore
from vc import jose, protocol


@dataclass
class IssuerContext:
    """What the service needs besides the database: settings, rules, keys, clock."""

    config: Config
    programs: dict[str, Program]
    keystore: KeyStore
    signer: jose.Signer
    clock: Callable[[], datetime]

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        return self.clock().astimezone(UTC)

    def issuer_profile(self) -> dict[str, Any]:
        """The ``issuer`` object of our credentials."""
        return {"id": self.config.issuer_url, "type": ["Profile"], "name": self.config.issuer_name}

    def program(self, program_id: str) -> Program:
        """A program by id, or :class:`ValidationFailed`."""
        try:
            return self.programs[program_id]
        except KeyError:
            raise ValidationFailed(
                f"unknown program {program_id!r} (known: {', '.join(sorted(self.programs))})",
                errors=[{"field": "program_id", "detail": "unknown program"}],
            ) from None

    def verify_url(self, credential_id: str) -> str:
        """The link in the QR code: the verifier's page for this credential."""
        return protocol.verify_link(self.config.verifier_url, self.config.issuer_url, credential_id)

    def holder_url(self, credential_id: str) -> str:
        """The holder's page."""
        return self.config.issuer_url + protocol.holder_path(credential_id)

    def list_url(self, purpose: str, list_id: str) -> str:
        """Public URL of a status list."""
        return self.config.issuer_url + protocol.status_list_path(purpose, list_id)


def system_clock() -> datetime:
    """The real time, UTC."""
    return datetime.now(UTC)
