"""KMS grants as AWS documents them: CreateGrant, ListGrants, RevokeGrant, RetireGrant,
ListRetirableGrants, and grants as an allow besides the key policy and IAM policies.

- A grant lets its grantee principal (an IAM user, a role's sessions, one role session) call
  its operations on its key when no policy allows it; an explicit deny still wins.
- EncryptionContextEquals / EncryptionContextSubset constraints allow only requests whose
  encryption context matches exactly / includes the pairs.
- RetireGrant is decided by the grant: its retiring principal, its grantee when it includes
  RetireGrant, or the account that created it. RevokeGrant is decided by policy.
- Grant tokens are opaque; one Moat did not issue is InvalidGrantTokenException.

Keys are made by root (default key policy: the account decides through IAM). Callers are IAM
users with no policies, made by `make_caller`.
"""

from __future__ import annotations

import json

import pytest

from support import ACCOUNT_ID, make_caller, policy_doc, raises_aws, session_client

ACCOUNT_ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


@pytest.fixture
def kms(server):
    return server.client("kms")


@pytest.fixture
def key(kms, names):
    """A symmetric encryption key with the default key policy."""
    return kms.create_key(Description=names("key"))["KeyMetadata"]


@pytest.fixture
def caller(server, iam, names):
    """An IAM user with an access key and no IAM policies."""
    return make_caller(server, iam, names("caller"), names.path)


def denied():
    # A policy denial by the shared pipeline (which answers HTTP 403 where AWS KMS answers 400).
    return raises_aws("AccessDeniedException")


def encrypt(client, key_id, context=None, **kw):
    args = {"KeyId": key_id, "Plaintext": b"secret"}
    if context is not None:
        args["EncryptionContext"] = context
    return client.encrypt(**args, **kw)


def test_a_grant_allows_a_user_without_policies(kms, key, caller):
    """With the default key policy the account's IAM policies decide, and the caller has none:
    denied until a grant names it, allowed for the granted operations only, denied again once
    the grant is revoked."""
    ckms = caller.client("kms")
    blob = encrypt(kms, key["KeyId"])["CiphertextBlob"]
    with denied():
        encrypt(ckms, key["KeyId"])
    with denied():
        ckms.decrypt(CiphertextBlob=blob)

    grant = kms.create_grant(
        KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["Encrypt", "Decrypt"]
    )
    assert len(grant["GrantId"]) == 64
    assert int(grant["GrantId"], 16) >= 0
    assert grant["GrantToken"]

    out = encrypt(ckms, key["KeyId"])
    assert out["KeyId"] == key["Arn"]
    assert ckms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    # Operations the grant does not name stay denied.
    with denied():
        ckms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    with denied():
        ckms.describe_key(KeyId=key["KeyId"])

    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    with denied():
        encrypt(ckms, key["KeyId"])
    with denied():
        ckms.decrypt(CiphertextBlob=blob)


def test_list_grants_shows_the_grant(kms, key, caller, names):
    retiring = f"arn:aws:iam::{ACCOUNT_ID}:user/{names('retirer')}"
    made = kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=caller.arn,
        RetiringPrincipal=retiring,
        Operations=["Encrypt", "DescribeKey"],
        Constraints={"EncryptionContextSubset": {"app": "billing"}},
        Name="billing-grant",
    )
    other = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Decrypt"])
    listed = kms.list_grants(KeyId=key["KeyId"])
    assert listed["Truncated"] is False
    by_id = {g["GrantId"]: g for g in listed["Grants"]}
    assert set(by_id) == {made["GrantId"], other["GrantId"]}
    g = by_id[made["GrantId"]]
    assert g["KeyId"] == key["Arn"]
    assert g["GranteePrincipal"] == caller.arn
    assert g["RetiringPrincipal"] == retiring
    assert sorted(g["Operations"]) == ["DescribeKey", "Encrypt"]
    assert g["Constraints"] == {"EncryptionContextSubset": {"app": "billing"}}
    assert g["Name"] == "billing-grant"
    assert g["IssuingAccount"] == ACCOUNT_ROOT
    assert g["CreationDate"] is not None

    only = kms.list_grants(KeyId=key["KeyId"], GrantId=made["GrantId"])["Grants"]
    assert [x["GrantId"] for x in only] == [made["GrantId"]]
    mine = kms.list_grants(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT)["Grants"]
    assert [x["GrantId"] for x in mine] == [other["GrantId"]]

    # Paging.
    first = kms.list_grants(KeyId=key["KeyId"], Limit=1)
    assert first["Truncated"] is True and len(first["Grants"]) == 1
    second = kms.list_grants(KeyId=key["KeyId"], Limit=1, Marker=first["NextMarker"])
    assert second["Truncated"] is False
    assert {first["Grants"][0]["GrantId"], second["Grants"][0]["GrantId"]} == set(by_id)


