"""STS with MFA (SerialNumber and TokenCode) as AWS documents it: GetSessionToken with a code
gives credentials that carry the MFA context (they may call IAM; aws:MultiFactorAuthPresent is
true, aws:MultiFactorAuthAge counts from the sign-in), AssumeRole with a code satisfies a trust
policy that requires MFA. A wrong code, a code used already, or a device that is not the
caller's is AccessDenied.

Devices are IAM virtual MFA devices (CreateVirtualMFADevice, EnableMFADevice); codes are
computed here from the seed (RFC 6238), each time step used once, as an authenticator app shows
them. Needs pyotp (tests/e2e/requirements.txt).

NOT YET VALIDATED: written before the server wires MFA into STS; to be run against the binary
that does.
"""

from __future__ import annotations

import datetime as dt
import time

import pyotp
import pytest

from support import ACCOUNT_ID, AwsCliError, Caller, make_caller, policy_doc, raises_aws, session_client

STEP = 30
IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
INVALID_TOKEN = "The security token included in the request is invalid"
MFA_FAILED = "MultiFactorAuthentication failed"
INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code."


class Authenticator:
    """A virtual MFA device and the app that shows its codes: each code handed out is the
    current one, never a time step handed out before (waiting for the next step if need be)."""

    def __init__(self, serial: str, seed: bytes) -> None:
        self.serial = serial
        self.totp = pyotp.TOTP(seed.decode())
        self.last_step: int | None = None

    @staticmethod
    def _step() -> int:
        return int(time.time()) // STEP

    def enable_codes(self) -> tuple[str, str]:
        """Two consecutive codes, the previous step's and the current one's."""
        step = self._step()
        self.last_step = step
        return self.totp.at((step - 1) * STEP), self.totp.at(step * STEP)

    def code(self) -> str:
        """The current code, once the clock has reached a step not used yet."""
        while self.last_step is not None and self._step() <= self.last_step:
            time.sleep(0.5)
        step = self._step()
        self.last_step = step
        return self.totp.at(step * STEP)

    def wrong_code(self) -> str:
        """A code of the device, but of a day ago: not valid now."""
        return self.totp.at(time.time() - 86400)


def enabled_device(iam, names, user: str) -> Authenticator:
    """Creates a virtual MFA device (as root) and enables it for `user`."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=names("mfa"), Path=names.path)["VirtualMFADevice"]
    app = Authenticator(device["SerialNumber"], device["Base32StringSeed"])
    c1, c2 = app.enable_codes()
    iam.enable_mfa_device(UserName=user, SerialNumber=app.serial, AuthenticationCode1=c1, AuthenticationCode2=c2)
    return app


@pytest.fixture
def caller(server, iam, names) -> Caller:
    return make_caller(server, iam, names("caller"), names.path)


@pytest.fixture
def app(iam, names, caller) -> Authenticator:
    return enabled_device(iam, names, caller.name)


def mfa_session(caller: Caller, app: Authenticator, **kwargs) -> dict:
    sts = caller.client("sts")
    return sts.get_session_token(SerialNumber=app.serial, TokenCode=app.code(), **kwargs)["Credentials"]


def trust(principal: str, condition: dict | None = None) -> dict:
    stmt = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return stmt


MFA_PRESENT = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


# --- GetSessionToken ---------------------------------------------------------------------------


def test_session_token_with_mfa_may_call_iam(server, iam, caller, app):
    """With a valid code, GetSessionToken's credentials carry the MFA context and may call IAM
    within the user's permissions; without one they may not."""
    iam.attach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    plain = caller.client("sts").get_session_token()["Credentials"]
    with raises_aws("InvalidClientTokenId", 403, INVALID_TOKEN):
        session_client(server, plain, "iam").list_users()

    creds = mfa_session(caller, app)
    assert creds["AccessKeyId"].startswith("ASIA")
    session_iam = session_client(server, creds, "iam")
    assert any(u["UserName"] == caller.name for u in session_iam.list_users(PathPrefix=caller.path)["Users"])
    assert session_iam.get_user()["User"]["Arn"] == caller.arn
    ident = session_client(server, creds, "sts").get_caller_identity()
    assert ident["Arn"] == caller.arn
    # The user's permissions still apply.
    with raises_aws("AccessDenied", 403, f"User: {caller.arn} is not authorized to perform: iam:CreateGroup"):
        session_iam.create_group(GroupName=caller.name + "-g")


