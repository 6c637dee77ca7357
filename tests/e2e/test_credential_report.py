"""The credential report: GenerateCredentialReport (STARTED, then COMPLETE) and
GetCredentialReport (a base64 CSV with IAM's columns, the root user first, ISO 8601 times, N/A,
not_supported and no_information where IAM writes them); ReportNotPresent before the first one.
Each test uses a fresh server: a report is reused for four hours, as in AWS."""

from __future__ import annotations

import base64
import csv
import io
import re
import time

import pyotp

from support import ACCOUNT_ID, raises_aws

COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def rows(content: bytes) -> list[dict[str, str]]:
    text = content.decode()
    assert text.splitlines()[0] == COLUMNS
    return list(csv.DictReader(io.StringIO(text)))


def test_report_before_and_after_generation(make_server):
    srv = make_server()
    iam = srv.client()
    with raises_aws("ReportNotPresent", 410):
        iam.get_credential_report()
    first = iam.generate_credential_report()
    assert first["State"] == "STARTED"
    assert first["Description"] == "No report exists. Starting a new report generation task"
    again = iam.generate_credential_report()
    assert again["State"] == "COMPLETE" and "Description" not in again
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    assert report["GeneratedTime"]
    [root] = rows(report["Content"])
    assert root["user"] == "<root_account>"
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert ISO.match(root["user_creation_time"])
    assert root["password_enabled"] == "not_supported"
    assert root["password_last_changed"] == "not_supported"
    assert root["password_next_rotation"] == "not_supported"
    assert root["mfa_active"] == "false"
    assert root["access_key_1_active"] == "true"  # the installed root key
    assert ISO.match(root["access_key_1_last_rotated"])
    assert ISO.match(root["access_key_1_last_used_date"])  # it signed these very calls
    assert root["access_key_1_last_used_service"] == "iam"
    assert root["access_key_1_last_used_region"] == "us-east-1"
    assert root["access_key_2_active"] == "false"
    assert root["access_key_2_last_rotated"] == "N/A"
    assert (root["cert_1_active"], root["cert_1_last_rotated"]) == ("false", "N/A")


def test_users_passwords_keys_and_mfa(make_server):
    srv = make_server()
    iam = srv.client()
    iam.create_user(UserName="bare")
    iam.create_user(UserName="full", Path="/eng/")
    iam.create_login_profile(UserName="full", Password="Correct-Horse-Battery-9")
    iam.update_account_password_policy(MaxPasswordAge=90)
    key = iam.create_access_key(UserName="full")["AccessKey"]
    iam.create_access_key(UserName="full")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="full")["VirtualMFADevice"]
    t, now = pyotp.TOTP(device["Base32StringSeed"].decode()), time.time()
    iam.enable_mfa_device(UserName="full", SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=t.at(now - 30), AuthenticationCode2=t.at(now))
    iam.generate_credential_report()
    report = {r["user"]: r for r in rows(iam.get_credential_report()["Content"])}
    assert list(report)[0] == "<root_account>"

    bare = report["bare"]
    assert bare["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/bare"
    assert ISO.match(bare["user_creation_time"])
    assert (bare["password_enabled"], bare["password_last_used"], bare["password_last_changed"],
            bare["password_next_rotation"]) == ("false", "N/A", "N/A", "N/A")
    assert bare["mfa_active"] == "false"
    assert (bare["access_key_1_active"], bare["access_key_1_last_rotated"],
            bare["access_key_1_last_used_date"]) == ("false", "N/A", "N/A")

    full = report["full"]
    assert full["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/eng/full"
    assert full["password_enabled"] == "true"
    assert full["password_last_used"] == "no_information"
    assert ISO.match(full["password_last_changed"]) and ISO.match(full["password_next_rotation"])
    assert full["mfa_active"] == "true"
    assert full["access_key_1_active"] == "true" and ISO.match(full["access_key_1_last_rotated"])
    assert full["access_key_1_last_used_date"] == "N/A"
    assert full["access_key_1_last_used_region"] == "N/A"
    assert full["access_key_2_active"] == "true"
    iam.delete_account_password_policy()


def test_with_the_aws_cli(make_server):
    srv = make_server()
    srv.client().create_user(UserName="cli-user")
    assert srv.aws("iam", "generate-credential-report")["State"] == "STARTED"
    assert srv.aws("iam", "generate-credential-report")["State"] == "COMPLETE"
    out = srv.aws("iam", "get-credential-report")
    assert out["ReportFormat"] == "text/csv"
    users = [r["user"] for r in rows(base64.b64decode(out["Content"]))]
    assert users == ["<root_account>", "cli-user"]
