"""IAM virtual MFA: CreateVirtualMFADevice (seed, real QR code PNG), EnableMFADevice with two
consecutive codes, ResyncMFADevice, DeactivateMFADevice, ListMFADevices, GetMFADevice,
ListVirtualMFADevices, DeleteVirtualMFADevice, MFA device tags; wrong, replayed and
non-consecutive codes, lockout, quotas; the root user's own device; seeds never at rest in
plaintext, never in the audit trail. TOTP codes are computed here from the seed (RFC 6238)."""

from __future__ import annotations

import base64
import json
import os
import struct
import time
import zlib
from pathlib import Path

import pyotp
import zxingcpp

from support import ACCOUNT_ID, make_caller, policy_doc, raises_aws

STEP = 30


def totp(seed: bytes) -> pyotp.TOTP:
    return pyotp.TOTP(seed.decode())


def consecutive_codes(seed: bytes) -> tuple[str, str]:
    """The previous and the current code: what a person types from an authenticator app."""
    now = time.time()
    t = totp(seed)
    return t.at(now - STEP), t.at(now)


def create_device(iam, name: str, **kwargs) -> tuple[str, bytes, dict]:
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, **kwargs)["VirtualMFADevice"]
    return device["SerialNumber"], device["Base32StringSeed"], device


def enable(iam, user: str, serial: str, seed: bytes) -> None:
    c1, c2 = consecutive_codes(seed)
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2)


# --- a small PNG reader (8-bit grayscale, as the QR codes are) -----------------------------------


def png_gray(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and pixels of a non-interlaced 8-bit grayscale PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert ihdr is not None, "no IHDR"
    width, height, depth, color, _, _, interlace = ihdr
    assert (depth, color, interlace) == (8, 0, 0), ihdr
    raw = zlib.decompress(idat)
    out = bytearray()
    prev = bytearray(width)
    for y in range(height):
        row = raw[y * (width + 1) : (y + 1) * (width + 1)]
        kind, line = row[0], bytearray(row[1:])
        for x in range(width):
            a = line[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        out += line
        prev = line
    return width, height, bytes(out)


def decode_qr(png: bytes) -> str:
    width, height, pixels = png_gray(png)
    image = memoryview(pixels).cast("B", (height, width))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"{len(found)} QR codes found"
    return found[0].text


# --- tests ---------------------------------------------------------------------------------------


def test_create_returns_a_seed_and_a_qr_code_of_its_otpauth_uri(iam, names):
    name = names("phone")
    serial, seed, device = create_device(iam, name)
    assert serial == f"arn:aws:iam::{ACCOUNT_ID}:mfa/{name}"
    assert len(seed) == 64 and seed.decode().isalnum() and seed.decode().upper() == seed.decode()
    assert "User" not in device and "EnableDate" not in device
    uri = decode_qr(device["QRCodePNG"])
    assert uri == f"otpauth://totp/{name}@{ACCOUNT_ID}?secret={seed.decode()}"

    serial2, _, _ = create_device(iam, name, Path=names.path)
    assert serial2 == f"arn:aws:iam::{ACCOUNT_ID}:mfa{names.path}{name}"
    with raises_aws("EntityAlreadyExists", 409, "MFADevice entity at the same path and name already exists."):
        iam.create_virtual_mfa_device(VirtualMFADeviceName=name.upper())
    for s in (serial, serial2):
        iam.delete_virtual_mfa_device(SerialNumber=s)


def test_device_lifecycle(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    serial, seed, _ = create_device(iam, names("dev"))
    listed = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert serial in [d["SerialNumber"] for d in listed]
    assert all("Base32StringSeed" not in d and "QRCodePNG" not in d for d in listed)

    enable(iam, user, serial, seed)
    [mine] = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert mine["SerialNumber"] == serial and mine["UserName"] == user and mine["EnableDate"]
    got = iam.get_mfa_device(UserName=user, SerialNumber=serial)
    assert got["SerialNumber"] == serial and got["UserName"] == user and got["EnableDate"]
    assigned = {d["SerialNumber"]: d for d in iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]}
    assert assigned[serial]["User"]["UserName"] == user
    assert assigned[serial]["EnableDate"]
    assert serial not in [d["SerialNumber"] for d in iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]]
    assert serial in [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]

    with raises_aws("EntityAlreadyExists", 409, "MFA Device is already in use."):
        enable(iam, user, serial, seed)
    with raises_aws("DeleteConflict", 409, "MFA VirtualDevice in use. Must deactivate first."):
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    with raises_aws("DeleteConflict", 409, "Cannot delete entity, must delete MFA device first."):
        iam.delete_user(UserName=user)

    other = names("other")
    iam.create_user(UserName=other)
    with raises_aws("NoSuchEntity", 404, "MFA Device invalid for user."):
        iam.deactivate_mfa_device(UserName=other, SerialNumber=serial)
    with raises_aws("NoSuchEntity", 404):
        iam.get_mfa_device(UserName=other, SerialNumber=serial)

    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with raises_aws("NoSuchEntity", 404, f"VirtualMFADevice with serial number {serial} doesn't exist."):
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName=user)
    iam.delete_user(UserName=other)


