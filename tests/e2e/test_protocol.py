"""The query protocol and SigV4 at the door, through hand-made HTTP requests.

Every refused request must get a 4xx with an XML ErrorResponse (never a 5xx), and the server
must keep answering afterwards.
"""

from __future__ import annotations

import datetime as dt
import socket
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
import requests

from support import ACCOUNT_ID, IAM_NS, assert_xml_error, raises_aws

V = "2010-05-08"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture(autouse=True)
def still_healthy(server):
    yield
    assert server.health() == 200, "the server stopped answering /health"


# --- the happy path, for reference ------------------------------------------------------------


def test_signed_post_succeeds_with_xml_and_request_id(server):
    resp = server.raw({"Action": "ListUsers", "Version": V})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(resp.content)
    assert root.tag == f"{{{IAM_NS}}}ListUsersResponse"
    request_id = root.find(f"{{{IAM_NS}}}ResponseMetadata/{{{IAM_NS}}}RequestId").text
    assert request_id and resp.headers["x-amzn-RequestId"] == request_id


def test_signed_get_with_query_parameters_succeeds(server):
    resp = server.raw({"Action": "ListUsers", "Version": V, "MaxItems": "1"}, method="GET")
    assert resp.status_code == 200, resp.text


def test_error_request_id_matches_header(server):
    resp = server.raw({"Action": "GetUser", "Version": V, "UserName": "nobody-e2e-protocol"})
    err = assert_xml_error(resp, 404, "NoSuchEntity")
    assert err["Type"] == "Sender"
    assert err["RequestId"] == resp.headers["x-amzn-RequestId"]
    root = ET.fromstring(resp.content)
    assert root.tag == f"{{{IAM_NS}}}ErrorResponse"


# --- actions and parameters -----------------------------------------------------------------


def test_unknown_action(server):
    resp = server.raw({"Action": "StealEverything", "Version": V})
    assert_xml_error(resp, 400, "InvalidAction")


def test_unknown_version(server):
    resp = server.raw({"Action": "ListUsers", "Version": "2099-01-01"})
    assert_xml_error(resp, 400, "InvalidAction")


def test_missing_action(server):
    resp = server.raw({"Version": V, "UserName": "x"})
    assert_xml_error(resp, 400, "MissingAction")


