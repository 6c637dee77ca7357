"""Authorization as AWS IAM does it.

Every request of an IAM user is evaluated against the policies that apply to it: its inline and
attached managed policies, those of its groups, AWS managed policies, its permissions boundary.
An explicit deny wins over any allow; without an allow the request is implicitly denied.
Conditions test the request context (source IP, time, tags, transport, region, caller), policy
variables are resolved per request, NotAction/NotResource invert the match. A denied request
answers `AccessDenied` (HTTP 403) with AWS's message; a change to a policy applies from the very
next request. The root user is never limited by IAM policies.

Callers are users with an access key made by `make_caller`; everything else runs as root (`iam`).
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest

from support import ACCOUNT_ID, AwsCliError, Caller, allow, error_of, make_caller, policy_doc, raises_aws

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"

# The end of an AccessDenied message, per policy type (IAM User Guide, "Troubleshoot access
# denied error messages").
NO_IDENTITY = "because no identity-based policy allows the {action} action"
NO_BOUNDARY = "because no permissions boundary allows the {action} action"
EXPLICIT_IDENTITY = "with an explicit deny in an identity-based policy"
EXPLICIT_BOUNDARY = "with an explicit deny in a permissions boundary"
# AWS now may name the denying policy after an explicit deny ("...identity-based policy:
# arn:aws:iam::123456789012:policy/ExampleDenyPolicy", then possibly ". Go to <console link>");
# both the older and the newer wording are AWS's.
_EXPLICIT_SUFFIX = r"(?:: (?P<policy>[^\s.][^\s]*?))?(?:\.(?: .*)?)?"


def user_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user{path}{name}"


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def allow_if(action, condition: dict, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}


def check_denial(
    message: str,
    caller: Caller,
    action: str,
    *,
    resource: str | None = None,
    entity: tuple[str, str] | None = None,
    reason: str = NO_IDENTITY,
) -> re.Match:
    """Checks an AccessDenied message: `User: <caller ARN> is not authorized to perform: <action>
    on resource: <resource> <reason>`.

    - `resource`: the exact resource ARN (e.g. the user CreateUser would create, path included).
    - `entity`: (name, ARN) of an existing user the call acts on. AWS names it by its ARN, or,
      for some IAM operations, as `user <name>` ("iam:GetUser on resource: user bob"); both
      are accepted.
    - neither: the resource part is not checked (AWS words it differently per operation).
    An implicit denial ends with the reason; an explicit one may go on with the policy's ARN.
    """
    head = re.escape(f"User: {caller.arn} is not authorized to perform: {action}")
    if resource is not None:
        where = " on resource: " + re.escape(resource)
    elif entity is not None:
        name, arn = entity
        where = f" on resource: (?:{re.escape(arn)}|{re.escape('user ' + name)})"
    else:
        where = r"(?: on resource: .+?)?"
    why = reason.format(action=action)
    tail = re.escape(why) + (_EXPLICIT_SUFFIX if why.startswith("with an explicit deny") else "")
    match = re.fullmatch(f"{head}{where} {tail}", message, re.S)
    assert match, f"unexpected AccessDenied message for {action}: {message!r}"
    return match


@contextlib.contextmanager
def denied(caller: Caller, action: str, **expect):
    """Expects the call to fail with AccessDenied (HTTP 403) and AWS's message (`check_denial`)."""
    with raises_aws("AccessDenied", 403) as info:
        yield info
    check_denial(error_of(info.value)[2], caller, action, **expect)


@pytest.fixture
def caller(server, iam, names) -> Caller:
    """A user with an access key and no policies, in the test's path."""
    return make_caller(server, iam, names("caller"), names.path)


def put_policy(iam, caller: Caller, *statements: dict, name: str = "p", version: str = "2012-10-17") -> None:
    iam.put_user_policy(
        UserName=caller.name, PolicyName=name, PolicyDocument=policy_doc(*statements, version=version)
    )


def managed(iam, names, *statements: dict) -> str:
    return iam.create_policy(PolicyName=names("pol"), PolicyDocument=policy_doc(*statements))["Policy"]["Arn"]


def other_user(iam, names, path: str | None = None, **kw) -> tuple[str, str]:
    """Creates a user (as root); returns (name, ARN)."""
    user = iam.create_user(UserName=names("other"), Path=path or names.path, **kw)["User"]
    return user["UserName"], user["Arn"]


# --- no policy, no access ----------------------------------------------------------------------


