"""Console passwords: login profiles and the account password policy.

Password hashing is deliberately slow, so these tests set as few passwords as they can. The
password policy is account-wide: tests that set it restore "no policy" when they end.
"""

from __future__ import annotations

import pytest

from support import raises_aws

GOOD_PASSWORD = "Correct-Horse-7-Battery"


@pytest.fixture
def no_password_policy(iam):
    """Runs the test with no account password policy and leaves none behind."""
    try:
        iam.delete_account_password_policy()
    except iam.exceptions.NoSuchEntityException:
        pass
    yield
    try:
        iam.delete_account_password_policy()
    except iam.exceptions.NoSuchEntityException:
        pass


def test_login_profile_lifecycle(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.get_login_profile(UserName=user)

    created = iam.create_login_profile(
        UserName=user, Password=GOOD_PASSWORD, PasswordResetRequired=False
    )["LoginProfile"]
    assert created["UserName"] == user
    assert created["PasswordResetRequired"] is False
    assert created["CreateDate"]
    assert "Password" not in created

    got = iam.get_login_profile(UserName=user)["LoginProfile"]
    assert got["UserName"] == user
    assert got["PasswordResetRequired"] is False
    assert got["CreateDate"] == created["CreateDate"]

    with raises_aws("EntityAlreadyExists", 409):
        iam.create_login_profile(UserName=user, Password=GOOD_PASSWORD)

    # A user with a console password cannot be deleted.
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=user)

    iam.update_login_profile(UserName=user, PasswordResetRequired=True)
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True

    iam.delete_login_profile(UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.get_login_profile(UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.delete_login_profile(UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.update_login_profile(UserName=user, PasswordResetRequired=False)
    iam.delete_user(UserName=user)


def test_login_profile_for_missing_user(iam, names):
    ghost = names("ghost")
    with raises_aws("NoSuchEntity", 404):
        iam.create_login_profile(UserName=ghost, Password=GOOD_PASSWORD)
    with raises_aws("NoSuchEntity", 404):
        iam.get_login_profile(UserName=ghost)


def test_password_policy_round_trip(iam, no_password_policy):
    account = iam.get_user()["User"]["UserId"]
    with raises_aws(
        "NoSuchEntity", 404, f"The Password Policy with domain name {account} cannot be found."
    ):
        iam.get_account_password_policy()

    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=5,
        HardExpiry=False,
    )
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy == {
        "MinimumPasswordLength": 14,
        "RequireSymbols": True,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "AllowUsersToChangePassword": True,
        "ExpirePasswords": True,
        "MaxPasswordAge": 90,
        "PasswordReusePrevention": 5,
        "HardExpiry": False,
    }

    # Every parameter left out goes back to its default.
    iam.update_account_password_policy(MinimumPasswordLength=10)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 10
    assert policy["RequireSymbols"] is False
    assert policy["RequireNumbers"] is False
    assert policy["RequireUppercaseCharacters"] is False
    assert policy["RequireLowercaseCharacters"] is False
    assert policy["AllowUsersToChangePassword"] is False
    assert policy["ExpirePasswords"] is False
    assert policy.get("MaxPasswordAge", 0) == 0
    assert policy.get("PasswordReusePrevention", 0) == 0

    iam.delete_account_password_policy()
    with raises_aws("NoSuchEntity", 404):
        iam.get_account_password_policy()
    with raises_aws("NoSuchEntity", 404):
        iam.delete_account_password_policy()


def test_password_policy_defaults_when_empty(iam, no_password_policy):
    iam.update_account_password_policy()
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 6
    assert policy["ExpirePasswords"] is False


def test_password_policy_ranges(iam, no_password_policy):
    with raises_aws(
        "ValidationError",
        400,
        "Value '129' at 'minimumPasswordLength' failed to satisfy constraint: Member must have "
        "value less than or equal to 128",
    ):
        iam.update_account_password_policy(MinimumPasswordLength=129)
    with raises_aws("ValidationError", 400, "at 'maxPasswordAge'"):
        iam.update_account_password_policy(MaxPasswordAge=1096)
    with raises_aws("ValidationError", 400, "at 'passwordReusePrevention'"):
        iam.update_account_password_policy(PasswordReusePrevention=25)
    # Nothing was stored by the refused calls.
    with raises_aws("NoSuchEntity", 404):
        iam.get_account_password_policy()


def test_passwords_must_satisfy_the_policy(iam, names, no_password_policy):
    iam.update_account_password_policy(
        MinimumPasswordLength=12,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
    )
    user = names("u")
    iam.create_user(UserName=user)
    for weak in (
        "Sh0rt!a",  # too short
        "alllowercase-123",  # no uppercase
        "ALLUPPERCASE-123",  # no lowercase
        "NoDigitsHere-abc",  # no number
        "NoSymbolsHere123",  # no symbol
    ):
        with raises_aws("PasswordPolicyViolation", 400):
            iam.create_login_profile(UserName=user, Password=weak)
    with raises_aws("NoSuchEntity", 404):
        iam.get_login_profile(UserName=user)

    iam.create_login_profile(UserName=user, Password=GOOD_PASSWORD)
    with raises_aws("PasswordPolicyViolation", 400):
        iam.update_login_profile(UserName=user, Password="weak")
    iam.delete_login_profile(UserName=user)
