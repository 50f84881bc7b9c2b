//! One server as the page sees it: the snapshot's `NodeView`, kept up to date by events. Owns the
//! per-server facts and what a crash forgets; must not narrate or look at other servers.

use std::collections::BTreeMap;

use shared::protocol::{LogEntryView, NodeView, PeerProgress};
use shared::types::{LogIndex, NodeId, Role, Term};

/// One server as the page sees it (the snapshot's `NodeView`, kept up to date by events).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeState {
    /// 1..=n.
    pub id: NodeId,
    /// False while crashed (or stopped by a storage failure).
    pub up: bool,
    /// Role; a crashed node is drawn as crashed whatever this says.
    pub role: Role,
    /// Persistent.
    pub current_term: Term,
    /// Persistent.
    pub voted_for: Option<NodeId>,
    /// Volatile.
    pub commit_index: LogIndex,
    /// Volatile.
    pub last_applied: LogIndex,
    /// The register.
    pub value: i64,
    /// The part of the log the page holds: index `i` at position `i - log_first_index`. A
    /// snapshot brings the newest entries only; older ones are fetched when scrolled to.
    pub log: Vec<LogEntryView>,
    /// Index of `log[0]`; entries below it exist on the server but are not loaded yet.
    pub log_first_index: LogIndex,
    /// Last index durable on disk.
    pub synced_index: LogIndex,
    /// Leader this node believes in.
    pub leader_id: Option<NodeId>,
    /// When the election timer fires (virtual ms); `None` for leaders and crashed nodes.
    pub election_deadline_ms: Option<u64>,
    /// Leader only: per-follower progress.
    pub progress: BTreeMap<NodeId, PeerProgress>,
    /// Candidate only: votes granted so far (its own included).
    pub votes: Vec<NodeId>,
    /// Candidate only: peers that refused their vote this term.
    pub votes_refused: Vec<NodeId>,
    /// Set when the node's storage failed.
    pub storage_error: Option<String>,
    /// The last event was this node's election timeout (so the next `RoleChanged` narrates it).
    pub(super) timed_out: bool,
}

impl NodeState {
    /// The server as a snapshot describes it.
    pub(super) fn from_view(n: NodeView) -> NodeState {
        // A window that does not reach the log's end (an inconsistent snapshot) is dropped and
        // starts empty after the last index, so the indexes stay right.
        let last = n.last_index();
        let first = n.log_first_index.max(LogIndex(1));
        let (log, log_first_index) = if first - 1 + n.log.len() as u64 == last {
            (n.log, first)
        } else {
            (Vec::new(), last + 1)
        };
        NodeState {
            id: n.id,
            up: n.up,
            role: n.role,
            current_term: n.current_term,
            voted_for: n.voted_for,
            commit_index: n.commit_index,
            last_applied: n.last_applied,
            value: n.value,
            log,
            log_first_index,
            synced_index: n.synced_index,
            leader_id: n.leader_id,
            election_deadline_ms: n.election_deadline_ms,
            progress: n.progress,
            votes: n.votes,
            votes_refused: Vec::new(),
            storage_error: n.storage_failure.map(|f| f.error),
            timed_out: false,
        }
    }

    /// Index of the last entry (0 when empty).
    pub fn last_index(&self) -> LogIndex {
        self.log_first_index - 1 + self.log.len() as u64
    }

    /// The oldest entries not loaded yet, as an index range (empty when the whole log is here).
    pub fn missing_before(&self) -> std::ops::RangeInclusive<LogIndex> {
        LogIndex(1)..=self.log_first_index - 1
    }

    /// Term of the entry at `index`, if the log has one.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`.
    pub fn entry(&self, index: LogIndex) -> Option<&LogEntryView> {
        index
            .checked_sub(self.log_first_index)
            .and_then(|i| self.log.get(i as usize))
    }

    /// Keep the entries up to `last` (none when `last` is below the loaded part: what is left
    /// then lies before the window, unchanged and not loaded).
    pub(super) fn keep_up_to(&mut self, last: LogIndex) {
        match (last + 1).checked_sub(self.log_first_index) {
            Some(keep) => self.log.truncate(keep as usize),
            None => {
                self.log.clear();
                self.log_first_index = last + 1;
            }
        }
    }

    /// Put `e` at its index, dropping what followed; `false` (nothing done) when it would leave
    /// a gap after the last entry.
    pub(super) fn put(&mut self, e: LogEntryView) -> bool {
        if e.index == 0 || e.index > self.last_index() + 1 {
            return false;
        }
        self.keep_up_to(e.index - 1);
        self.log.push(e);
        true
    }

    /// Older entries fetched from the server: those just before the loaded part (they must end
    /// at `log_first_index - 1` with no gap) are put in front; anything else is ignored. Returns
    /// how many were added.
    pub(super) fn prepend(&mut self, older: &[LogEntryView]) -> usize {
        let before: Vec<&LogEntryView> = older
            .iter()
            .filter(|e| e.index >= 1 && e.index < self.log_first_index)
            .collect();
        let contiguous = before.windows(2).all(|w| w[1].index == w[0].index + 1);
        match before.last() {
            Some(last) if contiguous && last.index + 1 == self.log_first_index => {
                let first = before[0].index;
                let added = before.len();
                let mut log: Vec<LogEntryView> = before.into_iter().cloned().collect();
                log.append(&mut self.log);
                self.log = log;
                self.log_first_index = first;
                added
            }
            _ => 0,
        }
    }

    /// A crash keeps what is on disk (term, vote, log) and forgets everything volatile.
    pub(super) fn crash(&mut self) {
        self.up = false;
        self.role = Role::Follower;
        self.commit_index = LogIndex(0);
        self.last_applied = LogIndex(0);
        self.value = 0;
        self.leader_id = None;
        self.election_deadline_ms = None;
        self.progress.clear();
        self.votes.clear();
        self.votes_refused.clear();
        self.timed_out = false;
    }
}