def test_user_without_policies_gets_awss_access_denied(iam, caller, names):
    """With no policy, AWS denies implicitly: AccessDenied, HTTP 403, and a message naming the
    caller by its ARN (path included), the action, the resource and why."""
    assert caller.arn == user_arn(caller.name, names.path)
    alice = names("alice")
    with raises_aws("AccessDenied", 403) as info:
        caller.iam.create_user(UserName=alice)
    assert error_of(info.value)[2] == (
        f"User: {caller.arn} is not authorized to perform: iam:CreateUser on resource: "
        f"{user_arn(alice)} because no identity-based policy allows the iam:CreateUser action"
    )
    # The user to be created is named with the path it would get.
    with denied(caller, "iam:CreateUser", resource=user_arn(alice, "/team/")):
        caller.iam.create_user(UserName=alice, Path="/team/")
    # Nothing happened.
    with raises_aws("NoSuchEntity", 404):
        iam.get_user(UserName=alice)


def test_user_without_policies_cannot_even_read_itself(caller):
    """GetUser without UserName acts on the caller itself, and still needs a policy."""
    with denied(caller, "iam:GetUser", entity=(caller.name, caller.arn)):
        caller.iam.get_user()
    with denied(caller, "iam:ListAccessKeys", entity=(caller.name, caller.arn)):
        caller.iam.list_access_keys()


DENIED_BY_DEFAULT = {
    "ListUsers": lambda c, o: c.iam.list_users(),
    "ListGroups": lambda c, o: c.iam.list_groups(),
    "ListRoles": lambda c, o: c.iam.list_roles(),
    "ListPolicies": lambda c, o: c.iam.list_policies(),
    "GetAccountSummary": lambda c, o: c.iam.get_account_summary(),
    "GetUser": lambda c, o: c.iam.get_user(UserName=o),
    "CreateGroup": lambda c, o: c.iam.create_group(GroupName=o + "-g"),
    "CreatePolicy": lambda c, o: c.iam.create_policy(PolicyName=o + "-p", PolicyDocument=policy_doc(allow())),
    "DeleteUser": lambda c, o: c.iam.delete_user(UserName=o),
    "TagUser": lambda c, o: c.iam.tag_user(UserName=o, Tags=[{"Key": "k", "Value": "v"}]),
    # Granting oneself anything is the first thing a policy must stop.
    "PutUserPolicy": lambda c, o: c.iam.put_user_policy(
        UserName=c.name, PolicyName="mine", PolicyDocument=policy_doc(allow("*"))
    ),
    "AttachUserPolicy": lambda c, o: c.iam.attach_user_policy(UserName=c.name, PolicyArn=ADMIN),
    "CreateAccessKey": lambda c, o: c.iam.create_access_key(UserName=c.name),
    "DeleteAccessKey": lambda c, o: c.iam.delete_access_key(AccessKeyId=c.access_key),
    "CreateLoginProfile": lambda c, o: c.iam.create_login_profile(UserName=c.name, Password="Zx-9-long-Passw0rd!"),
}


@pytest.mark.parametrize("operation", sorted(DENIED_BY_DEFAULT))
def test_every_operation_is_denied_without_a_policy(iam, caller, names, operation):
    """Deny by default: reads, writes, and changes to the caller's own user alike."""
    other, _ = other_user(iam, names)
    with denied(caller, f"iam:{operation}"):
        DENIED_BY_DEFAULT[operation](caller, other)
    # Still there, still without policies or keys beyond its own.
    assert iam.list_user_policies(UserName=caller.name)["PolicyNames"] == []
    assert iam.list_attached_user_policies(UserName=caller.name)["AttachedPolicies"] == []
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=caller.name)["AccessKeyMetadata"]] == [
        caller.access_key
    ]
    iam.get_user(UserName=other)


def test_authorization_comes_before_existence(iam, caller, names):
    """A caller that may not look does not learn whether a user exists: AccessDenied, not
    NoSuchEntity. Once allowed, the missing user is NoSuchEntity."""
    missing = names("missing")
    with denied(caller, "iam:GetUser"):
        caller.iam.get_user(UserName=missing)
    put_policy(iam, caller, allow("iam:GetUser"))
    with raises_aws("NoSuchEntity", 404):
        caller.iam.get_user(UserName=missing)


# --- where an allow comes from -----------------------------------------------------------------


def test_user_inline_policy(iam, caller, names):
    """An inline policy of the user allows; replacing or deleting it applies on the next request."""
    put_policy(iam, caller, allow("iam:ListUsers"), name="lists")
    assert any(u["UserName"] == caller.name for u in caller.iam.list_users(PathPrefix=caller.path)["Users"])
    with denied(caller, "iam:ListGroups"):
        caller.iam.list_groups()

    put_policy(iam, caller, allow("iam:ListGroups"), name="lists")  # same name: replaced
    caller.iam.list_groups()
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()

    iam.delete_user_policy(UserName=caller.name, PolicyName="lists")
    with denied(caller, "iam:ListGroups"):
        caller.iam.list_groups()


