//! Reading the simulation from outside: nodes, logs, the leader, messages in flight, and the
//! snapshot and network view drawn by the UI. Owns the translation into protocol views; must not
//! change the run (everything here takes `&self`).

use std::collections::BTreeMap;

use crate::protocol::{
    ClusterSnapshot, InFlight, LogEntryView, NetworkView, NodeView, PeerProgress,
    StorageFailureView,
};
use crate::raft::RaftNode;
use crate::storage::{Storage, StorageFailureKind};
use crate::tree::IntoTree;
use crate::types::{Entry, LogIndex, NodeId, Role, Term};

use super::Sim;

impl<S: Storage> Sim<S> {
    /// A running node's Raft state (`None` while crashed or for an unknown id).
    pub fn node(&self, id: NodeId) -> Option<&RaftNode> {
        self.nodes.get(id.0.wrapping_sub(1) as usize)?.raft.as_ref()
    }
    /// A node's storage.
    pub fn storage(&self, id: NodeId) -> Option<&S> {
        self.nodes
            .get(id.0.wrapping_sub(1) as usize)
            .map(|n| &n.storage)
    }
    /// True while the node runs.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }
    /// About how many bytes the nodes' logs take in memory: each log three times (the running
    /// node's own, or a crashed node's recovered copy; its storage's written and synced
    /// copies), at the size of an [`Entry`], which holds nothing on the heap. An estimate, for
    /// bounding the copies of a whole cluster that `trace::Timeline` keeps as checkpoints.
    pub fn log_bytes_estimate(&self) -> usize {
        let entries: u64 = self.nodes.iter().map(|n| n.storage.last_index().0).sum();
        (entries as usize)
            .saturating_mul(3)
            .saturating_mul(std::mem::size_of::<Entry>())
    }
    /// The node's log: in memory while up, as recovered from disk while down.
    pub fn node_log(&self, id: NodeId) -> Vec<Entry> {
        let Some(n) = self.nodes.get(id.0.wrapping_sub(1) as usize) else {
            return Vec::new();
        };
        match (&n.raft, &n.down_state) {
            (Some(raft), _) => raft.log().entries().to_vec(),
            (None, Some((_, log))) => log.clone(),
            (None, None) => Vec::new(),
        }
    }
    /// The node's entries with indexes in `from..=to` (clamped to its log), without copying the
    /// rest, and its last index; `None` for an unknown id.
    pub fn node_log_range(
        &self,
        id: NodeId,
        from: LogIndex,
        to: LogIndex,
    ) -> Option<(Vec<Entry>, LogIndex)> {
        let entries = self.log_of(id)?;
        let last = LogIndex::of_len(entries.len());
        let (from, to) = (from.max(LogIndex(1)), to.min(last));
        let range = if from > to {
            Vec::new()
        } else {
            entries[from.slot()..=to.slot()].to_vec()
        };
        Some((range, last))
    }

    /// The log as the snapshot shows it (index `i` at position `i - 1`), borrowed.
    fn log_of(&self, id: NodeId) -> Option<&[Entry]> {
        let n = self.nodes.get(id.0.wrapping_sub(1) as usize)?;
        Some(match (&n.raft, &n.down_state) {
            (Some(raft), _) => raft.log().entries(),
            (None, Some((_, log))) => log,
            (None, None) => &[],
        })
    }

    /// Why a node is down, if its storage failed (cleared when it starts again).
    pub fn storage_failure(&self, id: NodeId) -> Option<(StorageFailureKind, &str)> {
        let n = self.nodes.get(id.0.wrapping_sub(1) as usize)?;
        n.failure.as_ref().map(|(k, e)| (*k, e.as_str()))
    }

    /// A node's term and last log index: running, as recovered from disk while down, or (storage
    /// failed) as it last had them.
    pub fn term_and_last_index(&self, id: NodeId) -> Option<(Term, LogIndex)> {
        let n = self.nodes.get(id.0.wrapping_sub(1) as usize)?;
        let term = match (&n.raft, &n.down_state) {
            (Some(raft), _) => raft.current_term(),
            (None, Some((hs, _))) => hs.current_term,
            (None, None) => Term(0),
        };
        Some((
            term,
            self.log_of(id)
                .map_or(LogIndex(0), |l| LogIndex::of_len(l.len())),
        ))
    }

