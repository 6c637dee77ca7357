"""Managed policies: CreatePolicy, GetPolicy, DeletePolicy, ListPolicies, versions, tags,
AWS managed policies, and policy-document validation."""

from __future__ import annotations

import json
import re
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from support import ACCOUNT_ID, allow, policy_doc, raises_aws

POLICY_ID = re.compile(r"^ANPA[A-Z0-9]{17}$")
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
VIEW_ONLY = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"


def local_arn(path: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:policy{path}{name}"


def create(iam, name: str, path: str = "/", doc: str | None = None, **kwargs) -> dict:
    return iam.create_policy(
        PolicyName=name, Path=path, PolicyDocument=doc or policy_doc(allow()), **kwargs
    )["Policy"]


def test_create_policy_shape(iam, names):
    name = names("pol")
    policy = create(iam, name, names.path, Tags=[{"Key": "owner", "Value": "sec"}])
    assert policy["PolicyName"] == name
    assert policy["Path"] == names.path
    assert policy["Arn"] == local_arn(names.path, name)
    assert POLICY_ID.match(policy["PolicyId"]), policy["PolicyId"]
    assert policy["DefaultVersionId"] == "v1"
    assert policy["AttachmentCount"] == 0
    assert policy["PermissionsBoundaryUsageCount"] == 0
    assert policy["IsAttachable"] is True
    assert policy["CreateDate"] and policy["UpdateDate"]
    assert policy["Tags"] == [{"Key": "owner", "Value": "sec"}]


def test_get_policy_includes_description(iam, names):
    name = names("pol")
    arn = create(iam, name, Description="what it is for")["Arn"]
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["PolicyName"] == name
    assert got["Description"] == "what it is for"
    assert got["DefaultVersionId"] == "v1"
    assert got["IsAttachable"] is True


def test_policy_names_are_unique_case_insensitively(iam, names):
    name = names("Dup")
    create(iam, name)
    with raises_aws("EntityAlreadyExists", 409):
        create(iam, name.lower())


def test_missing_policy(iam, names):
    arn = local_arn("/", names("ghost"))
    with raises_aws("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=arn)
    with raises_aws("NoSuchEntity", 404):
        iam.delete_policy(PolicyArn=arn)
    with raises_aws("NoSuchEntity", 404):
        iam.get_policy_version(PolicyArn=arn, VersionId="v1")
    with raises_aws("NoSuchEntity", 404):
        iam.list_policy_versions(PolicyArn=arn)


def test_document_round_trips(iam, names):
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"],
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "a b&c=d+e%f"}},
            },
            {"Effect": "Deny", "NotAction": "iam:*", "NotResource": "arn:aws:iam::*:user/x"},
        ],
    }
    arn = create(iam, names("doc"), doc=json.dumps(document, indent=2))["Arn"]
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["VersionId"] == "v1"
    assert version["IsDefaultVersion"] is True
    assert version["CreateDate"]
    # boto3 URL-decodes and parses the document IAM returns.
    assert version["Document"] == document


def test_document_is_returned_url_encoded_as_submitted(server, iam, names):
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]\n}'
    arn = create(iam, names("raw"), doc=text)["Arn"]
    resp = server.raw({"Action": "GetPolicyVersion", "Version": "2010-05-08", "PolicyArn": arn, "VersionId": "v1"})
    assert resp.status_code == 200, resp.text
    root = ET.fromstring(resp.content)
    [doc] = [el.text for el in root.iter() if el.tag.endswith("}Document")]
    assert "{" not in doc, "IAM returns documents URL-encoded"
    assert urllib.parse.unquote(doc) == text


