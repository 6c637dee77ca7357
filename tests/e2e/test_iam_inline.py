"""Inline policies of users, groups and roles: Put/Get/Delete/List."""

from __future__ import annotations

import json

import pytest

from support import TRUST_EC2, allow, policy_doc, raises_aws

DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::bucket/${aws:username}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        }
    ],
}


class Kind:
    """Calls for one kind of principal, so each test runs for users, groups and roles."""

    def __init__(self, iam, kind: str) -> None:
        self.iam, self.kind = iam, kind
        self.key = {"user": "UserName", "group": "GroupName", "role": "RoleName"}[kind]
        self.cap = kind.capitalize()
        self.limit = {"user": 2048, "group": 5120, "role": 10240}[kind]

    def create(self, name: str) -> None:
        if self.kind == "user":
            self.iam.create_user(UserName=name)
        elif self.kind == "group":
            self.iam.create_group(GroupName=name)
        else:
            self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)

    def delete(self, name: str) -> None:
        getattr(self.iam, f"delete_{self.kind}")(**{self.key: name})

    def put(self, name: str, policy: str, doc: str) -> None:
        getattr(self.iam, f"put_{self.kind}_policy")(**{self.key: name, "PolicyName": policy, "PolicyDocument": doc})

    def get(self, name: str, policy: str) -> dict:
        return getattr(self.iam, f"get_{self.kind}_policy")(**{self.key: name, "PolicyName": policy})

    def remove(self, name: str, policy: str) -> None:
        getattr(self.iam, f"delete_{self.kind}_policy")(**{self.key: name, "PolicyName": policy})

    def list(self, name: str, **kw) -> dict:
        return getattr(self.iam, f"list_{self.kind}_policies")(**{self.key: name}, **kw)

    def paginate(self, name: str, **kw) -> dict:
        return self.iam.get_paginator(f"list_{self.kind}_policies").paginate(**{self.key: name}, **kw).build_full_result()


@pytest.fixture(params=["user", "group", "role"])
def kind(request, iam):
    return Kind(iam, request.param)


def test_put_get_list_delete(kind, names):
    owner = names(kind.kind)
    kind.create(owner)
    kind.put(owner, "ReadOwnPrefix", json.dumps(DOC, indent=4))

    got = kind.get(owner, "ReadOwnPrefix")
    assert got[kind.key] == owner
    assert got["PolicyName"] == "ReadOwnPrefix"
    assert got["PolicyDocument"] == DOC  # decoded by boto3 from IAM's URL-encoded text

    listed = kind.list(owner)
    assert listed["PolicyNames"] == ["ReadOwnPrefix"]
    assert listed["IsTruncated"] is False

    # Put again replaces.
    kind.put(owner, "ReadOwnPrefix", policy_doc(allow("s3:ListBucket")))
    assert kind.get(owner, "ReadOwnPrefix")["PolicyDocument"]["Statement"][0]["Action"] == "s3:ListBucket"
    assert kind.list(owner)["PolicyNames"] == ["ReadOwnPrefix"]

    kind.remove(owner, "ReadOwnPrefix")
    assert kind.list(owner)["PolicyNames"] == []
    with raises_aws("NoSuchEntity", 404):
        kind.get(owner, "ReadOwnPrefix")
    with raises_aws("NoSuchEntity", 404):
        kind.remove(owner, "ReadOwnPrefix")


def test_missing_owner(kind, names):
    ghost = names("ghost")
    with raises_aws("NoSuchEntity", 404):
        kind.put(ghost, "p", policy_doc(allow()))
    with raises_aws("NoSuchEntity", 404):
        kind.get(ghost, "p")
    with raises_aws("NoSuchEntity", 404):
        kind.list(ghost)


def test_malformed_and_invalid(kind, names):
    owner = names(kind.kind)
    kind.create(owner)
    with raises_aws("MalformedPolicyDocument", 400):
        kind.put(owner, "p", "{]")
    with raises_aws("MalformedPolicyDocument", 400):
        kind.put(owner, "p", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}))
    with raises_aws("ValidationError", 400, "at 'policyName' failed to satisfy constraint"):
        kind.put(owner, "no spaces", policy_doc(allow()))
    assert kind.list(owner)["PolicyNames"] == []


def test_aggregate_size_quota(kind, names):
    owner = names(kind.kind)
    kind.create(owner)

    def doc_of_size(n: int) -> str:
        # A document of about n non-white-space characters.
        actions = [f"s3:Act{i:05}" for i in range(n // 15)]
        return policy_doc(allow(actions))

    small = doc_of_size(kind.limit // 3)
    kind.put(owner, "a", small)
    kind.put(owner, "b", small)
    # Together over the quota for this kind of principal.
    with raises_aws("LimitExceeded", 409):
        kind.put(owner, "c", doc_of_size(kind.limit // 2))
    assert sorted(kind.list(owner)["PolicyNames"]) == ["a", "b"]


def test_pagination(kind, names):
    owner = names(kind.kind)
    kind.create(owner)
    policies = [f"p{i}" for i in range(5)]
    for p in policies:
        kind.put(owner, p, policy_doc(allow()))
    page = kind.list(owner, MaxItems=2)
    assert page["IsTruncated"] is True and page["Marker"]
    assert len(page["PolicyNames"]) == 2
    full = kind.paginate(owner, PaginationConfig={"PageSize": 2})
    assert sorted(full["PolicyNames"]) == policies


def test_owner_with_inline_policy_cannot_be_deleted(kind, names):
    owner = names(kind.kind)
    kind.create(owner)
    kind.put(owner, "p", policy_doc(allow()))
    with raises_aws("DeleteConflict", 409):
        kind.delete(owner)
    kind.remove(owner, "p")
    kind.delete(owner)
