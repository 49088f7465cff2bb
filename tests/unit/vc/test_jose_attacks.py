"""The attack catalogue (DESIGN §8, standards.md §9, RFC 8725) against vc.jose.verify.

Every forged token below is signed correctly unless the attack is the signature itself, so
each test proves that the named check (not some other one) stops it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.api_jwk import PyJWK

from vc import credential, jose
from vc._json import b64url_decode, b64url_encode, compact_json
from vc.errors import (
    BadSignature,
    CredentialError,
    ForbiddenHeader,
    InvalidClaims,
    MalformedToken,
    UnknownKey,
    UnsupportedAlgorithm,
    WrongType,
)

TYP = "vc+jwt"


def _header(signer: Any, **changes: Any) -> dict[str, Any]:
    header = {"alg": signer.alg, "typ": TYP, "cty": "vc", "kid": signer.kid}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not None}


def _verify(token: object, key_for: Any, algorithms: tuple[str, ...] = ("ES256",)) -> Any:
    return jose.verify(token, typ=TYP, algorithms=algorithms, key_for=key_for)


def test_genuine_token_verifies_and_returns_header_and_payload(claims, es256_signer, key_for):
    token = jose.sign(claims, es256_signer, typ=TYP, cty="vc")
    verified = _verify(token, key_for)
    assert verified.payload == claims
    assert verified.header["kid"] == es256_signer.kid


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"\x00"], ids=["empty-signature", "junk-signature"])
def test_alg_none_is_refused_even_if_the_caller_allows_it(
    claims, es256_signer, key_for, forge, alg, signature
):
    token = forge(_header(es256_signer, alg=alg), claims, signature=signature)
    for algorithms in (("ES256",), ("ES256", "none", alg)):
        with pytest.raises((UnsupportedAlgorithm, MalformedToken)):
            _verify(token, key_for, algorithms)


def test_hs256_keyed_with_the_issuers_public_key_pem_is_refused(
    claims, es256_signer, key_for, forge
):
    public_pem = (
        key_for(es256_signer.kid)
        .key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    header = _header(es256_signer, alg="HS256")
    signing_input = f"{b64url_encode(compact_json(header))}.{b64url_encode(compact_json(claims))}"
    mac = hmac.new(public_pem, signing_input.encode("ascii"), hashlib.sha256).digest()
    token = forge(header, claims, signature=mac)
    for algorithms in (("ES256",), ("ES256", "HS256")):  # even a misconfigured allow-list
        with pytest.raises(UnsupportedAlgorithm, match="HS256"):
            _verify(token, key_for, algorithms)


def test_unknown_kid_is_refused(claims, key_for):
    from keys import generate

    stranger = generate("ES256")  # a valid signature, but by a key the issuer never published
    token = jose.sign(claims, stranger, typ=TYP, cty="vc")
    with pytest.raises(UnknownKey, match=stranger.kid):
        _verify(token, key_for)


@pytest.mark.parametrize(
    "kid",
    [None, "", 7, "k" * 129],
    ids=["missing", "empty", "not-a-string", "too-long"],
)
def test_unusable_kid_is_refused_without_a_key_lookup(claims, es256_signer, forge, kid):
    token = forge(_header(es256_signer, kid=kid), claims, es256_signer)

    def must_not_be_called(_kid: str) -> PyJWK | None:
        raise AssertionError("key lookup with an unusable kid")

    with pytest.raises(UnknownKey, match="no usable kid"):
        _verify(token, must_not_be_called)


def test_payload_with_one_byte_changed_keeps_no_valid_signature(claims, es256_signer, key_for):
    token = jose.sign(claims, es256_signer, typ=TYP, cty="vc")
    head, body, signature = token.split(".")
    raw = b64url_decode(body)
    tampered = raw.replace(b'"Jane Doe"', b'"Jane Dow"', 1)
    assert len(tampered) == len(raw) and sum(a != b for a, b in zip(raw, tampered, strict=True)) == 1
    with pytest.raises(BadSignature):
        _verify(f"{head}.{b64url_encode(tampered)}.{signature}", key_for)


def test_signature_from_another_token_is_refused(claims, es256_signer, key_for):
    token = jose.sign(claims, es256_signer, typ=TYP, cty="vc")
    other = jose.sign({**claims, "iat": claims["iat"] + 1}, es256_signer, typ=TYP, cty="vc")
    with pytest.raises(BadSignature):
        _verify(".".join([*token.split(".")[:2], other.split(".")[2]]), key_for)


@pytest.mark.parametrize(
    "typ",
    ["JWT", None, "vc+sd-jwt", "dc+sd-jwt", "application/vc+jwt", "VC+JWT", "vp+jwt"],
)
def test_wrong_or_missing_typ_is_refused(claims, es256_signer, key_for, forge, typ):
    token = forge(_header(es256_signer, typ=typ), claims, es256_signer)
    with pytest.raises(WrongType, match="typ"):
        _verify(token, key_for)


def test_vc_claim_in_the_payload_is_rejected_by_check_claims(claims, es256_signer, key_for):
    token = jose.sign({**claims, "vc": {"credentialSubject": {}}}, es256_signer, typ=TYP)
    payload = _verify(token, key_for).payload  # the signature is fine ...
    with pytest.raises(InvalidClaims, match="'vc'"):  # ... the VC 1.1 shape is not
        credential.check_claims(payload)


def test_iss_different_from_issuer_id_is_rejected_by_check_claims(claims, es256_signer, key_for):
    token = jose.sign({**claims, "iss": "https://evil.example"}, es256_signer, typ=TYP)
    payload = _verify(token, key_for).payload
    with pytest.raises(InvalidClaims, match="iss does not equal issuer.id"):
        credential.check_claims(payload)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jku", "https://evil.example/jwks.json"),
        ("x5u", "https://evil.example/cert.pem"),
        ("x5c", ["MIIB..."]),
        ("crit", ["exp"]),
        ("zip", "DEF"),
        ("b64", False),
    ],
)
def test_key_url_and_critical_headers_are_refused(
    claims, es256_signer, key_for, forge, name, value
):
    token = forge(_header(es256_signer, **{name: value}), claims, es256_signer)
    with pytest.raises(ForbiddenHeader, match=name):
        _verify(token, key_for)


@pytest.mark.parametrize("claimed_kid", ["attacker", "issuer"])
def test_embedded_jwk_header_is_refused(claims, es256_signer, key_for, forge, claimed_kid):
    from keys import generate

    attacker = generate("ES256")
    kid = attacker.kid if claimed_kid == "attacker" else es256_signer.kid
    header = _header(attacker, kid=kid, jwk=attacker.public_jwk())
    token = forge(header, claims, attacker)
    with pytest.raises(ForbiddenHeader, match="jwk"):
        _verify(token, key_for)


def test_eddsa_token_is_refused_when_only_es256_is_allowed(claims, eddsa_signer, key_for):
    token = jose.sign(claims, eddsa_signer, typ=TYP, cty="vc")
    with pytest.raises(UnsupportedAlgorithm, match="EdDSA"):
        _verify(token, key_for, ("ES256",))
    assert _verify(token, key_for, ("EdDSA",)).payload == claims  # configured: accepted


def test_allow_list_outside_the_supported_algorithms_accepts_nothing(claims, es256_signer, key_for):
    token = jose.sign(claims, es256_signer, typ=TYP)
    with pytest.raises(UnsupportedAlgorithm):
        _verify(token, key_for, ("RS256", "HS256", "ES384"))


def test_key_bound_to_a_different_alg_than_the_header_is_refused(
    claims, es256_signer, eddsa_signer, key_for, forge
):
    # header says ES256 but names the issuer's EdDSA key
    token = forge(_header(es256_signer, kid=eddsa_signer.kid), claims, es256_signer)
    with pytest.raises(UnsupportedAlgorithm, match="is for EdDSA"):
        _verify(token, key_for, ("ES256", "EdDSA"))


def test_oversized_token_is_refused_before_any_parsing(
    claims, es256_signer, key_for, monkeypatch
):
    token = jose.sign({**claims, "padding": "x" * jose.MAX_TOKEN_CHARS}, es256_signer, typ=TYP)
    assert len(token) > jose.MAX_TOKEN_CHARS

    def no_parsing(*_args: object) -> Any:
        raise AssertionError("an oversized token was parsed")

    monkeypatch.setattr(jose, "b64url_decode", no_parsing)
    monkeypatch.setattr(jose, "strict_json_object", no_parsing)
    with pytest.raises(MalformedToken, match=f"longer than {jose.MAX_TOKEN_CHARS}"):
        _verify(token, no_parsing)


@pytest.mark.parametrize(
    "shape",
    ["json-general", "json-flattened", "four-parts", "five-parts-jwe", "whitespace", "padding",
     "dict", "bytes", "empty-part"],
)
def test_non_compact_input_is_refused(claims, es256_signer, key_for, shape):
    token = jose.sign(claims, es256_signer, typ=TYP)
    head, body, sig = token.split(".")
    candidates: dict[str, object] = {
        "json-general": json.dumps(
            {"payload": body, "signatures": [{"protected": head, "signature": sig}]}
        ),
        "json-flattened": json.dumps({"payload": body, "protected": head, "signature": sig}),
        "four-parts": f"{token}.{sig}",
        "five-parts-jwe": f"{head}.{body}.{body}.{body}.{sig}",
        "whitespace": f"{head}.\n{body}.{sig}",
        "padding": f"{head}=.{body}.{sig}",
        "dict": {"credential": token},
        "bytes": token.encode("ascii"),
        "empty-part": f"{head}..{sig}",
    }
    with pytest.raises(MalformedToken):
        _verify(candidates[shape], key_for)


@pytest.mark.parametrize("part", ["header", "payload"])
def test_duplicate_json_member_is_refused(claims, es256_signer, key_for, forge, part):
    if part == "payload":
        raw = compact_json(claims)[:-1] + b',"iss":"https://evil.example"}'
        token = forge(_header(es256_signer), raw, es256_signer)
    else:
        header = compact_json(_header(es256_signer))[:-1] + b',"typ":"JWT"}'
        signing_input = f"{b64url_encode(header)}.{b64url_encode(compact_json(claims))}"
        signature = es256_signer.sign(signing_input.encode("ascii"))
        token = f"{signing_input}.{b64url_encode(signature)}"
    with pytest.raises(MalformedToken, match="duplicate JSON member"):
        _verify(token, key_for)


@pytest.mark.parametrize(
    "raw",
    [b'{"name":"Jane \xff Doe"}', b'{"name":"Jos\xe9"}', b'\xef\xbb\xbf{"name":"bom"}'],
    ids=["invalid-byte", "latin-1", "utf-8-bom"],
)
def test_payload_that_is_not_utf8_json_is_refused(es256_signer, key_for, forge, raw):
    token = forge(_header(es256_signer), raw, es256_signer)
    with pytest.raises(MalformedToken):
        _verify(token, key_for)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"n":' + b"9" * 5000 + b"}",  # beyond Python's int-digits limit (ValueError)
        b'{"n":' + b"[" * 3000 + b"]" * 3000 + b"}",  # beyond the recursion limit
        b'{"n":NaN}',
        b"[1,2,3]",
    ],
    ids=["huge-integer", "deep-nesting", "nan", "array-not-object"],
)
def test_hostile_json_is_a_malformed_token_not_a_crash(es256_signer, key_for, forge, raw):
    token = forge(_header(es256_signer), raw, es256_signer)
    assert len(token) <= jose.MAX_TOKEN_CHARS
    with pytest.raises(MalformedToken):
        _verify(token, key_for)


def test_private_or_foreign_published_keys_are_not_usable(es256_signer):
    private_key = ec.generate_private_key(ec.SECP256R1())
    private = json.loads(jwt.get_algorithm_by_name("ES256").to_jwk(private_key))
    with pytest.raises(UnknownKey, match="private"):
        jose.jwk_to_key({**private, "alg": "ES256"})
    with pytest.raises(UnknownKey, match="unsupported alg"):
        jose.jwk_to_key({**es256_signer.public_jwk(), "alg": "HS256"})
    with pytest.raises(UnknownKey, match="not usable"):
        jose.jwk_to_key({"kty": "oct", "k": "c2VjcmV0", "alg": "ES256"})


# --- W3C vc-jose-cose-test-suite vectors --------------------------------------------------

#: For each JOSE credential case: does its JWS signature verify with the listed key?
#: (bad-media-type and vc-vp-claims are correctly signed: they fail on typ and on claims.)
JOSE_CASES = {
    "credential-jose-minimal.txt": True,
    "credential-issuer-match-signed.txt": True,
    "credential-jose-unknown-extensions.txt": False,  # ES512, signed by a key not listed
    "credential-jose-bad-signature.txt": False,
    "credential-jose-bad-media-type.txt": True,
    "credential-jose-vc-vp-claims.txt": True,
}


def _suite_cases(vectors_dir: Path) -> dict[str, dict[str, str]]:
    expected = json.loads(
        (vectors_dir / "vc-jose-cose-test-suite" / "expected-results.json").read_text("utf-8")
    )
    return {case["input_file"]: case for case in expected["cases"].values()}


def _suite_key(vectors_dir: Path, key_file: str) -> PyJWK:
    jwks = json.loads(
        (vectors_dir / "vc-jose-cose-test-suite" / key_file.replace(".json", ".jwks.json"))
        .read_text("utf-8")
    )
    (jwk,) = jwks["keys"]
    return PyJWK(jwk, algorithm=jwk["alg"])


@pytest.mark.parametrize(("input_file", "signature_valid"), sorted(JOSE_CASES.items()))
def test_w3c_suite_jose_credential_signatures(vectors_dir, input_file, signature_valid):
    """Signature alone (their ``iat`` is an ISO string, so not a valid JWT), as a bare JWS."""
    case = _suite_cases(vectors_dir)[input_file]
    key = _suite_key(vectors_dir, case["key_file"])
    token = (vectors_dir / "vc-jose-cose-test-suite" / input_file).read_text("ascii").strip()
    try:
        jwt.api_jws.PyJWS().decode_complete(token, key=key.key, algorithms=[key.algorithm_name])
        verified = True
    except jwt.PyJWTError:
        verified = False
    assert verified is signature_valid
    header = jwt.get_unverified_header(token)
    payload = json.loads(b64url_decode(token.split(".")[1]))
    acceptable = verified and header.get("typ") == TYP and not {"vc", "vp"} & set(payload)
    assert acceptable is (case["expected_result"] == "success")


def _suite_verify(vectors_dir: Path, input_file: str) -> jose.Verified:
    case = _suite_cases(vectors_dir)[input_file]
    key = _suite_key(vectors_dir, case["key_file"])
    token = (vectors_dir / "vc-jose-cose-test-suite" / input_file).read_text("utf-8").strip()
    return jose.verify(
        token,
        typ=TYP,
        algorithms=["ES256", "EdDSA"],
        key_for=lambda kid: key if kid == key.key_id else None,
    )


def test_w3c_suite_minimal_credential_passes_our_verify(vectors_dir):
    verified = _suite_verify(vectors_dir, "credential-jose-minimal.txt")
    assert verified.header["typ"] == TYP
    assert verified.payload["issuer"] == "https://example.issuer/vc-jose-cose"


@pytest.mark.parametrize(
    ("input_file", "error"),
    [
        ("credential-jose-bad-media-type.txt", WrongType),
        ("credential-jose-bad-signature.txt", BadSignature),
        ("credential-jose-unknown-extensions.txt", UnsupportedAlgorithm),
        ("credential-minimal.json", MalformedToken),  # unsecured credential, not a JWS
    ],
)
def test_w3c_suite_failure_cases_are_refused_by_our_verify(vectors_dir, input_file, error):
    with pytest.raises(error):
        _suite_verify(vectors_dir, input_file)


def test_w3c_suite_vc_vp_claims_case_is_refused_by_check_claims(vectors_dir):
    payload = _suite_verify(vectors_dir, "credential-jose-vc-vp-claims.txt").payload
    with pytest.raises(InvalidClaims, match="'vc' or 'vp'"):
        credential.check_claims(payload)


def test_w3c_suite_sd_jwt_cases_are_out_of_scope(vectors_dir):
    sd_jwt = [f for f in _suite_cases(vectors_dir) if "sdjwt" in f]
    assert sd_jwt, "the suite lists SD-JWT cases"
    pytest.skip(f"{len(sd_jwt)} SD-JWT cases skipped: this system issues vc+jwt only (DESIGN §2)")


def test_every_refusal_is_a_credential_error():
    """Callers catch one base class; each code is distinct so the API can return it."""
    classes = [MalformedToken, UnsupportedAlgorithm, WrongType, ForbiddenHeader, UnknownKey,
               BadSignature, InvalidClaims]
    assert all(issubclass(c, CredentialError) for c in classes)
    assert len({c.code for c in classes}) == len(classes)