def test_missing_required_parameter(server):
    resp = server.raw({"Action": "CreateUser", "Version": V})
    err = assert_xml_error(resp, 400, "ValidationError")
    assert err["Message"] == (
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_pattern_violation_message(server):
    resp = server.raw({"Action": "CreateUser", "Version": V, "UserName": "no spaces"})
    err = assert_xml_error(resp, 400, "ValidationError")
    assert err["Message"] == (
        "1 validation error detected: Value 'no spaces' at 'userName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_length_violation_message(server):
    resp = server.raw({"Action": "CreateUser", "Version": V, "UserName": ""})
    err = assert_xml_error(resp, 400, "ValidationError")
    assert "at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1" in err["Message"]


def test_two_validation_errors(server):
    resp = server.raw({"Action": "CreateUser", "Version": V, "UserName": "u" * 65, "Path": "bad"})
    err = assert_xml_error(resp, 400, "ValidationError")
    assert err["Message"].startswith("2 validation errors detected: "), err["Message"]
    assert "'userName'" in err["Message"] and "'path'" in err["Message"]


def test_range_violation_message(server):
    resp = server.raw({"Action": "ListUsers", "Version": V, "MaxItems": "0"})
    err = assert_xml_error(resp, 400, "ValidationError")
    assert "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1" in err["Message"]


@pytest.mark.parametrize(
    "params",
    [
        {"Action": "ListUsers", "Version": V, "MaxItems": "lots"},
        {"Action": "ListUsers", "Version": V, "MaxItems": "99999999999999999999999"},
        {"Action": "UpdateAccountPasswordPolicy", "Version": V, "RequireSymbols": "maybe"},
        {"Action": "UpdateAccessKey", "Version": V, "AccessKeyId": "AKIAAAAAAAAAAAAAAAAA", "Status": "Sleeping"},
        {"Action": "CreateUser", "Version": V, "UserName": "tagged", "Tags.member.1.Value": "no-key"},
        {"Action": "CreateUser", "Version": V, "UserName": "\u00e9l\u00e8ve"},
        {"Action": "CreateUser", "Version": V, "UserName": "nul\x00byte"},
    ],
    ids=[
        "integer-not-a-number",
        "integer-overflow",
        "boolean-not-a-boolean",
        "enum-not-a-member",
        "tag-without-key",
        "non-ascii-name",
        "nul-byte",
    ],
)
def test_bad_parameter_values_are_client_errors(server, params):
    assert_xml_error(server.raw(params))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\x00garbage\x00\x01",
        b"%%%%",
        b"Action=List%ZZUsers&Version=2010-05-08",
        b"Action=ListUsers&Version=2010-05-08&Action=CreateUser",
        b"=&=&&&==",
        b"Action",
        b"Action=ListUsers&Version=2010-05-08&" + b"&".join(b"x%d=y" % i for i in range(20000)),
        b"{\"Action\": \"ListUsers\"}",
        b"Action=CreateUser&Version=2010-05-08&UserName=e2e-sparse-list&Tags.member.999999999.Key=k&Tags.member.999999999.Value=v",
    ],
    ids=[
        "binary",
        "bad-percent-only",
        "bad-percent-escape",
        "repeated-action",
        "empty-keys",
        "key-without-value",
        "many-parameters",
        "json-body",
        "huge-list-index",
    ],
)
def test_malformed_bodies_are_client_errors_or_tolerated(server, body):
    resp = server.raw(body=body)
    assert resp.status_code < 500, resp.text[:300]
    if resp.status_code != 200:
        assert_xml_error(resp)


def test_oversized_body_is_413(server):
    body = b"Action=ListUsers&Version=2010-05-08&Pad=" + b"a" * (1024 * 1024 + 1)
    try:
        resp = server.raw(body=body)
    except requests.ConnectionError as e:
        pytest.fail(f"the server dropped the connection instead of answering 413: {e}")
    assert_xml_error(resp, 413)


def test_body_just_under_the_limit_is_read(server):
    prefix = b"Action=ListUsers&Version=2010-05-08&Pad="
    body = prefix + b"a" * (1024 * 1024 - len(prefix) - 10)
    resp = server.raw(body=body)
    assert resp.status_code < 500
    assert resp.status_code != 413


def test_other_http_methods(server):
    for method in ("PUT", "DELETE", "PATCH"):
        resp = server.raw({"Action": "ListUsers", "Version": V}, method=method)
        assert_xml_error(resp)


