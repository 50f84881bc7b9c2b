#!/usr/bin/env bash
# The first look at the past of a long run (docs/trace.md, "The first look at a long run"): starts
# BIN on a fresh 5-server cluster at speed 0 (as fast as possible), lets it run SECONDS of wall
# time with nobody asking about its history, then prints how far the run got (virtual ms), how
# long the first `GET /api/trace/at` took (the timeline's first build, or only what is left of it
# when the server keeps it warm), a second one, and the server's resident memory.
# Usage: scripts/first-look-experiment.sh BIN [SECONDS]   (default 45; needs curl)
set -euo pipefail
bin="$1"
seconds="${2:-45}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$(mktemp -d)
"$bin" --port "$port" --data-dir "$data/data" --fresh --seed 1 --nodes 5 --speed 0 >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf "http://127.0.0.1:$port/api/health" >/dev/null; do sleep 0.1; done
sleep "$seconds"
virtual_ms=$(curl -s "http://127.0.0.1:$port/api/cluster" | python3 -c 'import json,sys; print(json.load(sys.stdin)["time_ms"])')
first=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/api/trace/at?at_ms=1000")
second=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/api/trace/at?at_ms=2000")
rss_kb=$(ps -o rss= -p $pid)
echo "$(basename "$bin") after ${seconds} s: virtual_ms=$virtual_ms first_at_s=$first second_at_s=$second rss_mb=$((rss_kb / 1024))"
