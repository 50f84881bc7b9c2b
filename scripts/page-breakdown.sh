#!/usr/bin/env bash
# Where the page's wasm bytes go (docs/bench-frontend.md): builds the frontend as
# scripts/build-page.sh does but keeps the symbol names (the `name` section that `strip = true`
# drops from the shipped module), runs wasm-bindgen as the page build does, then prints
# `twiggy top` and scripts/wasm-breakdown.py's table by part (raw and brotli). The code is the
# same as the shipped build's: stripping removes only names. Overriding `strip` for the frontend
# crate alone on the command line reuses the dependencies scripts/build-page.sh compiled.
# Needs twiggy (`cargo install twiggy`), brotli and python3.
# Usage: scripts/page-breakdown.sh [N]   (N: how many items `twiggy top` lists, default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
page_target="${PAGE_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/page}"
CARGO_TARGET_DIR="$page_target" cargo build --release --target wasm32-unknown-unknown \
  -p logscope-frontend --config 'profile.release.package.logscope-frontend.strip=false'
out="$page_target/breakdown"
rm -rf "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name logscope-frontend \
  "$page_target/wasm32-unknown-unknown/release/logscope-frontend.wasm"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$out/stripped" --out-name logscope-frontend \
  "$page_target/wasm32-unknown-unknown/release/logscope-frontend.wasm"
shipped="$out/stripped/logscope-frontend_bg.wasm"
echo "without names (as shipped): $(wc -c <"$shipped") B raw, $(brotli --best -c "$shipped" | wc -c) B brotli"
twiggy top -n "${1:-30}" "$out/logscope-frontend_bg.wasm"
scripts/wasm-breakdown.py "$out/logscope-frontend_bg.wasm"
