#!/usr/bin/env bash
# Browser end-to-end tests: runs e2e/tests/ in headless Chromium. Each test file starts its own
# logscope (build it first: `cargo build --release -p logscope-backend --bin logscope` and
# scripts/build-page.sh) on a free port with a fresh temporary data directory and the flags it
# needs (a token, an allowed host name, a speed), so that no file sees another's cluster: lessons,
# forks and broken rules change the run they are given.
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
if [[ ! -d node_modules/playwright-core || ! -d node_modules/puppeteer-core ]]; then
  npm ci --no-audit --no-fund
fi

export LOGSCOPE_BIN="$BIN"
unset LOGSCOPE_URL
exec node --test --test-concurrency=1 tests/
