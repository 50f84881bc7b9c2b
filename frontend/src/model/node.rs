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
    /// The log, index `i` at position `i - 1`.
    pub log: Vec<LogEntryView>,
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
        NodeState {
            id: n.id,
            up: n.up,
            role: n.role,
            current_term: n.current_term,
            voted_for: n.voted_for,
            commit_index: n.commit_index,
            last_applied: n.last_applied,
            value: n.value,
            log: n.log,
            synced_index: n.synced_index,
            leader_id: n.leader_id,
            election_deadline_ms: n.election_deadline_ms,
            progress: n.progress,
            votes: n.votes,
            votes_refused: Vec::new(),
            storage_error: None,
            timed_out: false,
        }
    }

    /// Index of the last entry (0 when empty).
    pub fn last_index(&self) -> LogIndex {
        LogIndex::of_len(self.log.len())
    }

    /// Term of the entry at `index`, if the log has one.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`.
    pub fn entry(&self, index: LogIndex) -> Option<&LogEntryView> {
        index.checked_slot().and_then(|i| self.log.get(i))
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
