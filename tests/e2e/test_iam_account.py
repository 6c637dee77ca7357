"""Account-wide IAM: aliases, GetAccountSummary, GetAccountAuthorizationDetails."""

from __future__ import annotations

import json

from support import ACCOUNT_ID, TRUST_EC2, allow, policy_doc, raises_aws


def test_account_alias_lifecycle(iam, names):
    alias = f"moat-e2e-{names.prefix.lower()}"[:63]
    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_account_alias(AccountAlias=alias)
    try:
        listed = iam.list_account_aliases()
        assert listed["AccountAliases"] == [alias]
        assert listed["IsTruncated"] is False
    finally:
        iam.delete_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == []
    with raises_aws("NoSuchEntity", 404):
        iam.delete_account_alias(AccountAlias=alias)


def test_account_alias_validation(iam):
    for bad in ("Upper-Case", "double--dash", "-leading", "trailing-", "under_score"):
        with raises_aws("ValidationError", 400, "at 'accountAlias' failed to satisfy constraint"):
            iam.create_account_alias(AccountAlias=bad)
    assert iam.list_account_aliases()["AccountAliases"] == []


def summary(iam) -> dict:
    return iam.get_account_summary()["SummaryMap"]


def test_account_summary_quotas(iam):
    s = summary(iam)
    expected_quotas = {
        "AccessKeysPerUserQuota": 2,
        "GroupsPerUserQuota": 10,
        "AttachedPoliciesPerUserQuota": 10,
        "AttachedPoliciesPerGroupQuota": 10,
        "VersionsPerPolicyQuota": 5,
        "UserPolicySizeQuota": 2048,
        "GroupPolicySizeQuota": 5120,
        "RolePolicySizeQuota": 10240,
        "PolicySizeQuota": 6144,
        "AssumeRolePolicySizeQuota": 2048,
        "GroupsQuota": 300,
        "UsersQuota": 5000,
        "RolesQuota": 1000,
        "PoliciesQuota": 1500,
    }
    for key, value in expected_quotas.items():
        assert s.get(key) == value, f"{key}: {s.get(key)}"
    for key in ("Users", "Groups", "Roles", "Policies", "AccountMFAEnabled", "MFADevices"):
        assert isinstance(s.get(key), int), key
    # The root user of this account has an access key (the one the suite signs with).
    assert s["AccountAccessKeysPresent"] == 1


def test_account_summary_counts(iam, names):
    before = summary(iam)
    user, group, role, pol = names("u"), names("g"), names("r"), names("p")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    arn = iam.create_policy(PolicyName=pol, PolicyDocument=policy_doc(allow()))["Policy"]["Arn"]
    after = summary(iam)
    for key in ("Users", "Groups", "Roles", "Policies"):
        assert after[key] == before[key] + 1, key

    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)
    iam.delete_policy(PolicyArn=arn)
    final = summary(iam)
    for key in ("Users", "Groups", "Roles", "Policies"):
        assert final[key] == before[key], key


def everything(iam, **kwargs) -> dict:
    return iam.get_paginator("get_account_authorization_details").paginate(**kwargs).build_full_result()


def test_account_authorization_details(iam, names):
    user, group, role, pol = names("u"), names("g"), names("r"), names("p")
    doc = {"Version": "2012-10-17", "Statement": [allow("s3:GetObject", "arn:aws:s3:::b/*")]}
    iam.create_user(UserName=user, Path=names.path, Tags=[{"Key": "k", "Value": "v"}])
    iam.create_group(GroupName=group, Path=names.path)
    iam.create_role(RoleName=role, Path=names.path, AssumeRolePolicyDocument=TRUST_EC2)
    arn = iam.create_policy(PolicyName=pol, Path=names.path, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.put_user_policy(UserName=user, PolicyName="ui", PolicyDocument=json.dumps(doc))
    iam.put_group_policy(GroupName=group, PolicyName="gi", PolicyDocument=json.dumps(doc))
    iam.put_role_policy(RoleName=role, PolicyName="ri", PolicyDocument=json.dumps(doc))

    details = everything(iam)
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    u = users[user]
    assert u["Path"] == names.path
    assert u["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user{names.path}{user}"
    assert u["GroupList"] == [group]
    assert u["AttachedManagedPolicies"] == [{"PolicyName": pol, "PolicyArn": arn}]
    assert u["UserPolicyList"] == [{"PolicyName": "ui", "PolicyDocument": doc}]
    assert u["Tags"] == [{"Key": "k", "Value": "v"}]

    groups = {g["GroupName"]: g for g in details["GroupDetailList"]}
    g = groups[group]
    assert g["GroupPolicyList"] == [{"PolicyName": "gi", "PolicyDocument": doc}]
    assert g["AttachedManagedPolicies"] == [{"PolicyName": pol, "PolicyArn": arn}]

    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    r = roles[role]
    assert r["AssumeRolePolicyDocument"] == json.loads(TRUST_EC2)
    assert r["RolePolicyList"] == [{"PolicyName": "ri", "PolicyDocument": doc}]
    assert r["AttachedManagedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    ]
    assert r["InstanceProfileList"] == []

    policies = {p["Arn"]: p for p in details["Policies"]}
    p = policies[arn]
    assert p["PolicyName"] == pol
    assert p["DefaultVersionId"] == "v1"
    assert p["AttachmentCount"] == 2
    assert p["PolicyVersionList"] == [
        {"Document": doc, "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": p["PolicyVersionList"][0]["CreateDate"]}
    ]


def test_account_authorization_details_filter_and_pagination(iam, names):
    for i in range(3):
        iam.create_user(UserName=names(f"fu{i}-"))
    role = names("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)

    only_users = everything(iam, Filter=["User"])
    assert only_users["UserDetailList"]
    assert not only_users.get("RoleDetailList")
    assert not only_users.get("GroupDetailList")
    assert not only_users.get("Policies")

    only_roles = everything(iam, Filter=["Role"])
    assert role in {r["RoleName"] for r in only_roles["RoleDetailList"]}
    assert not only_roles.get("UserDetailList")

    page = iam.get_account_authorization_details(Filter=["User"], MaxItems=1)
    assert page["IsTruncated"] is True and page["Marker"]
    assert len(page["UserDetailList"]) == 1
    paged = everything(iam, Filter=["User"], PaginationConfig={"PageSize": 2})
    assert sorted(u["UserName"] for u in paged["UserDetailList"]) == sorted(
        u["UserName"] for u in only_users["UserDetailList"]
    )

    local = everything(iam, Filter=["LocalManagedPolicy"])
    assert all(not p["Arn"].startswith("arn:aws:iam::aws:") for p in local.get("Policies", []))
    aws = everything(iam, Filter=["AWSManagedPolicy"])
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws.get("Policies", []))
