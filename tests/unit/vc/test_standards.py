"""Standards-exact documents, pure: JSON-LD that expands cleanly with the real contexts
(pyld, offline, vendored copies), the Open Badges 3.0 profile against 1EdTech's
AchievementCredential JSON Schema, and identifiers that are URLs where VC 2.0 expects them."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import jwt
import pytest

import keys
from tests.jsonld_offline import expand
from tests.unit.vc.conftest import CREDENTIAL_UUID, ISSUER_ID, VECTORS_DIR, fixed_credential_data
from vc import credential, jsonld, ob3, status_list
from vc.errors import InvalidClaims, UnsupportedAlgorithm

OWN_CONTEXT = {credential.context_url(ISSUER_ID): jsonld.CONTEXT_DOCUMENT}
SUBJECT = "urn:uuid:5f0c4a57-1a7e-5d0e-9f4c-2b8a1e6d3c90"
OB_SCHEMA = json.loads(
    (VECTORS_DIR / "openbadges-3.0" / "ob_v3p0_achievementcredential_schema.json").read_text("utf-8")
)


def _with_refresh_entry() -> dict[str, Any]:
    data = fixed_credential_data()
    refresh = status_list.status_entry(f"{ISSUER_ID}/status/refresh/1", "refresh", 77)
    claims = credential.build_claims(data)
    claims["credentialStatus"].append(refresh)
    return claims


def _ids(node: Any, path: str = "$") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "id":
                found.append((f"{path}.id", value))
            found += _ids(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _ids(item, f"{path}[{i}]")
    return found


def _is_url(value: Any) -> bool:
    if not isinstance(value, str) or re.search(r"\s", value):
        return False
    parts = urlsplit(value)
    return bool(re.fullmatch(r"[a-z][a-z0-9+.-]*", parts.scheme)) and bool(parts.netloc or parts.path)


def _profile() -> dict[str, Any]:
    return ob3.profile_claims(
        _with_refresh_entry(), subject_id=SUBJECT, refresh_url=f"{ISSUER_ID}/credentials/x/ob3/refresh"
    )


# --- JSON-LD -------------------------------------------------------------------------------------


def test_credential_expands_with_no_undefined_or_dropped_term() -> None:
    expanded = expand(_with_refresh_entry(), OWN_CONTEXT)
    flat = json.dumps(expanded)
    assert "https://www.iana.org/assignments/jwt#jti" in flat  # jti is kept, not dropped
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#1EdTechCredentialRefresh" in flat


def test_the_context_before_this_change_dropped_jti() -> None:
    """The checker is not blind: the served context without ``jti`` loses the claim."""
    older = json.loads(json.dumps(jsonld.CONTEXT_DOCUMENT))
    del older["@context"]["jti"]
    with pytest.raises(AssertionError, match="'jti' was dropped"):
        expand(_with_refresh_entry(), {credential.context_url(ISSUER_ID): older})


def test_a_credential_signed_before_accreditation_identifier_still_expands() -> None:
    claims = _with_refresh_entry()
    claims["credentialSubject"]["achievement"]["accreditation"] = {"body": "B", "id": "ECAC-2026-0042"}
    expand(claims, OWN_CONTEXT)


def test_status_list_credential_expands_with_no_undefined_or_dropped_term() -> None:
    url = f"{ISSUER_ID}/status/revocation/1"
    payload = status_list.list_credential(
        issuer={"id": ISSUER_ID, "type": ["Profile"], "name": "Demo"},
        list_url=url,
        purpose="revocation",
        bits=status_list.BitstringStatusList(),
        valid_from="2026-11-02T09:30:15Z",
        valid_until="2026-11-09T09:30:15Z",
        ttl_ms=300_000,
        context=[credential.VC_V2_CONTEXT, credential.OB_CONTEXT, credential.context_url(ISSUER_ID)],
    )
    payload.update(iss=ISSUER_ID, iat=1793611815, exp=1794216615, jti=url)
    expand(payload, OWN_CONTEXT)


def test_status_list_with_only_the_base_context_leaves_profile_and_jti_undefined() -> None:
    payload = {
        "@context": [credential.VC_V2_CONTEXT],
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": ISSUER_ID, "type": ["Profile"]},
        "jti": ISSUER_ID + "/status/revocation/1",
    }
    with pytest.raises(AssertionError) as failure:
        expand(payload)
    assert "'jti' was dropped" in str(failure.value) and "type 'Profile' is undefined" in str(failure.value)


def test_ob3_profile_and_the_context_itself_expand_cleanly() -> None:
    expand(_profile(), OWN_CONTEXT)
    expand(jsonld.CONTEXT_DOCUMENT)  # a context document expands to nothing, without error


# --- VC 2.0 data model: identifiers are URLs -----------------------------------------------------


@pytest.mark.parametrize("document", ["credential", "ob3"])
def test_every_id_is_a_url(document: str) -> None:
    claims = _with_refresh_entry() if document == "credential" else _profile()
    ids = _ids(claims)
    assert ids and all(_is_url(value) for _, value in ids), [i for i in ids if not _is_url(i[1])]
    accreditation = claims["credentialSubject"]["achievement"]["accreditation"]
    assert accreditation == {"body": "Example CME Accreditation Council", "identifier": "ECAC-2026-0042"}


def test_summary_reads_the_accreditation_reference_in_either_shape() -> None:
    claims = _with_refresh_entry()
    checked = credential.check_claims(claims)
    assert credential.summary(checked)["program"]["accreditation_id"] == "ECAC-2026-0042"
    claims["credentialSubject"]["achievement"]["accreditation"] = {"body": "B", "id": "OLD-1"}
    assert credential.summary(credential.check_claims(claims))["program"]["accreditation_id"] == "OLD-1"


def test_reissue_shape_renames_accreditation_id_and_points_refresh_at_the_new_id() -> None:
    old = _with_refresh_entry()
    old["credentialSubject"]["achievement"]["accreditation"] = {"body": "B", "id": "OLD-1"}
    del old["refreshService"]
    new = credential.with_current_shape(old, ISSUER_ID, "11111111-2222-4333-8444-555555555555")
    assert new["credentialSubject"]["achievement"]["accreditation"] == {"body": "B", "identifier": "OLD-1"}
    assert new["refreshService"] == {
        "id": f"{ISSUER_ID}/credentials/11111111-2222-4333-8444-555555555555/refresh",
        "type": "1EdTechCredentialRefresh",
    }
    assert "id" in old["credentialSubject"]["achievement"]["accreditation"]  # input untouched


# --- Open Badges 3.0 -----------------------------------------------------------------------------


def test_primary_credential_fails_the_ob_schema_for_its_status_array() -> None:
    """Why a separate profile exists: 1EdTech's schema allows one credentialStatus object."""
    errors = list(jsonschema.Draft201909Validator(OB_SCHEMA).iter_errors(_with_refresh_entry()))
    assert any(list(e.absolute_path)[:1] == ["credentialStatus"] for e in errors)