def test_wrong_non_consecutive_and_replayed_codes(server, iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    serial, seed, _ = create_device(iam, names("dev"))
    t, now = totp(seed), time.time()
    bad = "Authentication code for device is not valid."

    def attempt(c1: str, c2: str) -> None:
        iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2)

    with raises_aws("InvalidAuthenticationCode", 403, bad):
        attempt(t.at(now), t.at(now))  # the same code twice
    with raises_aws("InvalidAuthenticationCode", 403, bad):
        attempt(t.at(now - 3 * STEP), t.at(now))  # not consecutive
    with raises_aws("InvalidAuthenticationCode", 403, bad):
        attempt(t.at(now), t.at(now - STEP))  # the wrong way round
    c1, c2 = consecutive_codes(seed)
    attempt(c1, c2)
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    # Codes already used do not enable it again.
    with raises_aws("InvalidAuthenticationCode", 403, bad):
        attempt(c1, c2)
    # Five digits: the model's constraint, checked by the server too.
    with raises_aws("ValidationError", 400, "authenticationCode1"):
        server.client(parameter_validation=False).enable_mfa_device(
            UserName=user, SerialNumber=serial, AuthenticationCode1="12345", AuthenticationCode2="123456"
        )
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName=user)


def test_resync_and_lockout_after_repeated_failures(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    serial, seed, _ = create_device(iam, names("dev"))
    enable(iam, user, serial, seed)
    # The device runs five minutes fast: resync finds it.
    t, ahead = totp(seed), time.time() + 10 * STEP
    iam.resync_mfa_device(
        UserName=user, SerialNumber=serial,
        AuthenticationCode1=t.at(ahead - STEP), AuthenticationCode2=t.at(ahead),
    )
    for _ in range(5):
        with raises_aws("InvalidAuthenticationCode", 403):
            iam.resync_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="000000", AuthenticationCode2="000000")
    # Locked: right codes are refused too, and the refusal says why.
    later = time.time() + 12 * STEP
    with raises_aws("LimitExceeded", 409, "locked"):
        iam.resync_mfa_device(
            UserName=user, SerialNumber=serial,
            AuthenticationCode1=t.at(later - STEP), AuthenticationCode2=t.at(later),
        )
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName=user)


def test_unknown_serials_and_users(iam, names):
    missing = f"arn:aws:iam::{ACCOUNT_ID}:mfa/{names('missing')}"
    message = f"VirtualMFADevice with serial number {missing} doesn't exist."
    with raises_aws("NoSuchEntity", 404, message):
        iam.delete_virtual_mfa_device(SerialNumber=missing)
    user = names("u")
    iam.create_user(UserName=user)
    with raises_aws("NoSuchEntity", 404, message):
        iam.enable_mfa_device(UserName=user, SerialNumber=missing, AuthenticationCode1="123456", AuthenticationCode2="654321")
    with raises_aws("NoSuchEntity", 404, message):
        iam.list_mfa_device_tags(SerialNumber=missing)
    with raises_aws("NoSuchEntity", 404, message):
        iam.tag_mfa_device(SerialNumber=missing, Tags=[{"Key": "k", "Value": "v"}])
    # Another account's device is not one of ours.
    with raises_aws("NoSuchEntity", 404):
        iam.delete_virtual_mfa_device(SerialNumber="arn:aws:iam::210987654321:mfa/theirs")
    serial, _, _ = create_device(iam, names("dev"))
    with raises_aws("NoSuchEntity", 404, f"The user with name {names.prefix}-ghost"):
        iam.enable_mfa_device(UserName=f"{names.prefix}-ghost", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    with raises_aws("NoSuchEntity", 404):
        iam.list_mfa_devices(UserName=f"{names.prefix}-ghost")
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName=user)


