"""STS as AWS documents it (query protocol, 2011-06-15): GetCallerIdentity, GetSessionToken,
AssumeRole, GetAccessKeyInfo, and the temporary credentials they hand out.

- GetCallerIdentity needs no permission and cannot be denied.
- GetSessionToken lasts 900..129600 s (default 43200) for users, at most 3600 s for root; its
  credentials cannot call IAM without MFA, nor any STS operation but AssumeRole and
  GetCallerIdentity; session credentials cannot call GetSessionToken.
- AssumeRole is allowed by the role's trust policy (the role's resource policy): a trust
  policy naming the caller's ARN is enough, one naming the account needs the caller's identity
  policy too. The session has the role's permissions, narrowed by session policies; session tags
  are principal tags and need sts:TagSession in the trust policy, a source identity needs
  sts:SetSourceIdentity; transitive tags and the source identity carry into chained sessions,
  which last at most one hour.
- Temporary credentials are an ASIA key id, a secret and a session token; all three must match.

Callers are users with an access key made by `make_caller`; everything else runs as root (`iam`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from support import (
    ACCOUNT_ID,
    ROOT_ACCESS_KEY_ID,
    AwsCliError,
    Caller,
    allow,
    error_of,
    make_caller,
    policy_doc,
    raises_aws,
    session_client,
)

ACCOUNT_ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
INVALID_TOKEN = "The security token included in the request is invalid"
ROOT_MAY_NOT_ASSUME = "Roles may not be assumed by root accounts."
NO_SESSION_TOKEN_FROM_SESSION = "Cannot call GetSessionToken with session credentials"
CHAINING_LIMIT = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
OVER_MAX_SESSION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."

NO_IDENTITY = "because no identity-based policy allows the {action} action"
NO_SESSION_POLICY = "because no session policy allows the {action} action"
EXPLICIT_IDENTITY = "with an explicit deny in an identity-based policy"


# --- helpers -----------------------------------------------------------------------------------


def assumed_role_arn(role_name: str, session: str) -> str:
    """The ARN of a role session: no path, whatever the role's path."""
    return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{session}"


def trust(principal, actions=("sts:AssumeRole",), condition: dict | None = None) -> dict:
    """A trust policy statement allowing `principal` (an ARN, an account id or "*", or a full
    Principal mapping) the `actions`."""
    stmt = {
        "Effect": "Allow",
        "Principal": principal if isinstance(principal, dict) else {"AWS": principal},
        "Action": list(actions),
    }
    if condition:
        stmt["Condition"] = condition
    return stmt


def allow_if(action, condition: dict, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def make_role(iam, names, *trust_statements: dict, permissions: list[dict] | None = None, **create) -> dict:
    """Creates (as root) a role in the test's path with the trust policy made of
    `trust_statements` and, if given, an inline policy of `permissions`."""
    role = iam.create_role(
        RoleName=names("role"),
        Path=names.path,
        AssumeRolePolicyDocument=policy_doc(*trust_statements),
        **create,
    )["Role"]
    if permissions:
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="perms", PolicyDocument=policy_doc(*permissions))
    return role


def put_user_policy(iam, caller: Caller, *statements: dict, name: str = "p") -> None:
    iam.put_user_policy(UserName=caller.name, PolicyName=name, PolicyDocument=policy_doc(*statements))


def assert_expires_in(expiration: dt.datetime, seconds: int, slack: float = 30.0) -> None:
    """`expiration` (an aware datetime) is `seconds` from now, give or take `slack`."""
    left = (expiration - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert abs(left - seconds) <= slack, f"expires in {left:.0f} s, expected about {seconds} s"


def assert_temporary_credentials(creds: dict) -> None:
    """AWS's shape of temporary credentials: an ASIA key id of 20 characters, a 40-character
    secret, a session token."""
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["AccessKeyId"]), creds["AccessKeyId"]
    assert len(creds["SecretAccessKey"]) == 40, creds["SecretAccessKey"]
    assert isinstance(creds["SessionToken"], str) and creds["SessionToken"], "no session token"
    assert isinstance(creds["Expiration"], dt.datetime)


def check_denied_message(message: str, principal_arn: str, action: str, reason: str | None = None) -> None:
    """`User: <principal ARN> is not authorized to perform: <action>[ on resource: <r>] <reason>`;
    without `reason`, any (or no) reason is accepted."""
    head = re.escape(f"User: {principal_arn} is not authorized to perform: {action}")
    where = r"(?: on resource: \S+)?"
    if reason is None:
        tail = r"(?: .+)?"
    else:
        why = reason.format(action=action)
        tail = " " + re.escape(why) + (r"(?:[:.].*)?" if why.startswith("with an explicit deny") else "")
    assert re.fullmatch(f"{head}{where}{tail}", message, re.S), f"unexpected AccessDenied message: {message!r}"


@contextlib.contextmanager
def denied_as(principal_arn: str, action: str, reason: str | None = NO_IDENTITY):
    """Expects AccessDenied (HTTP 403) with AWS's message naming `principal_arn` and `action`."""
    with raises_aws("AccessDenied", 403) as info:
        yield info
    check_denied_message(error_of(info.value)[2], principal_arn, action, reason)


@contextlib.contextmanager
def assume_denied(principal_arn: str, role_arn: str):
    """Expects AssumeRole to be refused: AccessDenied (HTTP 403), `User: <caller> is not
    authorized to perform: sts:AssumeRole on resource: <role ARN>` (AWS may add why)."""
    with raises_aws("AccessDenied", 403) as info:
        yield info
    message = error_of(info.value)[2]
    prefix = f"User: {principal_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    assert message == prefix or message.startswith(prefix + " "), f"unexpected AccessDenied message: {message!r}"


@pytest.fixture
def caller(server, iam, names) -> Caller:
    """A user with an access key and no policies, in the test's path."""
    return make_caller(server, iam, names("caller"), names.path)


@pytest.fixture
def root_sts(server):
    return server.client("sts")


def assume(caller: Caller, role: dict, session: str = "s1", **kwargs) -> dict:
    return caller.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName=session, **kwargs)


# --- GetCallerIdentity -------------------------------------------------------------------------


def test_get_caller_identity_as_root(root_sts, aws):
    """Root is the account itself: its ARN is arn:aws:iam::<account>:root and its UserId the
    account id."""
    ident = root_sts.get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    assert ident["Arn"] == ACCOUNT_ROOT
    assert ident["UserId"] == ACCOUNT_ID
    assert aws("sts", "get-caller-identity") == {"UserId": ACCOUNT_ID, "Account": ACCOUNT_ID, "Arn": ACCOUNT_ROOT}


