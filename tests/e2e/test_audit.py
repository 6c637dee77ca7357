"""The audit trail: CloudTrail's LookupEvents (attributes, time range, paging) with boto3 and the
aws CLI, secrets kept out of events and off the disk, and `moat audit verify` before and after
tampering with the SQLite file.

Each test runs its own server (`make_server`), so its trail holds only its own calls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from support import ACCOUNT_ID, ROOT_ACCESS_KEY_ID, clean_env, raises_aws

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def all_events(ct, **kwargs) -> list[dict]:
    pages = ct.get_paginator("lookup_events").paginate(**kwargs)
    return [e for page in pages for e in page["Events"]]


def record(event: dict) -> dict:
    return json.loads(event["CloudTrailEvent"])


def by_request_id(events: list[dict], request_id: str) -> dict:
    found = [e for e in events if record(e)["requestID"] == request_id]
    assert len(found) == 1, f"expected one event for {request_id}, got {len(found)}"
    return found[0]


@pytest.fixture
def srv(make_server):
    return make_server()


def test_lookup_events_records_every_call(srv):
    iam, ct = srv.client("iam"), srv.client("cloudtrail")
    created = iam.create_user(UserName="alice", Path="/audit/")
    with raises_aws("NoSuchEntity", 404) as missing:
        iam.get_user(UserName="nobody")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = srv.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with raises_aws("AccessDenied", 403) as denied:
        alice.list_roles()

    events = all_events(ct)
    # Newest first: the calls above, in reverse.
    assert [e["EventName"] for e in events] == [
        "ListRoles",
        "CreateAccessKey",
        "GetUser",
        "CreateUser",
    ]
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)

    create = by_request_id(events, created["ResponseMetadata"]["RequestId"])
    assert create["EventSource"] == "iam.amazonaws.com"
    assert create["ReadOnly"] == "false"
    assert create["Username"] == "root"
    assert create["AccessKeyId"] == ROOT_ACCESS_KEY_ID
    assert create["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": "alice"}]
    r = record(create)
    assert r["eventVersion"] == "1.08"
    assert r["eventID"] == create["EventId"]
    assert r["eventName"] == "CreateUser"
    assert r["eventType"] == "AwsApiCall"
    assert r["managementEvent"] is True
    assert r["readOnly"] is False
    assert r["awsRegion"] == "us-east-1"
    assert r["sourceIPAddress"] == "127.0.0.1"
    assert r["userAgent"].startswith("Boto3/")
    assert r["recipientAccountId"] == ACCOUNT_ID
    assert r["userIdentity"] == {
        "type": "Root",
        "principalId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:root",
        "accountId": ACCOUNT_ID,
        "accessKeyId": ROOT_ACCESS_KEY_ID,
    }
    assert r["requestParameters"] == {"userName": "alice", "path": "/audit/"}
    assert r["responseElements"]["user"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/audit/alice"
    assert "errorCode" not in r
    dt.datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ")

    miss = record(by_request_id(events, missing.value.response["ResponseMetadata"]["RequestId"]))
    assert miss["errorCode"] == "NoSuchEntity"
    assert "nobody" in miss["errorMessage"]
    assert miss["readOnly"] is True
    assert miss["responseElements"] is None

    deny = by_request_id(events, denied.value.response["ResponseMetadata"]["RequestId"])
    assert deny["Username"] == "alice"
    assert deny["AccessKeyId"] == key["AccessKeyId"]
    d = record(deny)
    assert d["errorCode"] == "AccessDenied"
    assert "iam:ListRoles" in d["errorMessage"]
    assert d["userIdentity"]["type"] == "IAMUser"
    assert d["userIdentity"]["userName"] == "alice"
    assert d["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/audit/alice"

    # CreateAccessKey's secret is in no event, and reads have no response elements.
    ak = record(next(e for e in events if e["EventName"] == "CreateAccessKey"))
    assert ak["responseElements"]["accessKey"]["secretAccessKey"] == HIDDEN
    assert ak["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKeyId"]
    assert key["SecretAccessKey"] not in json.dumps(events, default=str)


def test_a_bad_signature_with_a_known_key_is_recorded(srv):
    iam, ct = srv.client("iam"), srv.client("cloudtrail")
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    with raises_aws("SignatureDoesNotMatch", 403):
        srv.client("iam", key["AccessKeyId"], "not-the-secret").get_user()
    # An access key nobody has is nobody's event.
    with raises_aws("InvalidClientTokenId", 403):
        srv.client("iam", "AKIANOSUCHKEY0000000", "x").get_user()
    [event] = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": key["AccessKeyId"]}]
    )["Events"]
    assert event["EventName"] == "GetUser"
    assert event["Username"] == "mallory"
    assert record(event)["errorCode"] == "SignatureDoesNotMatch"
    assert len(all_events(ct)) == 4  # CreateUser, CreateAccessKey, GetUser, the lookup above


def test_lookup_attributes(srv):
    iam, ct = srv.client("iam"), srv.client("cloudtrail")
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="ops")
    iam.add_user_to_group(GroupName="ops", UserName="bob")
    got = iam.get_group(GroupName="ops")
    iam.list_users()

    def lookup(key: str, value: str) -> list[str]:
        attrs = [{"AttributeKey": key, "AttributeValue": value}]
        return [e["EventName"] for e in all_events(ct, LookupAttributes=attrs)]

    assert lookup("EventName", "CreateGroup") == ["CreateGroup"]
    assert lookup("ReadOnly", "false") == ["AddUserToGroup", "CreateGroup", "CreateUser"]
    assert set(lookup("ReadOnly", "true")) >= {"GetGroup", "ListUsers"}
    assert lookup("ResourceName", "ops") == ["GetGroup", "AddUserToGroup", "CreateGroup"]
    assert lookup("ResourceName", "bob") == ["AddUserToGroup", "CreateUser"]
    assert lookup("ResourceType", "AWS::IAM::Group") == ["GetGroup", "AddUserToGroup", "CreateGroup"]
    assert "CreateUser" in lookup("Username", "root")
    assert lookup("Username", "bob") == []
    assert "CreateUser" in lookup("EventSource", "iam.amazonaws.com")
    assert lookup("EventSource", "s3.amazonaws.com") == []
    assert lookup("AccessKeyId", "AKIANOTUSED000000000") == []

    request_id = got["ResponseMetadata"]["RequestId"]
    event_id = record(by_request_id(all_events(ct), request_id))["eventID"]
    assert lookup("EventId", event_id) == ["GetGroup"]

    # One attribute per call, as AWS allows.
    with raises_aws("InvalidLookupAttributesException", 400):
        ct.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "CreateUser"},
                {"AttributeKey": "Username", "AttributeValue": "root"},
            ]
        )
    with raises_aws("InvalidLookupAttributesException", 400):
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}])


def test_time_range_and_paging(srv):
    iam, ct = srv.client("iam"), srv.client("cloudtrail")
    for i in range(30):
        iam.create_user(UserName=f"early{i:02d}")
    # boto3 sends times in whole seconds: put the boundary on one, after the last write.
    time.sleep(1.1)
    middle = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for i in range(30):
        iam.get_user(UserName=f"early{i:02d}")

    everything = all_events(ct)
    assert len(everything) == 60
    # Default page of 50, then the rest.
    first = ct.lookup_events()
    assert len(first["Events"]) == 50
    second = ct.lookup_events(NextToken=first["NextToken"])
    assert "NextToken" not in second
    ids = [e["EventId"] for e in first["Events"] + second["Events"]]
    assert len(set(ids)) == len(ids) >= 60

    # Small pages with the paginator: the same events, in the same order.
    paged = all_events(ct, PaginationConfig={"PageSize": 7})
    iam_only = lambda events: [e["EventId"] for e in events if e["EventName"] != "LookupEvents"]  # noqa: E731
    assert iam_only(paged) == iam_only(everything)

    later = all_events(ct, StartTime=middle)
    assert {e["EventName"] for e in later} >= {"GetUser"}
    assert "CreateUser" not in {e["EventName"] for e in later}
    earlier = all_events(ct, EndTime=middle)
    assert [e["EventName"] for e in earlier] == ["CreateUser"] * 30
    window = all_events(ct, StartTime=middle, EndTime=middle + dt.timedelta(hours=1))
    assert len([e for e in window if e["EventName"] == "GetUser"]) == 30

    with raises_aws("InvalidTimeRangeException", 400):
        ct.lookup_events(StartTime=middle, EndTime=middle - dt.timedelta(minutes=1))
    with raises_aws("InvalidNextTokenException", 400):
        ct.lookup_events(NextToken="not-a-token")


def test_each_account_sees_only_its_own_trail_and_only_root_looks(srv):
    iam, ct = srv.client("iam"), srv.client("cloudtrail")
    iam.create_user(UserName="eve")
    key = iam.create_access_key(UserName="eve")["AccessKey"]
    eve_ct = srv.client("cloudtrail", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as info:
        eve_ct.lookup_events()
    err = info.value.response["Error"]
    assert err["Code"] == "AccessDeniedException"
    assert "cloudtrail:LookupEvents" in err["Message"]
    assert all(record(e)["recipientAccountId"] == ACCOUNT_ID for e in all_events(ct))


def test_aws_cli_lookup_events(srv):
    srv.client("iam").create_user(UserName="cli-user")
    out = srv.aws(
        "cloudtrail",
        "lookup-events",
        "--lookup-attributes",
        "AttributeKey=ResourceName,AttributeValue=cli-user",
    )
    assert [e["EventName"] for e in out["Events"]] == ["CreateUser"]


def test_no_secret_in_events_or_on_disk(srv):
    iam, ct = srv.client("iam"), srv.client("cloudtrail")
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    password = "E2e-Audit-Passw0rd!-5c1a"
    iam.create_login_profile(UserName="carol", Password=password)
    carol = srv.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with raises_aws("AccessDenied", 403):
        carol.change_password(OldPassword=password, NewPassword=password + "-next")
    with raises_aws("NoSuchEntity", 404):
        iam.update_login_profile(UserName="nobody", Password=password + "-other")

    events = all_events(ct)
    text = json.dumps(events, default=str)
    for secret in (key["SecretAccessKey"], password):
        assert secret not in text
    change = record(next(e for e in events if e["EventName"] == "ChangePassword"))
    assert change["requestParameters"] == {"oldPassword": HIDDEN, "newPassword": HIDDEN}
    profile = record(next(e for e in events if e["EventName"] == "CreateLoginProfile"))
    assert profile["requestParameters"]["password"] == HIDDEN

    # Everything the lookup returned is committed; no file in the data dir holds a secret, nor
    # does any event once decompressed.
    for path in Path(srv.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (key["SecretAccessKey"], password):
                assert secret.encode() not in data, f"a secret is in {path.name}"
    stored = b"".join(e for b in blocks(Path(srv.data_dir)) for e in b["events"])
    assert b"ChangePassword" in stored
    for secret in (key["SecretAccessKey"], password):
        assert secret.encode() not in stored, "a secret is in a stored event"


# --- moat audit verify --------------------------------------------------------------------


def verify(moat_bin: Path, data_dir: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(moat_bin), "audit", "verify", "--data-dir", str(data_dir)],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


TRIGGERS = [
    "audit_events_append_only_u",
    "audit_events_append_only_d",
    "audit_blocks_append_only_u",
    "audit_blocks_append_only_d",
    "audit_digests_append_only_u",
    "audit_digests_append_only_d",
    "audit_head_forward_only",
    "audit_head_kept",
]


# --- The stored blocks, read and forged as someone with the file would -----------------------
# A block is one appended batch: `body` is `u32 LE size ++ LZ4 block` of the events' canonical
# bytes, each `u32 LE length ++ bytes`; `hashes` is each event's chain hash.


def lz4_decompress(src: bytes, size: int) -> bytes:
    out = bytearray()
    i = 0

    def length(n: int) -> int:
        nonlocal i
        if n == 15:
            while True:
                b = src[i]
                i += 1
                n += b
                if b != 255:
                    break
        return n

    while i < len(src):
        token = src[i]
        i += 1
        lit = length(token >> 4)
        out += src[i : i + lit]
        i += lit
        if i >= len(src):
            break
        offset = src[i] | (src[i + 1] << 8)
        i += 2
        start = len(out) - offset
        for k in range(length(token & 15) + 4):
            out.append(out[start + k])
    assert len(out) == size
    return bytes(out)


def lz4_literals(data: bytes) -> bytes:
    """A valid LZ4 block holding `data` as one run of literals: forging needs no compressor."""
    if len(data) < 15:
        return bytes([len(data) << 4]) + data
    out = bytearray([0xF0])
    rest = len(data) - 15
    while rest >= 255:
        out.append(255)
        rest -= 255
    out.append(rest)
    return bytes(out) + data


def read_body(body: bytes) -> list[bytes]:
    raw = lz4_decompress(body[4:], int.from_bytes(body[:4], "little"))
    events, i = [], 0
    while i < len(raw):
        n = int.from_bytes(raw[i : i + 4], "little")
        events.append(raw[i + 4 : i + 4 + n])
        i += 4 + n
    return events


def make_body(events: list[bytes]) -> bytes:
    raw = b"".join(len(e).to_bytes(4, "little") + e for e in events)
    return len(raw).to_bytes(4, "little") + lz4_literals(raw)


def blocks(data_dir: Path) -> list[dict]:
    conn = sqlite3.connect(data_dir / "moat.db")
    try:
        rows = conn.execute(
            "SELECT first_seq, last_seq, prev, hashes, body FROM audit_blocks ORDER BY last_seq"
        ).fetchall()
    finally:
        conn.close()
    return [
        {"first": f, "last": l, "prev": p, "hashes": h, "body": b, "events": read_body(b)}
        for f, l, p, h, b in rows
    ]


def block_of(data_dir: Path, seq: int) -> dict:
    return next(b for b in blocks(data_dir) if b["first"] <= seq <= b["last"])


def tamper(data_dir: Path, *statements: str) -> None:
    """Changes the database as someone with the file would: the append-only triggers are
    dropped first (they only stop honest mistakes)."""
    conn = sqlite3.connect(data_dir / "moat.db")
    try:
        for t in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {t}")
        for s in statements:
            conn.execute(s)
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def trail(make_server, tmp_path):
    """A stopped server's data dir holding a trail of 40 events; `copy()` gives a fresh copy
    to tamper with."""
    srv = make_server()
    iam = srv.client("iam")
    for i in range(20):
        iam.create_user(UserName=f"t{i:02d}")
        iam.get_user(UserName=f"t{i:02d}")
    assert srv.stop() == 0
    counter = iter(range(1000))

    class Trail:
        data_dir = srv.data_dir

        @staticmethod
        def copy() -> Path:
            dst = tmp_path / f"copy{next(counter)}"
            shutil.copytree(srv.data_dir, dst)
            return dst

    return Trail


def test_verify_passes_on_an_intact_trail(moat_bin, trail):
    out = verify(moat_bin, trail.data_dir)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("audit trail intact: 40 events, ")
    assert "signed head at event #40" in lines[0]

    # The root key can come from the environment or another file, as for `moat serve`.
    key = (trail.data_dir / "root.key").read_text().strip()
    moved = trail.copy()
    (moved / "root.key").unlink()
    assert verify(moat_bin, moved).returncode != 0
    assert verify(moat_bin, moved, {"MOAT_ROOT_KEY": key}).returncode == 0
    wrong = verify(moat_bin, moved, {"MOAT_ROOT_KEY": "ab" * 32})
    assert wrong.returncode != 0
    assert "root key does not match" in wrong.stderr


def test_verify_runs_beside_a_live_server(make_server, moat_bin):
    srv = make_server()
    iam = srv.client("iam")
    iam.create_user(UserName="live")
    srv.client("cloudtrail").lookup_events()  # commits the queued events
    out = verify(moat_bin, srv.data_dir)
    assert out.returncode == 0, out.stderr
    assert "audit trail intact" in out.stdout


def one_line_failure(out: subprocess.CompletedProcess) -> str:
    assert out.returncode != 0, f"verify passed on a tampered trail: {out.stdout}"
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("moat: error: audit trail check failed: ")
    return lines[0]


def test_verify_catches_an_altered_event(moat_bin, trail):
    d = trail.copy()
    b = block_of(d, 7)
    events = b["events"]
    i = 7 - b["first"]
    assert b"127.0.0.1" in events[i]
    events[i] = events[i].replace(b"127.0.0.1", b"10.9.9.9")
    tamper(d, "SELECT 1")
    conn = sqlite3.connect(d / "moat.db")
    conn.execute(
        "UPDATE audit_blocks SET body = ? WHERE last_seq = ?", (make_body(events), b["last"])
    )
    conn.commit()
    conn.close()
    assert "event #7 was altered" in one_line_failure(verify(moat_bin, d))

    # Changing only what lookups search (the block's filter) is caught too.
    d = trail.copy()
    b = block_of(d, 3)
    tamper(d, f"UPDATE audit_blocks SET filter = zeroblob(length(filter)) WHERE last_seq = {b['last']}")
    line = one_line_failure(verify(moat_bin, d))
    assert f"events #{b['first']} to #{b['last']} were altered" in line and "filter" in line


def test_verify_catches_a_removed_event(moat_bin, trail):
    d = trail.copy()
    b = block_of(d, 12)
    tamper(d, f"DELETE FROM audit_blocks WHERE last_seq = {b['last']}")
    assert f"event #{b['first']} was removed" in one_line_failure(verify(moat_bin, d))

    d = trail.copy()
    first = block_of(d, 38)["first"]
    tamper(d, f"DELETE FROM audit_blocks WHERE last_seq >= {first}")
    assert f"events #{first} to #40 were removed" in one_line_failure(verify(moat_bin, d))


def test_verify_catches_reordered_events(moat_bin, trail):
    d = trail.copy()
    a = block_of(d, 5)
    b = block_of(d, a["last"] + 1)
    n = b["last"] - b["first"] + 1
    tamper(
        d,
        f"UPDATE audit_blocks SET first_seq = -2, last_seq = -1 WHERE last_seq = {a['last']}",
        f"UPDATE audit_blocks SET first_seq = {a['first']}, last_seq = {a['first'] + n - 1} "
        f"WHERE last_seq = {b['last']}",
        f"UPDATE audit_blocks SET first_seq = {a['first'] + n}, last_seq = {b['last']} "
        "WHERE last_seq = -1",
    )
    line = one_line_failure(verify(moat_bin, d))
    assert f"event #{a['first']} " in line and "reordered" in line


def test_verify_catches_an_inserted_event(moat_bin, trail):
    d = trail.copy()
    # A copy of the last block appended after it, correctly chained (SHA-256 needs no key).
    last = block_of(d, 40)
    conn = sqlite3.connect(d / "moat.db")
    cols = conn.execute(
        "SELECT min_time, max_time, filter FROM audit_blocks WHERE last_seq = 40"
    ).fetchone()
    conn.close()
    prev = hashes = last["hashes"][-32:]
    hashes = b""
    for e in last["events"]:
        prev = hashlib.sha256(prev + e).digest()
        hashes += prev
    n = len(last["events"])
    tamper(d, "SELECT 1")
    conn = sqlite3.connect(d / "moat.db")
    conn.execute(
        "INSERT INTO audit_blocks (last_seq, first_seq, min_time, max_time, filter, prev, hashes, "
        "body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (40 + n, 41, *cols, last["hashes"][-32:], hashes, last["body"]),
    )
    conn.commit()
    conn.close()
    line = one_line_failure(verify(moat_bin, d))
    assert "event #41" in line and "inserted" in line


def test_verify_catches_a_forged_signature(moat_bin, trail):
    d = trail.copy()
    tamper(d, "UPDATE audit_digests SET signature = zeroblob(32)")
    assert "invalid signature" in one_line_failure(verify(moat_bin, d))

    d = trail.copy()
    tamper(d, "UPDATE audit_head SET signature = zeroblob(32)")
    assert "head signature is invalid" in one_line_failure(verify(moat_bin, d))


def test_verify_reports_a_missing_data_dir(moat_bin, tmp_path):
    out = verify(moat_bin, tmp_path / "nothing")
    assert out.returncode != 0
    assert "holds no moat database" in out.stderr
