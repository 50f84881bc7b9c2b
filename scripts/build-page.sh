#!/usr/bin/env bash
# Builds the page into DIR (default: dist) without trunk: `cargo build` of the frontend for
# wasm32, then the `wasm-bindgen` CLI, then the same layout `trunk build --release` writes — the
# glue `logscope-frontend-<hash>.js`, the module `logscope-frontend-<hash>_bg.wasm`,
# `style-<hash>.css`, `favicon-<hash>.svg` and an `index.html` that loads them — so the backend
# serves either build the same way (hashed names are cached as immutable, index.html is not).
# It also writes the in-browser engine's worker script `engine-worker-<hash>.js` (engine/src/
# worker.rs; run in a Web Worker only when no server answers), named to the page by
# `<meta name="logscope-engine">` in index.html (trunk builds the page without it), and what the
# worker loads:
# - by default, the engine's own wasm module, `logscope-engine-<hash>.js` and `…_bg.wasm`: a
#   page with a server never downloads the simulator (the page the backend serves);
# - with --one-module, nothing more: the page's module is built with the frontend's `engine`
#   feature, which links the engine into it, and the worker instantiates that same module (its
#   `main` returns at once with no window), so the engine's share of std, serde and the data
#   tables is not downloaded twice. scripts/build-static.sh builds the static site so, where the
#   engine always runs (docs/bench-frontend.md, "One module for both").
# Compressed .br/.gz siblings are written by scripts/compress-dist.sh, not here.
# `trunk serve` / `trunk build` stay the development loop; this is the quick path of scripts/run.sh
# and scripts/test.sh (it saves compiling trunk, ~9 minutes on two cores).
# Usage: scripts/build-page.sh [--one-module] [DIR]   (builds in $PAGE_TARGET_DIR, default
# target/page; needs the wasm32 target and the wasm-bindgen CLI that matches Cargo.lock:
# scripts/setup.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
one_module=false
if [ "${1:-}" = "--one-module" ]; then
  one_module=true
  shift
fi
out="${1:-dist}"
say() { printf '\033[1;34m[page]\033[0m %s\n' "$*"; }

