#!/usr/bin/env bash
# Builds logscope as one self-contained file: the page (scripts/build-page.sh, then its .br/.gz
# siblings) built into the server binary by the backend's `embed` feature, so a classroom machine
# needs nothing but that file — no dist/, no --static-dir (giving --static-dir still serves a
# directory instead). Release build, with link-time optimisation; prints where the binary is.
# Usage: scripts/build-binary.sh [OUT]   (default: target/logscope-standalone/logscope)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
out="${1:-target/logscope-standalone/logscope}"
say() { printf '\033[1;34m[binary]\033[0m %s\n' "$*"; }

scripts/setup.sh
# The page goes into a directory of its own, so the binary never embeds a half-written dist/.
page="target/embedded-page"
scripts/build-page.sh "$page"
scripts/compress-dist.sh "$page"
say "cargo build --release -p logscope-backend --features embed --bin logscope (page: $page)"
LOGSCOPE_PAGE_DIR="$PWD/$page" cargo build --release -p logscope-backend --features embed --bin logscope
mkdir -p "$(dirname "$out")"
cp target/release/logscope "$out"
say "wrote $out ($(du -h "$out" | cut -f1)): copy it anywhere and run it, e.g. $out --bind 0.0.0.0"
