#!/usr/bin/env bash
# How fast the default randomized sweep catches each classic Raft bug (docs/simulation.md).
# Each bug is a one-line change made to a scratch copy of the committed tree (git archive HEAD)
# with its own target directory; nothing broken is ever written to the repository.
# Usage: scripts/classic-bugs.sh [SEEDS] [SCRATCH_DIR]     (defaults: 2000, a new temp dir)
set -euo pipefail
seeds="${1:-2000}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${2:-$(mktemp -d)}"
orig="$scratch/orig"
work="$scratch/work"
rm -rf "$orig" && mkdir -p "$orig" "$work"
git -C "$repo" archive HEAD | tar -x -C "$orig"
cp -r "$orig/." "$work/"
cd "$work"

# name, file, sed expression (the bug); "none" runs the unmodified core.
bugs=(
  "none|shared/src/raft/replication.rs|"
  "a. older-term entry committed by counting|shared/src/raft/replication.rs|s/if n > self.commit_index \&\& self.log.term(n) == Some(self.current_term) {/if n > self.commit_index {/"
  "b. follower commits to its log end|shared/src/raft/replication.rs|s/ae.leader_commit.min(last_new_index)/ae.leader_commit.min(self.log.last_index())/"
  "c. follower acknowledges its log end|shared/src/raft/replication.rs|s/AppendEntriesResponse::accept(last_new_index, ae.prev_log_index)/AppendEntriesResponse::accept(self.log.last_index(), ae.prev_log_index)/"
  "d. stale-term vote counted|shared/src/raft/election.rs|/fn handle_vote_response/,/}/s/if term != self.current_term {/if self.role != Role::Candidate {/"
  "e1. vote not in the hard state written|shared/src/raft/node.rs|/fn hard_state(/,/^    }/s/voted_for: self.voted_for,/voted_for: None,/"
  "e2. vote forgotten on restart|shared/src/raft/node.rs|s/voted_for: hard_state.voted_for,/voted_for: None,/"
  "f. match_index moves backwards|shared/src/raft/progress.rs|s/self.match_index = self.match_index.max(match_index);/self.match_index = match_index;/"
)

for bug in "${bugs[@]}"; do
  IFS='|' read -r name file expr <<<"$bug"
  cp -r "$orig/shared/src/." shared/src/
  if [ -n "$expr" ]; then
    sed -i "$expr" "$file"
    if cmp -s "$orig/$file" "$file"; then
      echo "$name: the change did not apply (the code moved?)" >&2
      exit 1
    fi
  fi
  cargo build --release -q -p logscope-tools --bin simulate
  target/release/simulate --seeds "$seeds" --start 0 2>&1 | awk -v name="$name" '
    /^FAILED/ { failed++; if (!first) { first = $3; line = $0 } }
    END {
      sub(":", "", first)
      if (failed) printf "%s: %d of the seeds failed; first caught at seed %s\n    %s\n", name, failed, first, substr(line, 1, 220)
      else printf "%s: no seed failed\n", name
    }'
done