    /// The leader with the highest term among running nodes, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter_map(|n| n.raft.as_ref())
            .filter(|r| r.role() == Role::Leader)
            .max_by_key(|r| r.current_term())
            .map(|r| r.id())
    }
    /// A running candidate and its term: the one with the highest term (several may stand at
    /// once).
    pub fn candidate(&self) -> Option<(NodeId, Term)> {
        self.nodes
            .iter()
            .filter_map(|n| n.raft.as_ref())
            .filter(|r| r.role() == Role::Candidate)
            .max_by_key(|r| r.current_term())
            .map(|r| (r.id(), r.current_term()))
    }
    /// Messages in flight, by id.
    pub fn messages_in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.in_flight.values().map(|(m, _)| m)
    }

    /// The network as shown to people.
    pub fn network_view(&self) -> NetworkView {
        NetworkView {
            partitions: self.partitions.clone(),
            cut_links: self.cut_links.iter().map(|(a, b)| [*a, *b]).collect(),
            loss_probability: self.config.network.loss_probability,
            duplicate_probability: self.config.network.duplicate_probability,
            latency_ms_min: self.config.network.latency_ms_min,
            latency_ms_max: self.config.network.latency_ms_max,
        }
    }

    /// Everything needed to draw the cluster, every log whole (speed and paused are the driver's
    /// to fill in). Its size grows with the logs: the live server sends [`Sim::snapshot_window`].
    pub fn snapshot(&self) -> ClusterSnapshot {
        self.snapshot_with(None)
    }

    /// Like [`Sim::snapshot`], with only the newest `window` entries of each log (see
    /// `NodeView::log_first_index` and `log_len`): its size and the time to build it do not
    /// depend on the logs' length, only the window is copied.
    pub fn snapshot_window(&self, window: u64) -> ClusterSnapshot {
        self.snapshot_with(Some(window))
    }

    fn snapshot_with(&self, window: Option<u64>) -> ClusterSnapshot {
        let nodes = self
            .nodes
            .iter()
            .map(|n| {
                let log = self.log_of(n.id).unwrap_or(&[]);
                let len = LogIndex::of_len(log.len());
                let first = window.map_or(LogIndex(1), |w| len.saturating_sub(w) + 1);
                let shown = &log[first.slot()..];
                let mut view = match &n.raft {
                    Some(r) => NodeView {
                        id: n.id,
                        up: true,
                        role: r.role(),
                        current_term: r.current_term(),
                        voted_for: r.voted_for(),
                        commit_index: r.commit_index(),
                        last_applied: r.last_applied(),
                        value: r.value(),
                        log: Vec::new(),
                        log_first_index: first,
                        log_len: len,
                        synced_index: n.storage.synced_index(),
                        leader_id: r.leader_id(),
                        election_deadline_ms: (r.role() != Role::Leader)
                            .then(|| r.election_deadline_ms()),
                        progress: r
                            .progress()
                            .iter()
                            .map(|(id, p)| {
                                (
                                    *id,
                                    PeerProgress {
                                        next_index: p.next_index,
                                        match_index: p.match_index,
                                    },
                                )
                            })
                            .into_map(),
                        votes: r.votes_granted(),
                        storage_failure: None,
                    },
                    None => {
                        let hs = n.down_state.as_ref().map(|(hs, _)| *hs).unwrap_or_default();
                        NodeView {
                            id: n.id,
                            up: false,
                            role: Role::Follower,
                            current_term: hs.current_term,
                            voted_for: hs.voted_for,
                            commit_index: LogIndex(0),
                            last_applied: LogIndex(0),
                            value: 0,
                            log: Vec::new(),
                            log_first_index: first,
                            log_len: len,
                            synced_index: n.storage.synced_index(),
                            leader_id: None,
                            election_deadline_ms: None,
                            progress: BTreeMap::new(),
                            votes: Vec::new(),
                            storage_failure: n
                                .failure
                                .as_ref()
                                .map(|(kind, error)| StorageFailureView::new(*kind, error)),
                        }
                    }
                };
                view.log = shown.iter().map(LogEntryView::from).collect();
                view
            })
            .collect();
        ClusterSnapshot {
            time_ms: self.now_ms,
            seq: self.event_seq,
            seed: self.config.seed,
            log_model: self.config.log_model,
            speed: 0.0,
            paused: false,
            timing: self.config.timing,
            network: self.network_view(),
            nodes,
            messages: self.messages_in_flight().cloned().collect(),
            warnings: self.config.warnings(),
            safety: None,
            log_window: window,
        }
    }
}