def test_get_caller_identity_as_a_user_with_a_path(caller, names):
    """An IAM user is named by its ARN, path included, and its unique id (AIDA...)."""
    ident = caller.client("sts").get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user{names.path}{caller.name}"
    assert ident["Arn"] == caller.arn
    assert ident["UserId"] == caller.user_id
    assert caller.user_id.startswith("AIDA")
    assert caller.aws("sts", "get-caller-identity") == {
        "UserId": caller.user_id,
        "Account": ACCOUNT_ID,
        "Arn": caller.arn,
    }


def test_get_caller_identity_as_a_role_session(server, iam, caller, names):
    """A role session is arn:aws:sts::<account>:assumed-role/<role>/<session> (the role's path
    left out), its UserId <role id>:<session>; the aws CLI with AWS_SESSION_TOKEN sees the same."""
    role = make_role(iam, names, trust(caller.arn))
    assert role["RoleId"].startswith("AROA")
    creds = assume(caller, role, "alice-session")["Credentials"]
    ident = session_client(server, creds, "sts").get_caller_identity()
    assert ident == {
        "UserId": f"{role['RoleId']}:alice-session",
        "Account": ACCOUNT_ID,
        "Arn": assumed_role_arn(role["RoleName"], "alice-session"),
        "ResponseMetadata": ident["ResponseMetadata"],
    }
    cli = server.aws(
        "sts",
        "get-caller-identity",
        access_key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    assert cli["Arn"] == assumed_role_arn(role["RoleName"], "alice-session")


def test_get_caller_identity_needs_no_permission_and_cannot_be_denied(server, iam, caller, names):
    """No permission is needed to call GetCallerIdentity, and an explicit deny of everything
    (sts:GetCallerIdentity included) does not stop it: for a user or a role session."""
    put_user_policy(iam, caller, deny("*"), deny("sts:GetCallerIdentity"))
    assert caller.client("sts").get_caller_identity()["Arn"] == caller.arn
    with denied_as(caller.arn, "iam:GetUser", EXPLICIT_IDENTITY):
        caller.iam.get_user()

    other = make_caller(server, iam, names("other"), names.path)
    role = make_role(iam, names, trust(other.arn), permissions=[deny("*")])
    creds = assume(other, role, "locked")["Credentials"]
    ident = session_client(server, creds, "sts").get_caller_identity()
    assert ident["Arn"] == assumed_role_arn(role["RoleName"], "locked")


# --- GetSessionToken ---------------------------------------------------------------------------


def test_get_session_token_default_duration_for_a_user(iam, caller):
    """A user's session token lasts 12 hours by default; the credentials are AWS-shaped. No
    permission is needed, and policies cannot stop it (it is an authentication operation)."""
    put_user_policy(iam, caller, deny("*"), deny("sts:GetSessionToken"))
    creds = caller.client("sts").get_session_token()["Credentials"]
    assert_temporary_credentials(creds)
    assert creds["AccessKeyId"] != caller.access_key
    assert_expires_in(creds["Expiration"], 43200)


@pytest.mark.parametrize("seconds", [900, 3600, 129600])
def test_get_session_token_explicit_duration(caller, seconds):
    """DurationSeconds from 900 (15 minutes) to 129600 (36 hours) is honoured."""
    creds = caller.client("sts").get_session_token(DurationSeconds=seconds)["Credentials"]
    assert_expires_in(creds["Expiration"], seconds)


@pytest.mark.parametrize("seconds", [0, 899, 129601])
def test_get_session_token_duration_out_of_range(caller, seconds):
    """A duration outside 900..129600 is a ValidationError (HTTP 400) naming durationSeconds."""
    sts = caller.client("sts", parameter_validation=False)
    with raises_aws("ValidationError", 400, "durationSeconds"):
        sts.get_session_token(DurationSeconds=seconds)


def test_get_session_token_as_root_is_capped_at_one_hour(root_sts):
    """Sessions of the account's root user last at most an hour (also by default): a longer
    request is given one hour, not refused. Its identity is still root."""
    capped = root_sts.get_session_token(DurationSeconds=7200)["Credentials"]
    assert_temporary_credentials(capped)
    assert_expires_in(capped["Expiration"], 3600)
    default = root_sts.get_session_token()["Credentials"]
    assert_expires_in(default["Expiration"], 3600)
    shorter = root_sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert_expires_in(shorter["Expiration"], 900)


def test_session_token_credentials_identity_is_the_user(server, caller, root_sts):
    """GetSessionToken credentials act as the user (or root) that asked for them."""
    creds = caller.client("sts").get_session_token()["Credentials"]
    ident = session_client(server, creds, "sts").get_caller_identity()
    assert (ident["Arn"], ident["UserId"], ident["Account"]) == (caller.arn, caller.user_id, ACCOUNT_ID)

    root_creds = root_sts.get_session_token()["Credentials"]
    ident = session_client(server, root_creds, "sts").get_caller_identity()
    assert (ident["Arn"], ident["UserId"]) == (ACCOUNT_ROOT, ACCOUNT_ID)


def test_session_credentials_cannot_call_get_session_token(server, iam, caller, names):
    """GetSessionToken needs long-term credentials: with GetSessionToken's own credentials or a
    role session's, it is AccessDenied."""
    creds = caller.client("sts").get_session_token()["Credentials"]
    with raises_aws("AccessDenied", 403, NO_SESSION_TOKEN_FROM_SESSION):
        session_client(server, creds, "sts").get_session_token()

    role = make_role(iam, names, trust(caller.arn))
    role_creds = assume(caller, role)["Credentials"]
    with raises_aws("AccessDenied", 403, NO_SESSION_TOKEN_FROM_SESSION):
        session_client(server, role_creds, "sts").get_session_token()


def test_session_token_without_mfa_cannot_call_iam(server, iam, caller, root_sts):
    """Without MFA, GetSessionToken credentials are refused by IAM as an invalid security token,
    whatever the user's policies (and root's are too); the long-term key still works."""
    iam.attach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    caller.iam.list_users()
    creds = caller.client("sts").get_session_token()["Credentials"]
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, creds, "iam").list_users()
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, creds, "iam").get_user()

    root_creds = root_sts.get_session_token()["Credentials"]
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, root_creds, "iam").list_users()
    caller.iam.list_users()


def test_session_token_credentials_can_assume_a_role(server, iam, caller, names):
    """GetSessionToken credentials may call sts:AssumeRole (and GetCallerIdentity); the role
    session then works as any other."""
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:ListUsers")])
    creds = caller.client("sts").get_session_token()["Credentials"]
    sts = session_client(server, creds, "sts")
    assert sts.get_caller_identity()["Arn"] == caller.arn
    got = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="via-gst")
    assert got["AssumedRoleUser"]["Arn"] == assumed_role_arn(role["RoleName"], "via-gst")
    session_client(server, got["Credentials"], "iam").list_users()


