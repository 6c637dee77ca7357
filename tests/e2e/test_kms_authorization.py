"""KMS authorization: key policies decide together with IAM policies, as in AWS. A key policy
that names the account (`arn:aws:iam::ACCOUNT:root`) lets IAM policies allow; one that names a
user allows that user with no IAM policy; an explicit Deny anywhere wins. Conditions on the
encryption context, the caller's account and the key's tags; the root user refused by a key
policy that does not admit the account; alias permissions; and denied calls in CloudTrail with
no plaintext or data key in any event.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from support import ACCOUNT_ID, REGION, make_caller, policy_doc, raises_aws

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"


def alias_arn(name: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{name}"


def key_policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def admin_for_root() -> dict:
    """Lets the account manage the key's policy, and nothing else: IAM policies decide only
    these actions."""
    return {
        "Sid": "RootAdmin",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"],
        "Resource": "*",
    }


def allow_iam(caller, iam, *statements: dict, name: str = "kms") -> None:
    iam.put_user_policy(UserName=caller.name, PolicyName=name, PolicyDocument=policy_doc(*statements))


def kms_allow(action, resource="*", condition: dict | None = None) -> dict:
    st = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return st


def test_default_key_policy_lets_iam_policies_decide(server, iam, kms, names):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    alice = make_caller(server, iam, names("alice"), path=names.path)
    ak = alice.client("kms")
    with raises_aws("AccessDeniedException", 400, "is not authorized to perform: kms:Encrypt"):
        ak.encrypt(KeyId=key, Plaintext=b"x")
    allow_iam(alice, iam, kms_allow("kms:Encrypt", key_arn(key)))
    blob = ak.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    # Encrypt only: Decrypt is still refused, and so is another key.
    with raises_aws("AccessDeniedException", 400, "kms:Decrypt"):
        ak.decrypt(CiphertextBlob=blob)
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    with raises_aws("AccessDeniedException", 400):
        ak.encrypt(KeyId=other, Plaintext=b"x")
    # Account-wide actions are IAM's alone.
    with raises_aws("AccessDeniedException", 400):
        ak.list_keys()
    allow_iam(alice, iam, kms_allow(["kms:ListKeys", "kms:CreateKey"]), name="list")
    assert ak.list_keys(Limit=1)["Keys"]


def test_key_policy_naming_the_user_needs_no_iam_policy(server, iam, kms, names):
    bob = make_caller(server, iam, names("bob"), path=names.path)
    policy = key_policy(
        admin_for_root(),
        {
            "Sid": "Bob",
            "Effect": "Allow",
            "Principal": {"AWS": bob.arn},
            "Action": ["kms:Encrypt", "kms:Decrypt"],
            "Resource": "*",
        },
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    bk = bob.client("kms")
    blob = bk.encrypt(KeyId=key, Plaintext=b"bob's")["CiphertextBlob"]
    assert bk.decrypt(CiphertextBlob=blob)["Plaintext"] == b"bob's"
    with raises_aws("AccessDeniedException", 400):
        bk.generate_data_key(KeyId=key, KeySpec="AES_256")


def test_key_policy_not_delegating_to_the_account_ignores_iam_policies(server, iam, kms, names):
    carol = make_caller(server, iam, names("carol"), path=names.path)
    key = kms.create_key(Policy=key_policy(admin_for_root()))["KeyMetadata"]["KeyId"]
    allow_iam(carol, iam, kms_allow("kms:*"))
    ck = carol.client("kms")
    with raises_aws("AccessDeniedException", 400, "kms:Encrypt"):
        ck.encrypt(KeyId=key, Plaintext=b"x")
    # The same IAM policy is enough where the key policy delegates the action to the account.
    assert ck.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key
    default = kms.create_key()["KeyMetadata"]["KeyId"]
    ck.encrypt(KeyId=default, Plaintext=b"x")


def test_explicit_deny_in_the_key_policy_beats_an_iam_allow(server, iam, kms, names):
    dave = make_caller(server, iam, names("dave"), path=names.path)
    policy = key_policy(
        {
            "Sid": "Account",
            "Effect": "Allow",
            "Principal": {"AWS": ROOT},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "NotDave",
            "Effect": "Deny",
            "Principal": {"AWS": dave.arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
        },
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    allow_iam(dave, iam, kms_allow(["kms:Encrypt", "kms:Decrypt"], key_arn(key)))
    dk = dave.client("kms")
    blob = dk.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with raises_aws("AccessDeniedException", 400, "explicit deny"):
        dk.decrypt(CiphertextBlob=blob)
    # Root is not Dave: the account's own calls still work.
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    # And an explicit deny in an IAM policy beats the key policy's allow too.
    iam.put_user_policy(
        UserName=dave.name,
        PolicyName="deny-encrypt",
        PolicyDocument=policy_doc({"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}),
    )
    with raises_aws("AccessDeniedException", 400):
        dk.encrypt(KeyId=key, Plaintext=b"x")


def test_conditions_on_the_encryption_context(server, iam, kms, names):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    erin = make_caller(server, iam, names("erin"), path=names.path)
    allow_iam(
        erin,
        iam,
        kms_allow(
            "kms:Encrypt",
            key_arn(key),
            {"StringEquals": {"kms:EncryptionContext:purpose": "backup"}},
        ),
        kms_allow(
            "kms:GenerateDataKey",
            key_arn(key),
            {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["tenant", "purpose"]},
             "Null": {"kms:EncryptionContextKeys": "false"}},
        ),
    )
    ek = erin.client("kms")
    ek.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"purpose": "backup"})
    ek.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"purpose": "backup", "extra": "1"})
    with raises_aws("AccessDeniedException", 400):
        ek.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"purpose": "other"})
    with raises_aws("AccessDeniedException", 400):
        ek.encrypt(KeyId=key, Plaintext=b"x")

    ek.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"tenant": "t1"})
    ek.generate_data_key(
        KeyId=key, KeySpec="AES_256", EncryptionContext={"tenant": "t1", "purpose": "p"}
    )
    with raises_aws("AccessDeniedException", 400):
        ek.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"other": "x"})
    with raises_aws("AccessDeniedException", 400):
        ek.generate_data_key(KeyId=key, KeySpec="AES_256")


def test_caller_account_condition_in_the_key_policy(server, iam, kms, names):
    frank = make_caller(server, iam, names("frank"), path=names.path)
    policy = key_policy(
        admin_for_root(),
        {
            "Sid": "AnyoneInTheAccount",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT_ID}},
        },
        {
            "Sid": "AnotherAccount",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:GenerateDataKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": "999999999999"}},
        },
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    fk = frank.client("kms")
    fk.encrypt(KeyId=key, Plaintext=b"x")
    with raises_aws("AccessDeniedException", 400):
        fk.generate_data_key(KeyId=key, KeySpec="AES_256")


def test_resource_tag_condition(server, iam, kms, names):
    blue = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]["KeyId"]
    red = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "red"}])["KeyMetadata"]["KeyId"]
    gina = make_caller(server, iam, names("gina"), path=names.path)
    allow_iam(
        gina,
        iam,
        kms_allow("kms:Encrypt", "*", {"StringEquals": {"aws:ResourceTag/team": "blue"}}),
    )
    gk = gina.client("kms")
    gk.encrypt(KeyId=blue, Plaintext=b"x")
    with raises_aws("AccessDeniedException", 400):
        gk.encrypt(KeyId=red, Plaintext=b"x")
    # Retagging moves the permission.
    kms.tag_resource(KeyId=red, Tags=[{"TagKey": "team", "TagValue": "blue"}])
    gk.encrypt(KeyId=red, Plaintext=b"x")


def test_root_is_refused_by_a_key_policy_that_does_not_admit_the_account(server, iam, kms, names):
    hank = make_caller(server, iam, names("hank"), path=names.path)
    policy = key_policy(
        {
            "Sid": "OnlyHank",
            "Effect": "Allow",
            "Principal": {"AWS": hank.arn},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    with raises_aws("MalformedPolicyDocumentException", 400):
        kms.create_key(Policy=policy)
    key = kms.create_key(Policy=policy, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    with raises_aws("AccessDeniedException", 400):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with raises_aws("AccessDeniedException", 400):
        kms.describe_key(KeyId=key)
    with raises_aws("AccessDeniedException", 400):
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy)
    hk = hank.client("kms")
    blob = hk.encrypt(KeyId=key, Plaintext=b"hank only")["CiphertextBlob"]
    with raises_aws("AccessDeniedException", 400):
        kms.decrypt(CiphertextBlob=blob)
    assert hk.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hank only"


def test_re_encrypt_needs_from_and_to(server, iam, kms, names):
    src = kms.create_key()["KeyMetadata"]["KeyId"]
    dst = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=src, Plaintext=b"moving")["CiphertextBlob"]
    ivy = make_caller(server, iam, names("ivy"), path=names.path)
    ik = ivy.client("kms")
    allow_iam(ivy, iam, kms_allow("kms:ReEncryptFrom", key_arn(src)))
    with raises_aws("AccessDeniedException", 400, "kms:ReEncryptTo"):
        ik.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst)
    allow_iam(ivy, iam, kms_allow("kms:ReEncryptTo", key_arn(dst)), name="to")
    out = ik.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst)
    assert out["KeyId"] == key_arn(dst)
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"moving"
    iam.delete_user_policy(UserName=ivy.name, PolicyName="kms")
    with raises_aws("AccessDeniedException", 400, "kms:ReEncryptFrom"):
        ik.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst)


def test_create_alias_needs_permission_on_the_alias_and_the_key(server, iam, kms, names):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    jack = make_caller(server, iam, names("jack"), path=names.path)
    jk = jack.client("kms")
    prefix = names("jack-alias")
    alias = f"alias/{prefix}-app"
    allow_iam(jack, iam, kms_allow("kms:CreateAlias", key_arn(key)))
    with raises_aws("AccessDeniedException", 400, alias_arn(alias)):
        jk.create_alias(AliasName=alias, TargetKeyId=key)
    allow_iam(jack, iam, kms_allow("kms:CreateAlias", alias_arn(f"alias/{prefix}-*")))
    with raises_aws("AccessDeniedException", 400, key_arn(key)):
        jk.create_alias(AliasName=alias, TargetKeyId=key)
    allow_iam(
        jack,
        iam,
        kms_allow("kms:CreateAlias", [key_arn(key), alias_arn(f"alias/{prefix}-*")]),
    )
    jk.create_alias(AliasName=alias, TargetKeyId=key)
    with raises_aws("AccessDeniedException", 400):
        jk.create_alias(AliasName=f"alias/{names('elsewhere')}", TargetKeyId=key)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key
    # Deleting needs kms:DeleteAlias on both as well.
    with raises_aws("AccessDeniedException", 400, "kms:DeleteAlias"):
        jk.delete_alias(AliasName=alias)


def _events(server, **kwargs) -> list[dict]:
    ct = server.client("cloudtrail")
    pages = ct.get_paginator("lookup_events").paginate(**kwargs)
    return [e for page in pages for e in page["Events"]]


def test_kms_calls_in_cloudtrail_with_no_secrets(server, iam, kms, names):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kate = make_caller(server, iam, names("kate"), path=names.path)
    kk = kate.client("kms")
    secret = b"plaintext that must never be logged 0123456789"
    secret_b64 = base64.b64encode(secret).decode()
    with raises_aws("AccessDeniedException", 400) as denied:
        kk.encrypt(KeyId=key, Plaintext=secret)
    denied_id = denied.value.response["ResponseMetadata"]["RequestId"]
    ok = kms.encrypt(KeyId=key, Plaintext=secret, EncryptionContext={"purpose": "audit"})
    dk = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    data_key_b64 = base64.b64encode(dk["Plaintext"]).decode()
    dec = kms.decrypt(CiphertextBlob=ok["CiphertextBlob"], EncryptionContext={"purpose": "audit"})
    assert dec["Plaintext"] == secret

    wanted = {
        denied_id,
        ok["ResponseMetadata"]["RequestId"],
        dk["ResponseMetadata"]["RequestId"],
        dec["ResponseMetadata"]["RequestId"],
    }
    found: dict[str, dict] = {}
    for _ in range(50):
        events = _events(
            server,
            LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}],
        )
        for e in events:
            r = json.loads(e["CloudTrailEvent"])
            if r.get("requestID") in wanted:
                found[r["requestID"]] = (e, r)
        if set(found) == wanted:
            break
        time.sleep(0.1)
    assert set(found) == wanted, f"missing events: {wanted - set(found)}"

    e, r = found[denied_id]
    assert e["EventName"] == "Encrypt"
    assert r["eventSource"] == "kms.amazonaws.com"
    assert r["errorCode"] in ("AccessDenied", "AccessDeniedException")
    assert r["userIdentity"]["arn"] == kate.arn

    for request_id, (e, r) in found.items():
        raw = e["CloudTrailEvent"]
        for forbidden in (secret_b64, secret.decode(), data_key_b64):
            assert forbidden not in raw, f"{e['EventName']} event leaks a secret"
        params = r.get("requestParameters") or {}
        # AWS leaves the plaintext out; a redacted placeholder says no more.
        assert params.get("plaintext") in (None, "HIDDEN_DUE_TO_SECURITY_REASONS"), params
        response = r.get("responseElements") or {}
        assert response.get("plaintext") in (None, "HIDDEN_DUE_TO_SECURITY_REASONS"), response
        assert data_key_b64 not in json.dumps(response)

    e, r = found[dk["ResponseMetadata"]["RequestId"]]
    assert r["eventName"] == "GenerateDataKey"
    assert r["eventSource"] == "kms.amazonaws.com"
    assert r["requestParameters"]["keyId"] == key
    assert e["ReadOnly"] == "true"
