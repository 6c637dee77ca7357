#!/usr/bin/env python3
"""KMS end to end: Encrypt, Decrypt and GenerateDataKey requests/s and p99 on loopback, for
Moat and moto_server in the same run (the ratio is the figure), each server pinned to core 0
and the signing load generator (bench/loadgen) to core 1. Moat is measured twice: as root
(whom the default key policy admits) and as an IAM user whose identity policy allows the
calls, so the key policy and the IAM policy are both evaluated.

    python3 bench/kms.py [--seconds 5] [--connections 16] [--skip-build] [--moat-only]
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import KEY, SECRET, TARGET, ROOT, free_port, load, wait_http  # noqa: E402

PLAINTEXT = base64.b64encode(bytes(range(32))).decode()  # a 256-bit data key, as envelopes do


def client(service, port, key=KEY, secret=SECRET):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def cases(kms):
    key_id = kms.create_key(Description="bench")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=bytes(range(32)))["CiphertextBlob"]
    return [
        ("Encrypt", "TrentService.Encrypt", json.dumps({"KeyId": key_id, "Plaintext": PLAINTEXT})),
        ("Decrypt", "TrentService.Decrypt",
         json.dumps({"CiphertextBlob": base64.b64encode(blob).decode()})),
        ("GenerateDataKey", "TrentService.GenerateDataKey",
         json.dumps({"KeyId": key_id, "KeySpec": "AES_256"})),
    ]


def run_cases(label, port, pid, kms, args, credentials=None):
    out = {}
    for name, target, body in cases(kms):
        out[f"{label} {name}"] = load(port, body, f"{label} {name}", args, pid=pid,
                                      credentials=credentials, service="kms", amz_target=target)
    return out


def kms_user(port):
    """An IAM user allowed the three calls by an identity policy (the default key policy
    delegates to it)."""
    iam = client("iam", port)
    iam.create_user(UserName="kms-bencher")
    iam.put_user_policy(UserName="kms-bencher", PolicyName="kms", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:CreateKey"],
            "Resource": "*"}]}))
    k = iam.create_access_key(UserName="kms-bencher")["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--moat-only", action="store_true")
    args = ap.parse_args()
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "moat", "-p", "moat-loadgen"],
                       cwd=ROOT, check=True)
    results = {}

    data = tempfile.mkdtemp(prefix="moat-kms-bench-")
    port = free_port()
    env = dict(os.environ, MOAT_ACCOUNT_ID="123456789012", MOAT_ROOT_ACCESS_KEY_ID=KEY,
               MOAT_ROOT_SECRET_ACCESS_KEY=SECRET, RUST_LOG="warn")
    moat = subprocess.Popen(
        ["taskset", "-c", "0", os.path.join(TARGET, "release", "moat"), "serve", "--data-dir",
         data, "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/health")
        results.update(run_cases("moat (root)", port, moat.pid, client("kms", port), args))
        user = kms_user(port)
        results.update(run_cases("moat (IAM user)", port, moat.pid,
                                 client("kms", port, *user), args, credentials=user))
    finally:
        moat.terminate()
        moat.wait()
        shutil.rmtree(data, ignore_errors=True)

    if not args.moat_only:
        port = free_port()
        moto = subprocess.Popen(["taskset", "-c", "0", "moto_server", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/moto-api/")
            results.update(run_cases("moto", port, moto.pid, client("kms", port), args))
        finally:
            moto.terminate()
            moto.wait()

    print(f"\nCommand: python3 bench/kms.py {' '.join(sys.argv[1:])}")
    print(f"Machine: {os.cpu_count()} cores; server on core 0, load generator on core 1\n")
    print("| target | requests/s | p50 µs | p99 µs | errors | server CPU µs/request | vs moto |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        op = name.rsplit(" ", 1)[1]
        moto_r = results.get(f"moto {op}")
        ratio = f"{r['rps'] / moto_r['rps']:.0f}x" if moto_r and not name.startswith("moto") \
            else ""
        print(f"| {name} | {r['rps']:.0f} | {r['p50_us']} | {r['p99_us']} | {r['errors']} "
              f"| {r.get('cpu_us', '')} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
