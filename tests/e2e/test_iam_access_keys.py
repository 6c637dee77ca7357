"""IAM access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
GetAccessKeyLastUsed, and what a key does at the door."""

from __future__ import annotations

import re
import time

from support import raises_aws

KEY_ID = re.compile(r"^AKIA[A-Z0-9]{16}$")


def test_create_access_key(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert key["UserName"] == user
    assert KEY_ID.match(key["AccessKeyId"]), key["AccessKeyId"]
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    assert key["CreateDate"]


def test_list_access_keys_never_shows_the_secret(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    k1 = iam.create_access_key(UserName=user)["AccessKey"]
    k2 = iam.create_access_key(UserName=user)["AccessKey"]
    listed = iam.list_access_keys(UserName=user)
    assert listed["IsTruncated"] is False
    meta = {m["AccessKeyId"]: m for m in listed["AccessKeyMetadata"]}
    assert set(meta) == {k1["AccessKeyId"], k2["AccessKeyId"]}
    for m in meta.values():
        assert m["UserName"] == user
        assert m["Status"] == "Active"
        assert "SecretAccessKey" not in m
        assert m["CreateDate"]


def test_two_keys_per_user(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    iam.create_access_key(UserName=user)
    iam.create_access_key(UserName=user)
    with raises_aws("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"):
        iam.create_access_key(UserName=user)


def test_missing_user(iam, names):
    ghost = names("ghost")
    with raises_aws("NoSuchEntity", 404):
        iam.create_access_key(UserName=ghost)
    with raises_aws("NoSuchEntity", 404):
        iam.list_access_keys(UserName=ghost)


def test_update_and_delete(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
    [meta] = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert meta["Status"] == "Inactive"
    iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Active")
    [meta] = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert meta["Status"] == "Active"

    with raises_aws("ValidationError", 400, "at 'status' failed to satisfy constraint"):
        iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Paused")

    iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    with raises_aws("NoSuchEntity", 404):
        iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    with raises_aws("NoSuchEntity", 404):
        iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")


def test_a_key_belongs_to_its_user(iam, names):
    owner, other = names("owner"), names("other")
    iam.create_user(UserName=owner)
    iam.create_user(UserName=other)
    key_id = iam.create_access_key(UserName=owner)["AccessKey"]["AccessKeyId"]
    with raises_aws("NoSuchEntity", 404):
        iam.update_access_key(UserName=other, AccessKeyId=key_id, Status="Inactive")
    with raises_aws("NoSuchEntity", 404):
        iam.delete_access_key(UserName=other, AccessKeyId=key_id)
    assert len(iam.list_access_keys(UserName=owner)["AccessKeyMetadata"]) == 1


def test_malformed_key_id_is_a_validation_error(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    with raises_aws("ValidationError", 400, "at 'accessKeyId' failed to satisfy constraint"):
        iam.delete_access_key(UserName=user, AccessKeyId="AKIA!!!!!!!!!!!!!!!!")


def test_keys_authenticate_until_deactivated_or_deleted(server, iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])

    # Authenticated, then refused by authorization: the key itself is good.
    with raises_aws("AccessDenied", 403):
        client.list_users()
    # A wrong secret for a known key.
    bad = server.client("iam", key["AccessKeyId"], "x" * 40)
    with raises_aws("SignatureDoesNotMatch", 403):
        bad.list_users()

    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with raises_aws("InvalidClientTokenId", 403, "The security token included in the request is invalid"):
        client.list_users()

    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Active")
    with raises_aws("AccessDenied", 403):
        client.list_users()

    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    with raises_aws("InvalidClientTokenId", 403):
        client.list_users()


def test_deleting_a_user_revokes_nothing_silently(server, iam, names):
    # A user with keys cannot be deleted, so its keys never outlive it.
    user = names("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=user)
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=user)
    client = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with raises_aws("InvalidClientTokenId", 403):
        client.list_users()


def test_get_access_key_last_used(server, iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]

    fresh = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert fresh["UserName"] == user
    last = fresh["AccessKeyLastUsed"]
    assert "LastUsedDate" not in last
    assert last["ServiceName"] == "N/A"
    assert last["Region"] == "N/A"

    client = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with raises_aws("AccessDenied", 403):
        client.list_users()

    # AWS records last use asynchronously ("typically within 4 hours"); Moat within moments.
    deadline = time.monotonic() + 5
    while True:
        used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
        if "LastUsedDate" in used or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert used["ServiceName"] == "iam"
    assert used["Region"] == "us-east-1"
    assert used["LastUsedDate"]


def test_root_lists_its_own_keys(iam):
    from support import ROOT_ACCESS_KEY_ID

    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert ROOT_ACCESS_KEY_ID in {k["AccessKeyId"] for k in keys}
    assert all("SecretAccessKey" not in k for k in keys)
