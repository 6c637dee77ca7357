#!/usr/bin/env bash
# User-space instructions per GetUser request, counted by callgrind: a figure that other work on
# the machine does not move (unlike CPU time), for comparing two builds on a shared machine.
# The kernel's share (socket, WAL writes, fsync) is not counted, and under valgrind ring hashes
# without the SHA extensions, so SHA-256 weighs more than on the real CPU.
#
#   bench/instructions.sh LABEL path/to/moat [SECONDS]   # needs valgrind and moat-loadgen
#
# Starts the binary under callgrind with instrumentation off, makes users, turns it on for a
# GetUser load (8 connections), prints instructions per request; the profile stays in
# /tmp/moat-instructions.LABEL.out for callgrind_annotate.
set -euo pipefail
LABEL=$1; BIN=$2; SECS=${3:-20}
TARGET=${CARGO_TARGET_DIR:-$(dirname "$0")/../target}
LG=$TARGET/release/moat-loadgen
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export MOAT_ACCOUNT_ID=123456789012 MOAT_ROOT_ACCESS_KEY_ID=AKIAMOATTESTROOT0001
export MOAT_ROOT_SECRET_ACCESS_KEY=moat/test/root/secret/key/0000000000000A RUST_LOG=warn
OUT=/tmp/moat-instructions.$LABEL.out
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
    "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 600); do curl -s "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
"$LG" --target "127.0.0.1:$PORT" --body 'Action=CreateUser&Version=2010-05-08&UserName=u{n}' \
    --seconds 3 --connections 4 >/dev/null
callgrind_control -i on "$PID" >/dev/null
R=$("$LG" --target "127.0.0.1:$PORT" --body 'Action=GetUser&Version=2010-05-08&UserName=u5' \
    --seconds "$SECS" --connections 8 | tail -1)
sleep 0.3
callgrind_control -i off "$PID" >/dev/null
kill "$PID"; wait "$PID" || true
rm -rf "$DATA"
N=$(echo "$R" | python3 -c 'import json,sys;print(json.load(sys.stdin)["requests"])')
IR=$(callgrind_annotate "$OUT" 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{print $1}' | tr -d ,)
# The load generator counts requests after its 1 s warm-up; instrumentation covered it too.
python3 -c "n = $N * ($SECS + 1) / $SECS; print('$LABEL: %d requests, %d instructions per request' % (n, $IR / n))"
