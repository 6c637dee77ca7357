"""KMS key management: CreateKey and its parameters, DescribeKey by every kind of key
reference, ListKeys paging, enabling and disabling, descriptions, scheduled deletion and its
cancellation, tags, key policies and aliases, as AWS KMS answers them.

All tests share one server: each makes its own keys and aliases (named with `names`) and looks
only at those in listings.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from support import ACCOUNT_ID, REGION, raises_aws

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"


def alias_arn(name: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{name}"


def new_key(kms, **kwargs) -> dict:
    return kms.create_key(**kwargs)["KeyMetadata"]


def all_keys(kms, **kwargs) -> list[dict]:
    out = []
    for page in kms.get_paginator("list_keys").paginate(**kwargs):
        out.extend(page["Keys"])
    return out


def all_aliases(kms, **kwargs) -> list[dict]:
    out = []
    for page in kms.get_paginator("list_aliases").paginate(**kwargs):
        out.extend(page["Aliases"])
    return out


# --- CreateKey / DescribeKey ---------------------------------------------------------------


def test_create_key_defaults_are_a_symmetric_encryption_key(kms):
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    md = new_key(kms)
    assert UUID.match(md["KeyId"]), md["KeyId"]
    assert md["Arn"] == key_arn(md["KeyId"])
    assert md["AWSAccountId"] == ACCOUNT_ID
    assert before <= md["CreationDate"] <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    assert md["Enabled"] is True
    assert md["Description"] == ""
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["KeyState"] == "Enabled"
    assert md["Origin"] == "AWS_KMS"
    assert md["KeyManager"] == "CUSTOMER"
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert md["MultiRegion"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", md["CurrentKeyMaterialId"]), md
    # Nothing a symmetric key does not have.
    for absent in (
        "SigningAlgorithms",
        "MacAlgorithms",
        "KeyAgreementAlgorithms",
        "DeletionDate",
        "PendingDeletionWindowInDays",
        "ValidTo",
        "ExpirationModel",
        "MultiRegionConfiguration",
    ):
        assert absent not in md, absent


def test_describe_key_by_id_arn_alias_and_alias_arn(kms, names):
    md = new_key(kms, Description="described")
    alias = f"alias/{names('d')}"
    kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
    for ref in (md["KeyId"], md["Arn"], alias, alias_arn(alias)):
        got = kms.describe_key(KeyId=ref)["KeyMetadata"]
        assert got == md, ref


def test_create_key_with_description_tags_and_policy(kms, names):
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "custom",
            "Statement": [
                {
                    "Sid": "Admins",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    md = new_key(
        kms,
        Description="with everything",
        Tags=[{"TagKey": "team", "TagValue": "blue"}, {"TagKey": "env", "TagValue": ""}],
        Policy=policy,
    )
    assert md["Description"] == "with everything"
    tags = kms.list_resource_tags(KeyId=md["KeyId"])
    assert sorted((t["TagKey"], t["TagValue"]) for t in tags["Tags"]) == [
        ("env", ""),
        ("team", "blue"),
    ]
    assert tags["Truncated"] is False
    got = kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")
    assert json.loads(got["Policy"]) == json.loads(policy)


@pytest.mark.parametrize(
    "spec,usage,field,algorithms",
    [
        ("HMAC_256", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_256"]),
        ("HMAC_512", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_512"]),
        ("RSA_2048", "SIGN_VERIFY", "SigningAlgorithms", None),
        ("RSA_2048", "ENCRYPT_DECRYPT", "EncryptionAlgorithms", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
        ("ECC_NIST_P256", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
        ("ECC_NIST_P256", "KEY_AGREEMENT", "KeyAgreementAlgorithms", ["ECDH"]),
    ],
)
def test_create_key_spec_and_usage_combinations(kms, spec, usage, field, algorithms):
    md = new_key(kms, KeySpec=spec, KeyUsage=usage)
    assert md["KeySpec"] == spec
    assert md["CustomerMasterKeySpec"] == spec
    assert md["KeyUsage"] == usage
    assert md["KeyState"] == "Enabled"
    assert md[field], md
    if algorithms is not None:
        assert sorted(md[field]) == sorted(algorithms)
    assert "CurrentKeyMaterialId" not in md or spec.startswith("HMAC")
    if field != "EncryptionAlgorithms":
        assert "EncryptionAlgorithms" not in md


@pytest.mark.parametrize(
    "spec,usage",
    [
        ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
        ("HMAC_256", "ENCRYPT_DECRYPT"),
        ("RSA_2048", "GENERATE_VERIFY_MAC"),
        ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
    ],
)
def test_create_key_refuses_incompatible_usage(kms, spec, usage):
    with raises_aws("ValidationException", 400):
        kms.create_key(KeySpec=spec, KeyUsage=usage)


def test_create_key_refuses_unknown_spec_and_usage(kms):
    with raises_aws("ValidationException", 400, "keySpec"):
        kms.create_key(KeySpec="AES_999")
    with raises_aws("ValidationException", 400, "keyUsage"):
        kms.create_key(KeyUsage="SHRED")


def test_customer_master_key_spec_is_the_deprecated_name_of_key_spec(kms):
    md = new_key(kms, CustomerMasterKeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")
    assert md["KeySpec"] == "HMAC_384"
    assert md["CustomerMasterKeySpec"] == "HMAC_384"
    with raises_aws("ValidationException", 400, "CustomerMasterKeySpec"):
        kms.create_key(KeySpec="SYMMETRIC_DEFAULT", CustomerMasterKeySpec="SYMMETRIC_DEFAULT")


def test_multi_region_and_custom_key_stores_are_refused(kms):
    before = {k["KeyId"] for k in all_keys(kms)}
    with raises_aws("UnsupportedOperationException", 400):
        kms.create_key(MultiRegion=True)
    # Moat has no custom key stores: any one a request names does not exist.
    with raises_aws("CustomKeyStoreNotFoundException", 400):
        kms.create_key(CustomKeyStoreId="cks-1234567890abcdef0", Origin="AWS_CLOUDHSM")
    with raises_aws("CustomKeyStoreNotFoundException", 400):
        kms.generate_random(NumberOfBytes=8, CustomKeyStoreId="cks-1234567890abcdef0")
    # Refusals create nothing.
    assert {k["KeyId"] for k in all_keys(kms)} == before


# --- NotFound ----------------------------------------------------------------------------


def test_unknown_keys_and_aliases_are_not_found_with_aws_messages(kms, names):
    missing = "11111111-2222-4333-8444-555555555555"
    with raises_aws("NotFoundException", 400, f"Key '{key_arn(missing)}' does not exist"):
        kms.describe_key(KeyId=missing)
    with raises_aws("NotFoundException", 400, f"Key '{key_arn(missing)}' does not exist"):
        kms.describe_key(KeyId=key_arn(missing))
    alias = f"alias/{names('missing')}"
    with raises_aws("NotFoundException", 400, f"Alias {alias_arn(alias)} is not found."):
        kms.describe_key(KeyId=alias)
    with raises_aws("NotFoundException", 400, f"Alias {alias_arn(alias)} is not found."):
        kms.encrypt(KeyId=alias_arn(alias), Plaintext=b"x")
    with raises_aws("NotFoundException", 400, "Invalid keyId 'not-a-key'"):
        kms.describe_key(KeyId="not-a-key")
    with raises_aws("NotFoundException", 400):
        kms.disable_key(KeyId=missing)


# --- ListKeys ----------------------------------------------------------------------------


def test_list_keys_pages_with_limit_and_marker(kms):
    mine = {new_key(kms)["KeyId"] for _ in range(3)}
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        kwargs = {"Limit": 2}
        if marker:
            kwargs["Marker"] = marker
        page = kms.list_keys(**kwargs)
        pages += 1
        assert len(page["Keys"]) <= 2
        for k in page["Keys"]:
            assert k["KeyArn"] == key_arn(k["KeyId"])
        seen.extend(k["KeyId"] for k in page["Keys"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        assert len(page["Keys"]) == 2
        marker = page["NextMarker"]
    assert pages >= 2
    assert len(seen) == len(set(seen)), "a key was listed twice"
    assert mine <= set(seen)
    # One page of everything lists the same keys.
    assert set(seen) == {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]} or len(seen) > 1000
    with raises_aws("InvalidMarkerException", 400):
        kms.list_keys(Marker="not a marker !!")


# --- Enable / Disable / Description --------------------------------------------------------


def test_disable_and_enable_key(kms):
    key_id = new_key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["KeyState"], md["Enabled"]) == ("Disabled", False)
    with raises_aws("DisabledException", 400, key_arn(key_id)):
        kms.encrypt(KeyId=key_id, Plaintext=b"secret")
    with raises_aws("DisabledException", 400):
        kms.decrypt(CiphertextBlob=blob)
    kms.disable_key(KeyId=key_id)  # idempotent
    kms.enable_key(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["KeyState"], md["Enabled"]) == ("Enabled", True)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"


def test_update_key_description(kms):
    key_id = new_key(kms, Description="old")["KeyId"]
    kms.update_key_description(KeyId=key_id, Description="new words")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new words"
    kms.update_key_description(KeyId=key_id, Description="")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == ""


# --- Deletion ------------------------------------------------------------------------------


def test_schedule_key_deletion_and_cancel(kms):
    key_id = new_key(kms)["KeyId"]
    start = dt.datetime.now(dt.timezone.utc)
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyId"] == key_arn(key_id)
    assert out["KeyState"] == "PendingDeletion"
    assert out["PendingWindowInDays"] == 7
    delta = out["DeletionDate"] - start
    assert dt.timedelta(days=7) - dt.timedelta(minutes=1) <= delta <= dt.timedelta(days=7, minutes=1)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion"
    assert md["Enabled"] is False
    assert md["DeletionDate"] == out["DeletionDate"]
    assert md["PendingDeletionWindowInDays"] == 7

    # A key pending deletion can be described and listed but not used or managed.
    assert key_id in {k["KeyId"] for k in all_keys(kms)}
    pending = f"{key_arn(key_id)} is pending deletion."
    with raises_aws("KMSInvalidStateException", 400, pending):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with raises_aws("KMSInvalidStateException", 400):
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    with raises_aws("KMSInvalidStateException", 400):
        kms.enable_key(KeyId=key_id)
    with raises_aws("KMSInvalidStateException", 400):
        kms.disable_key(KeyId=key_id)
    with raises_aws("KMSInvalidStateException", 400):
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with raises_aws("KMSInvalidStateException", 400):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])

    out = kms.cancel_key_deletion(KeyId=key_id)
    assert out == {"KeyId": key_arn(key_id), "ResponseMetadata": out["ResponseMetadata"]}
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "Disabled"
    assert md["Enabled"] is False
    assert "DeletionDate" not in md and "PendingDeletionWindowInDays" not in md
    with raises_aws("KMSInvalidStateException", 400):
        kms.cancel_key_deletion(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    assert kms.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"] == key_arn(key_id)


def test_schedule_key_deletion_defaults_to_30_days_and_checks_the_window(kms):
    key_id = new_key(kms)["KeyId"]
    for days in (6, 31, 1, 365):
        with raises_aws("ValidationException", 400):
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    out = kms.schedule_key_deletion(KeyId=key_id)
    assert out["PendingWindowInDays"] == 30
    out = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert out["PendingDeletionWindowInDays"] == 30


# --- Tags ----------------------------------------------------------------------------------


def test_tag_untag_and_list_resource_tags(kms):
    key_id = new_key(kms)["KeyId"]
    kms.tag_resource(
        KeyId=key_id,
        Tags=[{"TagKey": "b", "TagValue": "2"}, {"TagKey": "a", "TagValue": "1"}],
    )
    kms.tag_resource(KeyId=key_arn(key_id), Tags=[{"TagKey": "a", "TagValue": "one"}])
    got = kms.list_resource_tags(KeyId=key_id)["Tags"]
    assert sorted((t["TagKey"], t["TagValue"]) for t in got) == [("a", "one"), ("b", "2")]
    kms.untag_resource(KeyId=key_id, TagKeys=["b", "not-there"])
    got = kms.list_resource_tags(KeyId=key_id)["Tags"]
    assert got == [{"TagKey": "a", "TagValue": "one"}]

    with raises_aws("TagException", 400):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "aws:owner", "TagValue": "x"}])
    with raises_aws("TagException", 400):
        kms.create_key(Tags=[{"TagKey": "aws:cost", "TagValue": "x"}])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "a", "TagValue": "one"}]


def test_list_resource_tags_pages(kms):
    tags = [{"TagKey": f"k{i:02}", "TagValue": str(i)} for i in range(5)]
    key_id = new_key(kms, Tags=tags)["KeyId"]
    first = kms.list_resource_tags(KeyId=key_id, Limit=2)
    assert first["Truncated"] is True and len(first["Tags"]) == 2
    rest = kms.list_resource_tags(KeyId=key_id, Marker=first["NextMarker"])
    assert rest["Truncated"] is False
    assert first["Tags"] + rest["Tags"] == tags


# --- Key policies --------------------------------------------------------------------------


def test_default_key_policy_delegates_to_the_account(kms):
    key_id = new_key(kms)["KeyId"]
    got = kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert got["PolicyName"] == "default"
    assert json.loads(got["Policy"]) == {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    # PolicyName is optional and means `default`.
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == got["Policy"]
    listed = kms.list_key_policies(KeyId=key_id)
    assert listed["PolicyNames"] == ["default"]
    assert listed["Truncated"] is False
    with raises_aws("NotFoundException", 400):
        kms.get_key_policy(KeyId=key_id, PolicyName="other")


def test_put_key_policy(kms):
    key_id = new_key(kms)["KeyId"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "NoDecrypt",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        ],
    }
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    assert json.loads(kms.get_key_policy(KeyId=key_id)["Policy"]) == policy
    # It decides: root itself may no longer decrypt under this key.
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with raises_aws("AccessDeniedException", 400):
        kms.decrypt(CiphertextBlob=blob)


def test_malformed_key_policies_are_refused(kms):
    key_id = new_key(kms)["KeyId"]
    before = kms.get_key_policy(KeyId=key_id)["Policy"]
    for bad in (
        "{not json",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "kms:*",
                                                           "Resource": "*", "Principal": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*",
                                                           "Resource": "*"}]}),
    ):
        with raises_aws("MalformedPolicyDocumentException", 400):
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=bad)
        with raises_aws("MalformedPolicyDocumentException", 400):
            kms.create_key(Policy=bad)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == before


def test_lockout_safety_check_and_its_bypass(kms):
    key_id = new_key(kms)["KeyId"]
    locking = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                    "Action": ["kms:Encrypt", "kms:Decrypt"],
                    "Resource": "*",
                }
            ],
        }
    )
    with raises_aws(
        "MalformedPolicyDocumentException",
        400,
        "The new key policy will not allow you to update the key policy in the future.",
    ):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=locking)
    with raises_aws("MalformedPolicyDocumentException", 400):
        kms.create_key(Policy=locking)
    kms.put_key_policy(
        KeyId=key_id, PolicyName="default", Policy=locking, BypassPolicyLockoutSafetyCheck=True
    )
    # Locked out indeed: the policy cannot be read or changed any more, but Encrypt works.
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with raises_aws("AccessDeniedException", 400):
        kms.get_key_policy(KeyId=key_id)
    with raises_aws("AccessDeniedException", 400):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=locking)
    md = new_key(kms, Policy=locking, BypassPolicyLockoutSafetyCheck=True)
    assert md["KeyState"] == "Enabled"


# --- Aliases -------------------------------------------------------------------------------


def test_alias_lifecycle(kms, names):
    a = new_key(kms)["KeyId"]
    b = new_key(kms)["KeyId"]
    alias = f"alias/{names('life')}"
    kms.create_alias(AliasName=alias, TargetKeyId=a)
    entry = [x for x in all_aliases(kms) if x["AliasName"] == alias]
    assert len(entry) == 1
    [entry] = entry
    assert entry["AliasArn"] == alias_arn(alias)
    assert entry["TargetKeyId"] == a
    assert isinstance(entry["CreationDate"], dt.datetime)
    assert isinstance(entry["LastUpdatedDate"], dt.datetime)

    blob = kms.encrypt(KeyId=alias, Plaintext=b"via alias")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId=a)["Plaintext"] == b"via alias"

    kms.update_alias(AliasName=alias, TargetKeyId=key_arn(b))
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == b
    [entry] = [x for x in all_aliases(kms) if x["AliasName"] == alias]
    assert entry["TargetKeyId"] == b

    assert [x["AliasName"] for x in all_aliases(kms, KeyId=b)] == [alias]
    assert [x["AliasName"] for x in all_aliases(kms, KeyId=key_arn(a))] == []

    kms.delete_alias(AliasName=alias)
    assert not [x for x in all_aliases(kms) if x["AliasName"] == alias]
    with raises_aws("NotFoundException", 400):
        kms.delete_alias(AliasName=alias)
    with raises_aws("NotFoundException", 400):
        kms.update_alias(AliasName=alias, TargetKeyId=a)
    # The key itself is untouched.
    assert kms.describe_key(KeyId=b)["KeyMetadata"]["KeyState"] == "Enabled"


def test_alias_rules(kms, names):
    a = new_key(kms)["KeyId"]
    alias = f"alias/{names('rules')}"
    kms.create_alias(AliasName=alias, TargetKeyId=a)
    with raises_aws("AlreadyExistsException", 400, alias_arn(alias)):
        kms.create_alias(AliasName=alias, TargetKeyId=new_key(kms)["KeyId"])
    with raises_aws("NotAuthorizedException", 400):
        kms.create_alias(AliasName=f"alias/aws/{names('r')}", TargetKeyId=a)
    with raises_aws("ValidationException", 400):
        kms.create_alias(AliasName=f"{names('noprefix')}", TargetKeyId=a)
    # An alias must name a key, not another alias.
    with raises_aws("ValidationException", 400):
        kms.create_alias(AliasName=f"alias/{names('chain')}", TargetKeyId=alias)
    with raises_aws("ValidationException", 400):
        kms.create_alias(AliasName=f"alias/{names('chain')}", TargetKeyId=alias_arn(alias))
    missing = "11111111-2222-4333-8444-555555555555"
    with raises_aws("NotFoundException", 400):
        kms.create_alias(AliasName=f"alias/{names('m')}", TargetKeyId=missing)
    # Several aliases may name one key.
    second = f"alias/{names('second')}"
    kms.create_alias(AliasName=second, TargetKeyId=a)
    assert sorted(x["AliasName"] for x in all_aliases(kms, KeyId=a)) == sorted([alias, second])


def test_update_alias_refuses_a_key_of_another_type(kms, names):
    sym = new_key(kms)["KeyId"]
    hmac = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyId"]
    alias = f"alias/{names('type')}"
    kms.create_alias(AliasName=alias, TargetKeyId=sym)
    with raises_aws("ValidationException", 400):
        kms.update_alias(AliasName=alias, TargetKeyId=hmac)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == sym


def test_list_aliases_pages(kms, names):
    key_id = new_key(kms)["KeyId"]
    mine = sorted(f"alias/{names('page')}" for _ in range(3))
    for a in mine:
        kms.create_alias(AliasName=a, TargetKeyId=key_id)
    first = kms.list_aliases(KeyId=key_id, Limit=2)
    assert first["Truncated"] is True and len(first["Aliases"]) == 2
    rest = kms.list_aliases(KeyId=key_id, Limit=2, Marker=first["NextMarker"])
    assert rest["Truncated"] is False
    assert [x["AliasName"] for x in first["Aliases"] + rest["Aliases"]] == mine


def test_aliases_of_a_key_pending_deletion(kms, names):
    a = new_key(kms)["KeyId"]
    kms.schedule_key_deletion(KeyId=a, PendingWindowInDays=7)
    with raises_aws("KMSInvalidStateException", 400):
        kms.create_alias(AliasName=f"alias/{names('pd')}", TargetKeyId=a)


def test_aws_cli_creates_and_describes_a_key(aws, names):
    out = aws("kms", "create-key", "--description", "from the cli")
    md = out["KeyMetadata"]
    assert md["Description"] == "from the cli"
    alias = f"alias/{names('cli')}"
    aws("kms", "create-alias", "--alias-name", alias, "--target-key-id", md["KeyId"])
    got = aws("kms", "describe-key", "--key-id", alias)["KeyMetadata"]
    assert got["Arn"] == key_arn(md["KeyId"])
    listed = aws("kms", "list-aliases", "--key-id", md["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in listed] == [alias]