def test_session_token_credentials_cannot_call_other_sts_operations(server, iam, caller):
    """Apart from AssumeRole and GetCallerIdentity, no STS operation may be called with
    GetSessionToken credentials, even one the user's policy allows."""
    put_user_policy(iam, caller, allow("sts:GetAccessKeyInfo"))
    caller.client("sts").get_access_key_info(AccessKeyId=caller.access_key)
    creds = caller.client("sts").get_session_token()["Credentials"]
    with pytest.raises(ClientError) as info:
        session_client(server, creds, "sts").get_access_key_info(AccessKeyId=caller.access_key)
    code, status, _ = error_of(info.value)
    assert status in (400, 403) and code in ("AccessDenied", "InvalidClientTokenId"), (code, status)


# --- AssumeRole: who may assume ------------------------------------------------------------------


def test_trust_in_the_account_needs_the_callers_identity_policy(iam, caller, names):
    """A trust policy naming the account (its root ARN) delegates to the account's IAM policies:
    without an identity policy allowing sts:AssumeRole the caller is denied, with one it gets a
    session named after the role (no path) and the session name."""
    role = make_role(iam, names, trust(ACCOUNT_ROOT))
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role)
    put_user_policy(iam, caller, allow("sts:AssumeRole", role["Arn"]))
    got = assume(caller, role, "granted")
    assert got["AssumedRoleUser"] == {
        "Arn": assumed_role_arn(role["RoleName"], "granted"),
        "AssumedRoleId": f"{role['RoleId']}:granted",
    }
    assert_temporary_credentials(got["Credentials"])
    # An allow on another role is no allow on this one.
    put_user_policy(iam, caller, allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT_ID}:role/someone-else"))
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role)


def test_trust_in_the_account_by_id(iam, caller, names):
    """`"AWS": "<account id>"` is the same as the account's root ARN."""
    role = make_role(iam, names, trust(ACCOUNT_ID))
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role)
    put_user_policy(iam, caller, allow("sts:AssumeRole"))
    assert assume(caller, role)["AssumedRoleUser"]["Arn"] == assumed_role_arn(role["RoleName"], "s1")


def test_trust_naming_the_user_needs_no_identity_policy(iam, caller, names):
    """A trust policy naming the user's ARN grants by itself: a user with no policy at all
    assumes the role."""
    role = make_role(iam, names, trust(caller.arn))
    assert iam.list_user_policies(UserName=caller.name)["PolicyNames"] == []
    got = assume(caller, role)
    assert got["AssumedRoleUser"]["Arn"] == assumed_role_arn(role["RoleName"], "s1")


def test_trust_everyone(iam, caller, names):
    """`"AWS": "*"` trusts every principal: a user with no policy assumes the role."""
    role = make_role(iam, names, trust("*"))
    assert assume(caller, role)["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:s1"


def test_trust_naming_someone_else_is_denied_even_with_an_identity_allow(server, iam, caller, names):
    """The trust policy must allow the caller: one naming another user, or a service only,
    refuses it even though its identity policy allows sts:AssumeRole on everything."""
    other = make_caller(server, iam, names("other"), names.path)
    put_user_policy(iam, caller, allow("sts:AssumeRole"))
    for_other = make_role(iam, names, trust(other.arn))
    with assume_denied(caller.arn, for_other["Arn"]):
        assume(caller, for_other)
    assume(other, for_other)
    for_ec2 = make_role(iam, names, trust({"Service": "ec2.amazonaws.com"}))
    with assume_denied(caller.arn, for_ec2["Arn"]):
        assume(caller, for_ec2)


def test_identity_deny_wins_over_the_trust_policy(iam, caller, names):
    """An explicit deny of sts:AssumeRole in the caller's policy wins over a trust policy that
    names it."""
    role = make_role(iam, names, trust(caller.arn))
    put_user_policy(iam, caller, deny("sts:AssumeRole", role["Arn"]))
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role)


def test_unknown_role_is_access_denied(iam, caller, names):
    """Assuming a role that does not exist is AccessDenied (not NoSuchEntity): the caller learns
    nothing."""
    put_user_policy(iam, caller, allow("sts:AssumeRole"))
    missing = f"arn:aws:iam::{ACCOUNT_ID}:role{names.path}{names('missing')}"
    with assume_denied(caller.arn, missing):
        caller.client("sts").assume_role(RoleArn=missing, RoleSessionName="s1")


def test_root_cannot_assume_roles(iam, root_sts, names):
    """The root user may not assume roles, even one whose trust policy names the account."""
    role = make_role(iam, names, trust(ACCOUNT_ROOT), trust("*"))
    with raises_aws("AccessDenied", 403, ROOT_MAY_NOT_ASSUME):
        root_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="root-session")


def test_external_id_condition(iam, caller, names):
    """A trust policy may require an external id (sts:ExternalId): the right one is allowed, a
    wrong or missing one is denied."""
    role = make_role(iam, names, trust(caller.arn, condition={"StringEquals": {"sts:ExternalId": "Example987"}}))
    assert assume(caller, role, ExternalId="Example987")["AssumedRoleUser"]["Arn"].endswith("/s1")
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role, ExternalId="Example988")
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role)


def test_role_session_name_condition(iam, caller, names):
    """sts:RoleSessionName in the trust policy constrains the session name, e.g. to the
    caller's user name."""
    role = make_role(
        iam, names, trust(caller.arn, condition={"StringEquals": {"sts:RoleSessionName": "${aws:username}"}})
    )
    assert assume(caller, role, caller.name)["AssumedRoleUser"]["Arn"] == assumed_role_arn(
        role["RoleName"], caller.name
    )
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role, "somebody-else")