def test_versions(iam, names):
    arn = create(iam, names("ver"))["Arn"]
    doc2 = policy_doc(allow("s3:PutObject"))
    doc3 = policy_doc(allow("s3:DeleteObject"))
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc2)["PolicyVersion"]
    assert v2["VersionId"] == "v2"
    assert v2["IsDefaultVersion"] is False
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"

    v3 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc3, SetAsDefault=True)["PolicyVersion"]
    assert v3["VersionId"] == "v3" and v3["IsDefaultVersion"] is True
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"

    versions = iam.list_policy_versions(PolicyArn=arn)
    assert versions["IsTruncated"] is False
    by_id = {v["VersionId"]: v for v in versions["Versions"]}
    assert set(by_id) == {"v1", "v2", "v3"}
    assert [v for v in by_id if by_id[v]["IsDefaultVersion"]] == ["v3"]

    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == json.loads(doc2)

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]["IsDefaultVersion"] is False

    with raises_aws("DeleteConflict", 409):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    with raises_aws("NoSuchEntity", 404):
        iam.get_policy_version(PolicyArn=arn, VersionId="v2")
    with raises_aws("NoSuchEntity", 404):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    with raises_aws("NoSuchEntity", 404):
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v9")

    # Version ids keep counting up; they are never reused.
    v4 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc2)["PolicyVersion"]
    assert v4["VersionId"] == "v4"


def test_at_most_five_versions(iam, names):
    arn = create(iam, names("five"))["Arn"]
    for i in range(2, 6):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy_doc(allow(f"s3:Get{i}")))
    with raises_aws("LimitExceeded", 409, "A managed policy can have up to 5 versions."):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy_doc(allow("s3:Get6")))
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5


def test_version_id_format_is_validated(iam, names):
    arn = create(iam, names("vid"))["Arn"]
    with raises_aws("ValidationError", 400, "at 'versionId' failed to satisfy constraint"):
        iam.get_policy_version(PolicyArn=arn, VersionId="version1")


def test_delete_policy(iam, names):
    arn = create(iam, names("del"))["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy_doc(allow("s3:Put")))
    # Non-default versions must go first.
    with raises_aws("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    iam.delete_policy(PolicyArn=arn)
    with raises_aws("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=arn)


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        "[]",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
        json.dumps({"Version": "1999-01-01", "Statement": [allow()]}),
        json.dumps({"Version": "2012-10-17", "Statement": [dict(allow(), Principal="*")]}),
        json.dumps({"Version": "2012-10-17", "Statement": [allow()], "Extra": 1}),
        json.dumps({"Version": "2012-10-17", "Statement": [dict(allow(), Condition={"NoSuchOperator": {"aws:x": "y"}})]}),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "no-statement",
        "bad-effect",
        "action-without-vendor",
        "no-resource",
        "no-action",
        "bad-version",
        "principal-in-identity-policy",
        "unknown-top-level-key",
        "unknown-condition-operator",
    ],
)
def test_malformed_documents(iam, names, document):
    if document == "{not json":
        with raises_aws("MalformedPolicyDocument", 400, "Syntax errors in policy."):
            create(iam, names("bad"), doc=document)
    with raises_aws("MalformedPolicyDocument", 400):
        create(iam, names("bad"), doc=document)
    arn = create(iam, names("good"))["Arn"]
    with raises_aws("MalformedPolicyDocument", 400):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=document)


def test_policy_size_quota(iam, names):
    # 6,144 characters, not counting white space.
    actions = [f"s3:Action{i:05}" for i in range(500)]
    big = policy_doc(allow(actions))
    assert len(big.replace(" ", "")) > 6144
    with raises_aws("LimitExceeded", 409):
        create(iam, names("big"), doc=big)