def test_equals_constraint_allows_only_that_context(kms, key, caller):
    kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=caller.arn,
        Operations=["Encrypt", "Decrypt"],
        Constraints={"EncryptionContextEquals": {"dept": "IT"}},
    )
    ckms = caller.client("kms")
    blob = encrypt(ckms, key["KeyId"], {"dept": "IT"})["CiphertextBlob"]
    assert ckms.decrypt(CiphertextBlob=blob, EncryptionContext={"dept": "IT"})["Plaintext"] == b"secret"
    # Keys compare without case in a constraint, values with it.
    encrypt(ckms, key["KeyId"], {"DEPT": "IT"})
    with denied():
        encrypt(ckms, key["KeyId"], {"dept": "it"})
    with denied():
        encrypt(ckms, key["KeyId"], {"dept": "IT", "extra": "x"})
    with denied():
        encrypt(ckms, key["KeyId"])


def test_subset_constraint_allows_contexts_that_include_it(kms, key, caller):
    kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=caller.arn,
        Operations=["Encrypt", "GenerateDataKey"],
        Constraints={"EncryptionContextSubset": {"dept": "IT"}},
    )
    ckms = caller.client("kms")
    encrypt(ckms, key["KeyId"], {"dept": "IT"})
    encrypt(ckms, key["KeyId"], {"dept": "IT", "project": "p1"})
    ckms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext={"dept": "IT", "x": "y"})
    with denied():
        encrypt(ckms, key["KeyId"], {"dept": "HR"})
    with denied():
        encrypt(ckms, key["KeyId"], {"project": "p1"})
    with denied():
        encrypt(ckms, key["KeyId"])