def test_assume_role_with_the_aws_cli(server, iam, caller, names):
    """`aws sts assume-role` returns the credentials; the CLI then works with them in
    AWS_SESSION_TOKEN."""
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:GetRole")])
    out = caller.aws("sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli-session")
    assert out["AssumedRoleUser"]["Arn"] == assumed_role_arn(role["RoleName"], "cli-session")
    creds = out["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["AccessKeyId"])
    got = server.aws(
        "iam",
        "get-role",
        "--role-name",
        role["RoleName"],
        access_key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    assert got["Role"]["Arn"] == role["Arn"]
    with pytest.raises(AwsCliError) as info:
        server.aws(
            "iam",
            "list-roles",
            access_key=creds["AccessKeyId"],
            secret=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
        )
    assert info.value.code == "AccessDenied"
    assert assumed_role_arn(role["RoleName"], "cli-session") in info.value.stderr


# --- AssumeRole: what the session may do ---------------------------------------------------------


def test_session_has_the_roles_permissions(server, iam, caller, names):
    """The session may do what the role's policies allow, not what the user's allow; a denial
    names the session's assumed-role ARN."""
    put_user_policy(iam, caller, allow("iam:ListRoles"))
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:ListUsers")])
    creds = assume(caller, role, "worker")["Credentials"]
    session_iam = session_client(server, creds, "iam")
    assert any(u["UserName"] == caller.name for u in session_iam.list_users(PathPrefix=caller.path)["Users"])
    with denied_as(assumed_role_arn(role["RoleName"], "worker"), "iam:ListRoles"):
        session_iam.list_roles()
    # The role's policy is read at each request: a change applies to live sessions.
    iam.put_role_policy(
        RoleName=role["RoleName"], PolicyName="perms", PolicyDocument=policy_doc(allow("iam:ListRoles"))
    )
    session_iam.list_roles()
    with denied_as(assumed_role_arn(role["RoleName"], "worker"), "iam:ListUsers"):
        session_iam.list_users()


def test_session_with_attached_managed_policy(server, iam, caller, names):
    """An AWS managed policy attached to the role applies to its sessions."""
    role = make_role(iam, names, trust(caller.arn))
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=IAM_READ)
    session_iam = session_client(server, assume(caller, role, "reader")["Credentials"], "iam")
    session_iam.list_users()
    session_iam.get_role(RoleName=role["RoleName"])
    with denied_as(assumed_role_arn(role["RoleName"], "reader"), "iam:CreateGroup"):
        session_iam.create_group(GroupName=names("g"))


def test_principal_keys_of_a_role_session(server, iam, caller, names):
    """In a role session aws:PrincipalArn is the role's ARN, aws:PrincipalType AssumedRole and
    aws:userid <role id>:<session name>."""
    role = make_role(iam, names, trust(caller.arn))
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="perms",
        PolicyDocument=policy_doc(
            allow_if(
                "iam:ListUsers",
                {
                    "ArnEquals": {"aws:PrincipalArn": role["Arn"]},
                    "StringEquals": {
                        "aws:PrincipalType": "AssumedRole",
                        "aws:userid": f"{role['RoleId']}:keys",
                        "aws:PrincipalAccount": ACCOUNT_ID,
                    },
                },
            )
        ),
    )
    session_client(server, assume(caller, role, "keys")["Credentials"], "iam").list_users()
    # Each session is its own principal: another session of the role has another aws:userid,
    # even right after the first one was allowed.
    with denied_as(assumed_role_arn(role["RoleName"], "other"), "iam:ListUsers"):
        session_client(server, assume(caller, role, "other")["Credentials"], "iam").list_users()


def test_userid_differs_per_role_session(server, iam, caller, names):
    """aws:userid of a role session is <role id>:<session name>: a policy keyed on it lets each
    session of one role read only its own user, sessions used in turn."""
    alice = iam.create_user(UserName=names("alice"), Path=names.path)["User"]
    bob = iam.create_user(UserName=names("bob"), Path=names.path)["User"]
    role = make_role(iam, names, trust(caller.arn))
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="perms",
        PolicyDocument=policy_doc(
            allow_if(
                "iam:GetUser",
                {"StringEquals": {"aws:userid": f"{role['RoleId']}:{alice['UserName']}"}},
                alice["Arn"],
            ),
            allow_if(
                "iam:GetUser",
                {"StringEquals": {"aws:userid": f"{role['RoleId']}:{bob['UserName']}"}},
                bob["Arn"],
            ),
        ),
    )
    as_alice = session_client(server, assume(caller, role, alice["UserName"])["Credentials"], "iam")
    as_bob = session_client(server, assume(caller, role, bob["UserName"])["Credentials"], "iam")
    as_alice.get_user(UserName=alice["UserName"])
    as_bob.get_user(UserName=bob["UserName"])
    with denied_as(assumed_role_arn(role["RoleName"], bob["UserName"]), "iam:GetUser"):
        as_bob.get_user(UserName=alice["UserName"])
    with denied_as(assumed_role_arn(role["RoleName"], alice["UserName"]), "iam:GetUser"):
        as_alice.get_user(UserName=bob["UserName"])


# --- AssumeRole: duration ----------------------------------------------------------------------


def test_assume_role_default_duration_is_one_hour(iam, caller, names):
    role = make_role(iam, names, trust(caller.arn), MaxSessionDuration=43200)
    assert_expires_in(assume(caller, role)["Credentials"]["Expiration"], 3600)


def test_assume_role_duration_up_to_max_session_duration(iam, caller, names):
    """DurationSeconds may go up to the role's MaxSessionDuration; beyond is a ValidationError."""
    role = make_role(iam, names, trust(caller.arn), MaxSessionDuration=7200)
    assert_expires_in(assume(caller, role, DurationSeconds=7200)["Credentials"]["Expiration"], 7200)
    assert_expires_in(assume(caller, role, DurationSeconds=900)["Credentials"]["Expiration"], 900)
    with raises_aws("ValidationError", 400, OVER_MAX_SESSION):
        assume(caller, role, DurationSeconds=7201)
    # The default MaxSessionDuration is one hour.
    short = make_role(iam, names, trust(caller.arn))
    with raises_aws("ValidationError", 400, OVER_MAX_SESSION):
        assume(caller, short, DurationSeconds=3601)


@pytest.mark.parametrize("seconds", [899, 43201])
def test_assume_role_duration_out_of_range(iam, caller, names, seconds):
    """DurationSeconds outside 900..43200 is a ValidationError naming durationSeconds."""
    role = make_role(iam, names, trust(caller.arn), MaxSessionDuration=43200)
    sts = caller.client("sts", parameter_validation=False)
    with raises_aws("ValidationError", 400) as info:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=seconds)
    assert "durationseconds" in error_of(info.value)[2].lower()


def test_role_chaining_is_limited_to_one_hour(server, iam, caller, names):
    """A role session may assume another role (role chaining); the chained session lasts one
    hour by default and asking for more is a ValidationError, whatever the second role's
    MaxSessionDuration."""
    second = make_role(iam, names, trust(ACCOUNT_ROOT), MaxSessionDuration=43200, permissions=[allow("iam:ListRoles")])
    first = make_role(
        iam, names, trust(caller.arn), MaxSessionDuration=43200, permissions=[allow("sts:AssumeRole", second["Arn"])]
    )
    first_creds = assume(caller, first, "hop1", DurationSeconds=7200)["Credentials"]
    assert_expires_in(first_creds["Expiration"], 7200)
    sts = session_client(server, first_creds, "sts")

    chained = sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")
    assert chained["AssumedRoleUser"]["Arn"] == assumed_role_arn(second["RoleName"], "hop2")
    assert_expires_in(chained["Credentials"]["Expiration"], 3600)
    ident = session_client(server, chained["Credentials"], "sts").get_caller_identity()
    assert ident["Arn"] == assumed_role_arn(second["RoleName"], "hop2")
    session_client(server, chained["Credentials"], "iam").list_roles()

    again = sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", DurationSeconds=3600)
    assert_expires_in(again["Credentials"]["Expiration"], 3600)
    with raises_aws("ValidationError", 400, CHAINING_LIMIT):
        sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", DurationSeconds=7200)