def test_list_policies_scopes_paths_and_pagination(iam, names):
    created = sorted(names(f"lp{i}-") for i in range(4))
    for name in created:
        create(iam, name, names.path)

    local = iam.list_policies(Scope="Local", PathPrefix=names.path)
    assert sorted(p["PolicyName"] for p in local["Policies"]) == created
    assert local["IsTruncated"] is False
    for p in local["Policies"]:
        assert p["Arn"] == local_arn(names.path, p["PolicyName"])
        assert "Tags" not in p

    page = iam.list_policies(Scope="Local", PathPrefix=names.path, MaxItems=3)
    assert page["IsTruncated"] is True and len(page["Policies"]) == 3
    rest = iam.list_policies(Scope="Local", PathPrefix=names.path, MaxItems=3, Marker=page["Marker"])
    assert sorted(p["PolicyName"] for p in page["Policies"] + rest["Policies"]) == created

    full = iam.get_paginator("list_policies").paginate(
        Scope="Local", PathPrefix=names.path, PaginationConfig={"PageSize": 1}
    ).build_full_result()
    assert sorted(p["PolicyName"] for p in full["Policies"]) == created

    aws_scope = iam.get_paginator("list_policies").paginate(Scope="AWS").build_full_result()
    aws_arns = {p["Arn"] for p in aws_scope["Policies"]}
    assert {ADMIN, READ_ONLY, VIEW_ONLY} <= aws_arns
    assert all(a.startswith("arn:aws:iam::aws:policy/") for a in aws_arns)

    everything = iam.get_paginator("list_policies").paginate().build_full_result()
    all_arns = {p["Arn"] for p in everything["Policies"]}
    assert ADMIN in all_arns and local_arn(names.path, created[0]) in all_arns

    job = iam.list_policies(Scope="AWS", PathPrefix="/job-function/")["Policies"]
    assert VIEW_ONLY in {p["Arn"] for p in job}
    assert all(p["Path"] == "/job-function/" for p in job)


def test_aws_managed_policies(iam):
    admin = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    assert admin["PolicyName"] == "AdministratorAccess"
    assert admin["Arn"] == ADMIN
    assert admin["Path"] == "/"
    assert admin["IsAttachable"] is True
    assert admin["DefaultVersionId"] == "v1"
    assert POLICY_ID.match(admin["PolicyId"]), admin["PolicyId"]
    version = iam.get_policy_version(PolicyArn=ADMIN, VersionId=admin["DefaultVersionId"])["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    statements = version["Document"]["Statement"]
    assert statements == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]

    view = iam.get_policy(PolicyArn=VIEW_ONLY)["Policy"]
    assert view["Path"] == "/job-function/"
    doc = iam.get_policy_version(PolicyArn=VIEW_ONLY, VersionId=view["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert doc["Version"] == "2012-10-17"

    with raises_aws("NoSuchEntity", 404):
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyForMoatE2E")


def test_aws_managed_policies_cannot_be_changed(iam):
    for call in (
        lambda: iam.delete_policy(PolicyArn=ADMIN),
        lambda: iam.create_policy_version(PolicyArn=ADMIN, PolicyDocument=policy_doc(allow())),
        lambda: iam.delete_policy_version(PolicyArn=READ_ONLY, VersionId="v1"),
        lambda: iam.tag_policy(PolicyArn=ADMIN, Tags=[{"Key": "k", "Value": "v"}]),
    ):
        with pytest.raises(iam.exceptions.ClientError) as info:
            call()
        status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
        assert 400 <= status < 500, info.value.response
    admin = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    assert admin["DefaultVersionId"] == "v1"


def test_policy_tags(iam, names):
    arn = create(iam, names("tags"))["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    tags = iam.list_policy_tags(PolicyArn=arn)
    assert tags["IsTruncated"] is False
    assert {t["Key"]: t["Value"] for t in tags["Tags"]} == {"a": "1", "b": "2"}
    assert {t["Key"] for t in iam.get_policy(PolicyArn=arn)["Policy"]["Tags"]} == {"a", "b"}
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    with raises_aws("NoSuchEntity", 404):
        iam.tag_policy(PolicyArn=local_arn("/", names("ghost")), Tags=[{"Key": "a", "Value": "1"}])


def test_invalid_names_and_paths(iam, names):
    with raises_aws("ValidationError", 400, "at 'policyName' failed to satisfy constraint"):
        create(iam, "bad name")
    with raises_aws("ValidationError", 400, "at 'path' failed to satisfy constraint"):
        create(iam, names("p"), path="nopath")
    with raises_aws("ValidationError", 400, "at 'description'"):
        create(iam, names("p"), Description="d" * 1001)
