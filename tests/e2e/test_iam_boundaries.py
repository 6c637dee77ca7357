"""Permissions boundaries: Put/DeleteUserPermissionsBoundary, Put/DeleteRolePermissionsBoundary,
and the PermissionsBoundary parameter of CreateUser/CreateRole."""

from __future__ import annotations

from support import TRUST_EC2, raises_aws

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"


def boundary(entity):
    return entity.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")


def test_user_boundary_lifecycle(iam, names, aws):
    user = names("u")
    iam.create_user(UserName=user, PermissionsBoundary=READ_ONLY)
    assert boundary(iam.get_user(UserName=user)["User"]) == READ_ONLY
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryType"] == (
        "PermissionsBoundaryPolicy"
    )

    aws("iam", "put-user-permissions-boundary", "--user-name", user,
        "--permissions-boundary", IAM_READ)
    assert boundary(iam.get_user(UserName=user)["User"]) == IAM_READ

    with raises_aws("NoSuchEntity", 404):
        iam.put_user_permissions_boundary(
            UserName=user, PermissionsBoundary="arn:aws:iam::aws:policy/NoSuchPolicy")
    assert boundary(iam.get_user(UserName=user)["User"]) == IAM_READ

    iam.delete_user_permissions_boundary(UserName=user)
    assert boundary(iam.get_user(UserName=user)["User"]) is None
    with raises_aws("NoSuchEntity", 404):
        iam.delete_user_permissions_boundary(UserName=names("missing"))


def test_role_boundary_counts_and_blocks_policy_deletion(iam, names):
    role = names("r")
    doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    arn = iam.create_policy(PolicyName=names("cap"), PolicyDocument=doc)["Policy"]["Arn"]
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)
    assert boundary(iam.get_role(RoleName=role)["Role"]) == arn
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    with raises_aws("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    iam.delete_role_permissions_boundary(RoleName=role)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 0
    iam.delete_policy(PolicyArn=arn)
