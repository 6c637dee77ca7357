"""The IAM policy simulator: SimulateCustomPolicy, SimulatePrincipalPolicy,
GetContextKeysForCustomPolicy and GetContextKeysForPrincipalPolicy.

What is pinned down is what AWS documents (API reference, the aws CLI's examples): decisions
(`allowed`, `explicitDeny`, `implicitDeny`), the statements that decided (`PolicyInputList.N`
for policies passed as strings; only the deny when a deny decides), missing context keys (at the
top for `*`, per resource otherwise), permissions boundaries, resource policies with CallerArn,
paging, the errors, and who may call the simulator. How AWS names a principal's own policies in
SourcePolicyId is not documented beyond containing the policy's name, so no more is asserted.
"""

from __future__ import annotations

import json

import pytest

from support import ACCOUNT_ID, TRUST_EC2, allow, make_caller, policy_doc, raises_aws

IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"


def arn(kind: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:{kind}{path}{name}"


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def allow_if(action, condition: dict, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}


def pretty(*statements: dict) -> str:
    """A policy on several lines, statements at an indent of 8 (see `statement_lines`)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=4)


def statement_lines(document: str) -> list[tuple[int, int]]:
    """(first line, last line) of each statement of a `pretty` document, counted from 1."""
    lines = document.split("\n")
    starts = [i + 1 for i, line in enumerate(lines) if line == "        {"]
    ends = [i + 1 for i, line in enumerate(lines) if line in ("        }", "        },")]
    assert len(starts) == len(ends)
    return list(zip(starts, ends))


def ctx(key: str, kind: str, *values: str) -> dict:
    return {"ContextKeyName": key, "ContextKeyType": kind, "ContextKeyValues": list(values)}


def by_action(results: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in results:
        assert r["EvalActionName"] not in out, f"two results for {r['EvalActionName']}"
        out[r["EvalActionName"]] = r
    return out


def decisions(results: list[dict]) -> dict[str, str]:
    return {a: r["EvalDecision"] for a, r in by_action(results).items()}


def per_resource(results: list[dict]) -> dict[tuple[str, str], dict]:
    """(action, resource) -> its ResourceSpecificResult, whether AWS groups them one
    EvaluationResult per action or per action and resource."""
    out: dict[tuple[str, str], dict] = {}
    for r in results:
        for specific in r.get("ResourceSpecificResults", []):
            key = (r["EvalActionName"], specific["EvalResourceName"])
            assert key not in out, f"two results for {key}"
            out[key] = specific
    return out


def matched(result: dict) -> list[tuple[str, int, int]]:
    """(SourcePolicyId, first line, last line) of each matched statement."""
    return sorted(
        (s["SourcePolicyId"], s["StartPosition"]["Line"], s["EndPosition"]["Line"])
        for s in result.get("MatchedStatements", [])
    )


def simulate_custom(iam, policies: list[str], actions: list[str], **kwargs) -> list[dict]:
    return iam.simulate_custom_policy(PolicyInputList=policies, ActionNames=actions, **kwargs)["EvaluationResults"]


def simulate_principal(iam, source: str, actions: list[str], **kwargs) -> list[dict]:
    return iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=actions, **kwargs)[
        "EvaluationResults"
    ]


# --- SimulateCustomPolicy ------------------------------------------------------------------------

# The policy of the aws CLI reference's simulate-custom-policy examples.
CLI_EXAMPLE = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
    '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)


def test_documented_cli_example(aws):
    """The aws CLI reference's two simulate-custom-policy examples answer as documented,
    statement positions included."""

    def run(when: str) -> dict:
        out = aws(
            "iam", "simulate-custom-policy",
            "--policy-input-list", CLI_EXAMPLE,
            "--action-names", "dynamodb:CreateBackup",
            "--context-entries", f"ContextKeyName='aws:CurrentTime',ContextKeyValues='{when}',ContextKeyType=date",
        )  # fmt: skip
        [result] = out["EvaluationResults"]
        assert result["EvalActionName"] == "dynamodb:CreateBackup"
        assert result["EvalResourceName"] == "*"
        assert result["MissingContextValues"] == []
        # Same account, all resources: no EvalDecisionDetails.
        assert "EvalDecisionDetails" not in result
        return result

    allowed = run("2019-04-25T11:00:00Z")
    assert allowed["EvalDecision"] == "allowed"
    [statement] = allowed["MatchedStatements"]
    assert statement["SourcePolicyId"] == "PolicyInputList.1"
    assert statement["StartPosition"] == {"Line": 1, "Column": 38}
    assert statement["EndPosition"] == {"Line": 1, "Column": 167}

    too_early = run("2014-04-25T11:00:00Z")
    assert too_early["EvalDecision"] == "implicitDeny"
    assert too_early["MatchedStatements"] == []


def test_decisions_and_the_statements_that_decide(iam):
    """Each action gets a decision; MatchedStatements names the policy (`PolicyInputList.N`, in
    input order) and where each deciding statement is. Every allowing statement is listed, but
    when a deny decides it is the only one listed; an implicit deny lists none."""
    first = pretty(allow("iam:List*"), allow("iam:Get*"), deny("iam:ListRoles"))
    second = pretty(allow(["iam:ListUsers", "iam:ListRoles"]))
    (list_all, get_all, no_roles), (second_stmt,) = statement_lines(first), statement_lines(second)
    results = by_action(
        simulate_custom(iam, [first, second], ["iam:ListUsers", "iam:GetUser", "iam:ListRoles", "iam:CreateUser"])
    )
    assert {a: r["EvalDecision"] for a, r in results.items()} == {
        "iam:ListUsers": "allowed",
        "iam:GetUser": "allowed",
        "iam:ListRoles": "explicitDeny",
        "iam:CreateUser": "implicitDeny",
    }
    assert all(r["EvalResourceName"] == "*" for r in results.values())
    assert matched(results["iam:ListUsers"]) == [
        ("PolicyInputList.1", *list_all),
        ("PolicyInputList.2", *second_stmt),
    ]
    assert matched(results["iam:GetUser"]) == [("PolicyInputList.1", *get_all)]
    assert matched(results["iam:ListRoles"]) == [("PolicyInputList.1", *no_roles)]
    assert results["iam:CreateUser"]["MatchedStatements"] == []
    for r in results.values():
        for s in r["MatchedStatements"]:
            # Both braces of a statement are at the same indent, so their columns agree.
            assert s["StartPosition"]["Column"] == s["EndPosition"]["Column"] >= 1


def test_context_entries_of_every_type(iam):
    """ContextEntries give the simulation its request context, typed by ContextKeyType; a key a
    condition needs but the request lacks is reported in MissingContextValues."""
    policy = policy_doc(
        allow_if("iam:ListUsers", {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
        allow_if("iam:ListGroups", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
        allow_if("iam:ListRoles", {"Bool": {"aws:SecureTransport": "true"}}),
        allow_if("iam:ListPolicies", {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"]}}),
        allow_if("iam:GetUser", {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
        allow_if("iam:GetGroup", {"StringEquals": {"aws:PrincipalTag/team": "blue"}}),
    )
    keys = {
        "iam:ListUsers": "aws:SourceIp",
        "iam:ListGroups": "aws:CurrentTime",
        "iam:ListRoles": "aws:SecureTransport",
        "iam:ListPolicies": "aws:TagKeys",
        "iam:GetUser": "aws:MultiFactorAuthAge",
        "iam:GetGroup": "aws:PrincipalTag/team",
    }
    actions = list(keys)
    matching = [
        ctx("aws:SourceIp", "ip", "192.0.2.7"),
        ctx("aws:CurrentTime", "date", "2024-05-01T12:00:00Z"),
        ctx("aws:SecureTransport", "boolean", "true"),
        ctx("aws:TagKeys", "stringList", "team"),
        ctx("aws:MultiFactorAuthAge", "numeric", "60"),
        ctx("aws:PrincipalTag/team", "string", "blue"),
    ]
    results = by_action(simulate_custom(iam, [policy], actions, ContextEntries=matching))
    assert {a: r["EvalDecision"] for a, r in results.items()} == {a: "allowed" for a in actions}
    assert all(r["MissingContextValues"] == [] for r in results.values())

    other = [
        ctx("aws:SourceIp", "ip", "10.1.2.3"),
        ctx("aws:CurrentTime", "date", "2019-05-01T12:00:00Z"),
        ctx("aws:SecureTransport", "boolean", "false"),
        ctx("aws:TagKeys", "stringList", "team", "project"),
        ctx("aws:MultiFactorAuthAge", "numeric", "7200"),
        ctx("aws:PrincipalTag/team", "string", "red"),
    ]
    results = by_action(simulate_custom(iam, [policy], actions, ContextEntries=other))
    assert {a: r["EvalDecision"] for a, r in results.items()} == {a: "implicitDeny" for a in actions}
    assert all(r["MatchedStatements"] == [] for r in results.values())

    results = by_action(simulate_custom(iam, [policy], actions))
    for action, key in keys.items():
        if action == "iam:ListPolicies":
            continue  # ForAllValues over a key the request lacks is true: nothing is missing
        assert results[action]["EvalDecision"] == "implicitDeny", action
        assert key in results[action]["MissingContextValues"], (action, results[action]["MissingContextValues"])


def test_missing_context_values_of_one_condition(iam):
    """With one conditional statement, MissingContextValues is exactly its key until given."""
    policy = policy_doc(allow_if("iam:ListUsers", {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))
    [r] = simulate_custom(iam, [policy], ["iam:ListUsers"])
    assert (r["EvalDecision"], r["MissingContextValues"]) == ("implicitDeny", ["aws:SourceIp"])
    [r] = simulate_custom(iam, [policy], ["iam:ListUsers"], ContextEntries=[ctx("aws:SourceIp", "ip", "192.0.2.1")])
    assert (r["EvalDecision"], r["MissingContextValues"]) == ("allowed", [])


def test_resource_arns_give_resource_specific_results(iam):
    """With ResourceArns each action is evaluated on each resource and reported in
    ResourceSpecificResults; missing context keys are then reported there, not at the top."""
    policy = policy_doc(
        allow("iam:GetUser", arn("user", "*", "/eng/")),
        allow_if("iam:DeleteUser", {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}, arn("user", "*", "/eng/")),
    )
    alice, bob = arn("user", "alice", "/eng/"), arn("user", "bob", "/ops/")
    results = simulate_custom(iam, [policy], ["iam:GetUser", "iam:DeleteUser"], ResourceArns=[alice, bob])
    specific = per_resource(results)
    assert set(specific) == {(a, r) for a in ("iam:GetUser", "iam:DeleteUser") for r in (alice, bob)}
    assert specific[("iam:GetUser", alice)]["EvalResourceDecision"] == "allowed"
    alice_statements = specific[("iam:GetUser", alice)]["MatchedStatements"]
    assert [s["SourcePolicyId"] for s in alice_statements] == ["PolicyInputList.1"]
    assert specific[("iam:GetUser", bob)]["EvalResourceDecision"] == "implicitDeny"
    assert specific[("iam:GetUser", bob)]["MatchedStatements"] == []
    assert specific[("iam:DeleteUser", alice)]["EvalResourceDecision"] == "implicitDeny"
    assert "aws:SourceIp" in specific[("iam:DeleteUser", alice)]["MissingContextValues"]
    for r in results:
        assert r.get("MissingContextValues", []) == [], "with resources, missing keys go per resource"

    results = simulate_custom(
        iam,
        [policy],
        ["iam:DeleteUser"],
        ResourceArns=[alice],
        ContextEntries=[ctx("aws:SourceIp", "ip", "192.0.2.9")],
    )
    [r] = results
    assert r["EvalResourceName"] == alice
    assert r["EvalDecision"] == "allowed"
    assert per_resource(results)[("iam:DeleteUser", alice)]["EvalResourceDecision"] == "allowed"


def test_permissions_boundary_input(iam):
    """PermissionsBoundaryPolicyInputList caps the identity policies; each result says whether
    the boundary allowed the action."""
    identity = policy_doc(allow("iam:*"))
    boundary = policy_doc(allow("iam:Get*"), deny("iam:GetAccountSummary"))
    results = by_action(
        simulate_custom(
            iam,
            [identity],
            ["iam:GetUser", "iam:CreateUser", "iam:GetAccountSummary"],
            PermissionsBoundaryPolicyInputList=[boundary],
        )
    )
    assert results["iam:GetUser"]["EvalDecision"] == "allowed"
    assert results["iam:GetUser"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert results["iam:CreateUser"]["EvalDecision"] == "implicitDeny"
    assert results["iam:CreateUser"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert results["iam:GetAccountSummary"]["EvalDecision"] == "explicitDeny"
    assert results["iam:GetAccountSummary"]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": False
    }
    # The boundary grants nothing by itself.
    [r] = simulate_custom(
        iam, [policy_doc(allow("iam:ListUsers"))], ["iam:GetUser"], PermissionsBoundaryPolicyInputList=[boundary]
    )
    assert r["EvalDecision"] == "implicitDeny"


def test_resource_policy_with_caller_arn(iam, names):
    """A resource-based policy (ResourcePolicy) is evaluated for every resource with CallerArn as
    the principal: in one account, naming the user is enough to allow, and its deny wins."""
    alice = iam.create_user(UserName=names("alice"))["User"]["Arn"]
    bob = iam.create_user(UserName=names("bob"))["User"]["Arn"]
    bucket = names("bucket").lower()
    obj = f"arn:aws:s3:::{bucket}/report.csv"
    resource_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": alice},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                },
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:DeleteObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                },
            ],
        }
    )
    identity = policy_doc(allow("s3:DeleteObject"))

    def run(caller: str) -> dict[str, str]:
        results = simulate_custom(
            iam,
            [identity],
            ["s3:GetObject", "s3:DeleteObject"],
            ResourceArns=[obj],
            ResourcePolicy=resource_policy,
            CallerArn=caller,
        )
        return {a: r["EvalResourceDecision"] for (a, _), r in per_resource(results).items()}

    assert run(alice) == {"s3:GetObject": "allowed", "s3:DeleteObject": "explicitDeny"}
    assert run(bob) == {"s3:GetObject": "implicitDeny", "s3:DeleteObject": "explicitDeny"}


def test_resource_policy_needs_a_caller(iam):
    """CallerArn is required with a ResourcePolicy in SimulateCustomPolicy."""
    resource_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    with raises_aws("InvalidInput", 400):
        iam.simulate_custom_policy(
            PolicyInputList=[policy_doc(allow())],
            ActionNames=["s3:GetObject"],
            ResourceArns=["arn:aws:s3:::bucket/key"],
            ResourcePolicy=resource_policy,
        )


def test_custom_policy_paging(iam):
    """MaxItems and Marker page the results; IsTruncated says whether more follow. IAM may
    return fewer than MaxItems, so every page is followed to the end."""
    actions = ["iam:ListUsers", "iam:ListGroups", "iam:ListRoles", "iam:ListPolicies", "iam:GetUser"]
    policy = policy_doc(allow("iam:List*"))
    seen: list[str] = []
    page = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions, MaxItems=2)
    assert page["IsTruncated"] is True
    while True:
        assert len(page["EvaluationResults"]) <= 2
        seen += [r["EvalActionName"] for r in page["EvaluationResults"]]
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        page = iam.simulate_custom_policy(
            PolicyInputList=[policy], ActionNames=actions, MaxItems=2, Marker=page["Marker"]
        )
    assert sorted(seen) == sorted(actions)
    full = (
        iam.get_paginator("simulate_custom_policy")
        .paginate(PolicyInputList=[policy], ActionNames=actions, PaginationConfig={"PageSize": 3})
        .build_full_result()
    )
    expected = {a: "implicitDeny" if a == "iam:GetUser" else "allowed" for a in actions}
    assert decisions(full["EvaluationResults"]) == expected


def test_custom_policy_that_is_not_a_policy(iam):
    """A policy that does not parse: InvalidInput (HTTP 400), the only error AWS documents for a
    bad input to the simulator."""
    with raises_aws("InvalidInput", 400):
        iam.simulate_custom_policy(PolicyInputList=["{ not json"], ActionNames=["iam:ListUsers"])


def test_wildcard_action_names_are_refused(iam):
    """"This operation does not support using wildcards (*) in an action name" (ActionNames);
    a bad input value is InvalidInput (HTTP 400)."""
    with raises_aws("InvalidInput", 400):
        iam.simulate_custom_policy(PolicyInputList=[policy_doc(allow("iam:*"))], ActionNames=["iam:*"])


# --- SimulatePrincipalPolicy ---------------------------------------------------------------------


@pytest.fixture
def principal(iam, names):
    """A user whose policies come from everywhere: an inline policy, an attached customer managed
    policy, and a group with an inline and an attached managed policy."""
    user = names("u")
    created = iam.create_user(UserName=user, Path=names.path)["User"]
    group = names("g")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    names_ = {
        "user-inline": names("inline"),
        "user-managed": names("managed"),
        "group-inline": names("ginline"),
        "group-managed": names("gmanaged"),
    }
    iam.put_user_policy(
        UserName=user,
        PolicyName=names_["user-inline"],
        PolicyDocument=policy_doc(allow("iam:ListUsers"), deny("iam:DeleteUser")),
    )
    managed = iam.create_policy(PolicyName=names_["user-managed"], PolicyDocument=policy_doc(allow("iam:ListGroups")))
    iam.attach_user_policy(UserName=user, PolicyArn=managed["Policy"]["Arn"])
    iam.put_group_policy(
        GroupName=group, PolicyName=names_["group-inline"], PolicyDocument=policy_doc(allow("iam:ListRoles"))
    )
    gmanaged = iam.create_policy(PolicyName=names_["group-managed"], PolicyDocument=policy_doc(allow("iam:GetGroup")))
    iam.attach_group_policy(GroupName=group, PolicyArn=gmanaged["Policy"]["Arn"])
    return {"user": user, "arn": created["Arn"], "group": group, "group_arn": arn("group", group), "policies": names_}


def test_principal_policy_covers_user_and_group_policies(iam, principal):
    """A user's simulation includes its inline and managed policies and its groups' policies;
    each deciding statement names the policy it came from."""
    results = by_action(
        simulate_principal(
            iam,
            principal["arn"],
            ["iam:ListUsers", "iam:ListGroups", "iam:ListRoles", "iam:GetGroup", "iam:DeleteUser", "iam:CreateUser"],
        )
    )
    assert {a: r["EvalDecision"] for a, r in results.items()} == {
        "iam:ListUsers": "allowed",
        "iam:ListGroups": "allowed",
        "iam:ListRoles": "allowed",
        "iam:GetGroup": "allowed",
        "iam:DeleteUser": "explicitDeny",
        "iam:CreateUser": "implicitDeny",
    }
    source = {
        "iam:ListUsers": "user-inline",
        "iam:ListGroups": "user-managed",
        "iam:ListRoles": "group-inline",
        "iam:GetGroup": "group-managed",
        "iam:DeleteUser": "user-inline",
    }
    for action, policy in source.items():
        [statement] = results[action]["MatchedStatements"]
        assert principal["policies"][policy] in statement["SourcePolicyId"], (action, statement)
    assert results["iam:CreateUser"]["MatchedStatements"] == []


def test_principal_policy_with_added_policies(iam, principal):
    """PolicyInputList adds policies to the principal's own, named `PolicyInputList.N`."""
    extra = policy_doc(allow(["iam:CreateUser", "iam:DeleteUser"]))
    results = by_action(
        simulate_principal(
            iam, principal["arn"], ["iam:CreateUser", "iam:DeleteUser", "iam:ListUsers"], PolicyInputList=[extra]
        )
    )
    assert results["iam:CreateUser"]["EvalDecision"] == "allowed"
    assert [s["SourcePolicyId"] for s in results["iam:CreateUser"]["MatchedStatements"]] == ["PolicyInputList.1"]
    assert results["iam:DeleteUser"]["EvalDecision"] == "explicitDeny"  # the user's own deny still wins
    assert results["iam:ListUsers"]["EvalDecision"] == "allowed"


def test_principal_policy_of_a_group_and_a_role(iam, principal, names):
    """A group's simulation has only the group's policies; a role's has the role's."""
    results = decisions(
        simulate_principal(iam, principal["group_arn"], ["iam:ListRoles", "iam:GetGroup", "iam:ListUsers"])
    )
    assert results == {"iam:ListRoles": "allowed", "iam:GetGroup": "allowed", "iam:ListUsers": "implicitDeny"}

    role = names("r")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=policy_doc(allow("s3:GetObject")))
    assert decisions(simulate_principal(iam, role_arn, ["s3:GetObject", "s3:PutObject"])) == {
        "s3:GetObject": "allowed",
        "s3:PutObject": "implicitDeny",
    }


