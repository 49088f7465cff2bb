"""Key management (DESIGN §1, §8): RFC 7638 kids, the public JWK Set, key files at rest, rotation."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

import keys
from keys import KeyStore, KeyStoreError
from vc import jose


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "keys"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_kid_is_the_rfc7638_thumbprint_computed_by_jwcrypto(alg):
    signer = keys.generate(alg)
    public = signer.public_jwk()
    assert signer.kid == jwcrypto_jwk.JWK(**public).thumbprint()
    assert public["kid"] == signer.kid and public["alg"] == alg and public["use"] == "sig"


def test_thumbprint_of_the_rfc7517_example_ec_key_ignores_optional_members():
    # RFC 7517 appendix A.1 EC key; "use" and "kid" are not part of the RFC 7638 input.
    ec_jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
        "use": "enc",
        "kid": "1",
    }
    assert keys.thumbprint(ec_jwk) == jwcrypto_jwk.JWK(**ec_jwk).thumbprint()


def test_thumbprint_refuses_an_unsupported_key_type():
    with pytest.raises(KeyStoreError, match="unsupported key type"):
        keys.thumbprint({"kty": "oct", "k": "c2VjcmV0"})


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_published_jwk_set_never_contains_a_private_member(key_dir, alg):
    store = KeyStore(key_dir)
    store.generate(alg)
    store.generate(alg)
    published = store.public_jwks()
    assert len(published["keys"]) == 2
    for key in published["keys"]:
        assert "d" not in key
        assert set(key) >= {"kty", "crv", "x", "kid", "alg", "use"}
        jose.jwk_to_key(key)  # the verifier can use every published key


def test_jwks_refuses_to_publish_a_private_jwk():
    private = json.loads(
        jwt.get_algorithm_by_name("ES256").to_jwk(ec.generate_private_key(ec.SECP256R1()))
    )
    assert "d" in private
    with pytest.raises(KeyStoreError, match="private"):
        keys.jwks([keys.generate().public_jwk(), private])


def test_key_files_are_0600_and_the_key_directory_0700(key_dir):
    key_dir.mkdir(parents=True, mode=0o755)
    os.chmod(key_dir, 0o755)
    record = KeyStore(key_dir).generate()
    assert _mode(key_dir) == 0o700
    assert _mode(key_dir / f"{record.kid}.pem") == 0o600
    assert _mode(key_dir / f"{record.kid}.json") == 0o600
    assert sorted(p.name for p in key_dir.iterdir()) == [f"{record.kid}.json", f"{record.kid}.pem"]


def test_passphrase_encrypted_key_round_trips(key_dir):
    record = KeyStore(key_dir, passphrase="correct horse battery staple").generate()
    pem = (key_dir / f"{record.kid}.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    reloaded = KeyStore(key_dir, passphrase="correct horse battery staple").active()
    assert reloaded.kid == record.kid


def test_unencrypted_key_without_passphrase_is_plain_pkcs8(key_dir):
    record = KeyStore(key_dir).generate()
    assert (key_dir / f"{record.kid}.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_wrong_passphrase_is_a_clear_key_store_error(key_dir):
    record = KeyStore(key_dir, passphrase="right").generate()
    with pytest.raises(KeyStoreError, match=f"key {record.kid} could not be decrypted"):
        KeyStore(key_dir, passphrase="wrong").load(record.kid)


def test_encrypted_key_without_passphrase_says_to_set_it(key_dir):
    record = KeyStore(key_dir, passphrase="secret").generate()
    with pytest.raises(KeyStoreError, match="is encrypted: set ISSUER_KEY_PASSPHRASE"):
        KeyStore(key_dir).active()
    assert record.state == "active"


def test_passphrase_given_for_an_unencrypted_key_says_so(key_dir):
    record = KeyStore(key_dir).generate()
    with pytest.raises(KeyStoreError, match="not encrypted but a passphrase was given"):
        KeyStore(key_dir, passphrase="secret").load(record.kid)


def test_check_permissions_refuses_a_key_file_readable_by_others(key_dir):
    store = KeyStore(key_dir)
    record = store.generate()
    store.check_permissions()  # 0600: fine
    pem = key_dir / f"{record.kid}.pem"
    os.chmod(pem, 0o644)
    with pytest.raises(KeyStoreError, match=f"mode 644; run: chmod 600 {pem}"):
        store.check_permissions()


def test_check_permissions_refuses_a_missing_private_key_file(key_dir):
    store = KeyStore(key_dir)
    record = store.generate()
    (key_dir / f"{record.kid}.pem").unlink()
    with pytest.raises(KeyStoreError, match="missing"):
        store.check_permissions()
    with pytest.raises(KeyStoreError, match="unreadable"):
        KeyStore(key_dir).load(record.kid)


def test_generating_again_retires_the_first_key_but_keeps_it_published(key_dir):
    store = KeyStore(key_dir)
    first = store.generate()
    second = store.generate()
    states = {r.kid: r.state for r in store.records()}
    assert states == {first.kid: "retired", second.kid: "active"}
    assert store.active().kid == second.kid
    assert {k["kid"] for k in store.public_jwks()["keys"]} == {first.kid, second.kid}


def test_retire_stops_signing_and_keeps_the_key_published(key_dir):
    store = KeyStore(key_dir)
    record = store.generate()
    assert store.retire(record.kid).state == "retired"
    with pytest.raises(KeyStoreError, match="no active signing key.*issuer keys generate"):
        store.active()
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [record.kid]


def test_retire_of_an_unknown_kid_is_refused(key_dir):
    store = KeyStore(key_dir)
    store.generate()
    with pytest.raises(KeyStoreError, match="no key nope"):
        store.retire("nope")


@pytest.mark.parametrize("kid", ["../../etc/passwd", "a/b", "", "kid.json"])
def test_load_refuses_a_kid_that_is_not_a_thumbprint(key_dir, kid):
    with pytest.raises(KeyStoreError, match="not a key id"):
        KeyStore(key_dir).load(kid)


def test_empty_store_has_no_records_and_no_active_key(key_dir):
    store = KeyStore(key_dir)
    assert store.records() == []
    with pytest.raises(KeyStoreError, match="no active signing key"):
        store.active()


def test_es256_signature_verifies_with_jwcrypto_against_the_public_jwk(key_dir):
    KeyStore(key_dir).generate()
    signer = KeyStore(key_dir).active()  # reloaded from its file, as the issuer does
    token = jose.sign({"iss": "https://issuer.example.org"}, signer, typ="vc+jwt", cty="vc")
    checker = jwcrypto_jws.JWS()
    checker.deserialize(token)
    checker.verify(jwcrypto_jwk.JWK(**signer.public_jwk()), alg="ES256")
    assert json.loads(checker.payload) == {"iss": "https://issuer.example.org"}
    assert len(jose.split(token)) == 2 and len(token.split(".")[2]) == 86  # raw r||s, 64 bytes


def test_eddsa_signature_verifies_with_jwcrypto_against_the_public_jwk():
    signer = keys.generate("EdDSA")
    token = jose.sign({"n": 1}, signer, typ="vc+jwt")
    checker = jwcrypto_jws.JWS()
    checker.deserialize(token)
    checker.verify(jwcrypto_jwk.JWK(**signer.public_jwk()), alg="EdDSA")
    assert json.loads(checker.payload) == {"n": 1}


def test_pem_holding_a_different_key_than_its_kid_is_refused(key_dir):
    store = KeyStore(key_dir)
    first = store.generate()
    second = store.generate()
    shutil.copyfile(key_dir / f"{second.kid}.pem", key_dir / f"{first.kid}.pem")
    with pytest.raises(KeyStoreError, match=f"{first.kid}.pem holds a different key"):
        KeyStore(key_dir).load(first.kid)


@pytest.mark.parametrize(
    ("alg", "make_key"),
    [
        ("ES256", lambda: ec.generate_private_key(ec.SECP384R1())),
        ("EdDSA", lambda: ec.generate_private_key(ec.SECP256R1())),
        ("RS256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_signer_refuses_a_key_that_does_not_fit_its_algorithm(alg, make_key):
    with pytest.raises(KeyStoreError):
        keys.LocalSigner(make_key(), alg)


def test_generate_refuses_an_unsupported_algorithm():
    with pytest.raises(KeyStoreError, match="unsupported algorithm 'HS256'"):
        keys.generate("HS256")


def test_compromised_key_is_never_published_nor_active(key_dir):
    store = keys.KeyStore(key_dir)
    first = store.generate().kid
    second = store.generate().kid
    record = store.compromise(first)
    assert record.state == "compromised" and record.changed_at
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [second]
    store.compromise(second)
    assert store.public_jwks() == {"keys": []}
    with pytest.raises(keys.KeyStoreError, match="no active signing key"):
        store.active()
    with pytest.raises(keys.KeyStoreError, match="compromised"):
        store.retire(first)


def test_leaving_the_active_state_records_when(key_dir):
    store = keys.KeyStore(key_dir)
    first = store.generate().kid
    assert store.record(first).changed_at is None
    store.generate()
    retired = store.record(first)
    assert retired.state == "retired" and retired.changed_at is not None
    assert store.compromise(first).changed_at == retired.changed_at  # the first change counts


def test_metadata_written_before_changed_at_existed_still_loads(key_dir):
    store = keys.KeyStore(key_dir)
    kid = store.generate().kid
    meta = key_dir / f"{kid}.json"
    data = json.loads(meta.read_text())
    del data["changed_at"]
    meta.write_text(json.dumps(data))
    assert store.record(kid).changed_at is None


def test_fingerprint_changes_with_keys_and_permissions(key_dir):
    store = keys.KeyStore(key_dir)
    assert store.fingerprint() == ()
    kid = store.generate().kid
    before = store.fingerprint()
    assert before == store.fingerprint()
    (key_dir / f"{kid}.pem").chmod(0o644)
    assert store.fingerprint() != before
    (key_dir / f"{kid}.pem").chmod(0o600)
    again = store.fingerprint()
    store.generate()
    assert store.fingerprint() != again
