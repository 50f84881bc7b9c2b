#!/usr/bin/env bash
# The long randomized simulation, kept out of CI: any number of seeds (default 10,000).
# Usage: scripts/soak.sh [SEEDS] [START]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -p logscope-tools --bin simulate -- --seeds "${1:-10000}" --start "${2:-0}"
