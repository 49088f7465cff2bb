"""The credential's shape (DESIGN §2): golden output, golden header, and what check_claims refuses."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwk as jwcrypto_jwk

from vc import credential, jose
from vc._json import b64url_decode
from vc.errors import InvalidClaims

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden" / "credential.json"


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _all_keys(v)}
    return set()


def test_build_claims_matches_the_reviewed_golden_credential(claims):
    golden = json.loads(GOLDEN.read_text("utf-8"))
    assert claims == golden


def test_golden_credential_has_the_design_contract_fields(claims):
    assert claims["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://issuer.example.org/contexts/botox-credentials-v1.jsonld",
    ]
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["issuer"]["type"] == ["Profile"]
    assert claims["iss"] == claims["issuer"]["id"]
    assert claims["jti"] == claims["id"]
    assert claims["id"].startswith("urn:uuid:")
    assert claims["exp"] == int(datetime(2028, 11, 2, 9, 30, 15, tzinfo=UTC).timestamp())
    assert claims["validUntil"] == "2028-11-02T09:30:15Z"
    assert claims["iat"] == int(datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC).timestamp())
    assert claims["credentialSubject"]["achievement"]["achievementType"] == "Certification"
    purposes = [entry["statusPurpose"] for entry in claims["credentialStatus"]]
    assert purposes == ["revocation", "suspension"]
    assert "vc" not in claims and "nbf" not in claims


def test_credential_carries_no_exam_score_email_or_date_of_birth(claims):
    names = {k.lower() for k in _all_keys(claims)}
    forbidden = [n for n in names if any(w in n for w in ("score", "mail", "birth", "dob"))]
    assert forbidden == []
    text = json.dumps(claims).lower()
    assert "@" not in text.replace("@context", "")


def test_build_claims_refuses_a_naive_issue_time(credential_data):
    naive = dataclasses.replace(credential_data, issued_at=datetime(2026, 11, 2, 9, 30))
    with pytest.raises(ValueError, match="timezone"):
        credential.build_claims(naive)


def test_build_claims_refuses_an_unknown_profession(credential_data):
    with pytest.raises(ValueError, match="profession"):
        credential.build_claims(dataclasses.replace(credential_data, profession="DDS"))


def test_signed_credential_header_is_exactly_alg_typ_cty_kid_in_that_order(claims, es256_signer):
    token = jose.sign(claims, es256_signer, typ="vc+jwt", cty="vc")
    header_bytes = b64url_decode(token.split(".")[0])
    header = json.loads(header_bytes)
    rfc7638 = jwcrypto_jwk.JWK(**es256_signer.public_jwk()).thumbprint()
    assert list(header.items()) == [
        ("alg", "ES256"),
        ("typ", "vc+jwt"),
        ("cty", "vc"),
        ("kid", rfc7638),
    ]


def test_signed_credential_payload_is_the_credential_itself(claims, es256_signer, key_for):
    token = jose.sign(claims, es256_signer, typ="vc+jwt", cty="vc")
    verified = jose.verify(token, typ="vc+jwt", algorithms=["ES256"], key_for=key_for)
    assert verified.payload == claims
    assert credential.check_claims(verified.payload).uuid == "0b5e7d1c-3f4a-4c2e-9d8b-6a1f2e3c4d5e"


def test_the_signed_parts_are_what_the_token_encodes(claims, es256_signer, key_for):
    signed = jose.sign_parts(claims, es256_signer, typ="vc+jwt", cty="vc")
    header, payload, signature = (b64url_decode(part) for part in signed.token.split("."))
    assert (header, payload, signature) == (signed.header, signed.payload, signed.signature)
    assert jose.verify(signed.token, typ="vc+jwt", algorithms=["ES256"], key_for=key_for).payload == claims


def test_check_claims_accepts_what_build_claims_produces(claims):
    checked = credential.check_claims(claims)
    assert checked.id == claims["id"]
    assert checked.issuer_id == "https://issuer.example.org"
    assert checked.valid_from == datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC)
    assert checked.valid_until == datetime(2028, 11, 2, 9, 30, 15, tzinfo=UTC)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(c: dict[str, Any]) -> None:
        c[key] = value

    return mutate


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(c: dict[str, Any]) -> None:
        del c[key]

    return mutate


def _swap_contexts(c: dict[str, Any]) -> None:
    c["@context"][0], c["@context"][1] = c["@context"][1], c["@context"][0]


def _non_urn_id(c: dict[str, Any]) -> None:
    c["id"] = c["jti"] = "https://issuer.example.org/credentials/1"


def _valid_until_before_valid_from(c: dict[str, Any]) -> None:
    c["validUntil"] = "2026-11-01T09:30:15Z"
    c["exp"] = int(datetime(2026, 11, 1, 9, 30, 15, tzinfo=UTC).timestamp())


MUTATIONS = [
    ("vc claim", _set("vc", {"type": ["VerifiableCredential"]}), "'vc' or 'vp'"),
    ("vp claim", _set("vp", {"type": ["VerifiablePresentation"]}), "'vc' or 'vp'"),
    ("iss differs from issuer.id", _set("iss", "https://evil.example"), "iss does not equal"),
    ("issuer missing", _delete("issuer"), "no issuer id"),
    ("issuer id not a string", _set("issuer", {"id": 42}), "no issuer id"),
    ("contexts in the wrong order", _swap_contexts, "@context"),
    (
        "extra unknown context",
        lambda c: c["@context"].append("https://evil.example/ctx.jsonld"),
        "@context",
    ),
    ("OpenBadgeCredential type missing", _set("type", ["VerifiableCredential"]), "type"),
    ("type entries not strings", _set("type", [{"x": 1}, ["y"]]), "type"),
    ("jti differs from id", _set("jti", "urn:uuid:11111111-2222-3333-4444-555555555555"), "jti"),
    ("id not a urn:uuid", _non_urn_id, "urn:uuid"),
    ("exp differs from validUntil", lambda c: c.update(exp=c["exp"] + 1), "exp"),
    ("exp missing", _delete("exp"), "exp"),
    ("exp a boolean", _set("exp", True), "exp"),
    ("validUntil before validFrom", _valid_until_before_valid_from, "before validFrom"),
    ("validFrom without time zone", _set("validFrom", "2026-11-02T09:30:15"), "time zone"),
    ("validUntil not a date", _set("validUntil", "next year"), "validUntil"),
    ("iat as an ISO string", _set("iat", "2026-11-02T09:30:15Z"), "iat"),
    ("iat a boolean", _set("iat", True), "iat"),
    ("credentialSubject not an object", _set("credentialSubject", ["Jane Doe"]), "credentialSubject"),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [pytest.param(m, msg, id=name) for name, m, msg in MUTATIONS],
)
def test_check_claims_rejects_each_single_mutation(claims, mutate, message):
    mutate(claims)
    with pytest.raises(InvalidClaims, match=message) as caught:
        credential.check_claims(claims)
    assert caught.value.code == "invalid_claims"


def test_summary_gives_the_facts_the_verifier_shows(claims):
    assert credential.summary(credential.check_claims(claims)) == {
        "id": "0b5e7d1c-3f4a-4c2e-9d8b-6a1f2e3c4d5e",
        "name": "Jane Doe",
        "profession": "RN",
        "profession_name": "Registered Nurse",
        "license": {
            "jurisdiction": "US-TX",
            "number": "RN-884512",
            "status_at_check": "active",
            "expires_on": "2027-08-31",
            "checked_on": "2026-11-01",
            "checked_source": "https://www.bon.texas.gov/",
        },
        "program": {
            "id": "botox-cosmetic-injector",
            "name": "Botulinum Toxin Cosmetic Injector Certification",
            "description": "Safe cosmetic administration of botulinum toxin type A.",
            "accreditation_body": "Example CME Accreditation Council",
            "accreditation_id": "ECAC-2026-0042",
            "cme_credits": 16.0,
        },
        "results": {
            "didactic_hours": 12.0,
            "didactic_modules": [
                "pharmacology",
                "facial_anatomy",
                "patient_assessment",
                "injection_technique",
                "complications",
                "ethics_and_consent",
            ],
            "hands_on_hours": 8.0,
            "supervised_injections": 24,
            "live_models": 4,
            "written_exam_passed_on": "2026-10-04",
            "practical_exam_passed_on": "2026-10-04",
            "practical_examiner": "Ana Ruiz, MD",
        },
        "issuer_id": "https://issuer.example.org",
        "valid_from": "2026-11-02T09:30:15Z",
        "valid_until": "2028-11-02T09:30:15Z",
    }


@pytest.mark.parametrize("training_results", ["twelve hours", ["x"], 7])
def test_summary_survives_training_results_that_are_not_an_object(claims, training_results):
    claims["credentialSubject"]["trainingResults"] = training_results
    shown = credential.summary(credential.check_claims(claims))
    assert shown["name"] == "Jane Doe"
    assert set(shown["results"].values()) == {None}


def test_check_claims_reads_an_nbf_as_not_before(claims):
    assert credential.check_claims(claims).not_before is None
    later = credential.check_claims({**claims, "nbf": claims["iat"] + 86_400})
    assert later.not_before == datetime.fromtimestamp(claims["iat"] + 86_400, UTC)


@pytest.mark.parametrize("nbf", ["tomorrow", 1.5, True, 10**30])
def test_check_claims_refuses_an_nbf_that_is_not_a_numeric_date(claims, nbf):
    with pytest.raises(InvalidClaims, match="nbf"):
        credential.check_claims({**claims, "nbf": nbf})