def test_retire_by_retiring_principal_and_by_token(server, iam, kms, key, caller, names):
    retirer = make_caller(server, iam, names("retirer"), names.path)
    stranger = make_caller(server, iam, names("stranger"), names.path)
    g = kms.create_grant(
        KeyId=key["KeyId"], GranteePrincipal=caller.arn, RetiringPrincipal=retirer.arn, Operations=["Encrypt"]
    )
    ckms = caller.client("kms")
    encrypt(ckms, key["KeyId"])
    # Neither the grantee (the grant lacks RetireGrant) nor a stranger may retire it.
    with raises_aws("AccessDeniedException", 400):
        ckms.retire_grant(KeyId=key["Arn"], GrantId=g["GrantId"])
    with raises_aws("AccessDeniedException", 400):
        stranger.client("kms").retire_grant(GrantToken=g["GrantToken"])
    retirer.client("kms").retire_grant(KeyId=key["Arn"], GrantId=g["GrantId"])
    with denied():
        encrypt(ckms, key["KeyId"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    with raises_aws("NotFoundException", 400):
        retirer.client("kms").retire_grant(KeyId=key["Arn"], GrantId=g["GrantId"])

    # A grantee whose grant includes RetireGrant retires it by its token.
    g2 = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["Encrypt", "RetireGrant"])
    encrypt(ckms, key["KeyId"])
    ckms.retire_grant(GrantToken=g2["GrantToken"])
    with denied():
        encrypt(ckms, key["KeyId"])

    # The account that created the grant (its root) may always retire it.
    g3 = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["Encrypt"])
    kms.retire_grant(GrantToken=g3["GrantToken"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []


def test_explicit_deny_in_the_key_policy_beats_a_grant(kms, caller, names):
    policy = policy_doc(
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "no", "Effect": "Deny", "Principal": {"AWS": caller.arn}, "Action": "kms:Encrypt", "Resource": "*"},
    )
    key = kms.create_key(Description=names("key"), Policy=policy)["KeyMetadata"]
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["Encrypt", "DescribeKey"])
    ckms = caller.client("kms")
    with denied():
        encrypt(ckms, key["KeyId"])
    # The grant still allows what the policy does not deny.
    assert ckms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_list_retirable_grants(kms, key, names):
    retiring = f"arn:aws:iam::{ACCOUNT_ID}:user/{names('retirer')}"
    other_key = kms.create_key(Description=names("key"))["KeyMetadata"]
    g1 = kms.create_grant(
        KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, RetiringPrincipal=retiring, Operations=["Encrypt"]
    )
    g2 = kms.create_grant(
        KeyId=other_key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, RetiringPrincipal=retiring, Operations=["Decrypt"]
    )
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Decrypt"])
    got = kms.list_retirable_grants(RetiringPrincipal=retiring)
    assert {g["GrantId"]: g["KeyId"] for g in got["Grants"]} == {
        g1["GrantId"]: key["Arn"],
        g2["GrantId"]: other_key["Arn"],
    }
    assert all(g["RetiringPrincipal"] == retiring for g in got["Grants"])
    page = kms.list_retirable_grants(RetiringPrincipal=retiring, Limit=1)
    assert page["Truncated"] is True and len(page["Grants"]) == 1
    rest = kms.list_retirable_grants(RetiringPrincipal=retiring, Limit=1, Marker=page["NextMarker"])
    assert rest["Truncated"] is False
    assert {page["Grants"][0]["GrantId"], rest["Grants"][0]["GrantId"]} == {g1["GrantId"], g2["GrantId"]}


def test_invalid_tokens_and_unknown_grants(kms, key):
    with raises_aws("InvalidGrantTokenException", 400):
        encrypt(kms, key["KeyId"], GrantTokens=["not-a-grant-token"])
    with raises_aws("InvalidGrantTokenException", 400):
        kms.retire_grant(GrantToken="bm90LWEtZ3JhbnQtdG9rZW4")
    g = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Encrypt"])
    # A token Moat issued is accepted on the calls that take one.
    encrypt(kms, key["KeyId"], GrantTokens=[g["GrantToken"]])
    unknown = "0" * 64
    with raises_aws("NotFoundException", 400):
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=unknown)
    with raises_aws("NotFoundException", 400):
        kms.retire_grant(KeyId=key["Arn"], GrantId=unknown)
    with raises_aws("InvalidGrantIdException", 400):
        kms.revoke_grant(KeyId=key["KeyId"], GrantId="nope")


def test_create_grant_validation(kms, key, names):
    with raises_aws("ValidationException", 400):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Sign"])
    with raises_aws("ValidationException", 400):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal="not-an-arn", Operations=["Encrypt"])
    with raises_aws("ValidationException", 400):
        kms.create_grant(
            KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, RetiringPrincipal="bob", Operations=["Encrypt"]
        )
    hmac = kms.create_key(Description=names("hmac"), KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    with raises_aws("ValidationException", 400):
        kms.create_grant(
            KeyId=hmac["KeyId"],
            GranteePrincipal=ACCOUNT_ROOT,
            Operations=["GenerateMac"],
            Constraints={"EncryptionContextEquals": {"a": "b"}},
        )
    kms.create_grant(KeyId=hmac["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["GenerateMac", "VerifyMac"])
    # Disabled keys take grants; keys pending deletion do not.
    kms.disable_key(KeyId=key["KeyId"])
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Encrypt"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with raises_aws("KMSInvalidStateException", 400):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Encrypt"])


def test_create_grant_with_name_is_idempotent(kms, key, caller):
    args = dict(KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["Encrypt"], Name="retry-safe")
    first = kms.create_grant(**args)
    again = kms.create_grant(**args)
    assert again["GrantId"] == first["GrantId"]
    changed = kms.create_grant(**{**args, "Operations": ["Encrypt", "Decrypt"]})
    assert changed["GrantId"] != first["GrantId"]
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 2


def test_a_role_session_as_grantee(server, iam, kms, key, caller, names):
    role = iam.create_role(
        RoleName=names("role"),
        Path=names.path,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": caller.arn}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]
    sts = caller.client("sts")

    def session(name):
        creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=name)["Credentials"]
        return session_client(server, creds, "kms")

    one, two = session("one"), session("two")
    with denied():
        encrypt(one, key["KeyId"])
    # A grant to the role covers every session of it.
    g = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=role["Arn"], Operations=["Encrypt"])
    encrypt(one, key["KeyId"])
    encrypt(two, key["KeyId"])
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=g["GrantId"])
    # A grant to one session's ARN covers that session only.
    session_arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role['RoleName']}/one"
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=session_arn, Operations=["Encrypt"])
    encrypt(one, key["KeyId"])
    with denied():
        encrypt(two, key["KeyId"])