def test_session_token_with_mfa_default_and_explicit_duration(caller, app):
    """MFA changes nothing to the duration: 12 hours by default, DurationSeconds honoured."""
    creds = mfa_session(caller, app)
    left = (creds["Expiration"] - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert abs(left - 43200) <= 60, left
    creds = mfa_session(caller, app, DurationSeconds=900)
    left = (creds["Expiration"] - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert abs(left - 900) <= 60, left


def test_mfa_condition_keys(server, iam, caller, app):
    """aws:MultiFactorAuthPresent is true in requests made with MFA credentials and absent with
    a long-term key; aws:MultiFactorAuthAge is the seconds since the code was checked."""
    iam.put_user_policy(
        UserName=caller.name,
        PolicyName="mfa",
        PolicyDocument=policy_doc(
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*", "Condition": MFA_PRESENT},
            {
                "Effect": "Allow",
                "Action": "iam:ListRoles",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "600"}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:ListGroups",
                "Resource": "*",
                "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
            },
        ),
    )
    for call in (caller.iam.list_users, caller.iam.list_roles):
        with raises_aws("AccessDenied", 403):
            call()
    session_iam = session_client(server, mfa_session(caller, app), "iam")
    session_iam.list_users()
    session_iam.list_roles()
    with raises_aws("AccessDenied", 403):
        session_iam.list_groups()


def test_deny_unless_mfa(server, iam, caller, app):
    """The usual "deny everything without MFA" statement (BoolIfExists ... false) denies the
    long-term key and lets the MFA session through."""
    iam.attach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    iam.put_user_policy(
        UserName=caller.name,
        PolicyName="force-mfa",
        PolicyDocument=policy_doc(
            {
                "Effect": "Deny",
                "NotAction": ["sts:GetSessionToken", "iam:ListMFADevices"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ),
    )
    with raises_aws("AccessDenied", 403, "with an explicit deny in an identity-based policy"):
        caller.iam.list_users()
    session_client(server, mfa_session(caller, app), "iam").list_users()


def test_wrong_code_is_access_denied(server, iam, caller, app):
    """A code that is not the device's current one is AccessDenied with AWS's message; the right
    one works afterwards."""
    sts = caller.client("sts")
    with raises_aws("AccessDenied", 403, INVALID_CODE):
        sts.get_session_token(SerialNumber=app.serial, TokenCode=app.wrong_code())
    who = session_client(server, mfa_session(caller, app), "sts").get_caller_identity()
    assert who["Arn"] == caller.arn


def test_a_code_is_good_once(caller, app):
    """An MFA code is a one-time password: the same code again is refused."""
    code = app.code()
    caller.client("sts").get_session_token(SerialNumber=app.serial, TokenCode=code)
    with raises_aws("AccessDenied", 403, MFA_FAILED):
        caller.client("sts").get_session_token(SerialNumber=app.serial, TokenCode=code)


def test_another_users_device_is_refused(server, iam, names, caller):
    """A device enabled for someone else, or one that does not exist, cannot authenticate the
    caller, even with the device's right code."""
    other = make_caller(server, iam, names("other"), names.path)
    theirs = enabled_device(iam, names, other.name)
    with raises_aws("AccessDenied", 403, MFA_FAILED):
        caller.client("sts").get_session_token(SerialNumber=theirs.serial, TokenCode=theirs.code())
    missing = f"arn:aws:iam::{ACCOUNT_ID}:mfa{names.path}{names('missing')}"
    with raises_aws("AccessDenied", 403, MFA_FAILED):
        caller.client("sts").get_session_token(SerialNumber=missing, TokenCode="123456")


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef"])
def test_malformed_token_code(caller, app, code):
    """TokenCode is six digits: anything else is a ValidationError."""
    sts = caller.client("sts", parameter_validation=False)
    with raises_aws("ValidationError", 400):
        sts.get_session_token(SerialNumber=app.serial, TokenCode=code)


def test_session_token_with_mfa_from_the_aws_cli(server, iam, caller, app):
    """`aws sts get-session-token --serial-number --token-code`, then the CLI with the session in
    AWS_SESSION_TOKEN calls IAM."""
    iam.attach_user_policy(UserName=caller.name, PolicyArn=IAM_READ)
    out = caller.aws("sts", "get-session-token", "--serial-number", app.serial, "--token-code", app.code())
    creds = out["Credentials"]
    got = server.aws(
        "iam",
        "get-user",
        access_key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    assert got["User"]["Arn"] == caller.arn
    with pytest.raises(AwsCliError) as info:
        caller.aws("sts", "get-session-token", "--serial-number", app.serial, "--token-code", app.wrong_code())
    assert info.value.code == "AccessDenied"


# --- AssumeRole --------------------------------------------------------------------------------


def test_assume_role_requiring_mfa(server, iam, names, caller, app):
    """A trust policy requiring aws:MultiFactorAuthPresent refuses the caller without a code and
    admits it with one; the session then counts as MFA-authenticated."""
    role = iam.create_role(
        RoleName=names("role"),
        Path=names.path,
        AssumeRolePolicyDocument=policy_doc(trust(caller.arn, MFA_PRESENT)),
    )["Role"]
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="perms",
        PolicyDocument=policy_doc(
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*", "Condition": MFA_PRESENT}
        ),
    )
    sts = caller.client("sts")
    with raises_aws("AccessDenied", 403, f"User: {caller.arn} is not authorized to perform: sts:AssumeRole"):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="no-mfa")
    got = sts.assume_role(
        RoleArn=role["Arn"], RoleSessionName="with-mfa", SerialNumber=app.serial, TokenCode=app.code()
    )
    assert got["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role['RoleName']}/with-mfa"
    session_client(server, got["Credentials"], "iam").list_users()


def test_assume_role_with_a_wrong_code(iam, names, caller, app):
    """A wrong code fails AssumeRole even when the trust policy does not require MFA."""
    role = iam.create_role(
        RoleName=names("role"), Path=names.path, AssumeRolePolicyDocument=policy_doc(trust(caller.arn))
    )["Role"]
    with raises_aws("AccessDenied", 403, MFA_FAILED):
        caller.client("sts").assume_role(
            RoleArn=role["Arn"], RoleSessionName="s1", SerialNumber=app.serial, TokenCode=app.wrong_code()
        )


def test_mfa_session_credentials_assume_a_role_requiring_mfa(server, iam, names, caller, app):
    """Credentials from GetSessionToken with MFA carry the MFA context into AssumeRole: a trust
    policy requiring MFA admits them without another code."""
    role = iam.create_role(
        RoleName=names("role"),
        Path=names.path,
        AssumeRolePolicyDocument=policy_doc(trust(caller.arn, MFA_PRESENT)),
    )["Role"]
    plain = session_client(server, caller.client("sts").get_session_token()["Credentials"], "sts")
    with raises_aws("AccessDenied", 403):
        plain.assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    with_mfa = session_client(server, mfa_session(caller, app), "sts")
    got = with_mfa.assume_role(RoleArn=role["Arn"], RoleSessionName="s2")
    assert got["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:s2"


def test_mfa_age_condition_in_a_trust_policy(iam, names, caller, app):
    """aws:MultiFactorAuthAge in the trust policy: a fresh code passes a one-hour limit."""
    role = iam.create_role(
        RoleName=names("role"),
        Path=names.path,
        AssumeRolePolicyDocument=policy_doc(
            trust(caller.arn, {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})
        ),
    )["Role"]
    sts = caller.client("sts")
    with raises_aws("AccessDenied", 403):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="no-mfa")
    sts.assume_role(RoleArn=role["Arn"], RoleSessionName="mfa", SerialNumber=app.serial, TokenCode=app.code())
