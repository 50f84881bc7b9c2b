#!/usr/bin/env bash
# Writes .br and .gz siblings of the hashed assets in dist/ (wasm, js, css, the svg icon) for the server to
# send to browsers that accept them (tower-http's ServeDir picks them by Accept-Encoding).
# index.html is left alone: its name has no hash, so a stale sibling could outlive a rebuild.
# Uses the `brotli` and `gzip` commands when they are installed; skips either if not (the
# server then sends the plain files). Usage: scripts/compress-dist.sh [DIR]   (default: dist)
set -euo pipefail
dir="${1:-dist}"
have() { command -v "$1" >/dev/null 2>&1; }
if ! have brotli && ! have gzip; then
  echo "[compress] neither brotli nor gzip is installed: serving uncompressed files"
  exit 0
fi
shopt -s nullglob
for f in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css "$dir"/*.svg; do
  if have brotli; then brotli --force --keep --best --output="$f.br" "$f"; fi
  if have gzip; then gzip --force --keep --best "$f"; fi
done
have brotli || echo "[compress] brotli is not installed (apt-get install brotli): gzip only"
echo "[compress] done: $(ls "$dir" | grep -cE '\.(br|gz)$') compressed siblings in $dir"