def test_json_protocol_target_on_query_service(server):
    resp = server.raw(
        body=b"{}",
        headers={"X-Amz-Target": "AWSIdentityManagementV20100508.ListUsers", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert resp.status_code < 500
    assert 400 <= resp.status_code < 500


def test_huge_headers_are_refused(server):
    resp = requests.post(
        server.endpoint + "/",
        data="Action=ListUsers&Version=2010-05-08",
        headers={f"X-Pad-{i}": "p" * 4000 for i in range(40)},
        timeout=30,
    )
    assert 400 <= resp.status_code < 500


# --- authentication ------------------------------------------------------------------------


def test_no_authentication(server):
    resp = server.raw({"Action": "ListUsers", "Version": V}, sign=False)
    err = assert_xml_error(resp, 403, "MissingAuthenticationToken")
    assert err["Message"] == "Request is missing Authentication Token"
    resp = requests.get(server.endpoint + "/?Action=ListUsers&Version=2010-05-08", timeout=30)
    assert_xml_error(resp, 403, "MissingAuthenticationToken")


def test_bad_signature(server):
    resp = server.raw({"Action": "ListUsers", "Version": V}, tamper=True)
    err = assert_xml_error(resp, 403, "SignatureDoesNotMatch")
    assert err["Message"].startswith("The request signature we calculated does not match the signature you provided.")


def test_wrong_secret(server):
    resp = server.raw({"Action": "ListUsers", "Version": V}, secret="x" * 40)
    assert_xml_error(resp, 403, "SignatureDoesNotMatch")


def test_body_changed_after_signing(server):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=b"Action=ListUsers&Version=2010-05-08",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(server.access_key, server.secret), "iam", "us-east-1"
    ).add_auth(req)
    resp = requests.post(
        server.endpoint + "/",
        data=b"Action=DeleteUser&Version=2010-05-08&UserName=x",
        headers=dict(req.headers.items()),
        timeout=30,
    )
    assert_xml_error(resp, 403, "SignatureDoesNotMatch")


def test_unknown_access_key(server):
    resp = server.raw({"Action": "ListUsers", "Version": V}, access_key="AKIAAAAAAAAAAAAAAAAA")
    err = assert_xml_error(resp, 403, "InvalidClientTokenId")
    assert err["Message"] == "The security token included in the request is invalid."


def test_garbled_authorization_header(server):
    for header in (
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256 Credential=AKIAMOATEXAMPLEROOTK/20200101/us-east-1/iam/aws4_request",
        "Bearer token",
        "AWS4-HMAC-SHA512 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00",
        "",
    ):
        resp = server.raw(
            {"Action": "ListUsers", "Version": V},
            sign=False,
            headers={"Authorization": header, "X-Amz-Date": now().strftime("%Y%m%dT%H%M%SZ")},
        )
        assert_xml_error(resp)
        assert resp.status_code in (400, 403), (header, resp.status_code)


def test_session_token_without_sts_is_refused(server):
    resp = server.raw(
        {"Action": "ListUsers", "Version": V},
        headers={"X-Amz-Security-Token": "not-a-real-session-token"},
    )
    assert_xml_error(resp, 403)


def test_wrong_region_in_scope(server):
    resp = server.raw({"Action": "ListUsers", "Version": V}, region="eu-west-3")
    assert_xml_error(resp, 403, "SignatureDoesNotMatch")


def test_wrong_service_in_scope(server):
    for service in ("ec2", "sts", "nosuchservice"):
        resp = server.raw({"Action": "ListUsers", "Version": V}, service=service)
        err = assert_xml_error(resp)
        assert err["Code"] in {"SignatureDoesNotMatch", "InvalidAction", "UnknownOperationException"}, (service, err)
    # KMS speaks JSON 1.1: a query-protocol request scoped to it gets a JSON error.
    resp = server.raw({"Action": "ListUsers", "Version": V}, service="kms")
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["__type"] in {"UnknownOperationException", "SerializationException"}, resp.text


def test_stale_signature(server):
    resp = server.raw({"Action": "ListUsers", "Version": V}, when=now() - dt.timedelta(minutes=20))
    err = assert_xml_error(resp, 403, "SignatureDoesNotMatch")
    assert "Signature expired" in err["Message"], err


def test_future_signature(server):
    resp = server.raw({"Action": "ListUsers", "Version": V}, when=now() + dt.timedelta(minutes=20))
    err = assert_xml_error(resp, 403, "SignatureDoesNotMatch")
    assert "Signature not yet current" in err["Message"], err


def test_clock_skew_within_fifteen_minutes_is_accepted(server):
    for minutes in (-10, 10):
        resp = server.raw({"Action": "ListUsers", "Version": V}, when=now() + dt.timedelta(minutes=minutes))
        assert resp.status_code == 200, (minutes, resp.text)


# --- presigned URLs ---------------------------------------------------------------------------


def test_presigned_get(server):
    url = server.presigned_url({"Action": "ListUsers", "Version": V})
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert ET.fromstring(resp.content).tag == f"{{{IAM_NS}}}ListUsersResponse"


def test_presigned_get_expired(server):
    url = server.presigned_url({"Action": "ListUsers", "Version": V}, expires=60, when=now() - dt.timedelta(minutes=5))
    resp = requests.get(url, timeout=30)
    # AWS's common errors: RequestExpired (400) "... more than 15 minutes after the request
    # expiration date (such as for pre-signed URLs)".
    assert_xml_error(resp, code={"RequestExpired", "SignatureDoesNotMatch", "AccessDenied"})


def test_presigned_get_tampered(server):
    url = server.presigned_url({"Action": "ListUsers", "Version": V})
    # Change the signed parameters.
    resp = requests.get(url.replace("Action=ListUsers", "Action=ListRoles"), timeout=30)
    assert_xml_error(resp, 403, "SignatureDoesNotMatch")
    # Add one after signing.
    resp = requests.get(url + "&MaxItems=1", timeout=30)
    assert_xml_error(resp, 403, "SignatureDoesNotMatch")
    # Change the signature itself.
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, ("0" * 64 if k == "X-Amz-Signature" else v)) for k, v in query]
    resp = requests.get(parts._replace(query=urllib.parse.urlencode(query)).geturl(), timeout=30)
    assert_xml_error(resp, 403, "SignatureDoesNotMatch")