def test_attached_customer_managed_policy(iam, caller, names):
    """An attached customer managed policy allows until it is detached; then it can be deleted
    and nothing is left."""
    arn = managed(iam, names, allow(["iam:ListUsers", "iam:GetUser"]))
    iam.attach_user_policy(UserName=caller.name, PolicyArn=arn)
    caller.iam.list_users()
    assert caller.iam.get_user()["User"]["Arn"] == caller.arn
    iam.detach_user_policy(UserName=caller.name, PolicyArn=arn)
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()
    iam.delete_policy(PolicyArn=arn)
    with denied(caller, "iam:GetUser", entity=(caller.name, caller.arn)):
        caller.iam.get_user()


def test_aws_managed_iam_read_only_access(iam, caller, names):
    """IAMReadOnlyAccess allows iam:Get* and iam:List* on everything, and no write."""
    other, other_arn = other_user(iam, names)
    iam.attach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    assert caller.iam.get_user(UserName=other)["User"]["Arn"] == other_arn
    caller.iam.list_users()
    caller.iam.list_groups()
    caller.iam.list_policies(Scope="AWS", MaxItems=5)
    caller.iam.get_account_summary()
    caller.iam.list_attached_user_policies(UserName=caller.name)
    created = names("new")
    with denied(caller, "iam:CreateUser", resource=user_arn(created)):
        caller.iam.create_user(UserName=created)
    with denied(caller, "iam:DeleteUser", entity=(other, other_arn)):
        caller.iam.delete_user(UserName=other)
    iam.detach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()


def test_group_inline_policy_and_membership(iam, caller, names):
    """A group's inline policy applies to its members only while they are members."""
    group = names("g")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="read", PolicyDocument=policy_doc(allow("iam:ListRoles")))
    with denied(caller, "iam:ListRoles"):
        caller.iam.list_roles()
    iam.add_user_to_group(GroupName=group, UserName=caller.name)
    caller.iam.list_roles()
    iam.remove_user_from_group(GroupName=group, UserName=caller.name)
    with denied(caller, "iam:ListRoles"):
        caller.iam.list_roles()
    iam.add_user_to_group(GroupName=group, UserName=caller.name)
    iam.delete_group_policy(GroupName=group, PolicyName="read")
    with denied(caller, "iam:ListRoles"):
        caller.iam.list_roles()


def test_group_attached_managed_policy(iam, caller, names):
    """A managed policy attached to a group applies to its members until detached."""
    group = names("g")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=caller.name)
    iam.attach_group_policy(GroupName=group, PolicyArn=IAM_READ)
    caller.iam.get_group(GroupName=group)
    caller.iam.list_users()
    iam.detach_group_policy(GroupName=group, PolicyArn=IAM_READ)
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()


def test_allows_from_every_source_add_up(iam, caller, names):
    """The user's inline and managed policies and its groups' policies are all evaluated
    together: each one's allows count."""
    group = names("g")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=caller.name)
    put_policy(iam, caller, allow("iam:ListUsers"))
    iam.attach_user_policy(UserName=caller.name, PolicyArn=managed(iam, names, allow("iam:ListGroups")))
    iam.put_group_policy(GroupName=group, PolicyName="roles", PolicyDocument=policy_doc(allow("iam:ListRoles")))
    iam.attach_group_policy(GroupName=group, PolicyArn=managed(iam, names, allow("iam:ListPolicies")))
    caller.iam.list_users()
    caller.iam.list_groups()
    caller.iam.list_roles()
    caller.iam.list_policies(MaxItems=1)
    with denied(caller, "iam:GetAccountSummary"):
        caller.iam.get_account_summary()


def test_new_default_policy_version_applies_at_once(iam, caller, names):
    """Only the default version of a managed policy counts; changing it changes access."""
    arn = managed(iam, names, allow("iam:ListUsers"))
    iam.attach_user_policy(UserName=caller.name, PolicyArn=arn)
    caller.iam.list_users()
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy_doc(allow("iam:ListGroups")))  # not default
    with denied(caller, "iam:ListGroups"):
        caller.iam.list_groups()
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy_doc(allow("iam:ListRoles")), SetAsDefault=True)
    caller.iam.list_roles()
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    caller.iam.list_groups()
    with denied(caller, "iam:ListRoles"):
        caller.iam.list_roles()


def test_action_matching_is_case_insensitive_with_wildcards(iam, caller):
    """Action names match case-insensitively; `*` and `?` are wildcards within the action."""
    put_policy(iam, caller, allow(["IAM:listusers", "iam:Get*Summary", "iam:ListGroup?"]))
    caller.iam.list_users()
    caller.iam.get_account_summary()
    caller.iam.list_groups()
    with denied(caller, "iam:GetUser", entity=(caller.name, caller.arn)):
        caller.iam.get_user()
    with denied(caller, "iam:ListGroupsForUser", entity=(caller.name, caller.arn)):
        caller.iam.list_groups_for_user(UserName=caller.name)


