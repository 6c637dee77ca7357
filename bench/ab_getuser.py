#!/usr/bin/env python3
"""A/B of Moat builds on GetUser by root against a fresh server holding one user: three
alternating rounds of 5 s each, server pinned to core 0 and bench/loadgen (16 connections) to
core 1; prints requests/s and the server's CPU per request (from /proc/PID/stat).

    python3 bench/ab_getuser.py path/to/moat-a path/to/moat-b
"""
import os, shutil, subprocess, sys, time, tempfile, json, socket, urllib.request
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LG = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "moat-loadgen")
env=dict(os.environ, MOAT_ACCOUNT_ID="123456789012", MOAT_ROOT_ACCESS_KEY_ID="AKIAMOATTESTROOT0001",
         MOAT_ROOT_SECRET_ACCESS_KEY="moat/test/root/secret/key/0000000000000A", RUST_LOG="warn")
def port():
    s=socket.socket(); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]; s.close(); return p
def ticks(pid):
    f=open(f"/proc/{pid}/stat").read().rsplit(")",1)[1].split(); return int(f[11])+int(f[12])
def one(binary, secs):
    d=tempfile.mkdtemp(); p=port()
    srv=subprocess.Popen(["taskset","-c","0",binary,"serve","--data-dir",d,"--listen",f"127.0.0.1:{p}"],env=env,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    for _ in range(200):
        try: urllib.request.urlopen(f"http://127.0.0.1:{p}/health",timeout=1); break
        except Exception: time.sleep(0.05)
    subprocess.run(["taskset","-c","1",LG,"--target",f"127.0.0.1:{p}","--body","Action=CreateUser&Version=2010-05-08&UserName=u5","--seconds","0","--connections","1"],capture_output=True)
    t0=ticks(srv.pid)
    r=subprocess.run(["taskset","-c","1",LG,"--target",f"127.0.0.1:{p}","--body","Action=GetUser&Version=2010-05-08&UserName=u5","--seconds",str(secs),"--connections","16"],capture_output=True,text=True)
    t1=ticks(srv.pid)
    res=json.loads(r.stdout.strip().splitlines()[-1])
    srv.terminate(); srv.wait()
    shutil.rmtree(d, ignore_errors=True)
    n=res["requests"]*(secs+1)/secs
    return res["rps"], (t1-t0)*1e4/n
bins=sys.argv[1:]
for rnd in range(3):
    for b in bins:
        rps,cpu=one(b,5)
        print(f"{os.path.basename(b)} round {rnd+1}: {rps} req/s, {cpu:.1f} us CPU/request", flush=True)
