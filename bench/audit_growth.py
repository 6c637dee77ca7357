#!/usr/bin/env python3
"""How a read's cost evolves as the audit trail grows: one Moat server per binary, GetUser in
consecutive slices of a long run, each slice's requests/s and server CPU per request, and the
size of the data directory's files after it.

    python3 bench/audit_growth.py --slices 6 --slice-seconds 5 \
        --moat-bin before=/path/moat --moat-bin after=target/release/moat

Same pinning as bench/e2e.py (server on core 0, load generator on core 1). Prints a Markdown
table, one row per slice and binary.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


def sizes_mb(data):
    out = {}
    for name in sorted(os.listdir(data)):
        if name.endswith(".key") or name == "root-credentials":
            continue
        out[name] = round(os.path.getsize(os.path.join(data, name)) / 1e6, 1)
    return out


def run(label, binary, args):
    data = tempfile.mkdtemp(prefix="moat-growth-")
    port = e2e.free_port()
    env = dict(os.environ, MOAT_ACCOUNT_ID="123456789012", MOAT_ROOT_ACCESS_KEY_ID=e2e.KEY,
               MOAT_ROOT_SECRET_ACCESS_KEY=e2e.SECRET, RUST_LOG="warn")
    moat = subprocess.Popen(
        ["taskset", "-c", "0", binary, "serve", "--data-dir", data, "--listen",
         f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        e2e.wait_http(f"http://127.0.0.1:{port}/health")
        client = e2e.iam(f"http://127.0.0.1:{port}")
        for i in range(100):
            client.create_user(UserName=f"u{i:03d}")
        body = "Action=GetUser&Version=2010-05-08&UserName=u050"
        for n in range(args.slices):
            r = e2e.load(port, body, f"{label} GetUser slice {n + 1}", args,
                         seconds=args.slice_seconds, pid=moat.pid)
            rows.append((n + 1, r, sizes_mb(data)))
    finally:
        moat.terminate()
        moat.wait()
        shutil.rmtree(data, ignore_errors=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=6)
    ap.add_argument("--slice-seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--moat-bin", action="append", default=[], metavar="LABEL=PATH")
    args = ap.parse_args()
    args.seconds = args.slice_seconds
    binaries = [b.split("=", 1) for b in args.moat_bin] or [
        ["moat", os.path.join(e2e.TARGET, "release", "moat")]]
    results = [(label, run(label, binary, args)) for label, binary in binaries]
    print(f"\nCommand: python3 bench/audit_growth.py {' '.join(sys.argv[1:])}\n")
    print("| binary | slice | requests/s | p99 µs | server CPU µs/request | files MB after |")
    print("|---|---|---|---|---|---|")
    for label, rows in results:
        for n, r, sizes in rows:
            files = ", ".join(f"{k} {v}" for k, v in sizes.items())
            print(f"| {label} | {n} | {r['rps']:.0f} | {r['p99_us']} | {r.get('cpu_us', '')} "
                  f"| {files} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
