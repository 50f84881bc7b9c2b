#!/usr/bin/env bash
# Browser end-to-end tests: starts the logscope binary (build it first:
# `cargo build --release -p logscope-backend --bin logscope` and scripts/build-page.sh) on a
# free port with a temporary data directory, runs e2e/tests/ in headless Chromium, then stops it.
# Screenshots of key moments land in artifacts/e2e/.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd .. && pwd)"
BIN="${LOGSCOPE_BIN:-$ROOT/target/release/logscope}"

if [[ ! -x "$BIN" ]]; then
  echo "e2e: $BIN is missing; build it with: cargo build --release -p logscope-backend --bin logscope" >&2
  exit 1
fi
if [[ ! -f "$ROOT/dist/index.html" ]]; then
  echo "e2e: dist/ is missing; build the page with: scripts/build-page.sh (or trunk build --release)" >&2
  exit 1
fi
if [[ ! -d node_modules/playwright-core ]]; then
  npm ci --no-audit --no-fund
fi

DATA="$(mktemp -d -t logscope-e2e-XXXXXX)"
LOG="$DATA/backend.log"
# Port 0: the server picks a free port and prints its URL.
"$BIN" --static-dir "$ROOT/dist" --data-dir "$DATA/cluster" --port 0 --fresh --seed 11 --speed 1 \
  >"$LOG" 2>&1 &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

URL=""
for _ in $(seq 1 200); do
  URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$LOG" | head -n1 || true)"
  if [[ -n "$URL" ]] && curl -fsS "$URL/api/cluster" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "e2e: the backend exited:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  URL=""
  sleep 0.1
done
if [[ -z "$URL" ]]; then
  echo "e2e: the backend did not answer within 20 s:" >&2
  cat "$LOG" >&2
  exit 1
fi
echo "e2e: backend at $URL"
LOGSCOPE_URL="$URL" node --test --test-concurrency=1 tests/
