"""The AWS Encryption SDK for Python against Moat's KMS: a StrictAwsKmsMasterKeyProvider whose
botocore session points at the server encrypts and decrypts (data keys from GenerateDataKey,
unwrapped with Decrypt), with an encryption context, over many frames and under two keys; a
tampered message does not decrypt.
"""

from __future__ import annotations

import os

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError, DecryptKeyError
from cryptography.exceptions import InvalidSignature, InvalidTag

from support import REGION

FRAME = 4096


@pytest.fixture
def botocore_session(server, tmp_path):
    """A botocore session for the server: its endpoint from a config file of its own (the
    ESDK makes its KMS clients from the session), signed as root."""
    config = tmp_path / "aws-config"
    config.write_text(
        f"[default]\nregion = {REGION}\nendpoint_url = {server.endpoint}\nmax_attempts = 1\n"
    )
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(config))
    session.set_config_variable("credentials_file", os.devnull)
    session.set_config_variable("region", REGION)
    session.set_credentials(server.access_key, server.secret)
    return session


@pytest.fixture
def esdk():
    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )


def provider(session, *arns: str):
    return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=list(arns), botocore_session=session
    )


@pytest.fixture
def key_arn(server) -> str:
    return server.client("kms").create_key(Description="esdk")["KeyMetadata"]["Arn"]


def test_round_trip_with_context_over_many_frames(server, botocore_session, esdk, key_arn):
    plaintext = os.urandom(FRAME * 3 + 123)
    context = {"purpose": "esdk-e2e", "tenant": "moat"}
    mkp = provider(botocore_session, key_arn)
    ciphertext, header = esdk.encrypt(
        source=plaintext, key_provider=mkp, encryption_context=context, frame_length=FRAME
    )
    assert plaintext not in ciphertext
    assert header.frame_length == FRAME
    assert len(ciphertext) > len(plaintext)
    # One encrypted data key, from Moat's KMS key.
    [edk] = header.encrypted_data_keys
    assert edk.key_provider.provider_id == "aws-kms"
    assert edk.key_provider.key_info.decode() == key_arn
    for k, v in context.items():
        assert header.encryption_context[k] == v

    decrypted, dheader = esdk.decrypt(source=ciphertext, key_provider=provider(botocore_session, key_arn))
    assert decrypted == plaintext
    for k, v in context.items():
        assert dheader.encryption_context[k] == v

    # The data key really is wrapped by Moat: Moat's Decrypt opens it with the context the
    # ESDK bound (which includes the signing suite's public key).
    kms = server.client("kms")
    out = kms.decrypt(
        CiphertextBlob=edk.encrypted_data_key,
        KeyId=key_arn,
        EncryptionContext=dict(dheader.encryption_context),
    )
    assert out["KeyId"] == key_arn
    assert len(out["Plaintext"]) == 32


def test_two_keys_either_decrypts(server, botocore_session, esdk, key_arn):
    second = server.client("kms").create_key()["KeyMetadata"]["Arn"]
    plaintext = b"shared between two keys" * 100
    ciphertext, header = esdk.encrypt(
        source=plaintext, key_provider=provider(botocore_session, key_arn, second)
    )
    assert {e.key_provider.key_info.decode() for e in header.encrypted_data_keys} == {
        key_arn,
        second,
    }
    for arn in (key_arn, second):
        got, _ = esdk.decrypt(source=ciphertext, key_provider=provider(botocore_session, arn))
        assert got == plaintext


def test_a_strict_provider_for_another_key_cannot_decrypt(server, botocore_session, esdk, key_arn):
    other = server.client("kms").create_key()["KeyMetadata"]["Arn"]
    ciphertext, _ = esdk.encrypt(source=b"not yours", key_provider=provider(botocore_session, key_arn))
    with pytest.raises(AWSEncryptionSDKClientError):
        esdk.decrypt(source=ciphertext, key_provider=provider(botocore_session, other))


def test_tampered_messages_do_not_decrypt(botocore_session, esdk, key_arn):
    plaintext = os.urandom(FRAME * 2 + 7)
    ciphertext, header = esdk.encrypt(
        source=plaintext,
        key_provider=provider(botocore_session, key_arn),
        encryption_context={"purpose": "tamper"},
        frame_length=FRAME,
    )
    mkp = provider(botocore_session, key_arn)
    # A byte of a frame's body (its GCM tag fails), the last byte (the signature fails) and a
    # byte of the header (its serialization or authentication fails).
    for index, expected in (
        (len(ciphertext) // 2, InvalidTag),
        (len(ciphertext) - 1, InvalidSignature),
        (40, AWSEncryptionSDKClientError),
    ):
        tampered = bytearray(ciphertext)
        tampered[index] ^= 0x01
        with pytest.raises(expected):
            esdk.decrypt(source=bytes(tampered), key_provider=mkp)
    # The encrypted data key itself: Moat's Decrypt refuses it, so no master key can open it.
    [edk] = header.encrypted_data_keys
    at = ciphertext.index(edk.encrypted_data_key) + len(edk.encrypted_data_key) // 2
    tampered = bytearray(ciphertext)
    tampered[at] ^= 0x01
    with pytest.raises(DecryptKeyError):
        esdk.decrypt(source=bytes(tampered), key_provider=mkp)
    got, _ = esdk.decrypt(source=ciphertext, key_provider=mkp)
    assert got == plaintext
