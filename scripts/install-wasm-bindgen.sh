#!/usr/bin/env bash
# Installs the wasm-bindgen CLI whose version matches the wasm-bindgen crate in Cargo.lock (they
# must match exactly), unless it is on PATH already. ~3 minutes on two cores, once. Called by
# scripts/setup.sh, and by scripts/run.sh in parallel with its builds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ -z "$WB_VERSION" ]; then
  echo "could not find wasm-bindgen's version in Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION"; then
  printf '\033[1;34m[setup]\033[0m %s\n' "installing wasm-bindgen-cli $WB_VERSION (takes a few minutes, once)"
  # Built in cargo's own temporary directory, not $CARGO_TARGET_DIR: a build running at the same
  # time there (scripts/run.sh) would hold its lock and make this wait.
  unset CARGO_TARGET_DIR
  # A tool run twice per page build on a few MB: optimised lightly, it builds in much less time
  # and still runs in seconds (first runs wait for it: docs/first-run.md).
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  cargo install wasm-bindgen-cli --version "=$WB_VERSION" --locked \
    || cargo install wasm-bindgen-cli --version "=$WB_VERSION"
fi