def test_user_resource_arns_include_the_path(iam, caller, names):
    """A user's ARN holds its path, so a Resource on `user/<path>*` covers exactly the users in
    that path, whether they exist (GetUser) or are being created (CreateUser)."""
    inside, _ = other_user(iam, names)
    outside, outside_arn = other_user(iam, names, path="/elsewhere/")
    put_policy(
        iam, caller, allow(["iam:GetUser", "iam:CreateUser"], f"arn:aws:iam::{ACCOUNT_ID}:user{names.path}*")
    )
    caller.iam.get_user(UserName=inside)
    with denied(caller, "iam:GetUser", entity=(outside, outside_arn)):
        caller.iam.get_user(UserName=outside)
    fresh = names("fresh")
    created = caller.iam.create_user(UserName=fresh, Path=names.path)["User"]
    assert created["Arn"] == user_arn(fresh, names.path)
    nowhere = names("nopath")
    with denied(caller, "iam:CreateUser", resource=user_arn(nowhere)):
        caller.iam.create_user(UserName=nowhere)


# --- explicit deny -----------------------------------------------------------------------------


def test_explicit_deny_beats_any_allow(iam, caller, names):
    """An explicit deny in any identity-based policy wins over AdministratorAccess."""
    iam.attach_user_policy(UserName=caller.name, PolicyArn=ADMIN)
    put_policy(iam, caller, deny("iam:CreateUser"), name="no-users")
    caller.iam.list_users()
    target = names("t")
    with denied(caller, "iam:CreateUser", resource=user_arn(target), reason=EXPLICIT_IDENTITY):
        caller.iam.create_user(UserName=target)
    caller.iam.create_group(GroupName=names("g"))
    # Deleting the deny restores the allow.
    iam.delete_user_policy(UserName=caller.name, PolicyName="no-users")
    caller.iam.create_user(UserName=target)


def test_explicit_deny_from_a_group_or_managed_policy(iam, caller, names):
    """A deny counts wherever it comes from: a group's policy, a managed policy. When AWS names
    the denying policy in the message, it is that policy."""
    iam.attach_user_policy(UserName=caller.name, PolicyArn=ADMIN)
    group = names("g")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=caller.name)
    iam.put_group_policy(GroupName=group, PolicyName="no-list", PolicyDocument=policy_doc(deny("iam:ListUsers")))
    with denied(caller, "iam:ListUsers", reason=EXPLICIT_IDENTITY):
        caller.iam.list_users()

    deny_arn = managed(iam, names, deny("iam:Create*"))
    iam.attach_user_policy(UserName=caller.name, PolicyArn=deny_arn)
    target = names("t")
    with raises_aws("AccessDenied", 403) as info:
        caller.iam.create_group(GroupName=target)
    match = check_denial(error_of(info.value)[2], caller, "iam:CreateGroup", reason=EXPLICIT_IDENTITY)
    if match.group("policy"):
        assert match.group("policy") == deny_arn
    caller.iam.delete_user(UserName=other_user(iam, names)[0])  # other actions still allowed

    iam.remove_user_from_group(GroupName=group, UserName=caller.name)
    caller.iam.list_users()


# --- conditions --------------------------------------------------------------------------------