def test_eight_devices_per_user(iam, names):
    user = names("u")
    iam.create_user(UserName=user)
    serials = []
    for _ in range(8):
        serial, seed, _ = create_device(iam, names("dev"))
        enable(iam, user, serial, seed)
        serials.append(serial)
    serial, seed, _ = create_device(iam, names("dev"))
    with raises_aws("LimitExceeded", 409, "Cannot exceed quota for MFADevicesPerUser: 8"):
        enable(iam, user, serial, seed)
    page = iam.list_mfa_devices(UserName=user, MaxItems=3)
    assert len(page["MFADevices"]) == 3 and page["IsTruncated"] is True
    listed = [d["SerialNumber"] for p in iam.get_paginator("list_mfa_devices").paginate(UserName=user, PaginationConfig={"PageSize": 3}) for d in p["MFADevices"]]
    assert sorted(listed) == sorted(serials)
    for s in serials:
        iam.deactivate_mfa_device(UserName=user, SerialNumber=s)
        iam.delete_virtual_mfa_device(SerialNumber=s)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName=user)


def test_device_tags(iam, names):
    serial, _, device = create_device(iam, names("dev"), Tags=[{"Key": "team", "Value": "sec"}])
    assert device["Tags"] == [{"Key": "team", "Value": "sec"}]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "env", "Value": "prod"}])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [
        {"Key": "team", "Value": "sec"}, {"Key": "env", "Value": "prod"},
    ]
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["TEAM"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "env", "Value": "prod"}]
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def test_users_manage_their_own_device_with_the_usual_policy(server, iam, names):
    caller = make_caller(server, iam, names("self"))
    with raises_aws("AccessDenied", 403, "iam:CreateVirtualMFADevice"):
        caller.iam.create_virtual_mfa_device(VirtualMFADeviceName=caller.name)
    iam.put_user_policy(
        UserName=caller.name,
        PolicyName="own-mfa",
        PolicyDocument=policy_doc(
            {"Effect": "Allow", "Action": ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
             "Resource": "arn:aws:iam::*:mfa/${aws:username}"},
            {"Effect": "Allow", "Action": ["iam:EnableMFADevice", "iam:ListMFADevices", "iam:DeactivateMFADevice", "iam:ResyncMFADevice"],
             "Resource": "arn:aws:iam::*:user/${aws:username}"},
        ),
    )
    serial, seed, _ = create_device(caller.iam, caller.name)
    enable(caller.iam, caller.name, serial, seed)
    assert [d["SerialNumber"] for d in caller.iam.list_mfa_devices()["MFADevices"]] == [serial]
    with raises_aws("AccessDenied", 403):
        caller.iam.create_virtual_mfa_device(VirtualMFADeviceName=names("other"))
    other = names("other")
    iam.create_user(UserName=other)
    with raises_aws("AccessDenied", 403, "iam:EnableMFADevice"):
        enable(caller.iam, other, serial, seed)
    caller.iam.deactivate_mfa_device(UserName=caller.name, SerialNumber=serial)
    caller.iam.delete_virtual_mfa_device(SerialNumber=serial)


