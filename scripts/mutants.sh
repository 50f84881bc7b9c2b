#!/usr/bin/env bash
# Mutation testing of the pure Raft core (shared/src/raft/) with cargo-mutants: each mutant is one
# small change to the code (a condition flipped, a body replaced by a default, `+` made `-`), and
# the shared crate's tests must fail on it. Results and how to read them: docs/mutation.md.
# Kept out of CI (scripts/test.sh does not call it): the whole set takes about half an hour on
# two cores.
# Usage: scripts/mutants.sh [FILE...]  (default: every file of shared/src/raft/)
#        MUTANTS_OUT=dir scripts/mutants.sh ...  (results in dir/mutants.out/, default ./mutants.out/)
#        MUTANTS_TIMEOUT=seconds (per test run, default 60)
# Needs cargo-mutants (`cargo install --locked cargo-mutants`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Each mutant runs every test of logscope-shared. The randomized sweep in tests/determinism.rs
# runs 200 seeds instead of its 2,000 (a debug test run then takes ~4 s instead of ~20 s); the
# paper and scenario tests, which aim at each rule directly, run in full.
export LOGSCOPE_SEEDS="${LOGSCOPE_SEEDS:-200}"

[ $# -eq 0 ] && set -- 'shared/src/raft/*.rs'
filters=()
for file in "$@"; do filters+=(--file "$file"); done

# Debug builds: an incremental debug rebuild of the crate is ~6 s; the release profile (LTO,
# one codegen unit) rebuilds far slower than the tests it would speed up. `--copy-target` starts
# each scratch copy from the already built dependencies. A mutant that makes a run loop forever
# is stopped after MUTANTS_TIMEOUT seconds (default 60): the unmutated tests take ~4 s on an idle
# machine, but ~20 s when other jobs share the two cores, and a timeout hides whether a mutant
# would have been caught.
exec cargo mutants --package logscope-shared "${filters[@]}" \
    --jobs 2 --timeout "${MUTANTS_TIMEOUT:-60}" --build-timeout 180 --copy-target=true \
    --output "${MUTANTS_OUT:-.}"