def test_trust_naming_one_role_session(server, iam, caller, names):
    """A trust policy may name one role session (arn:aws:sts::<account>:assumed-role/<role>/
    <session>): that session may assume the role, another session of the same role may not,
    in whichever order they ask."""
    first = make_role(iam, names, trust(caller.arn))
    good = assumed_role_arn(first["RoleName"], "good")
    second = make_role(iam, names, trust(good))
    good_sts = session_client(server, assume(caller, first, "good")["Credentials"], "sts")
    evil_sts = session_client(server, assume(caller, first, "evil")["Credentials"], "sts")
    chained = good_sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")
    assert chained["AssumedRoleUser"]["Arn"] == assumed_role_arn(second["RoleName"], "hop2")
    with assume_denied(assumed_role_arn(first["RoleName"], "evil"), second["Arn"]):
        evil_sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")
    # And the other way round, on a fresh pair of roles.
    first = make_role(iam, names, trust(caller.arn))
    second = make_role(iam, names, trust(assumed_role_arn(first["RoleName"], "good")))
    evil_sts = session_client(server, assume(caller, first, "evil")["Credentials"], "sts")
    good_sts = session_client(server, assume(caller, first, "good")["Credentials"], "sts")
    with assume_denied(assumed_role_arn(first["RoleName"], "evil"), second["Arn"]):
        evil_sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")
    good_sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")


def test_role_session_needs_the_roles_permission_to_chain(server, iam, caller, names):
    """A role session assuming a role trusted by the account needs sts:AssumeRole in its role's
    policies, like any principal."""
    second = make_role(iam, names, trust(ACCOUNT_ROOT))
    first = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:ListUsers")])
    sts = session_client(server, assume(caller, first, "hop1")["Credentials"], "sts")
    with assume_denied(assumed_role_arn(first["RoleName"], "hop1"), second["Arn"]):
        sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")


# --- AssumeRole: parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "session_name, fragment",
    [
        ("has space", "roleSessionName"),
        ("slash/name", "roleSessionName"),
        ("colon:name", "roleSessionName"),
        ("a", "roleSessionName"),
        ("x" * 65, "roleSessionName"),
    ],
)
def test_invalid_role_session_name(iam, caller, names, session_name, fragment):
    """RoleSessionName is 2..64 characters of [\\w+=,.@-]; anything else is a ValidationError."""
    role = make_role(iam, names, trust(caller.arn))
    sts = caller.client("sts", parameter_validation=False)
    with raises_aws("ValidationError", 400, fragment):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName=session_name)


def test_valid_role_session_name_characters(iam, caller, names):
    """Letters, digits and `_+=,.@-` are all allowed, up to 64 characters."""
    role = make_role(iam, names, trust(caller.arn))
    for name in ["a_b+c=d,e.f@g-h", "x" * 64, "ab"]:
        assert assume(caller, role, name)["AssumedRoleUser"]["Arn"] == assumed_role_arn(role["RoleName"], name)


def test_missing_role_session_name(iam, caller, names):
    """RoleSessionName is required."""
    role = make_role(iam, names, trust(caller.arn))
    sts = caller.client("sts", parameter_validation=False)
    with pytest.raises(ClientError) as info:
        sts.assume_role(RoleArn=role["Arn"])
    code, status, message = error_of(info.value)
    assert status == 400 and code in ("ValidationError", "MissingParameter"), (code, status, message)
    assert "roleSessionName" in message or "RoleSessionName" in message, message


# --- AssumeRole: session policies ----------------------------------------------------------------


def test_inline_session_policy_narrows_the_role(server, iam, caller, names):
    """A session policy only narrows: the session may do what both the role's policies and the
    session policy allow. AWS reports how much of the packed size the policy took."""
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:List*")])
    got = assume(caller, role, "narrow", Policy=policy_doc(allow(["iam:ListUsers", "iam:CreateGroup"])))
    assert isinstance(got["PackedPolicySize"], int) and 0 < got["PackedPolicySize"] <= 100, got.get("PackedPolicySize")
    session_iam = session_client(server, got["Credentials"], "iam")
    session_iam.list_users()
    with denied_as(assumed_role_arn(role["RoleName"], "narrow"), "iam:ListRoles", NO_SESSION_POLICY):
        session_iam.list_roles()
    # The session policy allows CreateGroup, the role does not: still denied.
    with denied_as(assumed_role_arn(role["RoleName"], "narrow"), "iam:CreateGroup", NO_IDENTITY):
        session_iam.create_group(GroupName=names("g"))
    # A session without a session policy has all of the role's permissions.
    plain = session_client(server, assume(caller, role, "wide")["Credentials"], "iam")
    plain.list_roles()


def test_session_policy_cannot_grant_more_than_the_role(server, iam, caller, names):
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:ListUsers")])
    creds = assume(caller, role, "greedy", Policy=policy_doc(allow("*")))["Credentials"]
    session_iam = session_client(server, creds, "iam")
    session_iam.list_users()
    with denied_as(assumed_role_arn(role["RoleName"], "greedy"), "iam:ListRoles", NO_IDENTITY):
        session_iam.list_roles()


def test_session_policy_deny_wins(server, iam, caller, names):
    """A Deny in a session policy denies what the role allows."""
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:List*")])
    creds = assume(caller, role, "nodeny", Policy=policy_doc(allow("iam:List*"), deny("iam:ListUsers")))["Credentials"]
    session_iam = session_client(server, creds, "iam")
    session_iam.list_roles()
    with raises_aws("AccessDenied", 403) as info:
        session_iam.list_users()
    assert error_of(info.value)[2].startswith(
        f"User: {assumed_role_arn(role['RoleName'], 'nodeny')} is not authorized to perform: iam:ListUsers"
    )
    assert "with an explicit deny in a session policy" in error_of(info.value)[2]


def test_managed_session_policy_arns(server, iam, caller, names):
    """PolicyArns with an AWS managed policy narrows the session to what it allows too."""
    role = make_role(iam, names, trust(caller.arn), permissions=[allow(["iam:ListUsers", "iam:CreateGroup"])])
    got = assume(caller, role, "managed", PolicyArns=[{"arn": IAM_READ}])
    assert isinstance(got.get("PackedPolicySize"), int)
    session_iam = session_client(server, got["Credentials"], "iam")
    session_iam.list_users()
    with denied_as(assumed_role_arn(role["RoleName"], "managed"), "iam:CreateGroup", NO_SESSION_POLICY):
        session_iam.create_group(GroupName=names("g"))


