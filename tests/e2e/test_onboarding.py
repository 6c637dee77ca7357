"""The recommended first steps for a new account, from the terminal: `moat onboard admin`
creates the first administrator and prints a ready aws CLI profile; `moat onboard root-mfa`
protects the root user with a virtual MFA device."""

from __future__ import annotations

import json
import re
import subprocess

from support import ACCOUNT_ID, clean_env, raises_aws


def onboard(server, moat_bin, *args, env=None, stdin=None):
    base = {
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret,
    }
    base.update(env or {})
    return subprocess.run(
        [str(moat_bin), "onboard", *args],
        env=clean_env(base),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def profile_files(tmp_path, output: str) -> dict[str, str]:
    """Writes the config and credentials blocks the command printed, as a user would."""
    config = re.search(r"Add to ~/.aws/config:\n\n(.*?)\n\n", output, re.S).group(1)
    credentials = re.search(r"Add to ~/.aws/credentials.*?:\n\n(.*?)\n\n", output, re.S).group(1)
    (tmp_path / "config").write_text(config + "\n")
    (tmp_path / "credentials").write_text(credentials + "\n")
    return {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }


def test_first_administrator_with_a_ready_profile(make_server, moat_bin, tmp_path):
    server = make_server()
    done = onboard(server, moat_bin, "admin", "--user-name", "ops-admin", "--access-key",
                   "--profile", "first-admin")
    assert done.returncode == 0, done.stderr
    password = re.search(r"Console password for ops-admin .*: (\S+)", done.stdout).group(1)
    assert len(password) == 20

    iam = server.client("iam")
    user = iam.get_user(UserName="ops-admin")["User"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="ops-admin")["Groups"]] == [
        "Administrators"]
    attached = iam.list_attached_group_policies(GroupName="Administrators")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    profile = iam.get_login_profile(UserName="ops-admin")["LoginProfile"]
    assert profile["PasswordResetRequired"] is True

    # The printed profile works with the unmodified aws CLI, and acts as the new user.
    env = clean_env(profile_files(tmp_path, done.stdout))
    who = subprocess.run(["aws", "--profile", "first-admin", "sts", "get-caller-identity",
                          "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["Arn"] == user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/ops-admin"
    # ... with the administrator's permissions.
    made = subprocess.run(["aws", "--profile", "first-admin", "iam", "create-user",
                           "--user-name", "second", "--output", "json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr

    # The secret and the password are shown once and never logged.
    secret = re.search(r"aws_secret_access_key = (\S+)", done.stdout).group(1)
    log = server.log_tail(200_000)
    assert secret not in log and password not in log


def test_admin_with_a_password_file_and_no_key(make_server, moat_bin, tmp_path):
    server = make_server()
    secret_file = tmp_path / "pw"
    secret_file.write_text("Correct-Horse-Battery-9\n")
    done = onboard(server, moat_bin, "admin", "--password-file", str(secret_file))
    assert done.returncode == 0, done.stderr
    assert "Correct-Horse-Battery-9" not in done.stdout
    assert "aws_access_key_id" not in done.stdout
    iam = server.client("iam")
    assert iam.get_login_profile(UserName="admin")["LoginProfile"]["PasswordResetRequired"] is False
    assert iam.list_access_keys(UserName="admin")["AccessKeyMetadata"] == []

    # Running it again keeps the group and refuses to overwrite the user, in one clear line.
    again = onboard(server, moat_bin, "admin", "--password-file", str(secret_file))
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0
    assert "EntityAlreadyExists" in again.stderr


def test_onboarding_reads_root_credentials_from_the_data_dir(make_server, moat_bin):
    # A first start with generated root credentials writes them to <data-dir>/root-credentials.
    server = make_server(access_key=None, secret=None)
    server.load_root_credentials()
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "MOAT_DATA_DIR": str(server.data_dir)}
    done = onboard(server, moat_bin, "admin", "--user-name", "from-file", env=env)
    assert done.returncode == 0, done.stderr
    server.client("iam").get_user(UserName="from-file")


def test_onboarding_errors_are_one_line(make_server, moat_bin, tmp_path):
    server = make_server()
    bad = onboard(server, moat_bin, "admin", env={"AWS_SECRET_ACCESS_KEY": "wrong" * 8})
    assert bad.returncode != 0
    assert "SignatureDoesNotMatch" in bad.stderr and bad.stderr.strip().count("\n") == 0
    gone = onboard(server, moat_bin, "admin", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert gone.returncode != 0 and "cannot reach Moat" in gone.stderr
    with raises_aws("NoSuchEntity", 404):
        server.client("iam").get_user(UserName="admin")


def test_root_mfa_enrollment_from_the_terminal(make_server, moat_bin):
    import time

    import pyotp

    server = make_server()
    env = clean_env({
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret,
    })
    proc = subprocess.Popen([str(moat_bin), "onboard", "root-mfa"], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    seed = None
    # The QR code comes first, drawn with block characters, then the key for manual entry.
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("Key: "):
            seed = line.split(": ", 1)[1].strip()
            break
    assert seed, "".join(seen)
    assert any("█" in line or "▀" in line or "▄" in line for line in seen), "no QR code drawn"
    # Two consecutive codes, as an authenticator app shows them.
    totp = pyotp.TOTP(seed)
    now = time.time()
    proc.stdin.write(f"{totp.at(now - 30)}\n{totp.at(now)}\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "MFA is on for the root user of account" in out

    iam = server.client("iam")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["AccountMFAEnabled"] == 1
    devices = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [d["User"]["Arn"] for d in devices] == [f"arn:aws:iam::{ACCOUNT_ID}:root"]
    # The seed is shown once, on the terminal, never in the server's log.
    assert seed not in server.log_tail(200_000)


def test_root_mfa_with_wrong_codes_leaves_no_device(make_server, moat_bin):
    server = make_server()
    done = onboard(server, moat_bin, "root-mfa", stdin="000000\n000000\n")
    assert done.returncode != 0
    assert "codes were not accepted" in done.stderr and done.stderr.strip().count("\n") == 0
    assert server.client("iam").list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_root_mfa_refuses_other_credentials(make_server, moat_bin):
    server = make_server()
    iam = server.client("iam")
    iam.create_user(UserName="someone")
    key = iam.create_access_key(UserName="someone")["AccessKey"]
    done = onboard(server, moat_bin, "root-mfa",
                   env={"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]})
    assert done.returncode != 0
    assert "needs the account's root user" in done.stderr
