#!/usr/bin/env bash
# Installs what a fresh machine (with only rustup) lacks to build logscope, and nothing it already
# has. Idempotent. Usage: scripts/setup.sh [--browser] [--trunk] [--no-wasm-bindgen]
#   (always) the wasm32 target, the wasm-bindgen CLI that matches Cargo.lock, and Debian's
#            `brotli` when apt-get may be used (root, or sudo without a password);
#   --browser  what the browser tests need: Debian's chromium and the npm packages under e2e/,
#              and, when apt-get may be used, Debian's firefox-esr for e2e/tests/firefox.test.mjs
#              and webkit2gtk-driver and xvfb for e2e/tests/webkit.test.mjs;
#   --trunk    trunk, for the development loop (`trunk serve`); compiling it takes ~9 minutes on
#              two cores, which is why scripts/run.sh and scripts/test.sh do without it;
#   --no-wasm-bindgen  leave the CLI to the caller (scripts/run.sh installs it in parallel with
#              its builds: scripts/install-wasm-bindgen.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BROWSER=0 TRUNK=0 WASM_BINDGEN=1
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    --trunk) TRUNK=1 ;;
    --no-wasm-bindgen) WASM_BINDGEN=0 ;;
    *) echo "usage: scripts/setup.sh [--browser] [--trunk] [--no-wasm-bindgen]" >&2; exit 2 ;;
  esac
done

TRUNK_VERSION=0.21.14
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
  else
    echo "cargo not found: install Rust with rustup first (https://rustup.rs)" >&2
    exit 1
  fi
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"

# The toolchain and the wasm32 target named in rust-toolchain.toml.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# apt-get only where it needs no password prompt.
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
can_apt() { command -v apt-get >/dev/null 2>&1 && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; }
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# brotli compresses the page's wasm to a quarter (scripts/compress-dist.sh); without it the
# server sends gzip, ~30 % larger.
if ! command -v brotli >/dev/null 2>&1; then
  if can_apt; then
    say "installing Debian's brotli (compresses the page)"
    apt_install brotli || say "could not install brotli: the page will be sent gzip-compressed"
  else
    say "brotli is missing and apt-get needs a password: the page will be sent gzip-compressed"
  fi
fi

if [ "$WASM_BINDGEN" = 1 ]; then
  scripts/install-wasm-bindgen.sh
fi

# trunk, pinned: 0.22 needs a newer rustc than this toolchain.
if [ "$TRUNK" = 1 ] && ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (takes ~9 minutes on two cores, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

if [ "$BROWSER" = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    say "installing Debian's chromium for the browser tests"
    apt_install chromium
  fi
  if ! command -v npm >/dev/null 2>&1; then
    say "installing node and npm"
    apt_install nodejs npm
  fi
  # Firefox ESR for the Firefox smoke test (e2e/tests/firefox.test.mjs, driven by puppeteer-core,
  # which downloads no browser). Where apt-get cannot be used, say so and go on: that file fails.
  if [ ! -x "${FIREFOX:-/usr/bin/firefox-esr}" ]; then
    if can_apt; then
      say "installing Debian's firefox-esr for the Firefox smoke test"
      apt_install firefox-esr || say "could not install firefox-esr: e2e/tests/firefox.test.mjs will fail"
    else
      say "firefox-esr is missing and apt-get cannot be used here (absent, or sudo wants a password):" \
        "e2e/tests/firefox.test.mjs will fail until it is installed (apt-get install firefox-esr)"
    fi
  fi
  # WebKitGTK's WebDriver and MiniBrowser (Safari's engine), and an X server for its window, for
  # the WebKit smoke test (e2e/tests/webkit.test.mjs; xauth for xvfb-run, to look by hand).
  # 183 packages, 156 MB to download (462 MB on disk) on a Debian 12 that already had chromium
  # and firefox-esr; two thirds of it are recommended packages (GStreamer's plugins, ghostscript,
  # spelling): 51 packages, 60 MB with --no-install-recommends, which no test has run on yet.
  if [ ! -x "${WEBKIT_DRIVER:-/usr/bin/WebKitWebDriver}" ] || ! command -v Xvfb >/dev/null 2>&1; then
    if can_apt; then
      say "installing Debian's webkit2gtk-driver and xvfb for the WebKit smoke test"
      apt_install webkit2gtk-driver xvfb xauth || say "could not install webkit2gtk-driver: e2e/tests/webkit.test.mjs will fail"
    else
      say "webkit2gtk-driver or xvfb is missing and apt-get cannot be used here (absent, or sudo wants a password):" \
        "e2e/tests/webkit.test.mjs will fail until they are installed (apt-get install webkit2gtk-driver xvfb xauth)"
    fi
  fi
  if [ -f e2e/package.json ] && { [ ! -d e2e/node_modules/playwright-core ] || [ ! -d e2e/node_modules/puppeteer-core ]; }; then
    say "installing the browser-test packages (e2e/)"
    (cd e2e && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi)
  fi
fi
