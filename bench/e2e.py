#!/usr/bin/env python3
"""End-to-end benchmark: GetUser and ListUsers (100 users) requests/s and p99 on loopback.

Moat, moto_server and a bare hyper hello-world server each run pinned to core 0; the signing
load generator (bench/loadgen) runs pinned to core 1. Also measures Moat's start-up time and idle
memory. Prints a Markdown table.

    python3 bench/e2e.py [--seconds 10] [--connections 16]
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


def load(port, body, label, args):
    out = subprocess.run(
        [
            "taskset", "-c", "1", os.path.join(TARGET, "release", "moat-loadgen"),
            "--target", f"127.0.0.1:{port}", "--body", body, "--label", label,
            "--seconds", str(args.seconds), "--connections", str(args.connections),
        ],
        check=True, capture_output=True, text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "moat", "-p", "moat-loadgen"],
                       cwd=ROOT, check=True)

    get_user = "Action=GetUser&Version=2010-05-08&UserName=u050"
    list_users = "Action=ListUsers&Version=2010-05-08"
    results = {}

    # Moat
    data = tempfile.mkdtemp(prefix="moat-bench-")
    port = free_port()
    env = dict(os.environ, MOAT_ACCOUNT_ID="123456789012", MOAT_ROOT_ACCESS_KEY_ID=KEY,
               MOAT_ROOT_SECRET_ACCESS_KEY=SECRET, RUST_LOG="warn")
    t0 = time.monotonic()
    moat = subprocess.Popen(
        ["taskset", "-c", "0", os.path.join(TARGET, "release", "moat"), "serve",
         "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        startup = wait_http(f"http://127.0.0.1:{port}/health")
        time.sleep(0.5)
        idle = rss_mb(moat.pid)
        client = iam(f"http://127.0.0.1:{port}")
        for i in range(100):
            client.create_user(UserName=f"u{i:03d}")
        results["moat GetUser"] = load(port, get_user, "moat GetUser", args)
        results["moat ListUsers"] = load(port, list_users, "moat ListUsers", args)
        loaded = rss_mb(moat.pid)
    finally:
        moat.terminate()
        moat.wait()
        shutil.rmtree(data, ignore_errors=True)

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

    print(f"\nCommand: python3 bench/e2e.py --seconds {args.seconds} --connections {args.connections}")
    print(f"Machine: {os.cpu_count()} cores; server on core 0, load generator on core 1\n")
    print("| target | requests/s | p50 µs | p99 µs | errors |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['p50_us']} | {r['p99_us']} | {r['errors']} |")
    for op in ("GetUser", "ListUsers"):
        m, o = results[f"moat {op}"]["rps"], results[f"moto {op}"]["rps"]
        print(f"\n{op}: Moat/moto = {m / max(o, 1):.0f}x", end="")
    print(f"\nGetUser: Moat/hyper hello = {results['moat GetUser']['rps'] / max(results['hyper hello']['rps'], 1):.2f}")
    print(f"\nStart-up to /health 200: {startup * 1000:.0f} ms; idle RSS {idle:.1f} MB; RSS after load {loaded:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
