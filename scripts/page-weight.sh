#!/usr/bin/env bash
# What a running logscope server actually sends for the page: every asset index.html loads,
# fetched with curl as a browser would ask for it (Accept-Encoding: br, then gzip, then none),
# with the bytes on the wire, the Content-Encoding and the Cache-Control of each answer.
# Usage: scripts/page-weight.sh [URL]   (default http://127.0.0.1:7878)
set -euo pipefail
url="${1:-http://127.0.0.1:7878}"
url="${url%/}"
html="$(curl -fsS "$url/")"
# The assets the page loads: its script, module, stylesheet and icon (absolute paths).
assets=$(printf '%s' "$html" | grep -oE "(href=|from |module_or_path: )['\"]/[^'\"]+['\"]" \
  | grep -oE "/[^'\"]+" | sort -u)
printf '| asset | encoding asked | bytes sent | Content-Encoding | Cache-Control |\n'
printf '|---|---|---:|---|---|\n'
declare -A total
for enc in br gzip identity; do
  total[$enc]=0
  for path in / $assets; do
    headers="$(mktemp)"
    bytes=$(curl -fsS -H "Accept-Encoding: $enc" -D "$headers" -o /dev/null -w '%{size_download}' "$url$path")
    ce=$(grep -i '^content-encoding:' "$headers" | cut -d' ' -f2- | tr -d '\r' || true)
    cc=$(grep -i '^cache-control:' "$headers" | cut -d' ' -f2- | tr -d '\r' || true)
    rm -f "$headers"
    printf '| `%s` | %s | %s | %s | %s |\n' "$path" "$enc" "$bytes" "${ce:--}" "${cc:--}"
    total[$enc]=$(( ${total[$enc]} + bytes ))
  done
done
for enc in br gzip identity; do
  printf '| **whole page** | %s | **%s** (%s KiB) | | |\n' "$enc" "${total[$enc]}" \
    "$(echo "scale=1; ${total[$enc]} / 1024" | bc)"
done
