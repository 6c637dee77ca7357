"""Managed-policy attachments to users, groups and roles; ListEntitiesForPolicy."""

from __future__ import annotations

from support import ACCOUNT_ID, TRUST_EC2, allow, policy_doc, raises_aws

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
SECURITY_AUDIT = "arn:aws:iam::aws:policy/SecurityAudit"


def new_policy(iam, name: str, path: str = "/") -> str:
    return iam.create_policy(PolicyName=name, Path=path, PolicyDocument=policy_doc(allow()))["Policy"]["Arn"]


def test_attach_detach_user_policy(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    arn = new_policy(iam, names("p"))

    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # idempotent
    iam.attach_user_policy(UserName=user, PolicyArn=ADMIN)
    attached = iam.list_attached_user_policies(UserName=user)
    assert attached["IsTruncated"] is False
    assert sorted(attached["AttachedPolicies"], key=lambda p: p["PolicyArn"]) == sorted(
        [
            {"PolicyName": arn.rsplit("/", 1)[1], "PolicyArn": arn},
            {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN},
        ],
        key=lambda p: p["PolicyArn"],
    )
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_user_policy(UserName=user, PolicyArn=ADMIN)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    with raises_aws("NoSuchEntity", 404):
        iam.detach_user_policy(UserName=user, PolicyArn=arn)


def test_attach_group_and_role_policies(iam, names):
    group, role = names("g"), names("r")
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    arn = new_policy(iam, names("p"))

    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=SECURITY_AUDIT)
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]] == [arn]
    assert sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]) == sorted(
        [arn, SECURITY_AUDIT]
    )
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2

    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=SECURITY_AUDIT)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    with raises_aws("NoSuchEntity", 404):
        iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    with raises_aws("NoSuchEntity", 404):
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)


def test_list_entities_for_policy(iam, names):
    user, group, role = names("u"), names("g"), names("r")
    created_user = iam.create_user(UserName=user)["User"]
    created_group = iam.create_group(GroupName=group)["Group"]
    created_role = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)["Role"]
    arn = new_policy(iam, names("p"))
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)

    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert entities["IsTruncated"] is False
    assert entities["PolicyUsers"] == [{"UserName": user, "UserId": created_user["UserId"]}]
    assert entities["PolicyGroups"] == [{"GroupName": group, "GroupId": created_group["GroupId"]}]
    assert entities["PolicyRoles"] == [{"RoleName": role, "RoleId": created_role["RoleId"]}]

    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and only_roles["PolicyGroups"] == []
    assert [r["RoleName"] for r in only_roles["PolicyRoles"]] == [role]

    with raises_aws("NoSuchEntity", 404):
        iam.list_entities_for_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT_ID}:policy/{names('ghost')}")


def test_attachment_errors(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    missing = f"arn:aws:iam::{ACCOUNT_ID}:policy/{names('ghost')}"
    with raises_aws("NoSuchEntity", 404, f"Policy {missing} does not exist or is not attachable."):
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    with raises_aws("NoSuchEntity", 404):
        iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/NoSuchAwsPolicyE2E")
    with raises_aws("NoSuchEntity", 404):
        iam.attach_user_policy(UserName=names("ghost"), PolicyArn=ADMIN)
    with raises_aws("NoSuchEntity", 404):
        iam.attach_group_policy(GroupName=names("ghost"), PolicyArn=ADMIN)
    with raises_aws("NoSuchEntity", 404):
        iam.attach_role_policy(RoleName=names("ghost"), PolicyArn=ADMIN)
    with raises_aws("InvalidInput", 400, "is not valid"):
        iam.attach_user_policy(UserName=user, PolicyArn="this-is-not-an-arn-at-all")
    with raises_aws("NoSuchEntity", 404):
        iam.list_attached_user_policies(UserName=names("ghost"))


def test_ten_managed_policies_per_user(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    arns = [new_policy(iam, names(f"q{i}-")) for i in range(11)]
    for arn in arns[:10]:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    with raises_aws("LimitExceeded", 409):
        iam.attach_user_policy(UserName=user, PolicyArn=arns[10])
    assert len(iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]) == 10


def test_list_attached_pagination_and_path_prefix(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    inside = [new_policy(iam, names(f"in{i}-"), names.path) for i in range(3)]
    outside = new_policy(iam, names("out"))
    for arn in inside + [outside]:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)

    filtered = iam.list_attached_user_policies(UserName=user, PathPrefix=names.path)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in filtered) == sorted(inside)

    page = iam.list_attached_user_policies(UserName=user, MaxItems=2)
    assert page["IsTruncated"] is True and page["Marker"]
    assert len(page["AttachedPolicies"]) == 2
    full = iam.get_paginator("list_attached_user_policies").paginate(
        UserName=user, PaginationConfig={"PageSize": 3}
    ).build_full_result()
    assert sorted(p["PolicyArn"] for p in full["AttachedPolicies"]) == sorted(inside + [outside])


def test_attached_entities_and_policies_cannot_be_deleted(iam, names):
    user, group, role = names("u"), names("g"), names("r")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    arn = new_policy(iam, names("p"))
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)

    with raises_aws("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=user)
    with raises_aws("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    with raises_aws("DeleteConflict", 409):
        iam.delete_role(RoleName=role)

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)
    iam.delete_policy(PolicyArn=arn)


def test_only_attached_filter(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    used = new_policy(iam, names("used"), names.path)
    new_policy(iam, names("unused"), names.path)
    iam.attach_user_policy(UserName=user, PolicyArn=used)

    attached = iam.list_policies(Scope="Local", OnlyAttached=True, PathPrefix=names.path)["Policies"]
    assert [p["Arn"] for p in attached] == [used]
    assert attached[0]["AttachmentCount"] == 1

    iam.attach_user_policy(UserName=user, PolicyArn=SECURITY_AUDIT)
    aws_attached = iam.get_paginator("list_policies").paginate(
        Scope="AWS", OnlyAttached=True
    ).build_full_result()["Policies"]
    assert SECURITY_AUDIT in {p["Arn"] for p in aws_attached}
    assert all(p["AttachmentCount"] >= 1 for p in aws_attached)
    iam.detach_user_policy(UserName=user, PolicyArn=SECURITY_AUDIT)


def test_attachments_follow_renames(iam, names):
    old, new = names("old"), names("new")
    iam.create_user(UserName=old)
    arn = new_policy(iam, names("p"))
    iam.attach_user_policy(UserName=old, PolicyArn=arn)
    iam.update_user(UserName=old, NewUserName=new)
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=new)["AttachedPolicies"]] == [arn]
    assert [u["UserName"] for u in iam.list_entities_for_policy(PolicyArn=arn)["PolicyUsers"]] == [new]
