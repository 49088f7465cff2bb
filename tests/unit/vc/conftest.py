"""Fixtures for the pure credential package: fixed credential inputs, keys and token forging."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jwt.api_jwk import PyJWK

import keys
from vc import credential, jose, status_list
from vc._json import b64url_encode, compact_json

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = REPO_ROOT / "tests" / "data"
#: Public test vectors, vendored from shared/vectors with their sources (SOURCES.md there).
VECTORS_DIR = DATA_DIR / "vectors"

ISSUER_ID = "https://issuer.example.org"
CREDENTIAL_UUID = "0b5e7d1c-3f4a-4c2e-9d8b-6a1f2e3c4d5e"


def fixed_credential_data() -> credential.CredentialData:
    """One credential's inputs, every value fixed so the output can be compared to a golden."""
    revocation = f"{ISSUER_ID}/status/revocation/1"
    suspension = f"{ISSUER_ID}/status/suspension/1"
    return credential.CredentialData(
        credential_id=CREDENTIAL_UUID,
        issuer_id=ISSUER_ID,
        issuer_name="Demo Aesthetic Training Institute",
        given_name="Jane",
        family_name="Doe",
        profession="RN",
        license=credential.LicenseEvidence(
            jurisdiction="US-TX",
            number="RN-884512",
            status="active",
            expires_on=date(2027, 8, 31),
            checked_on=date(2026, 11, 1),
            checked_source="https://www.bon.texas.gov/",
        ),
        achievement=credential.Achievement(
            program_id="botox-cosmetic-injector",
            name="Botulinum Toxin Cosmetic Injector Certification",
            description="Safe cosmetic administration of botulinum toxin type A.",
            criteria="Complete every didactic module, supervised hands-on training and both exams.",
            accreditation_body="Example CME Accreditation Council",
            accreditation_id="ECAC-2026-0042",
            cme_credits=16.0,
        ),
        results=credential.TrainingResults(
            didactic_hours=12.0,
            didactic_modules=(
                "pharmacology",
                "facial_anatomy",
                "patient_assessment",
                "injection_technique",
                "complications",
                "ethics_and_consent",
            ),
            hands_on_hours=8.0,
            supervised_injections=24,
            live_models=4,
            written_exam=credential.ExamResult(taken_on=date(2026, 10, 4)),
            practical_exam=credential.ExamResult(taken_on=date(2026, 10, 4), examiner="Ana Ruiz, MD"),
            ce_credits=4.0,
        ),
        issued_at=datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC),
        valid_from=datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC),
        valid_until=datetime(2028, 11, 2, 9, 30, 15, tzinfo=UTC),
        status=[
            status_list.status_entry(revocation, "revocation", 94567),
            status_list.status_entry(suspension, "suspension", 1234),
        ],
    )


@pytest.fixture
def credential_data() -> credential.CredentialData:
    return fixed_credential_data()


@pytest.fixture
def claims() -> dict[str, Any]:
    """A fresh (mutable) copy of the built claims for each test."""
    return copy.deepcopy(credential.build_claims(fixed_credential_data()))


@pytest.fixture(scope="session")
def es256_signer() -> keys.LocalSigner:
    return keys.generate("ES256")


@pytest.fixture(scope="session")
def eddsa_signer() -> keys.LocalSigner:
    return keys.generate("EdDSA")


KeyFor = Callable[[str], PyJWK | None]


@pytest.fixture
def key_for(es256_signer: keys.LocalSigner, eddsa_signer: keys.LocalSigner) -> KeyFor:
    """The trusted issuer's published keys (ES256 and EdDSA), looked up by exact kid."""
    published = {
        s.kid: jose.jwk_to_key(s.public_jwk()) for s in (es256_signer, eddsa_signer)
    }
    return published.get


Forge = Callable[..., str]


@pytest.fixture
def forge() -> Forge:
    """Hand-build a compact JWS with any header and payload, signed by ``signer``.

    ``payload`` may be a dict (serialized compactly) or raw bytes (sent as they are).
    ``signature`` overrides the signature bytes (for ``alg: none`` and HMAC tokens).
    """

    def _forge(
        header: dict[str, Any],
        payload: dict[str, Any] | bytes,
        signer: keys.LocalSigner | None = None,
        *,
        signature: bytes | None = None,
    ) -> str:
        raw_payload = payload if isinstance(payload, bytes) else compact_json(payload)
        signing_input = f"{b64url_encode(compact_json(header))}.{b64url_encode(raw_payload)}"
        if signature is None:
            assert signer is not None, "give a signer or an explicit signature"
            signature = signer.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64url_encode(signature)}"

    return _forge


@pytest.fixture
def vectors_dir() -> Path:
    if not VECTORS_DIR.is_dir():
        pytest.fail(f"public test vectors not found at {VECTORS_DIR}")
    return VECTORS_DIR
