"""State survives restarts and crashes; secrets are never stored in plaintext; SIGTERM drains.

Each test runs its own server (the `make_server` fixture), since it stops or kills it.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from pathlib import Path

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest

from support import ACCOUNT_ID, ROOT_SECRET_ACCESS_KEY, TRUST_EC2, allow, policy_doc, raises_aws

PASSWORD = "Durable-Passw0rd!-e2e"


def all_user_names(iam) -> set[str]:
    pages = iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 100})
    return {u["UserName"] for page in pages for u in page["Users"]}


def test_entities_survive_a_restart(make_server):
    srv = make_server()
    iam = srv.client()
    iam.create_user(UserName="carol", Path="/eng/", Tags=[{"Key": "team", "Value": "eng"}])
    iam.create_group(GroupName="Ops")
    iam.add_user_to_group(GroupName="Ops", UserName="carol")
    arn = iam.create_policy(PolicyName="ops", PolicyDocument=policy_doc(allow()))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy_doc(allow("s3:Put*")), SetAsDefault=True)
    iam.attach_group_policy(GroupName="Ops", PolicyArn=arn)
    iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=TRUST_EC2)
    iam.put_role_policy(RoleName="deployer", PolicyName="inline", PolicyDocument=policy_doc(allow()))
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    iam.update_account_password_policy(MinimumPasswordLength=12)
    iam.create_account_alias(AccountAlias="moat-durable")
    user_id = iam.get_user(UserName="carol")["User"]["UserId"]

    assert srv.stop() == 0, "SIGTERM should be a clean exit"
    srv.start()
    iam = srv.client()

    user = iam.get_user(UserName="carol")["User"]
    assert user["UserId"] == user_id
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/eng/carol"
    assert user["Tags"] == [{"Key": "team", "Value": "eng"}]
    assert [u["UserName"] for u in iam.get_group(GroupName="Ops")["Users"]] == ["carol"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName="Ops")["AttachedPolicies"]] == [arn]
    assert iam.list_role_policies(RoleName="deployer")["PolicyNames"] == ["inline"]
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 12
    assert iam.list_account_aliases()["AccountAliases"] == ["moat-durable"]
    [meta] = iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]
    assert meta["AccessKeyId"] == key["AccessKeyId"]

    # The user's key still authenticates (and is then refused by authorization).
    with raises_aws("AccessDenied", 403):
        srv.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).list_users()

    # Started again without the root credentials in the environment: the stored root key
    # still works, and the account comes from the data directory.
    srv.stop()
    srv.env_credentials = False
    srv.account_env = None
    srv.start()
    assert srv.client().get_user()["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert srv.client().get_user(UserName="carol")["User"]["UserId"] == user_id


def test_generated_root_credentials_work_across_restarts(make_server):
    srv = make_server(access_key=None, secret=None, account_id=None)
    path = srv.data_dir / "root-credentials"
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o077 == 0, f"root-credentials is mode {oct(mode)}"
    key, secret = srv.access_key, srv.secret
    assert key.startswith("AKIA") and len(key) == 20
    assert len(secret) == 40
    text = path.read_text()

    root = srv.client().get_user()["User"]
    account = root["UserId"]
    assert len(account) == 12 and account.isdigit()
    assert root["Arn"] == f"arn:aws:iam::{account}:root"
    srv.client().create_user(UserName="dave")

    srv.stop()
    srv.start()  # no credentials in the environment: read them again from the file
    assert (srv.access_key, srv.secret) == (key, secret)
    assert path.read_text() == text, "root-credentials must not change on a restart"
    iam = srv.client()
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{account}:root"
    assert iam.get_user(UserName="dave")["User"]["UserName"] == "dave"


def test_acknowledged_writes_survive_kill_9(make_server):
    srv = make_server()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        client = srv.client()
        i = 0
        while not stop.is_set():
            name = f"w{worker}-{i}"
            i += 1
            try:
                client.create_user(UserName=name)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return  # the server is gone
            with lock:
                acknowledged.append(name)

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(acknowledged) >= 60:
                break
        time.sleep(0.01)
    srv.kill()  # SIGKILL while the writers are still writing
    stop.set()
    for t in threads:
        t.join(timeout=30)
    with lock:
        acked = set(acknowledged)
    assert len(acked) >= 60, f"only {len(acked)} writes were acknowledged before the kill"

    srv.start()
    present = all_user_names(srv.client())
    lost = acked - present
    assert not lost, f"{len(lost)} acknowledged CreateUser calls were lost: {sorted(lost)[:10]}"


def _files(root: Path):
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            yield Path(dirpath) / f


def _assert_absent(data_dir: Path, secrets: dict[str, str]) -> None:
    for path in _files(data_dir):
        blob = path.read_bytes()
        for label, value in secrets.items():
            assert value.encode() not in blob, f"{label} is stored in plaintext in {path.name}"


def test_no_plaintext_secrets_at_rest(make_server):
    srv = make_server()
    iam = srv.client()
    iam.create_user(UserName="erin")
    key = iam.create_access_key(UserName="erin")["AccessKey"]
    iam.create_login_profile(UserName="erin", Password=PASSWORD)
    secrets = {
        "the access key secret": key["SecretAccessKey"],
        "the login password": PASSWORD,
        "the root secret": ROOT_SECRET_ACCESS_KEY,
    }
    # While running (the WAL holds the latest writes) and after a clean stop.
    _assert_absent(srv.data_dir, secrets)
    srv.stop()
    _assert_absent(srv.data_dir, secrets)
    # The secrets are still usable after the restart: stored encrypted, not lost.
    srv.start()
    with raises_aws("AccessDenied", 403):
        srv.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).list_users()


def test_data_dir_and_root_key_are_private(make_server):
    srv = make_server()
    mode = stat.S_IMODE(srv.data_dir.stat().st_mode)
    assert mode & 0o077 == 0, f"data dir is mode {oct(mode)}"
    key_file = srv.data_dir / "root.key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) & 0o077 == 0


def _signed_create_user(srv, name: str) -> tuple[bytes, bytes]:
    """The head and body of a signed CreateUser, for sending by hand."""
    body = f"Action=CreateUser&Version=2010-05-08&UserName={name}".encode()
    url = srv.endpoint + "/"
    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(srv.access_key, srv.secret), "iam", "us-east-1"
    ).add_auth(req)
    head = [f"POST / HTTP/1.1", f"Host: 127.0.0.1:{srv.port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in req.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode(), body


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest


def test_sigterm_finishes_the_request_in_flight(make_server):
    srv = make_server()
    warmup_head, warmup_body = _signed_create_user(srv, "warm-up")
    head, body = _signed_create_user(srv, "in-flight")
    proc = srv.proc
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as sock:
        # A first, complete request makes sure the server has accepted this connection.
        sock.sendall(warmup_head + warmup_body)
        status, _ = _read_response(sock)
        assert status == 200
        sock.sendall(head + body[:10])  # the request has started but is not complete
        time.sleep(0.3)
        proc.send_signal(15)  # SIGTERM
        time.sleep(0.5)
        assert proc.poll() is None, "the server quit with a request in flight"
        sock.sendall(body[10:])
        status, payload = _read_response(sock)
    assert status == 200, payload[:500]
    assert b"<UserName>in-flight</UserName>" in payload
    assert proc.wait(timeout=30) == 0

    # New connections are refused once it stopped; after a restart the user is there.
    srv._reap()
    srv.start()
    assert srv.client().get_user(UserName="in-flight")["User"]["UserName"] == "in-flight"


def test_sigterm_with_idle_connections_exits_promptly(make_server):
    srv = make_server()
    iam = srv.client()
    iam.list_users()  # leaves a kept-alive connection in boto3's pool
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5):
        started = time.monotonic()
        code = srv.stop(timeout=25)
    assert code == 0
    assert time.monotonic() - started < 20, "idle connections held up the shutdown"
