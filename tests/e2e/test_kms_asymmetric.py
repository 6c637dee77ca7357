"""KMS asymmetric and HMAC keys: Sign/Verify, GetPublicKey, RSA-OAEP Encrypt/Decrypt,
GenerateMac/VerifyMac, DeriveSharedSecret and GenerateDataKeyPair(WithoutPlaintext).

Every signature, public key, shared secret and key pair Moat hands out is checked with the
`cryptography` package, independently of Moat.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from support import ACCOUNT_ID, REGION, allow, make_caller, policy_doc, raises_aws

RSA_SIZES = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
CURVES = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
RSA_SIGNING = [
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
]
EC_SIGNING = {
    "ECC_NIST_P256": ["ECDSA_SHA_256"],
    "ECC_NIST_P384": ["ECDSA_SHA_384"],
    "ECC_NIST_P521": ["ECDSA_SHA_512"],
    "ECC_SECG_P256K1": ["ECDSA_SHA_256"],
}
HMAC = {
    "HMAC_224": ("HMAC_SHA_224", 28),
    "HMAC_256": ("HMAC_SHA_256", 32),
    "HMAC_384": ("HMAC_SHA_384", 48),
    "HMAC_512": ("HMAC_SHA_512", 64),
}
# Every (spec, usage) pair CreateKey accepts for asymmetric and HMAC specs.
COMBOS = (
    [(s, u) for s in RSA_SIZES for u in ("ENCRYPT_DECRYPT", "SIGN_VERIFY")]
    + [(s, "SIGN_VERIFY") for s in CURVES]
    + [(s, "KEY_AGREEMENT") for s in ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521")]
    + [(s, "GENERATE_VERIFY_MAC") for s in HMAC]
)
DATA_KEY_PAIR_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", *CURVES]


def expected_algorithms(spec: str, usage: str) -> dict[str, list[str]]:
    out = {}
    if usage == "ENCRYPT_DECRYPT":
        out["EncryptionAlgorithms"] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    if usage == "SIGN_VERIFY":
        out["SigningAlgorithms"] = RSA_SIGNING if spec in RSA_SIZES else EC_SIGNING[spec]
    if usage == "KEY_AGREEMENT":
        out["KeyAgreementAlgorithms"] = ["ECDH"]
    if usage == "GENERATE_VERIFY_MAC":
        out["MacAlgorithms"] = [HMAC[spec][0]]
    return out


def hash_of(algorithm: str) -> hashes.HashAlgorithm:
    return {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[algorithm[-3:]]()


def digest(algorithm: str, message: bytes) -> bytes:
    return hashlib.new(hash_of(algorithm).name, message).digest()


def verify_locally(public, algorithm: str, message: bytes, signature: bytes, prehashed: bool):
    """Raises InvalidSignature unless `signature` is `algorithm` over `message` (or over the
    digest `message` when `prehashed`)."""
    h = hash_of(algorithm)
    chosen = utils.Prehashed(h) if prehashed else h
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(chosen))
    elif algorithm.startswith("RSASSA_PSS"):
        # KMS uses a salt as long as the hash.
        public.verify(
            signature,
            message,
            padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size),
            chosen,
        )
    else:
        public.verify(signature, message, padding.PKCS1v15(), chosen)


def arn_of(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


@pytest.fixture(scope="module")
def keys(kms):
    """One key per (spec, usage), created once: RSA_4096 generation is slow."""
    made = {}
    for spec, usage in COMBOS:
        meta = kms.create_key(
            KeySpec=spec, KeyUsage=usage, Description="e2e asymmetric"
        )["KeyMetadata"]
        made[(spec, usage)] = meta["KeyId"]
    yield made
    for key_id in made.values():
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


@pytest.fixture(scope="module")
def symmetric(kms):
    key_id = kms.create_key(Description="e2e data key pairs")["KeyMetadata"]["KeyId"]
    yield key_id
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def public_key(kms, key_id: str):
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    return serialization.load_der_public_key(der)


# --- CreateKey, DescribeKey, GetPublicKey ---------------------------------------------------


@pytest.mark.parametrize("spec,usage", COMBOS)
def test_describe_key_lists_the_algorithms_of_spec_and_usage(kms, keys, spec, usage):
    meta = kms.describe_key(KeyId=keys[(spec, usage)])["KeyMetadata"]
    assert meta["KeySpec"] == spec
    assert meta["CustomerMasterKeySpec"] == spec
    assert meta["KeyUsage"] == usage
    assert meta["KeyState"] == "Enabled"
    expected = expected_algorithms(spec, usage)
    for field in (
        "EncryptionAlgorithms",
        "SigningAlgorithms",
        "KeyAgreementAlgorithms",
        "MacAlgorithms",
    ):
        assert sorted(meta.get(field, [])) == sorted(expected.get(field, [])), field


@pytest.mark.parametrize("spec,usage", [c for c in COMBOS if not c[0].startswith("HMAC")])
def test_get_public_key_is_the_der_spki_of_the_key(kms, keys, spec, usage):
    key_id = keys[(spec, usage)]
    out = kms.get_public_key(KeyId=key_id)
    assert out["KeyId"] == arn_of(key_id)
    assert out["KeySpec"] == spec
    assert out["CustomerMasterKeySpec"] == spec
    assert out["KeyUsage"] == usage
    expected = expected_algorithms(spec, usage)
    for field in ("EncryptionAlgorithms", "SigningAlgorithms", "KeyAgreementAlgorithms"):
        assert sorted(out.get(field, [])) == sorted(expected.get(field, [])), field
    public = serialization.load_der_public_key(out["PublicKey"])
    # The DER is exactly the SubjectPublicKeyInfo, re-encoded identically.
    assert (
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == out["PublicKey"]
    )
    if spec in RSA_SIZES:
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == RSA_SIZES[spec]
        assert public.public_numbers().e == 65537
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert isinstance(public.curve, CURVES[spec])


def test_get_public_key_refuses_symmetric_and_hmac_keys(kms, keys, symmetric):
    for key_id in (symmetric, keys[("HMAC_256", "GENERATE_VERIFY_MAC")]):
        with raises_aws("UnsupportedOperationException", 400):
            kms.get_public_key(KeyId=key_id)


# --- Sign and Verify ------------------------------------------------------------------------


SIGNING_CASES = [("RSA_2048", a) for a in RSA_SIGNING] + [
    ("RSA_3072", "RSASSA_PSS_SHA_256"),
    ("RSA_4096", "RSASSA_PKCS1_V1_5_SHA_512"),
] + [(spec, a) for spec, algs in EC_SIGNING.items() for a in algs]


@pytest.mark.parametrize("spec,algorithm", SIGNING_CASES)
def test_sign_raw_and_digest_verify_locally_and_in_moat(kms, keys, spec, algorithm):
    key_id = keys[(spec, "SIGN_VERIFY")]
    public = public_key(kms, key_id)
    message = b"moat asymmetric e2e " + spec.encode() + b" " + os.urandom(8)

    raw = kms.sign(KeyId=key_id, Message=message, SigningAlgorithm=algorithm)
    assert raw["KeyId"] == arn_of(key_id)
    assert raw["SigningAlgorithm"] == algorithm
    verify_locally(public, algorithm, message, raw["Signature"], prehashed=False)
    with pytest.raises(InvalidSignature):
        verify_locally(public, algorithm, message + b"!", raw["Signature"], prehashed=False)

    d = digest(algorithm, message)
    signed = kms.sign(
        KeyId=key_id, Message=d, MessageType="DIGEST", SigningAlgorithm=algorithm
    )
    assert signed["SigningAlgorithm"] == algorithm
    verify_locally(public, algorithm, d, signed["Signature"], prehashed=True)
    # A DIGEST signature is a signature of the message whose digest it is.
    verify_locally(public, algorithm, message, signed["Signature"], prehashed=False)

    ok = kms.verify(
        KeyId=key_id,
        Message=message,
        Signature=signed["Signature"],
        SigningAlgorithm=algorithm,
    )
    assert ok["SignatureValid"] is True
    assert ok["KeyId"] == arn_of(key_id)
    assert ok["SigningAlgorithm"] == algorithm
    assert kms.verify(
        KeyId=key_id,
        Message=d,
        MessageType="DIGEST",
        Signature=raw["Signature"],
        SigningAlgorithm=algorithm,
    )["SignatureValid"] is True

    with raises_aws("KMSInvalidSignatureException", 400):
        kms.verify(
            KeyId=key_id,
            Message=message + b"tampered",
            Signature=raw["Signature"],
            SigningAlgorithm=algorithm,
        )


def test_verify_accepts_a_signature_made_outside_kms_only_with_the_right_key(kms, keys):
    key_id = keys[("ECC_NIST_P256", "SIGN_VERIFY")]
    outsider = ec.generate_private_key(ec.SECP256R1())
    message = b"not signed by kms"
    signature = outsider.sign(message, ec.ECDSA(hashes.SHA256()))
    with raises_aws("KMSInvalidSignatureException", 400):
        kms.verify(
            KeyId=key_id, Message=message, Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
        )
    with raises_aws("KMSInvalidSignatureException", 400):
        kms.verify(
            KeyId=key_id, Message=message, Signature=b"\x00" * 8, SigningAlgorithm="ECDSA_SHA_256"
        )


def test_sign_refusals(kms, keys):
    p256 = keys[("ECC_NIST_P256", "SIGN_VERIFY")]
    rsa_sign = keys[("RSA_2048", "SIGN_VERIFY")]
    # An algorithm the key spec does not list.
    with raises_aws("InvalidKeyUsageException", 400, "ECDSA_SHA_384"):
        kms.sign(KeyId=p256, Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    with raises_aws("InvalidKeyUsageException", 400):
        kms.sign(KeyId=rsa_sign, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    with raises_aws("InvalidKeyUsageException", 400):
        kms.verify(
            KeyId=p256, Message=b"m", Signature=b"\x01" * 70, SigningAlgorithm="RSASSA_PSS_SHA_256"
        )
    # A key whose usage is not SIGN_VERIFY.
    for key_id in (
        keys[("RSA_2048", "ENCRYPT_DECRYPT")],
        keys[("ECC_NIST_P256", "KEY_AGREEMENT")],
        keys[("HMAC_256", "GENERATE_VERIFY_MAC")],
    ):
        with raises_aws("InvalidKeyUsageException", 400):
            kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    # A digest of the wrong length for the algorithm.
    for length in (31, 33, 48):
        with raises_aws("ValidationException", 400):
            kms.sign(
                KeyId=p256,
                Message=b"\x01" * length,
                MessageType="DIGEST",
                SigningAlgorithm="ECDSA_SHA_256",
            )
    with raises_aws("ValidationException", 400):
        kms.verify(
            KeyId=rsa_sign,
            Message=b"\x01" * 32,
            MessageType="DIGEST",
            Signature=b"\x01" * 256,
            SigningAlgorithm="RSASSA_PSS_SHA_512",
        )
    # Messages are at most 4096 bytes.
    kms.sign(KeyId=p256, Message=b"a" * 4096, SigningAlgorithm="ECDSA_SHA_256")
    with raises_aws("ValidationException", 400):
        kms.sign(KeyId=p256, Message=b"a" * 4097, SigningAlgorithm="ECDSA_SHA_256")


# --- RSA encryption -------------------------------------------------------------------------


def oaep(algorithm: str) -> padding.OAEP:
    h = hashes.SHA1() if algorithm == "RSAES_OAEP_SHA_1" else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


@pytest.mark.parametrize("spec", list(RSA_SIZES))
@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encryption_with_the_public_key_decrypts_in_moat(kms, keys, spec, algorithm):
    key_id = keys[(spec, "ENCRYPT_DECRYPT")]
    public = public_key(kms, key_id)
    plaintext = os.urandom(100)
    blob = public.encrypt(plaintext, oaep(algorithm))
    out = kms.decrypt(KeyId=key_id, CiphertextBlob=blob, EncryptionAlgorithm=algorithm)
    assert out["Plaintext"] == plaintext
    assert out["KeyId"] == arn_of(key_id)
    assert out["EncryptionAlgorithm"] == algorithm

    # And Moat's own ciphertext: a raw OAEP block of the modulus length, decrypting only
    # with the algorithm that made it.
    mine = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionAlgorithm=algorithm)
    assert mine["KeyId"] == arn_of(key_id)
    assert mine["EncryptionAlgorithm"] == algorithm
    assert len(mine["CiphertextBlob"]) == RSA_SIZES[spec] // 8
    back = kms.decrypt(
        KeyId=key_id, CiphertextBlob=mine["CiphertextBlob"], EncryptionAlgorithm=algorithm
    )
    assert back["Plaintext"] == plaintext
    other = "RSAES_OAEP_SHA_256" if algorithm == "RSAES_OAEP_SHA_1" else "RSAES_OAEP_SHA_1"
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(KeyId=key_id, CiphertextBlob=mine["CiphertextBlob"], EncryptionAlgorithm=other)


def test_rsa_encryption_refusals(kms, keys):
    key_id = keys[("RSA_2048", "ENCRYPT_DECRYPT")]
    # Without EncryptionAlgorithm the default SYMMETRIC_DEFAULT applies, and an RSA key
    # refuses it.
    with raises_aws("InvalidKeyUsageException", 400, "SYMMETRIC_DEFAULT"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with raises_aws("InvalidKeyUsageException", 400):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    # OAEP limits for RSA_2048: 214 bytes with SHA-1, 190 with SHA-256.
    kms.encrypt(KeyId=key_id, Plaintext=b"a" * 214, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    with raises_aws("ValidationException", 400):
        kms.encrypt(KeyId=key_id, Plaintext=b"a" * 215, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    kms.encrypt(KeyId=key_id, Plaintext=b"a" * 190, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    with raises_aws("ValidationException", 400):
        kms.encrypt(KeyId=key_id, Plaintext=b"a" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    # Garbage ciphertext.
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(KeyId=key_id, CiphertextBlob=b"\x01" * 256, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    # A signing key does not encrypt.
    with raises_aws("InvalidKeyUsageException", 400):
        kms.encrypt(
            KeyId=keys[("RSA_2048", "SIGN_VERIFY")],
            Plaintext=b"x",
            EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        )


# --- HMAC -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", list(HMAC))
def test_generate_and_verify_mac(kms, keys, spec):
    key_id = keys[(spec, "GENERATE_VERIFY_MAC")]
    algorithm, length = HMAC[spec]
    message = b"mac me " + os.urandom(8)
    out = kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm=algorithm)
    assert out["KeyId"] == arn_of(key_id)
    assert out["MacAlgorithm"] == algorithm
    mac = out["Mac"]
    assert len(mac) == length
    # Deterministic: the same message and key give the same MAC.
    assert kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm=algorithm)["Mac"] == mac
    ok = kms.verify_mac(KeyId=key_id, Message=message, Mac=mac, MacAlgorithm=algorithm)
    assert ok == {**ok, "KeyId": arn_of(key_id), "MacValid": True, "MacAlgorithm": algorithm}
    with raises_aws("KMSInvalidMacException", 400):
        kms.verify_mac(KeyId=key_id, Message=message + b"!", Mac=mac, MacAlgorithm=algorithm)
    with raises_aws("KMSInvalidMacException", 400):
        kms.verify_mac(
            KeyId=key_id, Message=message, Mac=bytes([mac[0] ^ 1]) + mac[1:], MacAlgorithm=algorithm
        )


def test_mac_refusals(kms, keys):
    key_id = keys[("HMAC_256", "GENERATE_VERIFY_MAC")]
    with raises_aws("InvalidKeyUsageException", 400):
        kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_512")
    # Another key's MAC does not verify.
    mac = kms.generate_mac(
        KeyId=keys[("HMAC_256", "GENERATE_VERIFY_MAC")], Message=b"m", MacAlgorithm="HMAC_SHA_256"
    )["Mac"]
    other = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    try:
        with raises_aws("KMSInvalidMacException", 400):
            kms.verify_mac(KeyId=other, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")
    finally:
        kms.schedule_key_deletion(KeyId=other, PendingWindowInDays=7)
    with raises_aws("InvalidKeyUsageException", 400):
        kms.generate_mac(
            KeyId=keys[("ECC_NIST_P256", "SIGN_VERIFY")], Message=b"m", MacAlgorithm="HMAC_SHA_256"
        )


# --- DeriveSharedSecret ---------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"])
def test_derive_shared_secret_matches_local_ecdh(kms, keys, spec):
    key_id = keys[(spec, "KEY_AGREEMENT")]
    kms_public = public_key(kms, key_id)
    ephemeral = ec.generate_private_key(CURVES[spec]())
    peer = ephemeral.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    assert out["KeyId"] == arn_of(key_id)
    assert out["KeyAgreementAlgorithm"] == "ECDH"
    assert out["KeyOrigin"] == "AWS_KMS"
    assert out["SharedSecret"] == ephemeral.exchange(ec.ECDH(), kms_public)
    assert "CiphertextForRecipient" not in out


def test_derive_shared_secret_refusals(kms, keys):
    key_id = keys[("ECC_NIST_P256", "KEY_AGREEMENT")]
    wrong_curve = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with raises_aws("ValidationException", 400):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=wrong_curve)
    with raises_aws("ValidationException", 400):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=b"junk")
    # The bare SEC1 point is not a SubjectPublicKeyInfo.
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    with raises_aws("ValidationException", 400):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=point)
    peer = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with raises_aws("InvalidKeyUsageException", 400):
        kms.derive_shared_secret(
            KeyId=keys[("ECC_NIST_P256", "SIGN_VERIFY")], KeyAgreementAlgorithm="ECDH", PublicKey=peer
        )
    with raises_aws("UnsupportedOperationException", 400):
        kms.derive_shared_secret(
            KeyId=key_id,
            KeyAgreementAlgorithm="ECDH",
            PublicKey=peer,
            Recipient={
                "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                "AttestationDocument": b"\x00" * 16,
            },
        )


# --- GenerateDataKeyPair --------------------------------------------------------------------


def matches(private, public_der: bytes) -> bool:
    return (
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == public_der
    )


@pytest.mark.parametrize("spec", DATA_KEY_PAIR_SPECS)
def test_generate_data_key_pair(kms, symmetric, spec):
    context = {"purpose": "e2e", "spec": spec}
    out = kms.generate_data_key_pair(
        KeyId=symmetric, KeyPairSpec=spec, EncryptionContext=context
    )
    assert out["KeyId"] == arn_of(symmetric)
    assert out["KeyPairSpec"] == spec
    assert len(out["KeyMaterialId"]) == 64
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    assert matches(private, out["PublicKey"])
    if spec in RSA_SIZES:
        assert private.key_size == RSA_SIZES[spec]
    else:
        assert isinstance(private.curve, CURVES[spec])
    # The plaintext private key is PKCS#8 DER.
    assert out["PrivateKeyPlaintext"] == private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    opened = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext=context)
    assert opened["Plaintext"] == out["PrivateKeyPlaintext"]
    assert opened["KeyId"] == arn_of(symmetric)
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])


def test_generate_data_key_pair_without_plaintext(kms, symmetric):
    out = kms.generate_data_key_pair_without_plaintext(
        KeyId=symmetric, KeyPairSpec="ECC_NIST_P384"
    )
    assert "PrivateKeyPlaintext" not in out
    assert out["KeyId"] == arn_of(symmetric)
    assert out["KeyPairSpec"] == "ECC_NIST_P384"
    assert len(out["KeyMaterialId"]) == 64
    opened = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])
    private = serialization.load_der_private_key(opened["Plaintext"], password=None)
    assert matches(private, out["PublicKey"])
    assert opened["KeyMaterialId"] == out["KeyMaterialId"]
    # Every pair is fresh.
    again = kms.generate_data_key_pair_without_plaintext(
        KeyId=symmetric, KeyPairSpec="ECC_NIST_P384"
    )
    assert again["PublicKey"] != out["PublicKey"]


def test_data_key_pairs_need_a_symmetric_encryption_key(kms, keys):
    for key_id in (
        keys[("RSA_2048", "ENCRYPT_DECRYPT")],
        keys[("ECC_NIST_P256", "SIGN_VERIFY")],
        keys[("HMAC_256", "GENERATE_VERIFY_MAC")],
    ):
        with raises_aws("InvalidKeyUsageException", 400):
            kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
        with raises_aws("InvalidKeyUsageException", 400):
            kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec="RSA_2048")


# --- Key state ------------------------------------------------------------------------------


def test_disabled_keys_refuse_every_operation(kms):
    made = {
        usage: kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
        for spec, usage in [
            ("ECC_NIST_P256", "SIGN_VERIFY"),
            ("ECC_NIST_P256", "KEY_AGREEMENT"),
            ("HMAC_256", "GENERATE_VERIFY_MAC"),
            ("RSA_2048", "ENCRYPT_DECRYPT"),
        ]
    }
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    try:
        signer = made["SIGN_VERIFY"]
        signature = kms.sign(KeyId=signer, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")[
            "Signature"
        ]
        peer = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        rsa_blob = kms.encrypt(
            KeyId=made["ENCRYPT_DECRYPT"], Plaintext=b"p", EncryptionAlgorithm="RSAES_OAEP_SHA_1"
        )["CiphertextBlob"]
        for key_id in [*made.values(), symmetric]:
            kms.disable_key(KeyId=key_id)
        calls = [
            lambda: kms.sign(KeyId=signer, Message=b"m", SigningAlgorithm="ECDSA_SHA_256"),
            lambda: kms.verify(
                KeyId=signer, Message=b"m", Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
            ),
            lambda: kms.get_public_key(KeyId=signer),
            lambda: kms.derive_shared_secret(
                KeyId=made["KEY_AGREEMENT"], KeyAgreementAlgorithm="ECDH", PublicKey=peer
            ),
            lambda: kms.generate_mac(
                KeyId=made["GENERATE_VERIFY_MAC"], Message=b"m", MacAlgorithm="HMAC_SHA_256"
            ),
            lambda: kms.encrypt(
                KeyId=made["ENCRYPT_DECRYPT"], Plaintext=b"p", EncryptionAlgorithm="RSAES_OAEP_SHA_1"
            ),
            lambda: kms.decrypt(
                KeyId=made["ENCRYPT_DECRYPT"],
                CiphertextBlob=rsa_blob,
                EncryptionAlgorithm="RSAES_OAEP_SHA_1",
            ),
            lambda: kms.generate_data_key_pair(KeyId=symmetric, KeyPairSpec="ECC_NIST_P256"),
        ]
        for call in calls:
            with raises_aws("DisabledException", 400):
                call()
        kms.enable_key(KeyId=signer)
        assert kms.verify(
            KeyId=signer, Message=b"m", Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
        )["SignatureValid"] is True
    finally:
        for key_id in [*made.values(), symmetric]:
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


# --- Authorization -------------------------------------------------------------------------


def test_iam_policy_conditions_on_the_signing_algorithm(server, iam, names, kms, keys):
    """The default key policy delegates to IAM; kms:SigningAlgorithm and kms:MessageType are
    condition keys of Sign."""
    key_id = keys[("RSA_2048", "SIGN_VERIFY")]
    caller = make_caller(server, iam, names("signer"), path=names.path)
    statement = allow("kms:Sign", arn_of(key_id))
    statement["Condition"] = {
        "StringEquals": {"kms:SigningAlgorithm": "RSASSA_PSS_SHA_256", "kms:MessageType": "RAW"}
    }
    iam.put_user_policy(
        UserName=caller.name, PolicyName="sign", PolicyDocument=policy_doc(statement)
    )
    client = caller.client("kms")
    signed = client.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert signed["KeyId"] == arn_of(key_id)
    with raises_aws("AccessDeniedException"):
        client.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_384")
    with raises_aws("AccessDeniedException"):
        client.sign(
            KeyId=key_id,
            Message=hashlib.sha256(b"m").digest(),
            MessageType="DIGEST",
            SigningAlgorithm="RSASSA_PSS_SHA_256",
        )
    with raises_aws("AccessDeniedException"):
        client.get_public_key(KeyId=key_id)
    with raises_aws("AccessDeniedException"):
        client.verify(
            KeyId=key_id,
            Message=b"m",
            Signature=signed["Signature"],
            SigningAlgorithm="RSASSA_PSS_SHA_256",
        )


def test_data_key_pair_recipient_is_unsupported(kms, symmetric):
    with raises_aws("UnsupportedOperationException", 400):
        kms.generate_data_key_pair(
            KeyId=symmetric,
            KeyPairSpec="ECC_NIST_P256",
            Recipient={
                "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                "AttestationDocument": b"\x00" * 16,
            },
        )


# --- aws CLI --------------------------------------------------------------------------------


def test_cli_sign_and_verify(server, kms, keys, tmp_path):
    key_id = keys[("ECC_NIST_P384", "SIGN_VERIFY")]
    message = b"signed through the aws CLI"
    path = tmp_path / "message.bin"
    path.write_bytes(message)
    out = server.aws(
        "kms",
        "sign",
        "--key-id",
        key_id,
        "--message",
        f"fileb://{path}",
        "--message-type",
        "RAW",
        "--signing-algorithm",
        "ECDSA_SHA_384",
    )
    assert out["KeyId"] == arn_of(key_id)
    assert out["SigningAlgorithm"] == "ECDSA_SHA_384"
    signature = base64.b64decode(out["Signature"])
    verify_locally(public_key(kms, key_id), "ECDSA_SHA_384", message, signature, prehashed=False)
    sig_path = tmp_path / "signature.bin"
    sig_path.write_bytes(signature)
    verified = server.aws(
        "kms",
        "verify",
        "--key-id",
        key_id,
        "--message",
        f"fileb://{path}",
        "--signature",
        f"fileb://{sig_path}",
        "--signing-algorithm",
        "ECDSA_SHA_384",
    )
    assert verified["SignatureValid"] is True
