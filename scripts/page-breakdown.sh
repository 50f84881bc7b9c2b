#!/usr/bin/env bash
# Where the wasm bytes go (docs/bench-frontend.md): builds the page's module (or, with `engine`,
# the in-browser engine's) as scripts/build-page.sh does but keeps the symbol names (the `name`
# section that `strip = true` drops from the shipped module), runs wasm-bindgen as the page build
# does, then prints `twiggy top` and scripts/wasm-breakdown.py's table by part (raw and brotli).
# The code is the same as the shipped build's: stripping removes only names. Overriding `strip`
# for that crate alone on the command line reuses the dependencies scripts/build-page.sh compiled.
# Needs twiggy (`cargo install twiggy`), brotli and python3.
# Usage: scripts/page-breakdown.sh [N] [page|engine]
#   N: how many items `twiggy top` lists (default 30); which module (default page).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
page_target="${PAGE_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/page}"
case "${2:-page}" in
  page) crate=logscope-frontend wasm_name=logscope-frontend ;;
  engine) crate=logscope-engine wasm_name=logscope_engine ;;
  *) echo "usage: scripts/page-breakdown.sh [N] [page|engine]" >&2; exit 2 ;;
esac
CARGO_TARGET_DIR="$page_target" cargo build --profile wasm-release --target wasm32-unknown-unknown \
  -p "$crate" --config "profile.wasm-release.package.$crate.strip=false"
built="$page_target/wasm32-unknown-unknown/wasm-release/$wasm_name.wasm"
out="$page_target/breakdown"
rm -rf "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$crate" "$built"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$out/stripped" --out-name "$crate" "$built"
shipped="$out/stripped/${crate}_bg.wasm"
echo "without names (as shipped): $(wc -c <"$shipped") B raw, $(brotli --best -c "$shipped" | wc -c) B brotli"
twiggy top -n "${1:-30}" "$out/${crate}_bg.wasm"
scripts/wasm-breakdown.py "$out/${crate}_bg.wasm"
