"""A small fake issuer for the verifier's tests, reached only through an injected ``fetch``.

It signs credentials and status lists with ``keys.generate()`` + ``vc.jose.sign`` exactly as
the real issuer does, serves its JWK Set and lists with ``Cache-Control`` and ``ETag``, and
logs every request so tests can assert what was (not) fetched.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import keys
from vc import jose, protocol
from vc.credential import (
    CTY,
    TYP,
    Achievement,
    CredentialData,
    ExamResult,
    LicenseEvidence,
    TrainingResults,
    build_claims,
    timestamp,
)
from vc.status_list import BitstringStatusList, list_credential, status_entry
from verifier.resolver import FetchError, FetchResponse

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
VALID_FROM = datetime(2026, 11, 1, tzinfo=UTC)
VALID_UNTIL = datetime(2027, 11, 1, tzinfo=UTC)
ISSUER_ID = "https://issuer.example"
ISSUER_NAME = "Registry Name Of The Institute"
LICENSE_NUMBER = "RN-884512"


class Clock:
    """A fixed clock that tests move by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Network:
    """Routes fetches to fake issuers by URL prefix and logs every request made."""

    issuers: list[FakeIssuer] = field(default_factory=list)
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def fetch(self, url: str, headers: dict[str, str]) -> FetchResponse:
        self.log.append((url, dict(headers)))
        for issuer in self.issuers:
            if url.startswith(issuer.id + "/"):
                return issuer.serve(url, headers)
        raise FetchError(f"no route to {url}")

    def urls(self) -> list[str]:
        return [url for url, _ in self.log]

    def count(self, url: str) -> int:
        return self.urls().count(url)