def test_presigned_expiry_over_seven_days_is_refused(server):
    url = server.presigned_url({"Action": "ListUsers", "Version": V}, expires=604801)
    assert_xml_error(requests.get(url, timeout=30))


# --- authorization --------------------------------------------------------------------------


def test_non_root_user_is_denied_with_aws_wording(server, iam, names):
    user = names("denied")
    iam.create_user(UserName=user, Path=names.path)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    user_arn = f"arn:aws:iam::{ACCOUNT_ID}:user{names.path}{user}"

    with raises_aws(
        "AccessDenied",
        403,
        f"User: {user_arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{ACCOUNT_ID}:user/",
    ):
        client.list_users()

    other = names("other")
    iam.create_user(UserName=other)
    with raises_aws(
        "AccessDenied",
        403,
        f"User: {user_arn} is not authorized to perform: iam:DeleteUser on resource: "
        f"arn:aws:iam::{ACCOUNT_ID}:user/{other}",
    ):
        client.delete_user(UserName=other)
    iam.get_user(UserName=other)  # still there

    # Denied before anything happens: no user was created.
    with raises_aws("AccessDenied", 403):
        client.create_user(UserName=names("sneaky"))
    assert iam.list_users(PathPrefix=names.path)["Users"][0]["UserName"] == user
    assert len(iam.list_users(PathPrefix=names.path)["Users"]) == 1

    # The raw response is the query-protocol XML error with 403.
    resp = server.raw({"Action": "ListUsers", "Version": V}, access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    err = assert_xml_error(resp, 403, "AccessDenied")
    assert err["Message"].startswith(f"User: {user_arn} is not authorized to perform: iam:ListUsers")


# --- the connection level -------------------------------------------------------------------


def test_garbage_on_the_socket_does_not_hurt(server):
    for payload in (b"\x16\x03\x01\x02\x00garbage-tls-hello", b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(payload)
            try:
                data = s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                data = b""
            if data.startswith(b"HTTP/"):
                status = int(data.split(b" ", 2)[1])
                assert 400 <= status < 500, data[:200]


def test_every_refusal_above_kept_the_server_alive(server, iam):
    assert server.health() == 200
    iam.list_users(MaxItems=1)


# Operations the server implements (the rest of IAM's model must still be refused safely).
SERVED = {
    "CreateUser", "GetUser", "UpdateUser", "DeleteUser", "ListUsers", "TagUser", "UntagUser",
    "ListUserTags", "CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup", "ListGroups",
    "AddUserToGroup", "RemoveUserFromGroup", "ListGroupsForUser", "CreateAccessKey",
    "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "GetAccessKeyLastUsed",
    "CreateLoginProfile", "GetLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile",
    "UpdateAccountPasswordPolicy", "GetAccountPasswordPolicy", "DeleteAccountPasswordPolicy",
    "CreatePolicy", "GetPolicy", "DeletePolicy", "ListPolicies", "CreatePolicyVersion",
    "GetPolicyVersion", "ListPolicyVersions", "DeletePolicyVersion", "SetDefaultPolicyVersion",
    "TagPolicy", "UntagPolicy", "ListPolicyTags", "ListEntitiesForPolicy", "AttachUserPolicy",
    "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy", "AttachRolePolicy",
    "DetachRolePolicy", "ListAttachedUserPolicies", "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies", "PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy",
    "ListUserPolicies", "PutGroupPolicy", "GetGroupPolicy", "DeleteGroupPolicy",
    "ListGroupPolicies", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy",
    "ListRolePolicies", "CreateRole", "GetRole", "UpdateRole", "DeleteRole", "ListRoles",
    "UpdateAssumeRolePolicy", "UpdateRoleDescription", "TagRole", "UntagRole", "ListRoleTags",
    "CreateAccountAlias", "DeleteAccountAlias", "ListAccountAliases", "GetAccountSummary",
    "GetAccountAuthorizationDetails",
}

_DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
_TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
_BY_MEMBER = {
    "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "PolicyDocument": _DOC,
    "AssumeRolePolicyDocument": _TRUST,
    "AccessKeyId": "AKIAAAAAAAAAAAAAAAAA",
    "Password": "Denied-Passw0rd!x",
    "OldPassword": "Denied-Passw0rd!x",
    "NewPassword": "Denied-Passw0rd!y",
    "VersionId": "v1",
    "AccountAlias": "denied-alias",
    "Path": "/",
    "PathPrefix": "/",
    "Description": "d",
}


def _value(name: str, shape, depth: int = 0):
    if name in _BY_MEMBER:
        return _BY_MEMBER[name]
    kind = shape.type_name
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        if name.endswith("Arn") or name.endswith("ARN"):
            return f"arn:aws:iam::{ACCOUNT_ID}:role/e2e-denied"
        return "e2edenied" + "x" * max(0, shape.metadata.get("min", 0) - 9)
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return now()
    if kind == "blob":
        return b"e2e"
    if kind == "list":
        return [_value(name + "Member", shape.member, depth + 1)] if depth < 3 else []
    if kind == "structure":
        return {m: _value(m, shape.members[m], depth + 1) for m in shape.required_members}
    if kind == "map":
        return {}
    return "x"


def test_every_operation_is_denied_to_an_unprivileged_user(server, iam, names):
    user = names("nobody")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = server.client(
        "iam", key["AccessKeyId"], key["SecretAccessKey"], parameter_validation=False
    )
    model = client.meta.service_model
    from botocore import xform_name
    from botocore.exceptions import ClientError

    allowed, wrong = [], []
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        params = {}
        if op.input_shape is not None:
            params = {m: _value(m, op.input_shape.members[m]) for m in op.input_shape.required_members}
        try:
            getattr(client, xform_name(op_name))(**params)
            allowed.append(op_name)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            if status >= 500:
                wrong.append((op_name, status, code))
            elif op_name in SERVED and (code, status) != ("AccessDenied", 403):
                wrong.append((op_name, status, code))
            elif op_name not in SERVED and code not in ("AccessDenied", "InvalidAction", "ValidationError"):
                wrong.append((op_name, status, code))
    assert not allowed, f"an unprivileged user was allowed: {allowed}"
    assert not wrong, f"unexpected answers: {wrong}"
    # Nothing it tried took effect.
    assert "e2edenied" not in {u["UserName"] for u in iam.list_users()["Users"]}
    assert iam.list_account_aliases()["AccountAliases"] == []
