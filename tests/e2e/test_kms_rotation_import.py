"""KMS key rotation (automatic schedule, on demand, history) and imported key material, through
boto3, with material wrapped and results checked locally with `cryptography` and `hmac`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from support import raises_aws

DAY = dt.timedelta(days=1)


@pytest.fixture
def kms(server):
    return server.client("kms")


@pytest.fixture
def kms_raw(server):
    """A client that lets out-of-range values reach the server, as AWS sees them."""
    return server.client("kms", parameter_validation=False)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def close_to(when: dt.datetime, expected: dt.datetime, slack: dt.timedelta = dt.timedelta(minutes=5)):
    assert abs(when - expected) < slack, f"{when} is not close to {expected}"


def new_key(kms, names, **kwargs) -> dict:
    return kms.create_key(Description=names("key"), **kwargs)["KeyMetadata"]


def external_key(kms, names, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT") -> dict:
    return new_key(kms, names, KeySpec=spec, KeyUsage=usage, Origin="EXTERNAL")


def oaep_sha256():
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def params(kms, key_id, algorithm="RSAES_OAEP_SHA_256", spec="RSA_2048") -> dict:
    return kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec
    )


def wrap_oaep(parameters: dict, material: bytes) -> bytes:
    public = serialization.load_der_public_key(parameters["PublicKey"])
    return public.encrypt(material, oaep_sha256())


def wrap_rsa_aes(parameters: dict, material: bytes) -> bytes:
    """RSA_AES_KEY_WRAP_SHA_256: an ephemeral AES-256 key under RSA-OAEP-SHA256, then the
    material under that key with AES key wrap with padding (RFC 5649)."""
    public = serialization.load_der_public_key(parameters["PublicKey"])
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep_sha256()) + aes_key_wrap_with_padding(aes_key, material)


def import_material(kms, key_id, material: bytes, **kwargs) -> dict:
    p = params(kms, key_id)
    kwargs.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(
        KeyId=key_id,
        ImportToken=p["ImportToken"],
        EncryptedKeyMaterial=wrap_oaep(p, material),
        **kwargs,
    )


# --- rotation ---------------------------------------------------------------------------------


def test_rotation_enable_disable_and_status(kms, kms_raw, names):
    key_id = new_key(kms, names)["KeyId"]
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is False
    assert status["KeyId"] == key_id
    assert "RotationPeriodInDays" not in status and "NextRotationDate" not in status

    kms.enable_key_rotation(KeyId=key_id)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365
    close_to(status["NextRotationDate"], now() + 365 * DAY)
    assert "OnDemandRotationStartDate" not in status

    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["RotationPeriodInDays"] == 90
    close_to(status["NextRotationDate"], now() + 90 * DAY)

    for days in (89, 2561):
        with raises_aws("ValidationException", 400):
            kms_raw.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == 90

    kms.disable_key_rotation(KeyId=key_id)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status


def test_rotation_refused_for_other_specs_origins_and_states(kms, names):
    hmac_key = new_key(kms, names, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    ecc_key = new_key(kms, names, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    external = external_key(kms, names)
    for key in (hmac_key, ecc_key, external):
        with raises_aws("UnsupportedOperationException", 400):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        with raises_aws("UnsupportedOperationException", 400):
            kms.rotate_key_on_demand(KeyId=key["KeyId"])

    disabled = new_key(kms, names)["KeyId"]
    kms.disable_key(KeyId=disabled)
    with raises_aws("DisabledException", 400):
        kms.enable_key_rotation(KeyId=disabled)
    with raises_aws("DisabledException", 400):
        kms.rotate_key_on_demand(KeyId=disabled)

    doomed = new_key(kms, names)["KeyId"]
    kms.enable_key_rotation(KeyId=doomed, RotationPeriodInDays=180)
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    with raises_aws("KMSInvalidStateException", 400):
        kms.enable_key_rotation(KeyId=doomed)
    with raises_aws("KMSInvalidStateException", 400):
        kms.rotate_key_on_demand(KeyId=doomed)
    # Pending deletion reads as off; cancelling brings the schedule back.
    assert kms.get_key_rotation_status(KeyId=doomed)["KeyRotationEnabled"] is False
    kms.cancel_key_deletion(KeyId=doomed)
    status = kms.get_key_rotation_status(KeyId=doomed)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180

    with raises_aws("NotFoundException", 400):
        kms.enable_key_rotation(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")


def test_rotate_on_demand_keeps_old_ciphertexts_and_lists_rotations(kms, names):
    meta = new_key(kms, names)
    key_id = meta["KeyId"]
    first = meta["CurrentKeyMaterialId"]
    assert len(first) == 64
    before = kms.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []

    assert kms.rotate_key_on_demand(KeyId=key_id)["KeyId"] == key_id
    second = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second != first and len(second) == 64

    old = kms.decrypt(CiphertextBlob=before)
    assert old["Plaintext"] == b"before rotation"
    assert old["KeyMaterialId"] == first
    after = kms.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
    new = kms.decrypt(CiphertextBlob=after, KeyId=key_id)
    assert new["Plaintext"] == b"after rotation"
    assert new["KeyMaterialId"] == second
    assert kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["KeyMaterialId"] == second

    rotations = kms.list_key_rotations(KeyId=key_id)
    assert rotations["Truncated"] is False
    [entry] = rotations["Rotations"]
    assert entry["KeyId"] == key_id
    assert entry["RotationType"] == "ON_DEMAND"
    assert entry["KeyMaterialId"] == second
    assert entry["KeyMaterialState"] == "CURRENT"
    close_to(entry["RotationDate"], now())

    everything = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    ids = [(e["KeyMaterialId"], e["KeyMaterialState"]) for e in everything["Rotations"]]
    assert ids == [(first, "NON_CURRENT"), (second, "CURRENT")]

    # Automatic rotation being on does not matter, nor does its schedule move.
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    scheduled = kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"]
    kms.rotate_key_on_demand(KeyId=key_id)
    kms.rotate_key_on_demand(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"] == scheduled

    seen, marker = [], None
    while True:
        page = kms.list_key_rotations(KeyId=key_id, Limit=1, **({"Marker": marker} if marker else {}))
        assert len(page["Rotations"]) == 1
        seen.append(page["Rotations"][0]["KeyMaterialId"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert len(seen) == 3 and len(set(seen)) == 3 and seen[0] == second
    current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert seen[-1] == current
    # Every version still decrypts what it encrypted.
    assert kms.decrypt(CiphertextBlob=before)["Plaintext"] == b"before rotation"
    assert kms.decrypt(CiphertextBlob=after)["Plaintext"] == b"after rotation"

    with raises_aws("InvalidMarkerException", 400):
        kms.list_key_rotations(KeyId=key_id, Marker="!!not-a-marker!!")


# --- import -------------------------------------------------------------------------------------


def test_import_parameters(kms, names):
    key = external_key(kms, names)
    assert key["KeyState"] == "PendingImport"
    assert key["Origin"] == "EXTERNAL"
    p = params(kms, key["KeyId"])
    assert p["KeyId"] == key["Arn"]
    public = serialization.load_der_public_key(p["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    close_to(p["ParametersValidTo"], now() + DAY)
    assert p["ImportToken"]

    assert params(kms, key["KeyId"], spec="RSA_4096")["PublicKey"] != p["PublicKey"]
    with raises_aws("ValidationException", 400):
        params(kms, key["KeyId"], algorithm="RSAES_PKCS1_V1_5")

    native = new_key(kms, names)["KeyId"]
    with raises_aws("UnsupportedOperationException", 400):
        params(kms, native)
    with raises_aws("UnsupportedOperationException", 400):
        kms.delete_imported_key_material(KeyId=native)


def test_import_symmetric_material_encrypt_decrypt_delete_reimport(kms, kms_raw, names):
    key = external_key(kms, names)
    key_id = key["KeyId"]
    with raises_aws("KMSInvalidStateException", 400, "pending import"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")

    material = os.urandom(32)
    p = params(kms, key_id)
    wrapped = wrap_oaep(p, material)
    with raises_aws("ValidationException", 400):
        # KEY_MATERIAL_EXPIRES is the default and needs ValidTo.
        kms.import_key_material(KeyId=key_id, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped)
    with raises_aws("ValidationException", 400):
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
            ValidTo=now() + DAY,
        )
    with raises_aws("ValidationException", 400):
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrapped,
            ValidTo=now() - DAY,
        )
    out = kms.import_key_material(
        KeyId=key_id,
        ImportToken=p["ImportToken"],
        EncryptedKeyMaterial=wrapped,
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    material_id = out["KeyMaterialId"]
    assert len(material_id) == 64
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert "ValidTo" not in meta
    assert meta["CurrentKeyMaterialId"] == material_id

    blob = kms.encrypt(KeyId=key_id, Plaintext=b"imported", EncryptionContext={"a": "b"})["CiphertextBlob"]
    out = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    assert out["Plaintext"] == b"imported" and out["KeyMaterialId"] == material_id

    deleted = kms.delete_imported_key_material(KeyId=key_id)
    assert deleted["KeyId"] == key["Arn"]
    assert deleted["KeyMaterialId"] == material_id
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport"
    with raises_aws("KMSInvalidStateException", 400, "pending import"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with raises_aws("KMSInvalidStateException", 400):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    with raises_aws("KMSInvalidStateException", 400):
        kms.delete_imported_key_material(KeyId=key_id)

    # Only the same material can come back, and with it the old ciphertexts.
    with raises_aws("IncorrectKeyMaterialException", 400):
        import_material(kms, key_id, os.urandom(32))
    valid_to = (now() + 3 * DAY).replace(microsecond=0)
    again = import_material(
        kms, key_id, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to
    )
    assert again["KeyMaterialId"] == material_id
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled"
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert meta["ValidTo"] == valid_to
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"imported"

    rotations = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [(r["KeyMaterialId"], r["ImportState"], r["ExpirationModel"]) for r in rotations] == [
        (material_id, "IMPORTED", "KEY_MATERIAL_EXPIRES")
    ]
    assert rotations[0]["ValidTo"] == valid_to


def test_import_tokens_and_wrapping_must_match(kms, names):
    key_id = external_key(kms, names)["KeyId"]
    other_id = external_key(kms, names)["KeyId"]
    material = os.urandom(32)
    first = params(kms, key_id)
    latest = params(kms, key_id)
    other = params(kms, other_id)
    common = {"KeyId": key_id, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}

    with raises_aws("InvalidImportTokenException", 400):
        kms.import_key_material(
            ImportToken=first["ImportToken"], EncryptedKeyMaterial=wrap_oaep(first, material), **common
        )
    with raises_aws("InvalidImportTokenException", 400):
        kms.import_key_material(
            ImportToken=other["ImportToken"], EncryptedKeyMaterial=wrap_oaep(other, material), **common
        )
    with raises_aws("InvalidImportTokenException", 400):
        kms.import_key_material(
            ImportToken=b"not a token at all", EncryptedKeyMaterial=wrap_oaep(latest, material), **common
        )
    # Wrapped under another key's public key: it does not decrypt.
    with raises_aws("InvalidCiphertextException", 400):
        kms.import_key_material(
            ImportToken=latest["ImportToken"], EncryptedKeyMaterial=wrap_oaep(other, material), **common
        )
    with raises_aws("IncorrectKeyMaterialException", 400):
        kms.import_key_material(
            ImportToken=latest["ImportToken"], EncryptedKeyMaterial=wrap_oaep(latest, os.urandom(16)), **common
        )
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    kms.import_key_material(
        ImportToken=latest["ImportToken"], EncryptedKeyMaterial=wrap_oaep(latest, material), **common
    )
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_imported_hmac_key_matches_local_hmac(kms, names):
    key_id = external_key(kms, names, spec="HMAC_256", usage="GENERATE_VERIFY_MAC")["KeyId"]
    secret = os.urandom(48)
    import_material(kms, key_id, secret)
    message = b"interoperability: the same key gives the same MAC"
    mac = kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac == hmac.new(secret, message, hashlib.sha256).digest()
    local = hmac.new(secret, b"computed here", hashlib.sha256).digest()
    assert kms.verify_mac(
        KeyId=key_id, Message=b"computed here", MacAlgorithm="HMAC_SHA_256", Mac=local
    )["MacValid"] is True
    # HMAC keys take no ImportType or KeyMaterialId.
    p = params(kms, key_id)
    with raises_aws("ValidationException", 400):
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrap_oaep(p, secret),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
            ImportType="EXISTING_KEY_MATERIAL",
        )
    with raises_aws("IncorrectKeyMaterialException", 400):
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrap_oaep(p, os.urandom(8)),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )


def test_imported_rsa_private_key_signs_verifiably(kms, names):
    key = external_key(kms, names, spec="RSA_2048", usage="SIGN_VERIFY")
    key_id = key["KeyId"]
    # RSA private keys are too long for RSA-OAEP alone.
    with raises_aws("ValidationException", 400):
        params(kms, key_id, algorithm="RSAES_OAEP_SHA_256")

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p = params(kms, key_id, algorithm="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_3072")
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=p["ImportToken"],
        EncryptedKeyMaterial=wrap_rsa_aes(p, pkcs8),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    message = b"signed by imported material"
    signature = kms.sign(
        KeyId=key_id, Message=message, SigningAlgorithm="RSASSA_PSS_SHA_256", MessageType="RAW"
    )["Signature"]
    private.public_key().verify(
        signature,
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )

    # A 3072-bit key does not fit an RSA_2048 key.
    other = external_key(kms, names, spec="RSA_2048", usage="SIGN_VERIFY")["KeyId"]
    big = rsa.generate_private_key(public_exponent=65537, key_size=3072).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p = params(kms, other, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    with raises_aws("IncorrectKeyMaterialException", 400):
        kms.import_key_material(
            KeyId=other,
            ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrap_rsa_aes(p, big),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )


def test_imported_ecc_private_key_signs_verifiably(kms, names):
    key_id = external_key(kms, names, spec="ECC_NIST_P256", usage="SIGN_VERIFY")["KeyId"]
    private = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p = params(kms, key_id, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=p["ImportToken"],
        EncryptedKeyMaterial=wrap_rsa_aes(p, pkcs8),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    message = b"ecdsa over imported material"
    signature = kms.sign(
        KeyId=key_id, Message=message, SigningAlgorithm="ECDSA_SHA_256", MessageType="RAW"
    )["Signature"]
    private.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))

    # After deletion only the same private key may come back.
    kms.delete_imported_key_material(KeyId=key_id)
    with raises_aws("KMSInvalidStateException", 400, "pending import"):
        kms.sign(KeyId=key_id, Message=message, SigningAlgorithm="ECDSA_SHA_256")
    stranger = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p = params(kms, key_id, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    with raises_aws("IncorrectKeyMaterialException", 400):
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrap_rsa_aes(p, stranger),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