# Its own target directory, so that building the page never waits for cargo's lock on
# target/release (scripts/run.sh builds the backend at the same time).
page_target="${PAGE_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/page}"
# .cargo/config.toml adds `--cfg erase_components` for wasm32 (a smaller module, the same page);
# cargo ignores it when RUSTFLAGS is set, so say so rather than ship a larger module silently.
if [ -n "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
  echo "[page] RUSTFLAGS is set: it replaces .cargo/config.toml's --cfg erase_components" >&2
fi
# One module: the page with the engine linked in, and no engine module of its own. Either way in
# the same target directory, so the two builds share every dependency (only the frontend and the
# link differ).
if $one_module; then
  crates=(-p logscope-frontend --features logscope-frontend/engine)
else
  crates=(-p logscope-frontend -p logscope-engine)
fi
say "cargo build --profile wasm-release --target wasm32-unknown-unknown ${crates[*]} (in $page_target)"
CARGO_TARGET_DIR="$page_target" cargo build --profile wasm-release --target wasm32-unknown-unknown \
  "${crates[@]}"
wasm="$page_target/wasm32-unknown-unknown/wasm-release/logscope-frontend.wasm"
engine_wasm="$page_target/wasm32-unknown-unknown/wasm-release/logscope_engine.wasm"

stage="$(mktemp -d -t logscope-page-XXXXXX)"
trap 'rm -rf "$stage"' EXIT
# The same flags trunk passes (an ES module loaded by an inline script, no TypeScript), and no
# name or producers section: wasm-bindgen writes names for its own shims even into a stripped
# module (5.8 KB that only a debugger reads; docs/bench-frontend.md).
# Its warning that a stripped module has no `target_features` section is expected (Cargo.toml
# strips the page on purpose; wasm-bindgen's defaults suit it) and is left out of the output, so
# a first run prints nothing that looks like a fault; any other message is kept.
bindgen() {
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$stage" --out-name "$1" "$2" 2> >(grep -v 'the `target_features` custom section is missing' >&2)
}
bindgen logscope-frontend "$wasm"
$one_module || bindgen logscope-engine "$engine_wasm"
if [ -e "$stage/snippets" ]; then
  echo "[page] wasm-bindgen wrote snippets/: copy them to $out/ too (this script does not yet)" >&2
  exit 1
fi

# The first 16 hex digits of each file's SHA-256, as trunk names them.
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
h_app=$(hash_of "$stage/logscope-frontend.js" "$stage/logscope-frontend_bg.wasm")
h_ico=$(hash_of static/favicon.svg)
js="logscope-frontend-$h_app.js"
bg="logscope-frontend-${h_app}_bg.wasm"
ico="favicon-$h_ico.svg"
# What the engine's worker loads: the page's own glue and module (one module), or the engine's.
if $one_module; then
  if ! grep -q 'export function receive' "$stage/logscope-frontend.js"; then
    echo "[page] the page's module does not export the engine's \`receive\` (--one-module)" >&2
    exit 1
  fi
  eng_js="$js"
  eng_bg="$bg"
else
  h_eng=$(hash_of "$stage/logscope-engine.js" "$stage/logscope-engine_bg.wasm")
  eng_js="logscope-engine-$h_eng.js"
  eng_bg="logscope-engine-${h_eng}_bg.wasm"
fi
# The engine's module worker (engine/src/worker.rs describes the wire): it loads the engine and
# hands it every message, keeping those that come while the module loads. Its paths are relative
# to itself, so it works wherever the site is served from.
cat >"$stage/engine-worker.js" <<WORKER
// logscope's in-browser engine, run in a Web Worker (written by scripts/build-page.sh).
import init, { receive } from './$eng_js';
const early = [];
self.onmessage = (e) => early.push(e.data);
await init({ module_or_path: new URL('./$eng_bg', import.meta.url) });
self.onmessage = (e) => receive(e.data);
for (const data of early) receive(data);
WORKER
worker="engine-worker-$(hash_of "$stage/engine-worker.js").js"

rm -rf "$out"
mkdir -p "$out"
cp "$stage/logscope-frontend.js" "$out/$js"
cp "$stage/logscope-frontend_bg.wasm" "$out/$bg"
cp static/favicon.svg "$out/$ico"
if ! $one_module; then
  cp "$stage/logscope-engine.js" "$out/$eng_js"
  cp "$stage/logscope-engine_bg.wasm" "$out/$eng_bg"
fi
cp "$stage/engine-worker.js" "$out/$worker"
# Every stylesheet index.html links (`href` relative to frontend/), hashed as trunk names them:
# a list of "href=hashed-name" pairs for the rewrite below.
css_map=""
for href in $(grep 'data-trunk' frontend/index.html | grep 'rel="css"' | sed -E 's/.*href="([^"]+)".*/\1/'); do
  name="$(basename "$href" .css)"
  hashed="$name-$(hash_of "frontend/$href").css"
  # Without its comments, which are for whoever edits the stylesheet (~2.3 KB of the four
  # stylesheets brotli'd: docs/bench-frontend.md). No stylesheet has "/*" in a string.
  perl -0pe 's{/\*.*?\*/}{}gs; s{\n\s*\n+}{\n}g; s{^[ \t]+}{}mg' "frontend/$href" >"$out/$hashed"
  css_map="$css_map $href=$hashed"
done

# frontend/index.html with its `data-trunk` links replaced by what trunk would write: the
# inline module script (the server allows it by its SHA-256), the stylesheet, the icon and the
# preloads. Any other `data-trunk` line is an error: this script would not know what to do.
if grep 'data-trunk' frontend/index.html | grep -vqE 'rel="(rust|css|icon)"'; then
  echo "[page] frontend/index.html has a data-trunk link this script does not know" >&2
  exit 1
fi
awk -v js="$js" -v bg="$bg" -v css_map="$css_map" -v ico="$ico" -v worker="$worker" '
  BEGIN { n = split(css_map, pairs, " "); for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); css[kv[1]] = kv[2] } }
  /data-trunk/ && /rel="rust"/ {
    print "<script type=\"module\">"
    print "import init, * as bindings from \x27/" js "\x27;"
    print "const wasm = await init({ module_or_path: \x27/" bg "\x27 });"
    print "window.wasmBindings = bindings;"
    print "dispatchEvent(new CustomEvent(\"TrunkApplicationStarted\", {detail: {wasm}}));"
    print "</script>"
    next
  }
  /data-trunk/ && /rel="css"/ {
    match($0, /href="[^"]+"/); href = substr($0, RSTART + 6, RLENGTH - 7)
    print "    <link rel=\"stylesheet\" href=\"/" css[href] "\"/>"; next
  }
  /data-trunk/ && /rel="icon"/ { print "    <link rel=\"icon\" href=\"/" ico "\"/>"; next }
  /<\/head>/ {
    print "    <meta name=\"logscope-engine\" content=\"/" worker "\">"
    print "    <link rel=\"modulepreload\" href=\"/" js "\" crossorigin=\"anonymous\">"
    print "    <link rel=\"preload\" href=\"/" bg "\" crossorigin=\"anonymous\" as=\"fetch\" type=\"application/wasm\">"
  }
  { print }
' frontend/index.html | perl -0pe 's{[ \t]*<!--.*?-->\n?}{}gs; s{^[ \t]*//[^\n]*\n}{}mg; s{^[ \t]+}{}mg' >"$out/index.html"
# (index.html's HTML comments and whole-line script comments are dropped as the stylesheets'
# are: the server sends index.html uncompressed.)
say "wrote $out/: $(cd "$out" && ls | tr '\n' ' ')"