def test_customer_managed_session_policy_arn(server, iam, caller, names):
    """A customer managed policy of the account may be a session policy as well."""
    pol = iam.create_policy(PolicyName=names("pol"), PolicyDocument=policy_doc(allow("iam:ListRoles")))["Policy"]["Arn"]
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:List*")])
    session_iam = session_client(server, assume(caller, role, "cm", PolicyArns=[{"arn": pol}])["Credentials"], "iam")
    session_iam.list_roles()
    with denied_as(assumed_role_arn(role["RoleName"], "cm"), "iam:ListUsers", NO_SESSION_POLICY):
        session_iam.list_users()


def test_malformed_session_policy(iam, caller, names):
    """A session policy that is not a policy is MalformedPolicyDocument (HTTP 400)."""
    role = make_role(iam, names, trust(caller.arn))
    with raises_aws("MalformedPolicyDocument", 400):
        assume(caller, role, Policy="{not json")
    with raises_aws("MalformedPolicyDocument", 400):
        assume(caller, role, Policy=policy_doc({"Effect": "Maybe", "Action": "*", "Resource": "*"}))


def test_session_policy_too_long(iam, caller, names):
    """The plain text of a session policy is at most 2048 characters: longer is refused."""
    role = make_role(iam, names, trust(caller.arn))
    big = policy_doc(*[allow(f"iam:ListUsers{i}", f"arn:aws:iam::{ACCOUNT_ID}:user/{'x' * 40}{i}") for i in range(40)])
    assert len(big) > 2048
    sts = caller.client("sts", parameter_validation=False)
    with pytest.raises(ClientError) as info:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", Policy=big)
    code, status, _ = error_of(info.value)
    assert status == 400 and code in ("ValidationError", "PackedPolicyTooLarge"), code


# --- AssumeRole: session tags ------------------------------------------------------------------------


TEAM_BLUE = {"StringEquals": {"aws:PrincipalTag/team": "blue"}}


def test_session_tags_need_tag_session_in_the_trust_policy(iam, caller, names):
    """Passing session tags needs sts:TagSession, allowed by the trust policy: a trust policy
    allowing only sts:AssumeRole lets the caller in without tags, and refuses it with tags."""
    role = make_role(iam, names, trust(caller.arn, actions=["sts:AssumeRole"]))
    assume(caller, role)
    with raises_aws("AccessDenied", 403) as info:
        assume(caller, role, Tags=[{"Key": "team", "Value": "blue"}])
    message = error_of(info.value)[2]
    assert message.startswith(f"User: {caller.arn} is not authorized to perform: sts:TagSession"), message
    with raises_aws("AccessDenied", 403):
        assume(caller, role, Tags=[{"Key": "team", "Value": "blue"}], TransitiveTagKeys=["team"])


def test_session_tags_are_principal_tags(server, iam, caller, names):
    """Session tags are the session's aws:PrincipalTag: a role policy conditioned on a tag
    allows the session that carries it."""
    role = make_role(
        iam,
        names,
        trust(caller.arn, actions=["sts:AssumeRole", "sts:TagSession"]),
        permissions=[allow_if("iam:ListUsers", TEAM_BLUE)],
    )
    got = assume(caller, role, "blue", Tags=[{"Key": "team", "Value": "blue"}])
    assert isinstance(got["PackedPolicySize"], int)
    session_client(server, got["Credentials"], "iam").list_users()
    red_creds = assume(caller, role, "red", Tags=[{"Key": "team", "Value": "red"}])["Credentials"]
    red = session_client(server, red_creds, "iam")
    with denied_as(assumed_role_arn(role["RoleName"], "red"), "iam:ListUsers"):
        red.list_users()
    untagged = session_client(server, assume(caller, role, "none")["Credentials"], "iam")
    with denied_as(assumed_role_arn(role["RoleName"], "none"), "iam:ListUsers"):
        untagged.list_users()


def test_role_tags_are_principal_tags_and_session_tags_override_them(server, iam, caller, names):
    """The role's own tags are principal tags of its sessions; a session tag with the same key
    (whatever its case) overrides the role's."""
    role = make_role(
        iam,
        names,
        trust(caller.arn, actions=["sts:AssumeRole", "sts:TagSession"]),
        permissions=[allow_if("iam:ListUsers", TEAM_BLUE)],
        Tags=[{"Key": "team", "Value": "red"}],
    )
    with denied_as(assumed_role_arn(role["RoleName"], "role-tag"), "iam:ListUsers"):
        session_client(server, assume(caller, role, "role-tag")["Credentials"], "iam").list_users()
    iam.tag_role(RoleName=role["RoleName"], Tags=[{"Key": "team", "Value": "blue"}])
    session_client(server, assume(caller, role, "role-tag")["Credentials"], "iam").list_users()
    overridden = assume(caller, role, "override", Tags=[{"Key": "Team", "Value": "red"}])["Credentials"]
    with denied_as(assumed_role_arn(role["RoleName"], "override"), "iam:ListUsers"):
        session_client(server, overridden, "iam").list_users()


def test_trust_policy_controls_request_tags(iam, caller, names):
    """aws:RequestTag and aws:TagKeys in the sts:TagSession statement of the trust policy limit
    which tags may be passed."""
    role = make_role(
        iam,
        names,
        trust(caller.arn),
        trust(
            caller.arn,
            actions=["sts:TagSession"],
            condition={
                "StringEquals": {"aws:RequestTag/team": ["blue", "green"]},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "project"]},
            },
        ),
    )
    assume(caller, role, Tags=[{"Key": "team", "Value": "blue"}])
    assume(caller, role, Tags=[{"Key": "team", "Value": "green"}, {"Key": "project", "Value": "x"}])
    with raises_aws("AccessDenied", 403):
        assume(caller, role, Tags=[{"Key": "team", "Value": "red"}])
    with raises_aws("AccessDenied", 403):
        assume(caller, role, Tags=[{"Key": "team", "Value": "blue"}, {"Key": "cost", "Value": "1"}])
    with raises_aws("AccessDenied", 403):
        assume(caller, role, Tags=[{"Key": "project", "Value": "x"}])


def test_trust_policy_can_require_tags(iam, caller, names):
    """A condition on aws:RequestTag in the sts:AssumeRole statement makes a tag mandatory."""
    role = make_role(
        iam,
        names,
        trust(caller.arn, condition={"StringLike": {"aws:RequestTag/project": "*"}}),
        trust(caller.arn, actions=["sts:TagSession"]),
    )
    with assume_denied(caller.arn, role["Arn"]):
        assume(caller, role)
    assume(caller, role, Tags=[{"Key": "project", "Value": "apollo"}])