def test_condition_source_ip(iam, caller):
    """aws:SourceIp is the client's address (127.0.0.1 here). Values of one key are ORed;
    condition key names are case-insensitive."""
    put_policy(iam, caller, allow_if("iam:ListUsers", {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}))
    caller.iam.list_users()
    put_policy(iam, caller, allow_if("iam:ListUsers", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()
    put_policy(iam, caller, allow_if("iam:ListUsers", {"IpAddress": {"AWS:sourceip": ["10.0.0.0/8", "127.0.0.0/8"]}}))
    caller.iam.list_users()
    put_policy(iam, caller, allow_if("iam:ListUsers", {"NotIpAddress": {"aws:SourceIp": "127.0.0.1"}}))
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()


def test_condition_current_time(iam, caller):
    """aws:CurrentTime is the time of the request."""
    past = "2020-01-01T00:00:00Z"
    put_policy(iam, caller, allow_if("iam:ListUsers", {"DateGreaterThan": {"aws:CurrentTime": past}}))
    caller.iam.list_users()
    put_policy(iam, caller, allow_if("iam:ListUsers", {"DateLessThan": {"aws:CurrentTime": past}}))
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()


# The documented example "IAM: Create new users only with specific tags".
NEW_USER_TAGS = {
    "Sid": "TagUsersWithOnlyTheseTags",
    "Effect": "Allow",
    "Action": ["iam:CreateUser", "iam:TagUser"],
    "Resource": "*",
    "Condition": {
        "StringEqualsIfExists": {
            "aws:RequestTag/Department": ["Development", "QualityAssurance"],
            "aws:RequestTag/JobFunction": "Employee",
        },
        "ForAllValues:StringEquals": {"aws:TagKeys": ["Department", "JobFunction"]},
    },
}


def test_condition_request_tags_and_tag_keys(iam, caller, names):
    """aws:RequestTag/<key> and aws:TagKeys come from the tags in the request (CreateUser's Tags,
    TagUser's). With IfExists and ForAllValues, a request without tags passes."""
    put_policy(iam, caller, NEW_USER_TAGS)
    dev = names("dev")
    caller.iam.create_user(UserName=dev, Tags=[{"Key": "Department", "Value": "Development"}])
    assert iam.list_user_tags(UserName=dev)["Tags"] == [{"Key": "Department", "Value": "Development"}]
    caller.iam.create_user(
        UserName=names("qa"),
        Tags=[{"Key": "Department", "Value": "QualityAssurance"}, {"Key": "JobFunction", "Value": "Employee"}],
    )
    caller.iam.create_user(UserName=names("plain"))

    sales = names("sales")
    with denied(caller, "iam:CreateUser", resource=user_arn(sales)):
        caller.iam.create_user(UserName=sales, Tags=[{"Key": "Department", "Value": "Sales"}])
    project = names("project")
    with denied(caller, "iam:CreateUser", resource=user_arn(project)):
        caller.iam.create_user(
            UserName=project,
            Tags=[{"Key": "JobFunction", "Value": "Employee"}, {"Key": "Project", "Value": "core"}],
        )
    for name in (sales, project):
        with raises_aws("NoSuchEntity", 404):
            iam.get_user(UserName=name)

    caller.iam.tag_user(UserName=dev, Tags=[{"Key": "JobFunction", "Value": "Employee"}])
    with denied(caller, "iam:TagUser"):
        caller.iam.tag_user(UserName=dev, Tags=[{"Key": "Cost", "Value": "1"}])


def test_condition_request_tag_must_be_present(iam, caller, names):
    """Without IfExists, a condition on a key the request lacks does not match."""
    put_policy(iam, caller, allow_if("iam:CreateUser", {"StringEquals": {"aws:RequestTag/team": "blue"}}))
    untagged = names("u")
    with denied(caller, "iam:CreateUser", resource=user_arn(untagged)):
        caller.iam.create_user(UserName=untagged)
    caller.iam.create_user(UserName=untagged, Tags=[{"Key": "team", "Value": "blue"}])


def test_condition_resource_tags_of_the_target_user(iam, caller, names):
    """aws:ResourceTag/<key> (and IAM's own iam:ResourceTag/<key>) are the tags of the user acted
    upon, as they are at the time of the request."""
    blue, _ = other_user(iam, names, Tags=[{"Key": "team", "Value": "blue"}])
    red, red_arn = other_user(iam, names, Tags=[{"Key": "team", "Value": "red"}])
    plain, plain_arn = other_user(iam, names)
    put_policy(
        iam,
        caller,
        allow_if("iam:GetUser", {"StringEquals": {"aws:ResourceTag/team": "blue"}}),
        allow_if("iam:ListUserTags", {"StringEquals": {"iam:ResourceTag/team": "blue"}}),
    )
    caller.iam.get_user(UserName=blue)
    caller.iam.list_user_tags(UserName=blue)
    with denied(caller, "iam:GetUser", entity=(red, red_arn)):
        caller.iam.get_user(UserName=red)
    with denied(caller, "iam:ListUserTags", entity=(red, red_arn)):
        caller.iam.list_user_tags(UserName=red)
    with denied(caller, "iam:GetUser", entity=(plain, plain_arn)):
        caller.iam.get_user(UserName=plain)
    iam.tag_user(UserName=red, Tags=[{"Key": "team", "Value": "blue"}])
    caller.iam.get_user(UserName=red)
    iam.untag_user(UserName=blue, TagKeys=["team"])
    with denied(caller, "iam:GetUser"):
        caller.iam.get_user(UserName=blue)


def test_condition_principal_tags_of_the_caller(server, iam, names):
    """aws:PrincipalTag/<key> are the caller's own tags, read at each request."""
    c = make_caller(server, iam, names("c"), names.path, Tags=[{"Key": "team", "Value": "blue"}])
    put_policy(iam, c, allow_if("iam:ListUsers", {"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    c.iam.list_users()
    iam.tag_user(UserName=c.name, Tags=[{"Key": "team", "Value": "red"}])
    with denied(c, "iam:ListUsers"):
        c.iam.list_users()
    iam.untag_user(UserName=c.name, TagKeys=["team"])
    with denied(c, "iam:ListUsers"):
        c.iam.list_users()


def test_condition_secure_transport(iam, caller):
    """aws:SecureTransport is false for a request over plain HTTP (this server), so the usual
    "deny unless TLS" statement denies it."""
    put_policy(iam, caller, allow_if("iam:ListUsers", {"Bool": {"aws:SecureTransport": "false"}}))
    caller.iam.list_users()
    put_policy(iam, caller, allow_if("iam:ListUsers", {"Bool": {"aws:SecureTransport": "true"}}))
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()
    put_policy(
        iam,
        caller,
        allow("iam:ListUsers"),
        deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
    )
    with denied(caller, "iam:ListUsers", reason=EXPLICIT_IDENTITY):
        caller.iam.list_users()


def test_condition_requested_region(iam, caller):
    """IAM is global with its endpoint in us-east-1: aws:RequestedRegion is us-east-1."""
    put_policy(iam, caller, allow_if("iam:ListUsers", {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    caller.iam.list_users()
    put_policy(iam, caller, allow_if("iam:ListUsers", {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    with denied(caller, "iam:ListUsers"):
        caller.iam.list_users()


def test_condition_caller_identity_keys(iam, caller, names):
    """aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount and aws:PrincipalType
    describe the calling IAM user; keys in one condition block are ANDed."""
    who = {
        "StringEquals": {
            "aws:username": caller.name,
            "aws:userid": caller.user_id,
            "aws:PrincipalAccount": ACCOUNT_ID,
            "aws:PrincipalType": "User",
        },
        "ArnEquals": {"aws:PrincipalArn": caller.arn},
    }
    put_policy(iam, caller, allow_if("iam:ListUsers", who))
    caller.iam.list_users()
    for key, wrong in [
        ("aws:username", names("someone")),
        ("aws:PrincipalType", "AssumedRole"),
        ("aws:PrincipalAccount", "210987654321"),
    ]:
        changed = json.loads(json.dumps(who))
        changed["StringEquals"][key] = wrong
        put_policy(iam, caller, allow_if("iam:ListUsers", changed))
        with denied(caller, "iam:ListUsers"):
            caller.iam.list_users()


def test_condition_mfa_absent_for_access_keys(iam, caller):
    """A long-term access key carries no aws:MultiFactorAuthPresent: Bool does not match the
    absent key, BoolIfExists does."""
    iam.attach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    put_policy(iam, caller, deny("iam:ListUsers", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
    caller.iam.list_users()
    put_policy(
        iam, caller, deny("iam:ListUsers", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})
    )
    with denied(caller, "iam:ListUsers", reason=EXPLICIT_IDENTITY):
        caller.iam.list_users()
    caller.iam.list_groups()


# --- policy variables --------------------------------------------------------------------------

SELF = [f"arn:aws:iam::{ACCOUNT_ID}:user/${{aws:username}}", f"arn:aws:iam::{ACCOUNT_ID}:user/*/${{aws:username}}"]


def test_variable_aws_username_limits_a_user_to_its_own_keys(iam, caller, names):
    """`${aws:username}` in Resource resolves to the caller's name: the user manages its own
    access keys (with or without UserName) and nobody else's."""
    put_policy(iam, caller, allow(["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:GetUser"], SELF))
    assert caller.iam.get_user()["User"]["UserName"] == caller.name
    second = caller.iam.create_access_key(UserName=caller.name)["AccessKey"]
    listed = {k["AccessKeyId"] for k in caller.iam.list_access_keys()["AccessKeyMetadata"]}
    assert listed == {caller.access_key, second["AccessKeyId"]}
    assert len(caller.iam.list_access_keys(UserName=caller.name)["AccessKeyMetadata"]) == 2

    other, other_arn = other_user(iam, names)
    with denied(caller, "iam:CreateAccessKey", entity=(other, other_arn)):
        caller.iam.create_access_key(UserName=other)
    with denied(caller, "iam:ListAccessKeys", entity=(other, other_arn)):
        caller.iam.list_access_keys(UserName=other)
    with denied(caller, "iam:GetUser", entity=(other, other_arn)):
        caller.iam.get_user(UserName=other)
    assert iam.list_access_keys(UserName=other)["AccessKeyMetadata"] == []


def test_identity_policies_must_be_version_2012_10_17(iam, caller):
    """Policy variables need the 2012-10-17 policy language; IAM refuses an identity policy
    written in the older 2008-10-17 (where `${aws:username}` would be plain text), so the caller
    gains nothing."""
    with raises_aws("MalformedPolicyDocument", 400, "Policy document must be version 2012-10-17 or greater."):
        put_policy(iam, caller, allow("iam:GetUser", SELF), version="2008-10-17")
    assert iam.list_user_policies(UserName=caller.name)["PolicyNames"] == []
    with denied(caller, "iam:GetUser", entity=(caller.name, caller.arn)):
        caller.iam.get_user()


def test_variable_with_a_default_value(server, iam, names):
    """`${aws:PrincipalTag/team, 'none'}` is the caller's tag, or 'none' when it has none."""
    c = make_caller(server, iam, names("c"), names.path)
    none_user = iam.create_user(UserName="none-" + names("t"), Path=names.path)["User"]
    blue_user = iam.create_user(UserName="blue-" + names("t"), Path=names.path)["User"]
    by_team = f"arn:aws:iam::{ACCOUNT_ID}:user{names.path}${{aws:PrincipalTag/team, 'none'}}-*"
    put_policy(iam, c, allow("iam:GetUser", by_team))
    c.iam.get_user(UserName=none_user["UserName"])
    with denied(c, "iam:GetUser", entity=(blue_user["UserName"], blue_user["Arn"])):
        c.iam.get_user(UserName=blue_user["UserName"])
    iam.tag_user(UserName=c.name, Tags=[{"Key": "team", "Value": "blue"}])
    c.iam.get_user(UserName=blue_user["UserName"])
    with denied(c, "iam:GetUser", entity=(none_user["UserName"], none_user["Arn"])):
        c.iam.get_user(UserName=none_user["UserName"])


# --- NotAction, NotResource --------------------------------------------------------------------


def test_not_action(iam, caller, names):
    """Allow + NotAction allows every action but those listed; Deny + NotAction denies every
    action but those listed."""
    put_policy(iam, caller, {"Effect": "Allow", "NotAction": "iam:CreateUser", "Resource": "*"})
    caller.iam.get_user()
    caller.iam.list_users()
    target = names("t")
    with denied(caller, "iam:CreateUser", resource=user_arn(target)):
        caller.iam.create_user(UserName=target)

    put_policy(
        iam,
        caller,
        allow("*"),
        {"Effect": "Deny", "NotAction": ["iam:Get*", "iam:List*"], "Resource": "*"},
    )
    caller.iam.list_groups()
    with denied(caller, "iam:CreateGroup", reason=EXPLICIT_IDENTITY):
        caller.iam.create_group(GroupName=names("g"))


def test_not_resource(iam, caller, names):
    """Allow + NotResource allows the action on every resource but those listed."""
    public, _ = other_user(iam, names)
    secret = iam.create_user(UserName="secret-" + names("t"), Path=names.path)["User"]
    put_policy(
        iam,
        caller,
        {
            "Effect": "Allow",
            "Action": "iam:GetUser",
            "NotResource": f"arn:aws:iam::{ACCOUNT_ID}:user{names.path}secret-*",
        },
    )
    caller.iam.get_user(UserName=public)
    with denied(caller, "iam:GetUser", entity=(secret["UserName"], secret["Arn"])):
        caller.iam.get_user(UserName=secret["UserName"])


# --- IAM's own condition keys ------------------------------------------------------------------


def test_condition_iam_policy_arn(iam, caller, names):
    """iam:PolicyARN is the policy being attached: a delegate may attach only the listed one."""
    target, target_arn = other_user(iam, names)
    put_policy(iam, caller, allow_if("iam:AttachUserPolicy", {"ArnEquals": {"iam:PolicyARN": IAM_READ}}))
    caller.iam.attach_user_policy(UserName=target, PolicyArn=IAM_READ)
    with denied(caller, "iam:AttachUserPolicy", entity=(target, target_arn)):
        caller.iam.attach_user_policy(UserName=target, PolicyArn=ADMIN)
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=target)["AttachedPolicies"]] == [
        IAM_READ
    ]


def test_condition_iam_permissions_boundary(iam, caller, names):
    """iam:PermissionsBoundary is the boundary given to CreateUser: a delegate may create users
    only with that boundary."""
    put_policy(
        iam,
        caller,
        allow_if(
            ["iam:CreateUser", "iam:PutUserPermissionsBoundary"],
            {"StringEquals": {"iam:PermissionsBoundary": IAM_READ}},
        ),
    )
    bounded = names("bounded")
    created = caller.iam.create_user(UserName=bounded, PermissionsBoundary=IAM_READ)["User"]
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == IAM_READ
    free = names("free")
    with denied(caller, "iam:CreateUser", resource=user_arn(free)):
        caller.iam.create_user(UserName=free)
    with denied(caller, "iam:CreateUser", resource=user_arn(free)):
        caller.iam.create_user(UserName=free, PermissionsBoundary=ADMIN)
    with raises_aws("NoSuchEntity", 404):
        iam.get_user(UserName=free)


# --- permissions boundaries --------------------------------------------------------------------


def test_boundary_caps_what_identity_policies_allow(server, iam, names):
    """With AdministratorAccess and the boundary IAMReadOnlyAccess, only what both allow is
    allowed; removing the boundary restores the rest."""
    c = make_caller(server, iam, names("c"), names.path, PermissionsBoundary=IAM_READ)
    iam.attach_user_policy(UserName=c.name, PolicyArn=ADMIN)
    assert c.iam.get_user()["User"]["Arn"] == c.arn
    c.iam.list_users()
    target = names("t")
    with denied(c, "iam:CreateUser", resource=user_arn(target), reason=NO_BOUNDARY):
        c.iam.create_user(UserName=target)
    with denied(c, "iam:PutUserPolicy", entity=(c.name, c.arn), reason=NO_BOUNDARY):
        c.iam.put_user_policy(UserName=c.name, PolicyName="x", PolicyDocument=policy_doc(allow("*")))

    iam.delete_user_permissions_boundary(UserName=c.name)
    c.iam.create_user(UserName=target)
    iam.put_user_permissions_boundary(UserName=c.name, PermissionsBoundary=IAM_READ)
    with denied(c, "iam:DeleteUser", reason=NO_BOUNDARY):
        c.iam.delete_user(UserName=target)


def test_boundary_grants_nothing_by_itself(server, iam, names):
    """A boundary only limits: with AdministratorAccess as boundary and no identity policy,
    nothing is allowed."""
    c = make_caller(server, iam, names("c"), names.path, PermissionsBoundary=ADMIN)
    with denied(c, "iam:ListUsers", reason=NO_IDENTITY):
        c.iam.list_users()


def test_explicit_deny_in_boundary(server, iam, names):
    """A Deny in the boundary wins over the identity policies' allow."""
    boundary = managed(iam, names, allow("*"), deny("iam:ListUsers"))
    c = make_caller(server, iam, names("c"), names.path, PermissionsBoundary=boundary)
    iam.attach_user_policy(UserName=c.name, PolicyArn=ADMIN)
    c.iam.list_groups()
    with denied(c, "iam:ListUsers", reason=EXPLICIT_BOUNDARY):
        c.iam.list_users()
    iam.delete_user_permissions_boundary(UserName=c.name)
    c.iam.list_users()


# --- root ----------------------------------------------------------------------------------------


def test_root_is_allowed_everything(iam, names, aws):
    """The root user has no policies and needs none; what is denied to others (e.g. by an explicit
    deny on them) is not denied to root."""
    user = names("u")
    iam.create_user(UserName=user, Path=names.path)
    iam.put_user_policy(UserName=user, PolicyName="deny-all", PolicyDocument=policy_doc(deny("*")))
    iam.attach_user_policy(UserName=user, PolicyArn=ADMIN)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.tag_user(UserName=user, Tags=[{"Key": "team", "Value": "blue"}])
    assert iam.get_user(UserName=user)["User"]["UserName"] == user
    assert aws("iam", "get-user", "--user-name", user)["User"]["UserName"] == user
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName=user, PolicyArn=ADMIN)
    iam.delete_user_policy(UserName=user, PolicyName="deny-all")
    iam.untag_user(UserName=user, TagKeys=["team"])
    iam.delete_user(UserName=user)


# --- aws CLI, audit trail --------------------------------------------------------------------------


def test_aws_cli_gets_the_same_answers(iam, caller):
    """The aws CLI sees AWS's AccessDenied, then the allow once a policy is attached."""
    with pytest.raises(AwsCliError) as info:
        caller.aws("iam", "list-users")
    assert info.value.code == "AccessDenied"
    assert f"User: {caller.arn} is not authorized to perform: iam:ListUsers" in info.value.stderr
    assert "because no identity-based policy allows the iam:ListUsers action" in info.value.stderr
    iam.attach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    assert caller.aws("iam", "get-user")["User"]["Arn"] == caller.arn
    assert any(u["UserName"] == caller.name for u in caller.aws("iam", "list-users")["Users"])


def test_denied_calls_are_in_cloudtrail(server, iam, caller, names):
    """A denied call is an event like any other: the caller's identity, errorCode AccessDenied and
    the message the caller got; an allowed call of the same user has no error."""
    target = names("t")
    with raises_aws("AccessDenied", 403) as info:
        caller.iam.create_user(UserName=target)
    message = error_of(info.value)[2]
    put_policy(iam, caller, allow("iam:ListUsers"))
    ok = caller.iam.list_users()

    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": caller.name}]
    )["Events"]
    by_request = {json.loads(e["CloudTrailEvent"])["requestID"]: e for e in events}
    assert set(by_request) == {
        info.value.response["ResponseMetadata"]["RequestId"],
        ok["ResponseMetadata"]["RequestId"],
    }

    event = by_request[info.value.response["ResponseMetadata"]["RequestId"]]
    assert event["EventName"] == "CreateUser"
    assert event["Username"] == caller.name
    assert event["AccessKeyId"] == caller.access_key
    record = json.loads(event["CloudTrailEvent"])
    assert record["errorCode"] == "AccessDenied"
    assert record["errorMessage"] == message
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["arn"] == caller.arn
    assert record["userIdentity"]["userName"] == caller.name
    assert record["requestParameters"]["userName"] == target
    assert record["responseElements"] is None

    allowed = json.loads(by_request[ok["ResponseMetadata"]["RequestId"]]["CloudTrailEvent"])
    assert allowed["eventName"] == "ListUsers"
    assert "errorCode" not in allowed