class FakeIssuer:
    """Signs credentials and status lists; serves JWKS, lists and credential JWTs."""

    def __init__(
        self,
        clock: Clock,
        issuer_id: str = ISSUER_ID,
        *,
        alg: str = "ES256",
        network: Network | None = None,
    ) -> None:
        self.id = issuer_id
        self.clock = clock
        self.signer = keys.generate(alg)
        self.published = [self.signer.public_jwk()]
        self.list_signer = self.signer
        self.revoked: set[int] = set()
        self.suspended: set[int] = set()
        self.superseded: set[int] = set()
        #: Public lifecycle records by credential uuid: a :class:`protocol.PublicStatus`, or
        #: raw JSON for tests of what a verifier does with a hostile or malformed answer.
        self.lifecycle: dict[str, protocol.PublicStatus | dict[str, Any]] = {}
        self.down = False
        self.unreachable: set[str] = set()
        self.overrides: dict[str, Callable[[dict[str, str]], FetchResponse]] = {}
        self.jwks_max_age: int | None = 300
        self.list_ttl_ms: int | None = 300_000
        self.list_max_age: int | None = 300
        self.list_valid_until: datetime | None = None
        self.list_payload_changes: dict[str, Any] = {}
        self.credentials: dict[str, str] = {}
        if network is not None:
            network.issuers.append(self)

    # -- registry ---------------------------------------------------------------------------

    @property
    def jwks_url(self) -> str:
        return self.id + protocol.JWKS_PATH

    def entry(self, name: str = ISSUER_NAME) -> dict[str, str]:
        return {"id": self.id, "name": name, "jwks_url": self.jwks_url}

    def credential_url(self, credential_id: str) -> str:
        return self.id + protocol.credential_jwt_path(credential_id)

    def list_url(self, purpose: str) -> str:
        return self.id + protocol.status_list_path(purpose, "1")

    # -- signing ----------------------------------------------------------------------------

    def claims(
        self,
        *,
        given_name: str = "Jane",
        family_name: str = "Doe",
        valid_from: datetime = VALID_FROM,
        valid_until: datetime = VALID_UNTIL,
        index: int = 4242,
        credential_id: str | None = None,
        status: list[dict[str, str]] | None = None,
        name_in_token: str = "Name The Token Claims",
    ) -> dict[str, Any]:
        data = CredentialData(
            credential_id=credential_id or str(uuid.uuid4()),
            issuer_id=self.id,
            issuer_name=name_in_token,
            given_name=given_name,
            family_name=family_name,
            profession="RN",
            license=LicenseEvidence(
                jurisdiction="US-TX",
                number=LICENSE_NUMBER,
                status="active",
                expires_on=date(2027, 8, 31),
                checked_on=date(2026, 11, 1),
                checked_source="https://www.bon.texas.gov/",
            ),
            achievement=Achievement(
                program_id="botox-cosmetic-injector",
                name="Botox Cosmetic Injector Certification",
                description="Safe cosmetic botulinum toxin injection.",
                criteria="Didactic modules, supervised hands-on practice and two exams.",
                accreditation_body="Example CME Accreditor",
                accreditation_id="ACC-1",
                cme_credits=16.0,
            ),
            results=TrainingResults(
                didactic_hours=12.0,
                didactic_modules=("pharmacology", "facial_anatomy"),
                hands_on_hours=8.0,
                supervised_injections=40,
                live_models=6,
                written_exam=ExamResult(date(2026, 10, 4)),
                practical_exam=ExamResult(date(2026, 10, 4), "Ana Ruiz, MD"),
            ),
            issued_at=valid_from,
            valid_from=valid_from,
            valid_until=valid_until,
            status=status
            if status is not None
            else [
                status_entry(self.list_url("revocation"), "revocation", index),
                status_entry(self.list_url("suspension"), "suspension", index),
            ],
        )
        return build_claims(data)

    def sign(
        self,
        payload: dict[str, Any],
        *,
        signer: jose.Signer | None = None,
        typ: str = TYP,
    ) -> str:
        return jose.sign(payload, signer or self.signer, typ=typ, cty=CTY)

    def issue(self, **overrides: Any) -> str:
        """A signed credential (also served at ``/credentials/<uuid>/jwt``)."""
        payload = self.claims(**overrides)
        token = self.sign(payload)
        self.credentials[payload["id"].removeprefix("urn:uuid:")] = token
        return token

    def publish_new_key(self, alg: str = "ES256") -> keys.LocalSigner:
        signer = keys.generate(alg)
        self.published.append(signer.public_jwk())
        return signer

    def list_token(self, purpose: str) -> str:
        now = self.clock()
        valid_until = self.list_valid_until or now + timedelta(days=1)
        bits = BitstringStatusList.with_set(self._indexes(purpose))
        url = self.list_url(purpose)
        payload = list_credential(
            issuer={"id": self.id, "type": ["Profile"], "name": "Name In List"},
            list_url=url,
            purpose=purpose,
            bits=bits,
            valid_from=timestamp(now - timedelta(hours=1)),
            valid_until=timestamp(valid_until),
            ttl_ms=self.list_ttl_ms if self.list_ttl_ms is not None else 0,
        )
        if self.list_ttl_ms is None:
            del payload["credentialSubject"]["ttl"]
        payload.update(
            iss=self.id, iat=int(now.timestamp()), exp=int(valid_until.timestamp()), jti=url
        )
        payload.update(self.list_payload_changes)
        return jose.sign(payload, self.list_signer, typ=TYP, cty=CTY)

    # -- serving ----------------------------------------------------------------------------

    def serve(self, url: str, headers: dict[str, str]) -> FetchResponse:
        if self.down or url in self.unreachable:
            raise FetchError("connection refused")
        if url in self.overrides:
            return self.overrides[url](headers)
        if url == self.jwks_url:
            body = json.dumps(keys.jwks(self.published)).encode()
            return self._cacheable(body, headers, self.jwks_max_age, "application/jwk-set+json")
        for purpose in ("revocation", "suspension", "refresh"):
            if url == self.list_url(purpose):
                body = self.list_token(purpose).encode()
                indexes = self._indexes(purpose)
                version = repr((sorted(indexes), self.list_signer.kid, self.list_payload_changes))
                return self._cacheable(
                    body, headers, self.list_max_age, "application/vc+jwt", etag_of=version
                )
        for uuid_, record in self.lifecycle.items():
            if url == self.id + protocol.public_status_path(uuid_):
                body = record.to_json() if isinstance(record, protocol.PublicStatus) else record
                return FetchResponse(
                    200,
                    {"Content-Type": "application/json", "Cache-Control": "max-age=300"},
                    json.dumps(body).encode(),
                )
        for uuid_, token in self.credentials.items():
            if url == self.id + protocol.credential_jwt_path(uuid_):
                return FetchResponse(200, {"Content-Type": "application/vc+jwt"}, token.encode())
        return FetchResponse(404, {"Content-Type": "text/plain"}, b"not found")

    def _indexes(self, purpose: str) -> set[int]:
        return {"revocation": self.revoked, "suspension": self.suspended}.get(purpose, self.superseded)

    @staticmethod
    def _cacheable(
        body: bytes,
        headers: dict[str, str],
        max_age: int | None,
        content_type: str,
        etag_of: str | None = None,
    ) -> FetchResponse:
        etag = '"' + hashlib.sha256((etag_of or body.decode()).encode()).hexdigest()[:16] + '"'
        response_headers = {"Content-Type": content_type, "ETag": etag}
        if max_age is not None:
            response_headers["Cache-Control"] = f"public, max-age={max_age}"
        if headers.get("If-None-Match") == etag:
            return FetchResponse(304, response_headers, b"")
        return FetchResponse(200, response_headers, body)


def verification_link(issuer: FakeIssuer, token_id: str, base: str = "https://verify.example") -> str:
    """The link a QR code of this issuer holds for credential ``token_id``."""
    return protocol.verify_link(base, issuer.id, token_id)


def credential_uuid(token: str) -> str:
    """The uuid part of a token's ``id`` (read without verifying: test helper)."""
    _, payload = jose.split(token)
    value: str = payload["id"]
    return value.removeprefix("urn:uuid:")
