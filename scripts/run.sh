#!/usr/bin/env bash
# Sets up what is missing, builds the frontend and the backend in release, and starts logscope on
# 127.0.0.1. Extra arguments go to the backend (see `--help`), e.g. scripts/run.sh --nodes 3.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup.sh
echo "[run] building the frontend (trunk build --release)"
trunk build --release
scripts/compress-dist.sh dist
echo "[run] building the backend"
cargo build --release -p logscope-backend --bin logscope
exec target/release/logscope --static-dir dist "$@"
