#!/usr/bin/env bash
# Runs every test of logscope: formatting and lints, the Rust tests of all crates (paper, scenario,
# randomized simulation, storage, server integration and real-process crash tests), the wasm32
# build of shared/, the release frontend build, smoke runs of the experiment commands, and the
# browser end-to-end tests in headless Chromium, and smoke tests in headless Firefox and in WebKit
# under Xvfb (against the precompressed page scripts/run.sh serves, and the static site). Installs
# whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

step "setup"
scripts/setup.sh --browser

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets -- -D warnings

step "shared/ builds for wasm32 (no I/O can sneak in)"
cargo build -p logscope-shared --lib --target wasm32-unknown-unknown

step "lints of the browser-only code (the page's components, the engine's worker)"
cargo clippy -p logscope-frontend -p logscope-engine --target wasm32-unknown-unknown -- -D warnings
# …and the page as the static site builds it, with the engine linked in (its one module).
cargo clippy -p logscope-frontend --features engine --target wasm32-unknown-unknown -- -D warnings

step "Rust tests"
cargo test --workspace

step "experiment commands (quick mode)"
cargo run -q -p logscope-tools --bin simulate -- --quick
cargo run -q -p logscope-tools --bin sim-bench -- --quick
cargo run -q -p logscope-tools --bin figure16 -- --quick
cargo run -q -p logscope-backend --bin storage-bench -- --quick
cargo run -q -p logscope-backend --bin ws-bench -- --quick

step "frontend release build (the page scripts/run.sh serves; trunk is for development)"
scripts/build-page.sh dist
# Neither module carries core's float printer (≈ 7 KB brotli each): the page prints numbers with
# decimal::Fixed, the engine with shared::shortest. The printer's panic locations are strings in
# the module, so a float printed again shows here.
for module in dist/logscope-frontend-*_bg.wasm dist/logscope-engine-*_bg.wasm; do
  if ! grep -qa library/core/src "$module"; then
    echo "the float-printer check cannot see: $module holds no core panic locations" >&2
    exit 1
  fi
  if grep -qa flt2dec "$module"; then
    echo "$module has core's float printer again: print numbers with decimal::Fixed (the page," \
      "frontend/src/decimal.rs) or shared::shortest::Shortest (the engine; docs/bench-frontend.md)" >&2
    exit 1
  fi
done
scripts/compress-dist.sh dist
# The same page as a static site (relative paths; the cluster runs in the browser, from one
# module: the page's with the engine linked in, a second link of the frontend): the
# static-engine browser test serves it with python's http.server.
scripts/build-static.sh dist-static
# The self-contained binary (the `embed` feature, as scripts/build-binary.sh builds it in
# release) with the page just built in dist/; kept aside, since the next build of the same binary
# without the feature replaces it.
cargo build -q -p logscope-backend --features embed --bin logscope
cp target/debug/logscope target/debug/logscope-embedded

step "browser end-to-end tests"
# The real backend binary (the debug build `cargo test` just made: building it again with release
# LTO would add minutes and test nothing more) serving the release frontend.
cargo build -q -p logscope-backend --bin logscope
LOGSCOPE_BIN="$PWD/target/debug/logscope" e2e/run.sh
# The binary with the page inside, started where there is no dist/ (e2e/embedded/).
(cd e2e && LOGSCOPE_EMBEDDED_BIN="$PWD/../target/debug/logscope-embedded" \
  node --test --test-concurrency=1 embedded/)
