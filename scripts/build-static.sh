#!/usr/bin/env bash
# Builds logscope as a static site in DIR (default: dist-static): the page of
# scripts/build-page.sh with every path made relative, so it works from any static file host,
# in any subdirectory, and from `python3 -m http.server` run inside DIR. With no server to
# answer, the page runs the cluster itself ("Running in your browser") and keeps it in the
# browser's storage, and stages lessons and answers the timeline's history routes itself; only
# the classroom features (presenter, viewers, predictions) need the server.
# The site has one wasm module (build-page.sh --one-module): the page's, with the engine linked
# in, which the engine's worker script `engine-worker-<hash>.js` instantiates too — the engine
# always runs here, so a module of its own would only download std, serde and the data tables
# twice. The page the backend serves (build-page.sh alone) keeps the engine in its own module.
# Usage: scripts/build-static.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist-static}"
scripts/build-page.sh --one-module "$out"
# build-page.sh writes root-relative names ("/logscope-frontend-<hash>.js", href="/style-…"),
# content="/engine-worker-…", as the server serves the page from "/": make each one relative to
# index.html (the engine's worker script names its files relative to itself).
sed -i -E "s#'/([A-Za-z0-9_.-]+)'#'./\1'#g; s#(href|content)=\"/([A-Za-z0-9_.-]+)\"#\1=\"./\2\"#g" "$out/index.html"
if grep -qE "((href|content)=\"|')/[A-Za-z]" "$out/index.html"; then
  echo "[static] $out/index.html still names a root-relative path:" >&2
  grep -nE "((href|content)=\"|')/[A-Za-z]" "$out/index.html" >&2
  exit 1
fi
# No server ever answers next to a static site: the page is told so, and runs the cluster
# itself without asking `api/health` first (a 404 in every visitor's console).
sed -i 's#^</head>#<meta name="logscope-static" content="no server: the page runs the cluster itself">\n</head>#' "$out/index.html"
grep -q 'name="logscope-static"' "$out/index.html" || { echo "[static] no </head> line in $out/index.html" >&2; exit 1; }
# One module, which both index.html and the worker script load.
shopt -s nullglob
modules=("$out"/*.wasm)
workers=("$out"/engine-worker-*.js)
if [ "${#modules[@]}" -ne 1 ] || [ "${#workers[@]}" -ne 1 ] \
  || ! grep -qF "'./$(basename "${modules[0]}")'" "$out/index.html" \
  || ! grep -qF "'./$(basename "${modules[0]}")'" "${workers[0]}"; then
  echo "[static] $out/ should have one wasm module, loaded by index.html and the worker script:" >&2
  ls "$out" >&2
  exit 1
fi
printf '\033[1;34m[static]\033[0m %s\n' "wrote $out/: serve it with (cd $out && python3 -m http.server)"
