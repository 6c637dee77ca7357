"""IAM users: CreateUser, GetUser, UpdateUser, DeleteUser, ListUsers, tags."""

from __future__ import annotations

import datetime as dt
import re

from support import ACCOUNT_ID, raises_aws

USER_ID = re.compile(r"^AIDA[A-Z0-9]{17}$")


def arn(path: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user{path}{name}"


def test_create_user_returns_the_aws_shape(iam, names):
    name = names("alice")
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    user = iam.create_user(UserName=name, Path=names.path)["User"]
    assert user["UserName"] == name
    assert user["Path"] == names.path
    assert user["Arn"] == arn(names.path, name)
    assert USER_ID.match(user["UserId"]), user["UserId"]
    assert user["CreateDate"] >= before
    assert user["CreateDate"] <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    assert "Tags" not in user

    got = iam.get_user(UserName=name)["User"]
    for key in ("UserName", "Path", "Arn", "UserId", "CreateDate"):
        assert got[key] == user[key], key


def test_default_path_is_root(iam, names):
    name = names("u")
    user = iam.create_user(UserName=name)["User"]
    assert user["Path"] == "/"
    assert user["Arn"] == arn("/", name)


def test_user_ids_are_unique(iam, names):
    ids = {iam.create_user(UserName=names("u"))["User"]["UserId"] for _ in range(5)}
    assert len(ids) == 5


def test_names_are_unique_case_insensitively(iam, names):
    name = names("CaseUser")
    iam.create_user(UserName=name)
    with raises_aws("EntityAlreadyExists", 409, f"User with name {name.lower()} already exists."):
        iam.create_user(UserName=name.lower())
    with raises_aws("EntityAlreadyExists", 409):
        iam.create_user(UserName=name.upper(), Path=names.path)


def test_lookups_ignore_case_and_keep_the_stored_spelling(iam, names):
    name = names("MixedCase")
    iam.create_user(UserName=name)
    got = iam.get_user(UserName=name.upper())["User"]
    assert got["UserName"] == name


def test_get_missing_user_is_no_such_entity(iam, names):
    name = names("ghost")
    with raises_aws("NoSuchEntity", 404, f"The user with name {name} cannot be found."):
        iam.get_user(UserName=name)


def test_get_user_without_name_describes_the_caller(iam):
    user = iam.get_user()["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert user["UserId"] == ACCOUNT_ID


def test_update_user_renames_and_moves(iam, names):
    old, new = names("old"), names("new")
    created = iam.create_user(UserName=old, Path="/")["User"]
    iam.update_user(UserName=old, NewUserName=new, NewPath=names.path)
    with raises_aws("NoSuchEntity", 404):
        iam.get_user(UserName=old)
    got = iam.get_user(UserName=new)["User"]
    assert got["UserName"] == new
    assert got["Path"] == names.path
    assert got["Arn"] == arn(names.path, new)
    assert got["UserId"] == created["UserId"]


def test_update_user_path_only(iam, names):
    name = names("u")
    iam.create_user(UserName=name)
    iam.update_user(UserName=name, NewPath=names.path)
    assert iam.get_user(UserName=name)["User"]["Path"] == names.path


def test_update_user_conflicts_and_missing(iam, names):
    a, b = names("a"), names("b")
    iam.create_user(UserName=a)
    iam.create_user(UserName=b)
    with raises_aws("EntityAlreadyExists", 409):
        iam.update_user(UserName=a, NewUserName=b.upper())
    with raises_aws("NoSuchEntity", 404):
        iam.update_user(UserName=names("ghost"), NewUserName=names("x"))


def test_rename_to_a_different_case_of_itself(iam, names):
    name = names("case")
    iam.create_user(UserName=name)
    iam.update_user(UserName=name, NewUserName=name.upper())
    assert iam.get_user(UserName=name.upper())["User"]["UserName"] == name.upper()


def test_delete_user(iam, names):
    name = names("gone")
    iam.create_user(UserName=name)
    iam.delete_user(UserName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.get_user(UserName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.delete_user(UserName=name)
    # The name is free again.
    iam.create_user(UserName=name)


def test_delete_user_with_access_key_or_group_is_a_conflict(iam, names):
    name, group = names("u"), names("g")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    with raises_aws("DeleteConflict", 409, "Cannot delete entity, must delete access keys first."):
        iam.delete_user(UserName=name)
    iam.delete_access_key(UserName=name, AccessKeyId=key)

    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=name)
    iam.remove_user_from_group(GroupName=group, UserName=name)
    iam.delete_user(UserName=name)


def test_list_users_path_prefix_and_marker_pagination(iam, names):
    created = sorted(names(f"p{i}") for i in range(5))
    for name in created:
        iam.create_user(UserName=name, Path=names.path)
    deep = names("deep")
    iam.create_user(UserName=deep, Path=names.path + "sub/")

    listed = iam.list_users(PathPrefix=names.path)
    assert listed["IsTruncated"] is False
    assert "Marker" not in listed
    assert len(listed["Users"]) == 6
    for user in listed["Users"]:
        assert user["Path"].startswith(names.path)
        assert "Tags" not in user  # ListUsers never returns tags

    sub = iam.list_users(PathPrefix=names.path + "sub/")["Users"]
    assert [u["UserName"] for u in sub] == [deep]

    # Marker / MaxItems by hand.
    seen: list[str] = []
    page = iam.list_users(PathPrefix=names.path, MaxItems=2)
    assert page["IsTruncated"] is True and page["Marker"]
    assert len(page["Users"]) == 2
    while True:
        seen += [u["UserName"] for u in page["Users"]]
        if not page["IsTruncated"]:
            break
        assert len(page["Users"]) <= 2
        page = iam.list_users(PathPrefix=names.path, MaxItems=2, Marker=page["Marker"])
    assert len(seen) == 6 and len(set(seen)) == 6

    # The boto3 paginator does the same.
    paginator = iam.get_paginator("list_users")
    all_users = [
        u["UserName"]
        for p in paginator.paginate(PathPrefix=names.path, PaginationConfig={"PageSize": 4})
        for u in p["Users"]
    ]
    assert sorted(all_users) == sorted(seen)
    limited = paginator.paginate(
        PathPrefix=names.path, PaginationConfig={"MaxItems": 3, "PageSize": 2}
    ).build_full_result()
    assert len(limited["Users"]) == 3
    assert limited.get("NextToken")


def test_invalid_names_and_paths_are_validation_errors(iam, names):
    with raises_aws(
        "ValidationError",
        400,
        "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    ):
        iam.create_user(UserName="bad name!")
    too_long = "u" * 65
    with raises_aws(
        "ValidationError",
        400,
        f"Value '{too_long}' at 'userName' failed to satisfy constraint: Member must have "
        "length less than or equal to 64",
    ):
        iam.create_user(UserName=too_long)
    with raises_aws("ValidationError", 400, "at 'path' failed to satisfy constraint"):
        iam.create_user(UserName=names("u"), Path="no-slashes")
    with raises_aws("ValidationError", 400):
        iam.get_user(UserName="has/slash")


def test_sixty_four_character_names_are_allowed(iam, names):
    name = (names.prefix + "-" + "x" * 64)[:64]
    assert iam.create_user(UserName=name)["User"]["UserName"] == name


def test_tags_on_create_and_tag_untag(iam, names):
    name = names("tagged")
    created = iam.create_user(
        UserName=name,
        Tags=[{"Key": "team", "Value": "eng"}, {"Key": "Cost Center", "Value": "42"}],
    )["User"]
    assert sorted(t["Key"] for t in created["Tags"]) == ["Cost Center", "team"]
    got = iam.get_user(UserName=name)["User"]
    assert {t["Key"]: t["Value"] for t in got["Tags"]} == {"team": "eng", "Cost Center": "42"}

    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "ops"}, {"Key": "env", "Value": ""}])
    tags = iam.list_user_tags(UserName=name)
    assert tags["IsTruncated"] is False
    assert {t["Key"]: t["Value"] for t in tags["Tags"]} == {
        "team": "ops",
        "Cost Center": "42",
        "env": "",
    }

    iam.untag_user(UserName=name, TagKeys=["team", "not-there"])
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}
    assert tags == {"Cost Center": "42", "env": ""}