def test_with_the_aws_cli(server, iam, names, tmp_path):
    user, name = names("u"), names("dev")
    iam.create_user(UserName=user)
    png = tmp_path / "qr.png"
    out = server.aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name,
                     "--outfile", str(png), "--bootstrap-method", "QRCodePNG")
    serial = out["VirtualMFADevice"]["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT_ID}:mfa/{name}"
    uri = decode_qr(png.read_bytes())
    assert uri.startswith(f"otpauth://totp/{name}@{ACCOUNT_ID}?secret=")
    seed = uri.split("secret=", 1)[1].encode()

    seed_file = tmp_path / "seed.txt"
    name2 = names("dev")
    server.aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name2,
               "--outfile", str(seed_file), "--bootstrap-method", "Base32StringSeed")
    assert len(seed_file.read_bytes().strip()) == 64

    c1, c2 = consecutive_codes(seed)
    server.aws("iam", "enable-mfa-device", "--user-name", user, "--serial-number", serial,
               "--authentication-code1", c1, "--authentication-code2", c2)
    listed = server.aws("iam", "list-mfa-devices", "--user-name", user)["MFADevices"]
    assert [d["SerialNumber"] for d in listed] == [serial]
    virtual = server.aws("iam", "list-virtual-mfa-devices", "--assignment-status", "Assigned")["VirtualMFADevices"]
    assert serial in [d["SerialNumber"] for d in virtual]
    server.aws("iam", "deactivate-mfa-device", "--user-name", user, "--serial-number", serial)
    for s in (serial, f"arn:aws:iam::{ACCOUNT_ID}:mfa/{name2}"):
        server.aws("iam", "delete-virtual-mfa-device", "--serial-number", s)
    iam.delete_user(UserName=user)


def test_root_enables_its_own_device(make_server):
    srv = make_server()
    iam = srv.client()
    # botocore insists on UserName; Moat takes a name-less call from root as root's own.
    lax = srv.client(parameter_validation=False)
    serial, seed, _ = create_device(iam, "root-account-mfa-device")
    c1, c2 = consecutive_codes(seed)
    lax.enable_mfa_device(SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2)
    [device] = iam.list_mfa_devices()["MFADevices"]
    assert device["SerialNumber"] == serial
    [virtual] = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert virtual["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["AccountMFAEnabled"], summary["MFADevices"], summary["MFADevicesInUse"]) == (1, 1, 1)
    iam.deactivate_mfa_device(SerialNumber=serial)
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["AccountMFAEnabled"], summary["MFADevicesInUse"]) == (0, 0)


def _files(root: Path):
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            yield Path(dirpath) / f


def test_seeds_are_never_stored_or_audited_in_plaintext(make_server):
    srv = make_server()
    iam = srv.client()
    iam.create_user(UserName="mfa-user")
    serial, seed, device = create_device(iam, "mfa-user")
    c1, c2 = consecutive_codes(seed)
    iam.enable_mfa_device(UserName="mfa-user", SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2)
    raw_seed = base64.b32decode(seed)  # the seed's bytes
    secrets = {"the base32 seed": seed, "the raw seed": raw_seed, "the QR code": device["QRCodePNG"][40:104]}

    def assert_absent() -> None:
        for path in _files(srv.data_dir):
            blob = path.read_bytes()
            for label, value in secrets.items():
                assert value not in blob, f"{label} is stored in plaintext in {path.name}"

    events = srv.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateVirtualMFADevice"}]
    )["Events"]
    [event] = events
    text = event["CloudTrailEvent"]
    assert seed.decode() not in text
    record = json.loads(text)
    assert record["responseElements"]["virtualMFADevice"]["base32StringSeed"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    [enabled] = srv.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "EnableMFADevice"}]
    )["Events"]
    assert c1 not in enabled["CloudTrailEvent"] and c2 not in enabled["CloudTrailEvent"]
    assert seed.decode() not in srv.log_tail(1_000_000)
    assert_absent()
    srv.stop()
    assert_absent()
    srv.start()
    # Still usable after the restart: sealed, not lost.
    iam = srv.client()
    t = totp(seed)
    later = time.time() + 2 * STEP
    iam.resync_mfa_device(UserName="mfa-user", SerialNumber=serial,
                          AuthenticationCode1=t.at(later - STEP), AuthenticationCode2=t.at(later))