def test_create_grant_through_a_grant(server, iam, kms, key, caller, names):
    """A grant with CreateGrant lets its grantee create grants for some of its operations."""
    other = make_caller(server, iam, names("other"), names.path)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["CreateGrant", "Encrypt"])
    ckms = caller.client("kms")
    with denied():
        ckms.create_grant(KeyId=key["KeyId"], GranteePrincipal=other.arn, Operations=["Decrypt"])
    ckms.create_grant(KeyId=key["KeyId"], GranteePrincipal=other.arn, Operations=["Encrypt"])
    encrypt(other.client("kms"), key["KeyId"])


def test_re_encrypt_through_grants(kms, key, caller, names):
    """ReEncrypt needs ReEncryptFrom on the source key and ReEncryptTo on the destination; a
    constraint on the destination's grant is checked against the destination context."""
    dest = kms.create_key(Description=names("dest"))["KeyMetadata"]
    blob = encrypt(kms, key["KeyId"], {"a": "1"})["CiphertextBlob"]
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["ReEncryptFrom"])
    ckms = caller.client("kms")
    with denied():
        ckms.re_encrypt(
            CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=dest["KeyId"]
        )
    kms.create_grant(
        KeyId=dest["KeyId"],
        GranteePrincipal=caller.arn,
        Operations=["ReEncryptTo"],
        Constraints={"EncryptionContextEquals": {"b": "2"}},
    )
    with denied():
        ckms.re_encrypt(
            CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=dest["KeyId"]
        )
    out = ckms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=dest["KeyId"],
        DestinationEncryptionContext={"b": "2"},
    )
    assert out["KeyId"] == dest["Arn"]
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})["Plaintext"] == b"secret"


def test_create_grant_condition_keys_in_iam_policies(iam, kms, key, caller, names):
    """kms:GrantOperations, kms:GranteePrincipal and kms:GrantConstraintType are set on
    CreateGrant for policies to decide on."""
    iam.put_user_policy(
        UserName=caller.name,
        PolicyName="grants",
        PolicyDocument=policy_doc(
            {
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": key["Arn"],
                "Condition": {
                    "ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]},
                    "StringEquals": {
                        "kms:GranteePrincipal": ACCOUNT_ROOT,
                        "kms:GrantConstraintType": "EncryptionContextSubset",
                    },
                    "Bool": {"kms:GrantIsForAWSResource": "false"},
                },
            }
        ),
    )
    ckms = caller.client("kms")
    subset = {"EncryptionContextSubset": {"app": "x"}}
    ckms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Encrypt"], Constraints=subset)
    with denied():
        ckms.create_grant(
            KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Encrypt", "ReEncryptFrom"], Constraints=subset
        )
    with denied():
        ckms.create_grant(KeyId=key["KeyId"], GranteePrincipal=caller.arn, Operations=["Encrypt"], Constraints=subset)
    with denied():
        ckms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ACCOUNT_ROOT, Operations=["Encrypt"])
