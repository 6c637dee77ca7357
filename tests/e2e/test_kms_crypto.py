"""KMS symmetric cryptography: Encrypt/Decrypt, the encryption context, tampering, the wrong
key, size limits, ReEncrypt, data keys, GenerateRandom, disabled keys, DryRun and malformed
blobs, as AWS KMS answers them.
"""

from __future__ import annotations

import base64
import json

import pytest

from support import ACCOUNT_ID, REGION, raises_aws

TARGET = "TrentService"


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


@pytest.fixture
def key(kms) -> str:
    return kms.create_key(Description="crypto")["KeyMetadata"]["KeyId"]


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"


def raw_kms(server, operation: str, body: dict | str):
    """A hand-made, signed JSON 1.1 call, for what boto3 will not send."""
    data = body if isinstance(body, str) else json.dumps(body)
    return server.raw(
        body=data,
        service="kms",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{TARGET}.{operation}",
        },
    )


def test_encrypt_decrypt_round_trip(kms, key):
    out = kms.encrypt(KeyId=key, Plaintext=b"attack at dawn")
    assert out["KeyId"] == key_arn(key)
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = out["CiphertextBlob"]
    assert b"attack at dawn" not in blob
    # Without KeyId: the blob says which key.
    back = kms.decrypt(CiphertextBlob=blob)
    assert back["Plaintext"] == b"attack at dawn"
    assert back["KeyId"] == key_arn(key)
    assert back["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    # With KeyId, by id and by ARN.
    assert kms.decrypt(CiphertextBlob=blob, KeyId=key)["Plaintext"] == b"attack at dawn"
    assert kms.decrypt(CiphertextBlob=blob, KeyId=key_arn(key))["Plaintext"] == b"attack at dawn"
    # Two encryptions of the same plaintext differ.
    assert kms.encrypt(KeyId=key, Plaintext=b"attack at dawn")["CiphertextBlob"] != blob


def test_encrypt_and_decrypt_by_alias(kms, key, names):
    alias = f"alias/{names('c')}"
    kms.create_alias(AliasName=alias, TargetKeyId=key)
    out = kms.encrypt(KeyId=alias, Plaintext=b"by alias")
    assert out["KeyId"] == key_arn(key)
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=alias)
    assert back["Plaintext"] == b"by alias"
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}"
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=arn)["Plaintext"] == b"by alias"


def test_encryption_context_is_bound(kms, key):
    ctx = {"purpose": "test", "tenant": "a"}
    blob = kms.encrypt(KeyId=key, Plaintext=b"bound", EncryptionContext=ctx)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"bound"
    # Order does not matter.
    reordered = {"tenant": "a", "purpose": "test"}
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"bound"
    for wrong in ({"purpose": "test", "tenant": "b"}, {"purpose": "test"}, {**ctx, "x": "y"}, None):
        kwargs = {"EncryptionContext": wrong} if wrong is not None else {}
        with raises_aws("InvalidCiphertextException", 400):
            kms.decrypt(CiphertextBlob=blob, **kwargs)
    # A blob made without a context does not decrypt with one.
    plain = kms.encrypt(KeyId=key, Plaintext=b"free")["CiphertextBlob"]
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(CiphertextBlob=plain, EncryptionContext={"a": "b"})


def test_tampered_blobs_are_invalid_ciphertext(kms, key):
    blob = bytearray(kms.encrypt(KeyId=key, Plaintext=b"integrity")["CiphertextBlob"])
    for i in (len(blob) - 1, len(blob) // 2, 0):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(Exception) as info:
            kms.decrypt(CiphertextBlob=bytes(tampered))
        code = info.value.response["Error"]["Code"]
        # A changed header may name a key that does not exist; never a success.
        assert code in ("InvalidCiphertextException", "NotFoundException"), code
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(CiphertextBlob=bytes(blob[:-1]))
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(CiphertextBlob=b"not a ciphertext at all, just some bytes that are long")
    # The last-byte flip was in the tag or body: always invalid ciphertext.
    tampered = bytearray(blob)
    tampered[-1] ^= 0x80
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(CiphertextBlob=bytes(tampered), KeyId=key)


def test_decrypt_with_the_wrong_key_is_incorrect_key(kms, key):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"mine")["CiphertextBlob"]
    with raises_aws("IncorrectKeyException", 400):
        kms.decrypt(CiphertextBlob=blob, KeyId=other)


def test_plaintext_size_limits(server, kms, key):
    ok = bytes(range(256)) * 16
    assert len(ok) == 4096
    blob = kms.encrypt(KeyId=key, Plaintext=ok)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == ok
    with raises_aws(
        "ValidationException",
        400,
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096",
    ):
        kms.encrypt(KeyId=key, Plaintext=ok + b"x")
    lax = server.client("kms", parameter_validation=False)
    with raises_aws("ValidationException", 400, "Member must have length greater than or equal to 1"):
        lax.encrypt(KeyId=key, Plaintext=b"")
    # The value of a sensitive member is never echoed.
    resp = raw_kms(server, "Encrypt", {"KeyId": key, "Plaintext": base64.b64encode(ok + b"!").decode()})
    assert resp.status_code == 400
    assert resp.json()["__type"].endswith("ValidationException")
    assert base64.b64encode(ok + b"!").decode() not in resp.text


