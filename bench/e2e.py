#!/usr/bin/env python3
"""End-to-end benchmark: GetUser and ListUsers (100 users) requests/s and p99 on loopback, and
CreateUser (a fresh user per request: a durable write, with its audit event in the same
transaction) for Moat.

Moat, moto_server and a bare hyper hello-world server each run pinned to core 0; the signing
load generator (bench/loadgen) runs pinned to core 1. Also measures Moat's start-up time and idle
memory. Prints a Markdown table.

    python3 bench/e2e.py [--seconds 10] [--connections 16]
    # Two Moat builds side by side (e.g. before and after a change), Moat only:
    python3 bench/e2e.py --moat-only --moat-bin before=/path/moat --moat-bin after=target/release/moat
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
KEY = "AKIAMOATTESTROOT0001"
SECRET = "moat/test/root/secret/key/0000000000000A"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=30):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return time.monotonic() - start
        except Exception:
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not come up")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def iam(endpoint):
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    )


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def load(port, body, label, args, seconds=None, pid=None, credentials=None, service="iam",
         amz_target=None):
    seconds = seconds or args.seconds
    before = cpu_ticks(pid) if pid else None
    signer = []
    if credentials:
        signer = ["--access-key-id", credentials[0], "--secret-access-key", credentials[1]]
        if len(credentials) > 2:
            signer += ["--session-token", credentials[2]]
    if service != "iam":
        signer += ["--service", service]
    if amz_target:
        signer += ["--amz-target", amz_target]
    out = subprocess.run(
        [
            "taskset", "-c", "1", os.path.join(TARGET, "release", "moat-loadgen"),
            "--target", f"127.0.0.1:{port}", "--body", body, "--label", label,
            "--seconds", str(seconds), "--connections", str(args.connections), *signer,
        ],
        check=True, capture_output=True, text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if pid:
        # Server CPU per request over the run and its one-second warm-up: steadier than
        # requests/s when other work shares the machine.
        ticks = cpu_ticks(pid) - before
        served = result["requests"] * (seconds + 1) / seconds
        result["cpu_us"] = round(ticks * 1e6 / os.sysconf("SC_CLK_TCK") / max(served, 1), 1)
    print(json.dumps(result), flush=True)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--moat-bin", action="append", default=[], metavar="LABEL=PATH",
                    help="Moat binaries to measure (repeatable) [default: moat=target/release/moat]")
    ap.add_argument("--moat-only", action="store_true", help="skip moto and hyper")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure each Moat binary this many times, alternating")
    args = ap.parse_args()
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "moat", "-p", "moat-loadgen"],
                       cwd=ROOT, check=True)

    get_user = "Action=GetUser&Version=2010-05-08&UserName=u050"
    list_users = "Action=ListUsers&Version=2010-05-08"
    results = {}

    binaries = [b.split("=", 1) for b in args.moat_bin] or [
        ["moat", os.path.join(TARGET, "release", "moat")]]
    for round_no in range(args.rounds):
        for label, binary in binaries:
            suffix = f" #{round_no + 1}" if args.rounds > 1 else ""
            moat_results = bench_moat(label, binary, get_user, list_users, args)
            for name, r in moat_results.items():
                results[name + suffix] = r

    if not args.moat_only:
        bench_others(results, get_user, list_users, args)

    print(f"\nCommand: python3 bench/e2e.py {' '.join(sys.argv[1:])}")
    print(f"Machine: {os.cpu_count()} cores; server on core 0, load generator on core 1\n")
    print("| target | requests/s | p50 µs | p99 µs | errors | server CPU µs/request |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['p50_us']} | {r['p99_us']} | {r['errors']} "
              f"| {r.get('cpu_us', '')} |")
    return 0


def bench_moat(label, binary, get_user, list_users, args):
    results = {}
    data = tempfile.mkdtemp(prefix="moat-bench-")
    port = free_port()
    env = dict(os.environ, MOAT_ACCOUNT_ID="123456789012", MOAT_ROOT_ACCESS_KEY_ID=KEY,
               MOAT_ROOT_SECRET_ACCESS_KEY=SECRET, RUST_LOG="warn")
    moat = subprocess.Popen(
        ["taskset", "-c", "0", binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        startup = wait_http(f"http://127.0.0.1:{port}/health")
        time.sleep(0.5)
        idle = rss_mb(moat.pid)
        # A fresh user per request, for at most 2 s (plus warm-up): IAM's quota is 5,000
        # users, and a refused CreateUser writes nothing.
        create = "Action=CreateUser&Version=2010-05-08&UserName=load{n}"
        results[f"{label} CreateUser"] = load(port, create, f"{label} CreateUser", args,
                                              seconds=min(args.seconds, 2), pid=moat.pid)
        client = iam(f"http://127.0.0.1:{port}")
        for i in range(100):
            client.create_user(UserName=f"u{i:03d}")
        results[f"{label} GetUser"] = load(port, get_user, f"{label} GetUser", args, pid=moat.pid)
        user_key = policy_user(client)
        if user_key:
            results[f"{label} GetUser as IAM user"] = load(
                port, get_user, f"{label} GetUser as IAM user", args, pid=moat.pid,
                credentials=user_key)
            session = role_session(client, user_key, port)
            if session:
                # The same 10 policies, on the role: long-term key against temporary
                # credentials, whose token is opened on every request.
                results[f"{label} GetUser as role session"] = load(
                    port, get_user, f"{label} GetUser as role session", args, pid=moat.pid,
                    credentials=session)
                assume = ("Action=AssumeRole&Version=2011-06-15&RoleSessionName=s{n}"
                          "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbench-role")
                results[f"{label} AssumeRole"] = load(
                    port, assume, f"{label} AssumeRole", args, pid=moat.pid,
                    credentials=user_key, service="sts")
        results[f"{label} ListUsers"] = load(port, list_users, f"{label} ListUsers", args,
                                             pid=moat.pid)
        loaded = rss_mb(moat.pid)
        print(json.dumps({"label": label, "startup_s": round(startup, 3),
                          "idle_rss_mb": round(idle, 1), "loaded_rss_mb": round(loaded, 1)}),
              flush=True)
    finally:
        moat.terminate()
        moat.wait()
        shutil.rmtree(data, ignore_errors=True)
    return results


def policy_user(client):
    """An IAM user whose requests the policy engine decides: 10 customer managed policies of 5
    statements each attached (one of them allows iam:Get*), in an account holding 1,000
    policies. Root's requests skip policy evaluation, so they cannot measure it. Returns its
    access key, or None against a Moat that predates authorization."""
    def doc(i):
        statements = [
            {"Effect": "Allow", "Action": [f"s3:Get{i}*", "s3:List*"],
             "Resource": f"arn:aws:s3:::bucket-{i}/*"},
            {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}},
            {"Effect": "Deny", "Action": "iam:Delete*",
             "Resource": f"arn:aws:iam::123456789012:user/protected-{i}"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
            {"Effect": "Allow", "Action": "iam:Get*" if i == 9 else f"iam:List{i}*",
             "Resource": "arn:aws:iam::123456789012:user/*"},
        ]
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    client.create_user(UserName="bencher")
    for i in range(1000):
        arn = client.create_policy(PolicyName=f"bench-{i:04d}", PolicyDocument=doc(i % 10))[
            "Policy"]["Arn"]
        if i < 10:
            client.attach_user_policy(UserName="bencher", PolicyArn=arn)
    key = client.create_access_key(UserName="bencher")["AccessKey"]
    bencher = boto3.client(
        "iam", endpoint_url=client.meta.endpoint_url, region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    try:
        bencher.get_user(UserName="u050")
    except Exception:
        return None
    return key["AccessKeyId"], key["SecretAccessKey"]


def role_session(client, user_key, port):
    """A role with the bencher's 10 policies attached, which the bencher may assume; returns a
    session's credentials, or None against a Moat without STS."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/bencher"},
        "Action": "sts:AssumeRole"}})
    try:
        client.create_role(RoleName="bench-role", AssumeRolePolicyDocument=trust)
        for p in client.list_attached_user_policies(UserName="bencher")["AttachedPolicies"]:
            client.attach_role_policy(RoleName="bench-role", PolicyArn=p["PolicyArn"])
        sts = boto3.client(
            "sts", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id=user_key[0], aws_secret_access_key=user_key[1])
        c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/bench-role",
                            RoleSessionName="bench", DurationSeconds=3600)["Credentials"]
    except Exception:
        return None
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def bench_others(results, get_user, list_users, args):
    # moto_server
    port = free_port()
    moto = subprocess.Popen(["taskset", "-c", "0", "moto_server", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/moto-api/")
        client = iam(f"http://127.0.0.1:{port}")
        for i in range(100):
            client.create_user(UserName=f"u{i:03d}")
        results["moto GetUser"] = load(port, get_user, "moto GetUser", args)
        results["moto ListUsers"] = load(port, list_users, "moto ListUsers", args)
    finally:
        moto.terminate()
        moto.wait()

    # hyper hello world
    port = free_port()
    hello = subprocess.Popen(["taskset", "-c", "0", os.path.join(TARGET, "release", "hello"),
                              f"127.0.0.1:{port}"])
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        results["hyper hello"] = load(port, get_user, "hyper hello", args)
    finally:
        hello.terminate()
        hello.wait()

    if "moat GetUser" in results:
        for op in ("GetUser", "ListUsers"):
            m, o = results[f"moat {op}"]["rps"], results[f"moto {op}"]["rps"]
            print(f"{op}: Moat/moto = {m / max(o, 1):.0f}x")
        ratio = results["moat GetUser"]["rps"] / max(results["hyper hello"]["rps"], 1)
        print(f"GetUser: Moat/hyper hello = {ratio:.2f}")


if __name__ == "__main__":
    sys.exit(main())