def test_tag_errors(iam, names):
    name = names("u")
    with raises_aws("NoSuchEntity", 404):
        iam.tag_user(UserName=name, Tags=[{"Key": "k", "Value": "v"}])
    with raises_aws("NoSuchEntity", 404):
        iam.list_user_tags(UserName=name)
    iam.create_user(UserName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert len(iam.list_user_tags(UserName=name)["Tags"]) == 50
    with raises_aws("LimitExceeded", 409):
        iam.tag_user(UserName=name, Tags=[{"Key": "one-too-many", "Value": "v"}])
    # Re-tagging an existing key does not add a tag.
    iam.tag_user(UserName=name, Tags=[{"Key": "k0", "Value": "changed"}])
    with raises_aws("InvalidInput", 400):
        iam.create_user(
            UserName=names("dup"),
            Tags=[{"Key": "same", "Value": "1"}, {"Key": "same", "Value": "2"}],
        )
    with raises_aws("ValidationError", 400):
        iam.tag_user(UserName=name, Tags=[{"Key": "bad{key}", "Value": "v"}])


def test_list_user_tags_pagination(iam, names):
    name = names("u")
    iam.create_user(UserName=name, Tags=[{"Key": f"k{i:02}", "Value": str(i)} for i in range(7)])
    page = iam.list_user_tags(UserName=name, MaxItems=3)
    assert page["IsTruncated"] is True and page["Marker"]
    assert len(page["Tags"]) == 3
    full = iam.get_paginator("list_user_tags").paginate(
        UserName=name, PaginationConfig={"PageSize": 3}
    ).build_full_result()
    assert sorted(t["Key"] for t in full["Tags"]) == [f"k{i:02}" for i in range(7)]


def test_concurrent_creates_of_one_name(server, names):
    """Racing CreateUser calls for one name: exactly one wins, the rest get EntityAlreadyExists
    (never a 5xx from storage contention)."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    name = names("race")
    clients = [server.client() for _ in range(8)]

    def attempt(client) -> str:
        try:
            client.create_user(UserName=name)
            return "ok"
        except ClientError as e:
            return e.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, clients))
    assert sorted(outcomes) == ["EntityAlreadyExists"] * 7 + ["ok"], outcomes


def test_concurrent_creates_of_many_names(server, iam, names):
    from concurrent.futures import ThreadPoolExecutor

    wanted = [names(f"c{i}-") for i in range(40)]
    clients = [server.client() for _ in range(8)]

    def create(i: int) -> None:
        clients[i % 8].create_user(UserName=wanted[i], Path=names.path)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(len(wanted))))
    listed = iam.get_paginator("list_users").paginate(PathPrefix=names.path).build_full_result()
    assert sorted(u["UserName"] for u in listed["Users"]) == sorted(wanted)
