#!/usr/bin/env bash
# Sets up what is missing, builds the page (the `wasm-release` profile) and the backend (the
# `serve` profile: release without link-time optimisation), and starts logscope on
# 127.0.0.1. Extra arguments go to the backend (see `--help`), e.g. scripts/run.sh --nodes 3.
# No trunk: the page is built with cargo + the wasm-bindgen CLI (scripts/build-page.sh), which
# keeps a first run from a clean clone under 8 minutes on two cores (docs/first-run.md).
# The three slow steps run at once — the wasm-bindgen CLI's install, the page's wasm build and
# the backend's build — because each ends in a long single-threaded phase (the page's link-time
# optimisation, the backend's link);
# the page builds in its own directory, target/page, so that cargo's lock on target/release does
# not make the backend wait for it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
say() { printf '\033[1;34m[run]\033[0m %s\n' "$*"; }

scripts/setup.sh --no-wasm-bindgen
logs="$(mktemp -d -t logscope-run-XXXXXX)"
trap 'rm -rf "$logs"' EXIT
# Waits for background job $1 (named $2); on failure shows its output and stops.
await() {
  if ! wait "$1"; then
    echo "[run] $2 failed:" >&2
    cat "$logs/$2.log" >&2
    exit 1
  fi
}

say "building the backend, the page and (if missing) the wasm-bindgen CLI at once"
scripts/install-wasm-bindgen.sh >"$logs/wasm-bindgen-cli.log" 2>&1 &
cli=$!
# The `serve` profile (Cargo.toml): release without link-time optimisation, quicker to build.
cargo build --profile serve -p logscope-backend --bin logscope >"$logs/backend.log" 2>&1 &
backend=$!
# The same directory scripts/build-page.sh uses, which then finds the wasm built.
export PAGE_TARGET_DIR="${PAGE_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/page}"
# Both wasm modules (the page and the in-browser engine; the `wasm-release` profile, Cargo.toml),
# so build-page.sh finds them built.
CARGO_TARGET_DIR="$PAGE_TARGET_DIR" cargo build --profile wasm-release --target wasm32-unknown-unknown \
  -p logscope-frontend -p logscope-engine >"$logs/page.log" 2>&1 &
page=$!

await "$cli" wasm-bindgen-cli
await "$page" page
scripts/build-page.sh dist
scripts/compress-dist.sh dist
await "$backend" backend
rm -rf "$logs" # exec skips the EXIT trap
say "built; starting the server"
exec "${CARGO_TARGET_DIR:-target}/serve/logscope" --static-dir dist "$@"