def test_re_encrypt_to_another_key_with_contexts(kms, key):
    dest = kms.create_key()["KeyMetadata"]["KeyId"]
    src_ctx = {"stage": "one"}
    dst_ctx = {"stage": "two"}
    blob = kms.encrypt(KeyId=key, Plaintext=b"moving", EncryptionContext=src_ctx)["CiphertextBlob"]
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=src_ctx,
        DestinationKeyId=dest,
        DestinationEncryptionContext=dst_ctx,
    )
    assert out["SourceKeyId"] == key_arn(key)
    assert out["KeyId"] == key_arn(dest)
    assert out["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert b"moving" not in out["CiphertextBlob"]
    new = out["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=new, EncryptionContext=dst_ctx)
    assert (back["Plaintext"], back["KeyId"]) == (b"moving", key_arn(dest))
    with raises_aws("InvalidCiphertextException", 400):
        kms.decrypt(CiphertextBlob=new, EncryptionContext=src_ctx)
    with raises_aws("InvalidCiphertextException", 400):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest)
    with raises_aws("IncorrectKeyException", 400):
        kms.re_encrypt(
            CiphertextBlob=blob,
            SourceKeyId=dest,
            SourceEncryptionContext=src_ctx,
            DestinationKeyId=key,
        )


def test_generate_data_key(kms, key):
    for kwargs, length in (
        ({"KeySpec": "AES_256"}, 32),
        ({"KeySpec": "AES_128"}, 16),
        ({"NumberOfBytes": 64}, 64),
        ({"NumberOfBytes": 1}, 1),
        ({"NumberOfBytes": 1024}, 1024),
    ):
        out = kms.generate_data_key(KeyId=key, EncryptionContext={"k": "v"}, **kwargs)
        assert out["KeyId"] == key_arn(key)
        assert len(out["Plaintext"]) == length
        back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "v"})
        assert back["Plaintext"] == out["Plaintext"]
    with raises_aws("ValidationException", 400):
        kms.generate_data_key(KeyId=key)
    with raises_aws("ValidationException", 400):
        kms.generate_data_key(KeyId=key, KeySpec="AES_256", NumberOfBytes=32)
    with raises_aws("ValidationException", 400):
        kms.generate_data_key(KeyId=key, NumberOfBytes=1025)
    with raises_aws("ValidationException", 400):
        kms.generate_data_key(KeyId=key, KeySpec="AES_512")
    a = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
    b = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
    assert a != b


def test_generate_data_key_without_plaintext(kms, key):
    for kwargs, length in (({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                           ({"NumberOfBytes": 48}, 48)):
        out = kms.generate_data_key_without_plaintext(KeyId=key, **kwargs)
        assert "Plaintext" not in out
        assert out["KeyId"] == key_arn(key)
        assert len(kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"]) == length
    with raises_aws("ValidationException", 400):
        kms.generate_data_key_without_plaintext(KeyId=key)
    with raises_aws("ValidationException", 400):
        kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_128", NumberOfBytes=16)


def test_generate_random(server, kms):
    for n in (1, 32, 1024):
        assert len(kms.generate_random(NumberOfBytes=n)["Plaintext"]) == n
    assert kms.generate_random(NumberOfBytes=32)["Plaintext"] != kms.generate_random(
        NumberOfBytes=32
    )["Plaintext"]
    lax = server.client("kms", parameter_validation=False)
    with raises_aws("ValidationException", 400, "less than or equal to 1024"):
        lax.generate_random(NumberOfBytes=1025)
    with raises_aws("ValidationException", 400, "greater than or equal to 1"):
        lax.generate_random(NumberOfBytes=0)


def test_a_disabled_key_refuses_every_cryptographic_operation(kms, key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    dest = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key)
    message = f"{key_arn(key)} is disabled."
    with raises_aws("DisabledException", 400, message):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with raises_aws("DisabledException", 400, message):
        kms.decrypt(CiphertextBlob=blob)
    with raises_aws("DisabledException", 400):
        kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    with raises_aws("DisabledException", 400):
        kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")
    with raises_aws("DisabledException", 400):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest)
    # And as the destination of a ReEncrypt.
    other = kms.encrypt(KeyId=dest, Plaintext=b"y")["CiphertextBlob"]
    with raises_aws("DisabledException", 400):
        kms.re_encrypt(CiphertextBlob=other, DestinationKeyId=key)


def test_dry_run(kms, key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    msg = "The request would have succeeded, but the DryRun option is set."
    with raises_aws("DryRunOperationException", 412, msg):
        kms.encrypt(KeyId=key, Plaintext=b"x", DryRun=True)
    with raises_aws("DryRunOperationException", 412):
        kms.decrypt(CiphertextBlob=blob, DryRun=True)
    with raises_aws("DryRunOperationException", 412):
        kms.generate_data_key(KeyId=key, KeySpec="AES_256", DryRun=True)
    with raises_aws("DryRunOperationException", 412):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key, DryRun=True)
    # A dry run changes nothing: the data key it did not make cannot be missed, but the key
    # still works as before.
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_malformed_base64_is_a_serialization_error(server, key):
    resp = raw_kms(server, "Decrypt", {"CiphertextBlob": "not*base64!"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["__type"].endswith("SerializationException"), resp.text
    resp = raw_kms(server, "Encrypt", {"KeyId": key, "Plaintext": "%%%"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["__type"].endswith("SerializationException"), resp.text
    resp = raw_kms(server, "Encrypt", "{not json")
    assert resp.status_code == 400
    assert resp.json()["__type"].endswith("SerializationException"), resp.text


def test_aws_cli_encrypts_and_decrypts(aws, kms, key, tmp_path):
    src = tmp_path / "plain.bin"
    src.write_bytes(b"cli secret")
    out = aws("kms", "encrypt", "--key-id", key, "--plaintext", f"fileb://{src}")
    assert out["KeyId"] == key_arn(key)
    blob = base64.b64decode(out["CiphertextBlob"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"cli secret"
    enc = tmp_path / "blob.bin"
    enc.write_bytes(blob)
    back = aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{enc}")
    assert base64.b64decode(back["Plaintext"]) == b"cli secret"