def test_transitive_tags_carry_into_a_chained_session(server, iam, caller, names):
    """Tags named in TransitiveTagKeys stay with the chained session; the others do not."""
    second = make_role(
        iam,
        names,
        trust(ACCOUNT_ROOT, actions=["sts:AssumeRole", "sts:TagSession"]),
        permissions=[
            allow_if("iam:ListUsers", TEAM_BLUE),
            allow_if("iam:ListRoles", {"StringEquals": {"aws:PrincipalTag/project": "apollo"}}),
        ],
    )
    first = make_role(
        iam,
        names,
        trust(caller.arn, actions=["sts:AssumeRole", "sts:TagSession"]),
        permissions=[
            allow(["sts:AssumeRole", "sts:TagSession"], second["Arn"]),
            allow_if("iam:ListRoles", {"StringEquals": {"aws:PrincipalTag/project": "apollo"}}),
        ],
    )
    first_creds = assume(
        caller,
        first,
        "hop1",
        Tags=[{"Key": "team", "Value": "blue"}, {"Key": "project", "Value": "apollo"}],
        TransitiveTagKeys=["team"],
    )["Credentials"]
    session_client(server, first_creds, "iam").list_roles()
    chained = session_client(server, first_creds, "sts").assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")
    chained_iam = session_client(server, chained["Credentials"], "iam")
    chained_iam.list_users()
    with denied_as(assumed_role_arn(second["RoleName"], "hop2"), "iam:ListRoles"):
        chained_iam.list_roles()


# --- AssumeRole: source identity ---------------------------------------------------------------------


def test_source_identity_needs_set_source_identity(iam, caller, names):
    """Setting a source identity needs sts:SetSourceIdentity: a trust policy allowing only
    sts:AssumeRole refuses it; one allowing both returns it in the answer."""
    plain = make_role(iam, names, trust(caller.arn))
    with raises_aws("AccessDenied", 403) as info:
        assume(caller, plain, SourceIdentity="alice")
    message = error_of(info.value)[2]
    assert message.startswith(f"User: {caller.arn} is not authorized to perform: sts:SetSourceIdentity"), message
    assert "SourceIdentity" not in assume(caller, plain)

    role = make_role(iam, names, trust(caller.arn, actions=["sts:AssumeRole", "sts:SetSourceIdentity"]))
    got = assume(caller, role, SourceIdentity="alice")
    assert got["SourceIdentity"] == "alice"


def test_source_identity_condition_in_the_trust_policy(iam, caller, names):
    """sts:SourceIdentity in the trust policy fixes which source identity may be set, and can
    require one."""
    role = make_role(
        iam,
        names,
        trust(
            caller.arn,
            actions=["sts:AssumeRole", "sts:SetSourceIdentity"],
            condition={"StringEquals": {"sts:SourceIdentity": "${aws:username}"}},
        ),
    )
    assert assume(caller, role, SourceIdentity=caller.name)["SourceIdentity"] == caller.name
    with raises_aws("AccessDenied", 403):
        assume(caller, role, SourceIdentity="mallory")
    with raises_aws("AccessDenied", 403):
        assume(caller, role)


@pytest.mark.parametrize("value", ["has space", "a", "x" * 65, "aws:reserved"])
def test_invalid_source_identity(iam, caller, names, value):
    """A source identity is 2..64 characters of [\\w+=,.@-], not starting with `aws:`."""
    role = make_role(iam, names, trust(caller.arn, actions=["sts:AssumeRole", "sts:SetSourceIdentity"]))
    sts = caller.client("sts", parameter_validation=False)
    with raises_aws("ValidationError", 400):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", SourceIdentity=value)


def test_source_identity_persists_into_chained_sessions(server, iam, caller, names):
    """The source identity set on the first session is aws:SourceIdentity of the chained
    session too, and cannot be changed along the chain."""
    second = make_role(
        iam,
        names,
        trust(ACCOUNT_ROOT, actions=["sts:AssumeRole", "sts:SetSourceIdentity"]),
        permissions=[
            allow_if("iam:ListUsers", {"StringEquals": {"aws:SourceIdentity": "alice"}}),
            allow_if("iam:ListRoles", {"StringEquals": {"aws:SourceIdentity": "bob"}}),
        ],
    )
    first = make_role(
        iam,
        names,
        trust(caller.arn, actions=["sts:AssumeRole", "sts:SetSourceIdentity"]),
        permissions=[
            allow(["sts:AssumeRole", "sts:SetSourceIdentity"], second["Arn"]),
            allow_if("iam:ListUsers", {"StringEquals": {"aws:SourceIdentity": "alice"}}),
        ],
    )
    first_creds = assume(caller, first, "hop1", SourceIdentity="alice")["Credentials"]
    session_client(server, first_creds, "iam").list_users()
    sts = session_client(server, first_creds, "sts")
    chained = sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")
    chained_iam = session_client(server, chained["Credentials"], "iam")
    chained_iam.list_users()
    with denied_as(assumed_role_arn(second["RoleName"], "hop2"), "iam:ListRoles"):
        chained_iam.list_roles()
    # The same source identity again is fine, another one is refused.
    sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", SourceIdentity="alice")
    with raises_aws("AccessDenied", 403):
        sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", SourceIdentity="bob")


# --- temporary credentials -------------------------------------------------------------------------


def _role_session(iam, caller, names, session="s1", permissions=None) -> tuple[dict, dict]:
    role = make_role(iam, names, trust(caller.arn), permissions=permissions or [allow("iam:ListUsers")])
    return role, assume(caller, role, session)["Credentials"]


def test_tampered_session_token_is_refused(server, iam, caller, names):
    """A session token altered by one character is an invalid security token."""
    _, creds = _role_session(iam, caller, names)
    session_client(server, creds, "iam").list_users()
    token = creds["SessionToken"]
    i = len(token) // 2
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    bad = dict(creds, SessionToken=tampered)
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, bad, "iam").list_users()
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, bad, "sts").get_caller_identity()
    truncated = dict(creds, SessionToken=token[:-8])
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, truncated, "iam").list_users()
    garbage = dict(creds, SessionToken="not-a-token")
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, garbage, "sts").get_caller_identity()


def test_temporary_key_without_its_token_is_refused(server, iam, caller, names):
    """An ASIA key id signed with its secret but sent without the session token is refused."""
    _, creds = _role_session(iam, caller, names)
    no_token = {"AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"]}
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, no_token, "iam").list_users()
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, no_token, "sts").get_caller_identity()


def test_token_of_another_session_is_refused(server, iam, caller, names):
    """The token must belong to the key id: one session's key pair with another session's token
    is refused (whichever secret signs)."""
    role, first = _role_session(iam, caller, names, "first")
    second = assume(caller, role, "second")["Credentials"]
    mixed = dict(first, SessionToken=second["SessionToken"])
    with pytest.raises(ClientError) as info:
        session_client(server, mixed, "sts").get_caller_identity()
    code, status, _ = error_of(info.value)
    assert status == 403 and code in ("InvalidClientTokenId", "SignatureDoesNotMatch"), (code, status)
    mixed = dict(second, AccessKeyId=first["AccessKeyId"])
    with pytest.raises(ClientError) as info:
        session_client(server, mixed, "sts").get_caller_identity()
    code, status, _ = error_of(info.value)
    assert status == 403 and code in ("InvalidClientTokenId", "SignatureDoesNotMatch"), (code, status)