def test_principal_policy_follows_changes(iam, principal):
    """The simulation reads the principal's policies as they are now."""
    iam.remove_user_from_group(GroupName=principal["group"], UserName=principal["user"])
    assert decisions(simulate_principal(iam, principal["arn"], ["iam:ListRoles", "iam:ListUsers"])) == {
        "iam:ListRoles": "implicitDeny",
        "iam:ListUsers": "allowed",
    }


def test_principal_permissions_boundary(server, iam, names):
    """A user's permissions boundary takes part in its simulation; a boundary passed in
    PermissionsBoundaryPolicyInputList replaces it."""
    user = make_caller(server, iam, names("b"), names.path, PermissionsBoundary=IAM_READ)
    iam.attach_user_policy(UserName=user.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    results = by_action(simulate_principal(iam, user.arn, ["iam:GetUser", "iam:CreateUser"]))
    assert results["iam:GetUser"]["EvalDecision"] == "allowed"
    assert results["iam:GetUser"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert results["iam:CreateUser"]["EvalDecision"] == "implicitDeny"
    assert results["iam:CreateUser"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}

    replaced = by_action(
        simulate_principal(
            iam, user.arn, ["iam:GetUser", "iam:CreateUser"],
            PermissionsBoundaryPolicyInputList=[policy_doc(allow("iam:CreateUser"))],
        )
    )  # fmt: skip
    assert replaced["iam:CreateUser"]["EvalDecision"] == "allowed"
    assert replaced["iam:GetUser"]["EvalDecision"] == "implicitDeny"

    # The simulation agrees with what the user can really do.
    user.iam.get_user()
    with raises_aws("AccessDenied", 403):
        user.iam.create_user(UserName=names("x"))


def test_principal_policy_paging(iam, principal):
    """SimulatePrincipalPolicy pages like SimulateCustomPolicy."""
    actions = ["iam:ListUsers", "iam:ListGroups", "iam:ListRoles", "iam:GetGroup", "iam:DeleteUser"]
    first = iam.simulate_principal_policy(PolicySourceArn=principal["arn"], ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True and first["Marker"]
    assert len(first["EvaluationResults"]) <= 2
    full = (
        iam.get_paginator("simulate_principal_policy")
        .paginate(PolicySourceArn=principal["arn"], ActionNames=actions, PaginationConfig={"PageSize": 2})
        .build_full_result()
    )
    assert sorted(r["EvalActionName"] for r in full["EvaluationResults"]) == sorted(actions)
    assert decisions(full["EvaluationResults"])["iam:DeleteUser"] == "explicitDeny"


def test_principal_policy_errors(iam, names):
    """An unknown principal is NoSuchEntity (404); something that is not an ARN is InvalidInput
    (400)."""
    with raises_aws("NoSuchEntity", 404):
        iam.simulate_principal_policy(PolicySourceArn=arn("user", names("ghost")), ActionNames=["iam:ListUsers"])
    with raises_aws("NoSuchEntity", 404):
        iam.simulate_principal_policy(PolicySourceArn=arn("group", names("ghost")), ActionNames=["iam:ListUsers"])
    with raises_aws("InvalidInput", 400):
        iam.simulate_principal_policy(PolicySourceArn="this-is-not-an-arn-at-all", ActionNames=["iam:ListUsers"])
    with raises_aws("NoSuchEntity", 404):
        iam.get_context_keys_for_principal_policy(PolicySourceArn=arn("user", names("ghost")))
    with raises_aws("InvalidInput", 400):
        iam.get_context_keys_for_principal_policy(PolicySourceArn="this-is-not-an-arn-at-all")


# --- GetContextKeysFor*Policy --------------------------------------------------------------------


def test_context_keys_for_custom_policy(iam, aws):
    """Every context key the policies use, in conditions and in policy variables, once each."""
    first = policy_doc(
        allow_if(
            "dynamodb:*",
            {"DateGreaterThan": {"aws:CurrentTime": "2015-08-16T12:00:00Z"}},
            "arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",
        ),
        allow_if("s3:GetObject", {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
    )
    second = policy_doc(allow_if("s3:PutObject", {"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}))
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[first, second])["ContextKeyNames"]
    assert sorted(keys) == sorted({"aws:username", "aws:CurrentTime", "aws:SourceIp"})
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[policy_doc(allow())])["ContextKeyNames"] == []
    # The aws CLI reference's example.
    out = aws(
        "iam", "get-context-keys-for-custom-policy", "--policy-input-list",
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
        '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
        '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}',
    )  # fmt: skip
    assert sorted(out["ContextKeyNames"]) == ["aws:CurrentTime", "aws:username"]
    with raises_aws("InvalidInput", 400):
        iam.get_context_keys_for_custom_policy(PolicyInputList=["{ not json"])


def test_context_keys_for_principal_policy(iam, names):
    """A user's keys come from its policies and its groups'; a group's from its own only;
    PolicyInputList adds more."""
    user = names("u")
    user_arn = iam.create_user(UserName=user)["User"]["Arn"]
    group = names("g")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="ip",
        PolicyDocument=policy_doc(allow_if("iam:ListUsers", {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})),
    )
    managed = iam.create_policy(
        PolicyName=names("p"),
        PolicyDocument=policy_doc(allow_if("iam:ListRoles", {"StringEquals": {"aws:RequestedRegion": "us-east-1"}})),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=managed)
    iam.put_group_policy(
        GroupName=group,
        PolicyName="time",
        PolicyDocument=policy_doc(
            allow_if("iam:ListGroups", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
        ),
    )
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=user_arn)["ContextKeyNames"]
    assert sorted(keys) == sorted({"aws:SourceIp", "aws:RequestedRegion", "aws:CurrentTime"})
    group_keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn("group", group))["ContextKeyNames"]
    assert group_keys == ["aws:CurrentTime"]
    extra = policy_doc(allow_if("iam:GetUser", {"Bool": {"aws:SecureTransport": "true"}}))
    more = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn("group", group), PolicyInputList=[extra])
    assert sorted(more["ContextKeyNames"]) == sorted({"aws:CurrentTime", "aws:SecureTransport"})


# --- who may simulate ----------------------------------------------------------------------------


def test_simulating_needs_permission(server, iam, names):
    """The simulator is authorized like any IAM action: a plain user may not call it;
    SimulatePrincipalPolicy is authorized on the simulated principal's ARN;
    IAMReadOnlyAccess allows simulating."""
    alice = iam.create_user(UserName=names("alice"))["User"]["Arn"]
    carol = iam.create_user(UserName=names("carol"))["User"]["Arn"]
    bob = make_caller(server, iam, names("bob"), names.path)
    custom = {"PolicyInputList": [policy_doc(allow())], "ActionNames": ["s3:GetObject"]}

    for call in (
        lambda: bob.iam.simulate_principal_policy(PolicySourceArn=alice, ActionNames=["iam:ListUsers"]),
        lambda: bob.iam.simulate_custom_policy(**custom),
        lambda: bob.iam.get_context_keys_for_custom_policy(PolicyInputList=custom["PolicyInputList"]),
        lambda: bob.iam.get_context_keys_for_principal_policy(PolicySourceArn=alice),
    ):
        with raises_aws("AccessDenied", 403) as info:
            call()
        assert f"User: {bob.arn} is not authorized to perform: iam:" in info.value.response["Error"]["Message"]

    iam.put_user_policy(
        UserName=bob.name,
        PolicyName="sim-alice",
        PolicyDocument=policy_doc(
            allow(["iam:SimulatePrincipalPolicy", "iam:GetContextKeysForPrincipalPolicy"], alice)
        ),
    )
    [result] = simulate_principal(bob.iam, alice, ["iam:ListUsers"])
    assert result["EvalDecision"] == "implicitDeny"
    assert bob.iam.get_context_keys_for_principal_policy(PolicySourceArn=alice)["ContextKeyNames"] == []
    with raises_aws("AccessDenied", 403) as info:
        bob.iam.simulate_principal_policy(PolicySourceArn=carol, ActionNames=["iam:ListUsers"])
    assert "iam:SimulatePrincipalPolicy" in info.value.response["Error"]["Message"]
    with raises_aws("AccessDenied", 403):
        bob.iam.simulate_custom_policy(**custom)

    iam.attach_user_policy(UserName=bob.name, PolicyArn=IAM_READ)
    [result] = bob.iam.simulate_custom_policy(**custom)["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    bob.iam.simulate_principal_policy(PolicySourceArn=carol, ActionNames=["iam:ListUsers"])
