"""IAM groups: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups, membership."""

from __future__ import annotations

import re

from support import ACCOUNT_ID, allow, policy_doc, raises_aws

GROUP_ID = re.compile(r"^AGPA[A-Z0-9]{17}$")


def test_create_and_get_group(iam, names):
    name = names("Admins")
    group = iam.create_group(GroupName=name, Path=names.path)["Group"]
    assert group["GroupName"] == name
    assert group["Path"] == names.path
    assert group["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:group{names.path}{name}"
    assert GROUP_ID.match(group["GroupId"]), group["GroupId"]
    assert group["CreateDate"]

    got = iam.get_group(GroupName=name)
    assert got["Group"]["GroupId"] == group["GroupId"]
    assert got["Group"]["Arn"] == group["Arn"]
    assert got["Users"] == []
    assert got["IsTruncated"] is False


def test_group_names_are_case_insensitive(iam, names):
    name = names("Devs")
    iam.create_group(GroupName=name)
    with raises_aws("EntityAlreadyExists", 409):
        iam.create_group(GroupName=name.upper())
    assert iam.get_group(GroupName=name.lower())["Group"]["GroupName"] == name


def test_missing_group(iam, names):
    name = names("ghost")
    with raises_aws("NoSuchEntity", 404, f"The group with name {name} cannot be found."):
        iam.get_group(GroupName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.delete_group(GroupName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.update_group(GroupName=name, NewPath="/x/")


def test_invalid_group_name(iam):
    with raises_aws("ValidationError", 400, "at 'groupName' failed to satisfy constraint"):
        iam.create_group(GroupName="no spaces allowed")
    with raises_aws("ValidationError", 400, "Member must have length less than or equal to 128"):
        iam.create_group(GroupName="g" * 129)


def test_membership(iam, names):
    group = names("g")
    alice, bob = names("alice"), names("bob")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=alice, Path=names.path)
    iam.create_user(UserName=bob)

    iam.add_user_to_group(GroupName=group, UserName=alice)
    iam.add_user_to_group(GroupName=group, UserName=bob)
    iam.add_user_to_group(GroupName=group, UserName=alice)  # idempotent

    members = iam.get_group(GroupName=group)["Users"]
    assert sorted(u["UserName"] for u in members) == sorted([alice, bob])
    by_name = {u["UserName"]: u for u in members}
    assert by_name[alice]["Path"] == names.path
    assert by_name[alice]["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user{names.path}{alice}"

    groups = iam.list_groups_for_user(UserName=alice)
    assert [g["GroupName"] for g in groups["Groups"]] == [group]
    assert groups["IsTruncated"] is False

    iam.remove_user_from_group(GroupName=group, UserName=alice)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [bob]
    assert iam.list_groups_for_user(UserName=alice)["Groups"] == []


def test_membership_uses_case_insensitive_names(iam, names):
    group, user = names("Grp"), names("Usr")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group.upper(), UserName=user.lower())
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [user]


def test_membership_errors(iam, names):
    group, user = names("g"), names("u")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=group, UserName=names("ghost"))
    with raises_aws("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=names("ghost"), UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.list_groups_for_user(UserName=names("ghost"))


def test_a_user_can_be_in_at_most_ten_groups(iam, names):
    user = names("joiner")
    iam.create_user(UserName=user)
    for i in range(10):
        group = names(f"g{i}-")
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName=user)
    extra = names("eleventh")
    iam.create_group(GroupName=extra)
    with raises_aws("LimitExceeded", 409):
        iam.add_user_to_group(GroupName=extra, UserName=user)
    assert len(iam.list_groups_for_user(UserName=user)["Groups"]) == 10


def test_get_group_paginates_members(iam, names):
    group = names("big")
    iam.create_group(GroupName=group)
    users = [names(f"m{i}-") for i in range(5)]
    for user in users:
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName=group, UserName=user)
    page = iam.get_group(GroupName=group, MaxItems=2)
    assert page["IsTruncated"] is True and page["Marker"]
    assert len(page["Users"]) == 2
    full = iam.get_paginator("get_group").paginate(
        GroupName=group, PaginationConfig={"PageSize": 2}
    ).build_full_result()
    assert sorted(u["UserName"] for u in full["Users"]) == sorted(users)


def test_update_group_renames_and_keeps_members(iam, names):
    old, new, user = names("old"), names("new"), names("u")
    created = iam.create_group(GroupName=old)["Group"]
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=old, UserName=user)
    iam.update_group(GroupName=old, NewGroupName=new, NewPath=names.path)
    with raises_aws("NoSuchEntity", 404):
        iam.get_group(GroupName=old)
    got = iam.get_group(GroupName=new)
    assert got["Group"]["GroupId"] == created["GroupId"]
    assert got["Group"]["Path"] == names.path
    assert got["Group"]["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:group{names.path}{new}"
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [new]

    other = names("other")
    iam.create_group(GroupName=other)
    with raises_aws("EntityAlreadyExists", 409):
        iam.update_group(GroupName=new, NewGroupName=other.lower())


def test_delete_group_conflicts(iam, names):
    group, user = names("g"), names("u")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with raises_aws("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    iam.remove_user_from_group(GroupName=group, UserName=user)

    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with raises_aws("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    iam.detach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    iam.put_group_policy(GroupName=group, PolicyName="inline", PolicyDocument=policy_doc(allow()))
    with raises_aws("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    iam.delete_group_policy(GroupName=group, PolicyName="inline")

    iam.delete_group(GroupName=group)
    with raises_aws("NoSuchEntity", 404):
        iam.get_group(GroupName=group)
    # The user no longer lists it.
    assert iam.list_groups_for_user(UserName=user)["Groups"] == []


def test_list_groups_path_prefix_and_pagination(iam, names):
    created = [names(f"lg{i}-") for i in range(5)]
    for name in created:
        iam.create_group(GroupName=name, Path=names.path)
    listed = iam.list_groups(PathPrefix=names.path)
    assert sorted(g["GroupName"] for g in listed["Groups"]) == sorted(created)
    assert listed["IsTruncated"] is False
    page = iam.list_groups(PathPrefix=names.path, MaxItems=3)
    assert page["IsTruncated"] is True and len(page["Groups"]) == 3
    rest = iam.list_groups(PathPrefix=names.path, MaxItems=3, Marker=page["Marker"])
    assert rest["IsTruncated"] is False
    assert sorted(g["GroupName"] for g in page["Groups"] + rest["Groups"]) == sorted(created)
    full = iam.get_paginator("list_groups").paginate(
        PathPrefix=names.path, PaginationConfig={"PageSize": 2}
    ).build_full_result()
    assert sorted(g["GroupName"] for g in full["Groups"]) == sorted(created)


def test_deleting_a_user_removes_nothing_else(iam, names):
    # A user removed from every group can be deleted; the group stays intact.
    group, user, other = names("g"), names("u"), names("o")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.create_user(UserName=other)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=other)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_user(UserName=user)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [other]
