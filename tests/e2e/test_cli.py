"""The `moat` command line: help, start-up errors, TLS, /metrics, and the README quickstart
with the aws CLI."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from support import (
    ACCOUNT_ID,
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    AwsCliError,
    clean_env,
    free_port,
)

ROOT_KEY_A = "11" * 32
ROOT_KEY_B = "22" * 32


# The suite's fixed account and root key, as the shared server gets them: a start-up error is
# then the only thing a failed start has to say (no first-start credentials banner).
FIXED = {
    "MOAT_ACCOUNT_ID": ACCOUNT_ID,
    "MOAT_ROOT_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
    "MOAT_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
}

LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\S+\s+(TRACE|DEBUG|INFO|WARN)\s")


def run_moat(moat_bin, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [str(moat_bin), *args],
            env=clean_env({**FIXED, **(env or {})}),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:  # it started serving instead of failing
        pytest.fail(f"moat {' '.join(args)} did not exit within {timeout}s: {e.stderr!r}")


def assert_one_line_startup_error(proc: subprocess.CompletedProcess, *mentions: str) -> str:
    """Non-zero exit; apart from ordinary log lines, stderr is exactly one line: the error,
    saying each of `mentions`, with no panic, backtrace or repeated cause."""
    assert proc.returncode != 0, f"expected a failure, got exit 0: {proc.stderr}"
    stderr = proc.stderr
    assert "panicked" not in stderr and "backtrace" not in stderr.lower(), stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(lines) == 1, f"expected one line on stderr besides logs, got:\n{stderr}"
    line = lines[0]
    assert re.search(r"\berror\b", line, re.IGNORECASE), line
    parts = [p.strip() for p in line.split(": ")]
    repeated = {p for p in parts if len(p) > 3 and parts.count(p) > 1}
    assert not repeated, f"the error repeats itself: {line}"
    for text in mentions:
        assert text.lower() in line.lower(), f"{text!r} not in {line!r}"
    return line


def serve_args(data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> list[str]:
    return ["serve", "--data-dir", str(data_dir), "--listen", f"{host}:{port or free_port()}"]


# --- help -------------------------------------------------------------------------------------


def test_help(moat_bin):
    top = run_moat(moat_bin, "--help")
    assert top.returncode == 0
    assert "serve" in top.stdout
    serve = run_moat(moat_bin, "serve", "--help")
    assert serve.returncode == 0
    for flag in ("--listen", "--data-dir", "--region", "--tls-cert", "--tls-key", "--allow-insecure-http", "--root-key-file"):
        assert flag in serve.stdout, flag
    version = run_moat(moat_bin, "--version")
    assert version.returncode == 0 and re.search(r"\d+\.\d+\.\d+", version.stdout)


def test_unknown_flag_is_a_usage_error(moat_bin):
    proc = run_moat(moat_bin, "serve", "--no-such-flag")
    assert proc.returncode != 0
    assert "--no-such-flag" in proc.stderr
    assert "panicked" not in proc.stderr


# --- start-up errors ------------------------------------------------------------------------


def test_port_already_taken(moat_bin, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        proc = run_moat(moat_bin, *serve_args(tmp_path / "data", port))
    assert_one_line_startup_error(proc, str(port))


def test_unwritable_data_dir(moat_bin, tmp_path):
    if os.geteuid() == 0:
        # Permissions do not bind root: use a path below a regular file instead.
        target = Path("/dev/null/moat-data")
    else:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o500)
        target = parent / "data"
    try:
        proc = run_moat(moat_bin, *serve_args(target))
    finally:
        if os.geteuid() != 0:
            (tmp_path / "locked").chmod(0o700)
    assert_one_line_startup_error(proc, str(target))


def test_non_loopback_plain_http_is_refused(moat_bin, tmp_path):
    proc = run_moat(moat_bin, *serve_args(tmp_path / "data", host="0.0.0.0"))
    line = assert_one_line_startup_error(proc)
    assert "--tls-cert" in line or "tls" in line.lower()
    assert "--allow-insecure-http" in line


def test_non_loopback_with_allow_insecure_http_starts(make_server):
    # Listens on every interface; the test reaches it through loopback.
    srv = make_server(args=["--allow-insecure-http"], listen_host="0.0.0.0")
    assert srv.health() == 200
    assert srv.client().get_user()["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"


def test_tls_cert_without_key(moat_bin, tmp_path):
    cert, _ = make_cert(tmp_path)
    proc = run_moat(moat_bin, *serve_args(tmp_path / "data"), "--tls-cert", str(cert))
    assert_one_line_startup_error(proc, "--tls-key")


def test_wrong_root_key(moat_bin, make_server, tmp_path):
    srv = make_server(env={"MOAT_ROOT_KEY": ROOT_KEY_A})
    srv.client().create_user(UserName="frank")
    srv.client().create_access_key(UserName="frank")
    srv.stop()
    assert not (srv.data_dir / "root.key").exists(), "MOAT_ROOT_KEY given: no key file is written"
    proc = run_moat(
        moat_bin,
        *serve_args(srv.data_dir),
        env={"MOAT_ROOT_KEY": ROOT_KEY_B},
    )
    assert_one_line_startup_error(proc, "root key")
    # The right key still opens it.
    srv.start()
    assert srv.client().get_user(UserName="frank")["User"]["UserName"] == "frank"


def test_malformed_root_key(moat_bin, tmp_path):
    proc = run_moat(moat_bin, *serve_args(tmp_path / "data"), env={"MOAT_ROOT_KEY": "not-hex"})
    assert_one_line_startup_error(proc, "root key")


def test_database_from_a_newer_version(moat_bin, make_server):
    srv = make_server()
    srv.stop()
    db = sqlite3.connect(srv.data_dir / "moat.db")
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    proc = run_moat(moat_bin, *serve_args(srv.data_dir))
    assert_one_line_startup_error(proc, "99")


def test_mismatched_account_id(moat_bin, make_server):
    srv = make_server()
    srv.stop()
    proc = run_moat(moat_bin, *serve_args(srv.data_dir), env={"MOAT_ACCOUNT_ID": "210987654321"})
    assert_one_line_startup_error(proc, "210987654321")


def test_invalid_account_id(moat_bin, tmp_path):
    proc = run_moat(moat_bin, *serve_args(tmp_path / "data"), env={"MOAT_ACCOUNT_ID": "12345"})
    assert_one_line_startup_error(proc, "MOAT_ACCOUNT_ID")


# --- TLS ------------------------------------------------------------------------------------


def make_cert(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "moat-e2e")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_tls(make_server, tmp_path):
    cert, key = make_cert(tmp_path)
    srv = make_server(args=["--tls-cert", str(cert), "--tls-key", str(key)], tls=True)
    assert srv.endpoint.startswith("https://")
    iam = srv.client()
    iam.create_user(UserName="tls-user")
    assert iam.get_user(UserName="tls-user")["User"]["UserName"] == "tls-user"

    # Plain HTTP on the TLS port gets no IAM answer.
    import requests

    try:
        resp = requests.get(f"http://127.0.0.1:{srv.port}/health", timeout=5)
        assert resp.status_code != 200
    except requests.RequestException:
        pass


def test_bad_tls_files(moat_bin, tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    proc = run_moat(moat_bin, *serve_args(tmp_path / "data"), "--tls-cert", str(bogus), "--tls-key", str(bogus))
    assert_one_line_startup_error(proc, str(bogus))


# --- /metrics -------------------------------------------------------------------------------


def parse_metric(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        labels_text, value = line[len(name) + 1 :].rsplit("} ", 1)
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels_text))
        out.append((labels, float(value)))
    return out


def test_metrics(server, iam, names):
    for _ in range(3):
        iam.list_users(MaxItems=1)
    try:
        iam.get_user(UserName=names("ghost"))
    except iam.exceptions.NoSuchEntityException:
        pass
    text = server.metrics()
    samples = parse_metric(text, "moat_requests_total")
    assert samples, text[:1000]
    for labels, _ in samples:
        assert {"service", "operation", "outcome"} <= set(labels), labels
    list_users = [v for labels, v in samples if labels["service"] == "iam" and labels["operation"] == "ListUsers" and labels["outcome"] == "success"]
    assert list_users and list_users[0] >= 3, samples
    missing = [labels for labels, _ in samples if labels["operation"] == "GetUser" and labels["outcome"] not in ("success",)]
    assert missing, "a failed GetUser should be counted with its outcome"


# --- the README quickstart with the aws CLI --------------------------------------------------


def test_readme_quickstart_with_aws_cli(server, iam):
    aws = server.aws
    user = aws("iam", "create-user", "--user-name", "alice", "--path", "/eng/")["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/eng/alice"
    assert aws("iam", "create-group", "--group-name", "Admins")["Group"]["GroupName"] == "Admins"
    assert aws("iam", "add-user-to-group", "--user-name", "alice", "--group-name", "Admins") is None
    assert (
        aws("iam", "attach-group-policy", "--group-name", "Admins", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess")
        is None
    )
    profile = aws("iam", "create-login-profile", "--user-name", "alice", "--password", "Quickstart-Passw0rd!")
    assert profile["LoginProfile"]["UserName"] == "alice"
    key = aws("iam", "create-access-key", "--user-name", "alice")["AccessKey"]
    assert key["UserName"] == "alice" and len(key["SecretAccessKey"]) == 40

    # Checked with boto3: everything the CLI did is there.
    group = iam.get_group(GroupName="Admins")
    assert [u["UserName"] for u in group["Users"]] == ["alice"]
    attached = iam.list_attached_group_policies(GroupName="Admins")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["UserName"] == "alice"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]] == [key["AccessKeyId"]]

    # alice is an administrator through her group: her own key works for the whole of IAM.
    alice = {"access_key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    listed = aws("iam", "list-users", **alice)["Users"]
    assert "alice" in [u["UserName"] for u in listed]
    me = aws("iam", "get-user", **alice)["User"]
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/eng/alice"


def test_aws_cli_errors_and_pagination(server, iam, names):
    with pytest.raises(AwsCliError) as info:
        server.aws("iam", "get-user", "--user-name", names("ghost"))
    assert info.value.code == "NoSuchEntity"
    assert info.value.returncode != 0

    for i in range(3):
        iam.create_user(UserName=names(f"cli{i}-"), Path=names.path)
    everything = server.aws("iam", "list-users", "--path-prefix", names.path, "--page-size", "1")
    assert len(everything["Users"]) == 3
    first = server.aws("iam", "list-users", "--path-prefix", names.path, "--max-items", "2")
    assert len(first["Users"]) == 2 and first["NextToken"]
    rest = server.aws("iam", "list-users", "--path-prefix", names.path, "--max-items", "2", "--starting-token", first["NextToken"])
    assert len(rest["Users"]) == 1
    assert {u["UserName"] for u in first["Users"] + rest["Users"]} == {u["UserName"] for u in everything["Users"]}


def test_aws_cli_policy_documents(server, names, tmp_path):
    doc = tmp_path / "policy.json"
    doc.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}')
    name = names("clipol")
    arn = server.aws("iam", "create-policy", "--policy-name", name, "--policy-document", f"file://{doc}")["Policy"]["Arn"]
    version = server.aws("iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1")["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == "s3:GetObject"