def test_session_token_with_a_long_term_key_is_refused(server, iam, caller, names):
    """A user's AKIA key pair with a (valid) session token attached is not a valid combination."""
    _, creds = _role_session(iam, caller, names)
    mixed = {"AccessKeyId": caller.access_key, "SecretAccessKey": caller.secret, "SessionToken": creds["SessionToken"]}
    with pytest.raises(ClientError) as info:
        session_client(server, mixed, "sts").get_caller_identity()
    code, status, _ = error_of(info.value)
    refusals = ("InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature")
    assert status in (400, 403) and code in refusals, (code, status)


def test_wrong_secret_for_a_temporary_key(server, iam, caller, names):
    """The session's secret signs its requests: another secret does not match."""
    _, creds = _role_session(iam, caller, names)
    bad = dict(creds, SecretAccessKey="x" * 40)
    with raises_aws("SignatureDoesNotMatch", 403):
        session_client(server, bad, "iam").list_users()


def test_revoking_older_sessions(server, iam, caller, names):
    """Revoking sessions as the console does (an inline AWSRevokeOlderSessions policy denying
    everything to tokens issued before a time) denies the sessions issued before, not those
    issued after."""
    role, old = _role_session(iam, caller, names, "old")
    old_iam = session_client(server, old, "iam")
    old_iam.list_users()
    time.sleep(1.5)
    cutoff = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=policy_doc(
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
            }
        ),
    )
    time.sleep(1.5)
    with denied_as(assumed_role_arn(role["RoleName"], "old"), "iam:ListUsers", EXPLICIT_IDENTITY):
        old_iam.list_users()
    new = assume(caller, role, "new")["Credentials"]
    session_client(server, new, "iam").list_users()


# --- GetAccessKeyInfo ------------------------------------------------------------------------------


def test_get_access_key_info(server, iam, caller, names, root_sts):
    """GetAccessKeyInfo answers the account of an access key id, long-term (AKIA) or temporary
    (ASIA)."""
    assert root_sts.get_access_key_info(AccessKeyId=caller.access_key)["Account"] == ACCOUNT_ID
    assert root_sts.get_access_key_info(AccessKeyId=ROOT_ACCESS_KEY_ID)["Account"] == ACCOUNT_ID
    _, creds = _role_session(iam, caller, names)
    assert root_sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"] == ACCOUNT_ID
    gst = caller.client("sts").get_session_token()["Credentials"]
    assert root_sts.get_access_key_info(AccessKeyId=gst["AccessKeyId"])["Account"] == ACCOUNT_ID


def test_get_access_key_info_needs_permission(iam, caller):
    """A user needs sts:GetAccessKeyInfo to call it."""
    sts = caller.client("sts")
    with denied_as(caller.arn, "sts:GetAccessKeyInfo"):
        sts.get_access_key_info(AccessKeyId=caller.access_key)
    put_user_policy(iam, caller, allow("sts:GetAccessKeyInfo"))
    assert sts.get_access_key_info(AccessKeyId=caller.access_key)["Account"] == ACCOUNT_ID


# --- CloudTrail -------------------------------------------------------------------------------------


def test_assume_role_and_the_session_are_in_cloudtrail(server, iam, caller, names):
    """AssumeRole is an STS event of the user; a call made with the session is recorded with an
    AssumedRole identity naming the role that issued it. Neither the session's secret nor its
    token is in any event."""
    role = make_role(iam, names, trust(caller.arn), permissions=[allow("iam:ListUsers")])
    got = assume(caller, role, "audited")
    creds = got["Credentials"]
    listed = session_client(server, creds, "iam").list_users()

    ct = server.client("cloudtrail")
    by_user = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": caller.name}])["Events"]
    request_id = got["ResponseMetadata"]["RequestId"]
    found = [e for e in by_user if json.loads(e["CloudTrailEvent"])["requestID"] == request_id]
    assert len(found) == 1, [e["EventName"] for e in by_user]
    event = found[0]
    assert event["EventName"] == "AssumeRole"
    assert event["EventSource"] == "sts.amazonaws.com"
    record = json.loads(event["CloudTrailEvent"])
    assert record["eventSource"] == "sts.amazonaws.com"
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["arn"] == caller.arn
    assert record["requestParameters"]["roleArn"] == role["Arn"]
    assert record["requestParameters"]["roleSessionName"] == "audited"
    assert record["responseElements"]["credentials"]["accessKeyId"] == creds["AccessKeyId"]
    assert record["responseElements"]["assumedRoleUser"]["arn"] == assumed_role_arn(role["RoleName"], "audited")

    by_key = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": creds["AccessKeyId"]}]
    )["Events"]
    assert [e["EventName"] for e in by_key] == ["ListUsers"]
    used = json.loads(by_key[0]["CloudTrailEvent"])
    assert used["requestID"] == listed["ResponseMetadata"]["RequestId"]
    ident = used["userIdentity"]
    assert ident["type"] == "AssumedRole"
    assert ident["arn"] == assumed_role_arn(role["RoleName"], "audited")
    assert ident["principalId"] == f"{role['RoleId']}:audited"
    assert ident["accountId"] == ACCOUNT_ID
    assert ident["accessKeyId"] == creds["AccessKeyId"]
    issuer = ident["sessionContext"]["sessionIssuer"]
    assert issuer["type"] == "Role"
    assert issuer["arn"] == role["Arn"]
    assert issuer["principalId"] == role["RoleId"]
    assert issuer["userName"] == role["RoleName"]
    assert ident["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"

    everything = json.dumps(by_user + by_key, default=str)
    assert creds["SecretAccessKey"] not in everything
    assert creds["SessionToken"] not in everything


def test_decode_authorization_message_refuses_what_it_did_not_encode(server, iam, caller):
    """DecodeAuthorizationMessage needs sts:DecodeAuthorizationMessage, and a message this
    deployment did not encode is InvalidAuthorizationMessageException (400)."""
    with raises_aws("AccessDenied", 403):
        caller.client("sts").decode_authorization_message(EncodedMessage="bm90LWEtbWVzc2FnZQ==")
    put_user_policy(iam, caller, allow("sts:DecodeAuthorizationMessage"))
    with raises_aws("InvalidAuthorizationMessageException", 400):
        caller.client("sts").decode_authorization_message(EncodedMessage="bm90LWEtbWVzc2FnZQ==")
    with raises_aws("InvalidAuthorizationMessageException", 400):
        server.client("sts").decode_authorization_message(EncodedMessage="x" * 100)