def test_ob3_profile_validates_against_the_1edtech_achievementcredential_schema() -> None:
    validator = jsonschema.Draft201909Validator(OB_SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_profile())]
    assert errors == []


def test_ob3_profile_follows_the_1edtech_jwt_claim_rules() -> None:
    claims = _profile()
    assert claims["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        f"{ISSUER_ID}/contexts/botox-credentials-v1.jsonld",
    ]
    assert claims["iss"] == claims["issuer"]["id"] == ISSUER_ID
    assert claims["jti"] == claims["id"] == f"urn:uuid:{CREDENTIAL_UUID}"
    assert claims["sub"] == claims["credentialSubject"]["id"] == SUBJECT
    assert claims["nbf"] == 1793611815 and claims["exp"] == 1856770215  # validFrom, validUntil
    assert "iat" not in claims
    status = claims["credentialStatus"]
    assert isinstance(status, dict) and status["statusPurpose"] == "revocation"
    assert status["statusListIndex"] == "94567"
    assert claims["refreshService"]["id"].endswith("/ob3/refresh")


def test_ob3_jwt_header_is_alg_typ_jwt_and_a_kid_url_only() -> None:
    signer = keys.generate("ES256")
    key_url = f"{ISSUER_ID}/keys/{signer.kid}"
    token = ob3.sign(_profile(), signer, key_url=key_url)
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT", "kid": key_url}
    decoded = jwt.decode(
        token, jwt.PyJWK(signer.public_jwk()).key, algorithms=["ES256"],
        options={"verify_exp": False, "verify_nbf": False, "verify_sub": True, "verify_jti": True},
    )
    assert decoded["sub"] == SUBJECT


def test_ob3_refuses_a_key_the_profile_does_not_name() -> None:
    with pytest.raises(UnsupportedAlgorithm, match="ES256"):
        ob3.sign(_profile(), keys.generate("EdDSA"), key_url="https://x/keys/1")


def test_ob3_profile_needs_a_revocation_entry() -> None:
    claims = _with_refresh_entry()
    claims["credentialStatus"] = [e for e in claims["credentialStatus"] if e["statusPurpose"] != "revocation"]
    with pytest.raises(InvalidClaims, match="revocation"):
        ob3.profile_claims(claims, subject_id=SUBJECT)
