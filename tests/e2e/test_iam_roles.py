"""IAM roles: CreateRole, GetRole, UpdateRole, UpdateRoleDescription, UpdateAssumeRolePolicy,
DeleteRole, ListRoles, tags."""

from __future__ import annotations

import json
import re

from support import ACCOUNT_ID, TRUST_EC2, raises_aws

ROLE_ID = re.compile(r"^AROA[A-Z0-9]{17}$")

TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
}


def test_create_and_get_role(iam, names):
    name = names("Deployer")
    role = iam.create_role(
        RoleName=name,
        Path=names.path,
        AssumeRolePolicyDocument=json.dumps(TRUST_ACCOUNT, indent=2),
        Description="deploys things",
        MaxSessionDuration=7200,
    )["Role"]
    assert role["RoleName"] == name
    assert role["Path"] == names.path
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role{names.path}{name}"
    assert ROLE_ID.match(role["RoleId"]), role["RoleId"]
    assert role["CreateDate"]
    assert role["AssumeRolePolicyDocument"] == TRUST_ACCOUNT

    got = iam.get_role(RoleName=name)["Role"]
    assert got["RoleId"] == role["RoleId"]
    assert got["Arn"] == role["Arn"]
    assert got["AssumeRolePolicyDocument"] == TRUST_ACCOUNT
    assert got["Description"] == "deploys things"
    assert got["MaxSessionDuration"] == 7200
    assert "RoleLastUsed" in got


def test_defaults(iam, names):
    name = names("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Path"] == "/"
    assert got["MaxSessionDuration"] == 3600
    assert "Tags" not in got


def test_role_names_are_case_insensitive(iam, names):
    name = names("CiRole")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)
    with raises_aws("EntityAlreadyExists", 409):
        iam.create_role(RoleName=name.lower(), AssumeRolePolicyDocument=TRUST_EC2)
    assert iam.get_role(RoleName=name.upper())["Role"]["RoleName"] == name


def test_missing_role(iam, names):
    ghost = names("ghost")
    with raises_aws("NoSuchEntity", 404, f"The role with name {ghost} cannot be found."):
        iam.get_role(RoleName=ghost)
    with raises_aws("NoSuchEntity", 404):
        iam.delete_role(RoleName=ghost)
    with raises_aws("NoSuchEntity", 404):
        iam.update_role(RoleName=ghost, Description="x")
    with raises_aws("NoSuchEntity", 404):
        iam.update_assume_role_policy(RoleName=ghost, PolicyDocument=TRUST_EC2)


def test_trust_policy_validation(iam, names):
    no_principal = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    with_resource = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole", "Resource": "*"}
        ],
    }
    for doc in ("not json", json.dumps(no_principal), json.dumps(with_resource)):
        with raises_aws("MalformedPolicyDocument", 400):
            iam.create_role(RoleName=names("bad"), AssumeRolePolicyDocument=doc)
    name = names("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)
    with raises_aws("MalformedPolicyDocument", 400):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(no_principal))


def test_input_validation(iam, names):
    with raises_aws("ValidationError", 400, "at 'maxSessionDuration'"):
        iam.create_role(RoleName=names("r"), AssumeRolePolicyDocument=TRUST_EC2, MaxSessionDuration=43201)
    with raises_aws("ValidationError", 400, "at 'roleName'"):
        iam.create_role(RoleName="r" * 65, AssumeRolePolicyDocument=TRUST_EC2)
    with raises_aws("ValidationError", 400, "at 'description'"):
        iam.create_role(RoleName=names("r"), AssumeRolePolicyDocument=TRUST_EC2, Description="d" * 1001)


def test_update_role_and_description(iam, names):
    name = names("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2, Description="old")
    iam.update_role(RoleName=name, Description="new", MaxSessionDuration=43200)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Description"] == "new"
    assert got["MaxSessionDuration"] == 43200

    role = iam.update_role_description(RoleName=name, Description="newer")["Role"]
    assert role["RoleName"] == name
    assert role["Description"] == "newer"
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "newer"

    with raises_aws("ValidationError", 400):
        iam.update_role(RoleName=name, MaxSessionDuration=50000)


def test_update_assume_role_policy(iam, names):
    name = names("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(TRUST_ACCOUNT))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == TRUST_ACCOUNT


def test_permissions_boundary(iam, names):
    name = names("bounded")
    boundary = "arn:aws:iam::aws:policy/PowerUserAccess"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2, PermissionsBoundary=boundary)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": boundary,
    }
    with raises_aws("NoSuchEntity", 404):
        iam.create_role(
            RoleName=names("r"),
            AssumeRolePolicyDocument=TRUST_EC2,
            PermissionsBoundary=f"arn:aws:iam::{ACCOUNT_ID}:policy/{names('ghost')}",
        )


def test_delete_role(iam, names):
    name = names("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)
    iam.delete_role(RoleName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName=name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)


def test_list_roles(iam, names):
    created = sorted(names(f"lr{i}-") for i in range(5))
    for name in created:
        iam.create_role(
            RoleName=name,
            Path=names.path,
            AssumeRolePolicyDocument=TRUST_EC2,
            Tags=[{"Key": "k", "Value": "v"}],
        )
    listed = iam.list_roles(PathPrefix=names.path)
    assert listed["IsTruncated"] is False
    assert sorted(r["RoleName"] for r in listed["Roles"]) == created
    for role in listed["Roles"]:
        assert role["AssumeRolePolicyDocument"] == json.loads(TRUST_EC2)
        # ListRoles leaves these out, as AWS documents.
        assert "Tags" not in role
        assert "RoleLastUsed" not in role

    page = iam.list_roles(PathPrefix=names.path, MaxItems=2)
    assert page["IsTruncated"] is True and page["Marker"]
    full = iam.get_paginator("list_roles").paginate(
        PathPrefix=names.path, PaginationConfig={"PageSize": 2}
    ).build_full_result()
    assert sorted(r["RoleName"] for r in full["Roles"]) == created


def test_role_tags(iam, names):
    name = names("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2, Tags=[{"Key": "env", "Value": "prod"}])
    assert iam.get_role(RoleName=name)["Role"]["Tags"] == [{"Key": "env", "Value": "prod"}]
    iam.tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "sec"}, {"Key": "env", "Value": "dev"}])
    tags = iam.list_role_tags(RoleName=name)
    assert tags["IsTruncated"] is False
    assert {t["Key"]: t["Value"] for t in tags["Tags"]} == {"env": "dev", "team": "sec"}
    iam.untag_role(RoleName=name, TagKeys=["env"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "team", "Value": "sec"}]
    with raises_aws("NoSuchEntity", 404):
        iam.tag_role(RoleName=names("ghost"), Tags=[{"Key": "a", "Value": "b"}])
