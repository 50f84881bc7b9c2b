//! What the driver answers about the run without changing it: the snapshot (a window of each log,
//! so its size does not grow with the logs), the full-log form for scripts (bounded), pages of
//! one node's log by index range, and the health summary that names the nodes that are down and
//! why. Owns those answers' shapes; must not change the run (everything here reads the simulator).

use std::sync::Arc;

use serde::Serialize;
use shared::protocol::{LogEntryView, StorageFailureView, LOG_PAGE_MAX, LOG_WINDOW};
use shared::{LogIndex, NodeId, Term};

use super::handle::Status;
use super::{CommandError, DataDirError, Driver, SnapshotReply};

/// The full-log form of the snapshot is refused above this many entries in one node's log (its
/// JSON would be tens of megabytes, built on the simulator's thread): page through the log
/// instead.
pub const FULL_SNAPSHOT_ENTRIES_MAX: u64 = 100_000;

pub use shared::trace::answers::LogPage;

/// A node that is down because its storage failed (or its files were refused), as health
/// reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailedNode {
    /// The node.
    pub node: NodeId,
    /// `io`, `corrupt`, `not_contiguous` or `lost_files`.
    pub kind: String,
    /// The error, in a sentence.
    pub error: String,
    /// The last term it is known to have had.
    pub current_term: Term,
    /// The last index of the last log it is known to have had.
    pub last_index: LogIndex,
}

impl DataDirError {
    /// The kind a failed reopen of a node's files is reported under.
    pub(super) fn failure_kind(&self) -> &'static str {
        match self {
            DataDirError::LostFiles { .. } => "lost_files",
            _ => "io",
        }
    }
}

impl Driver {
    /// The snapshot viewers start from: [`LOG_WINDOW`] entries of each log, cached per state.
    pub(super) fn windowed_snapshot(&self) -> shared::protocol::ClusterSnapshot {
        let mut snapshot = self.sim.snapshot_window(LOG_WINDOW);
        self.mark_failures(&mut snapshot);
        snapshot
    }

    /// Every entry of every log (`GET /api/cluster?full=true`), refused when a log is longer
    /// than [`FULL_SNAPSHOT_ENTRIES_MAX`].
    pub(super) fn full_snapshot(&self) -> Result<Arc<SnapshotReply>, CommandError> {
        let longest = self
            .sim
            .node_ids()
            .filter_map(|id| self.sim.term_and_last_index(id))
            .map(|(_, last)| last)
            .max()
            .unwrap_or(LogIndex(0));
        if longest > FULL_SNAPSHOT_ENTRIES_MAX {
            return Err(CommandError::invalid(format!(
                "full=true is limited to logs of {FULL_SNAPSHOT_ENTRIES_MAX} entries and one log \
                 has {longest}: page through it with GET /api/nodes/{{id}}/log?from=&to= (at most \
                 {LOG_PAGE_MAX} entries per request)"
            )));
        }
        let mut snapshot = self.sim.snapshot();
        self.mark_failures(&mut snapshot);
        snapshot.safety = Some(self.safety.view(&self.sim));
        snapshot.speed = self.speed;
        snapshot.paused = self.paused;
        Ok(Arc::new(SnapshotReply::new(self.run, snapshot)))
    }

    /// Nodes the simulator never saw fail because their files could not even be reopened.
    fn mark_failures(&self, snapshot: &mut shared::protocol::ClusterSnapshot) {
        for n in snapshot.nodes.iter_mut().filter(|n| !n.up) {
            if n.storage_failure.is_none() {
                n.storage_failure = self.open_failures.get(&n.id).cloned();
            }
        }
    }

    /// Entries `from..=to` of `node`'s log. The range is checked by the caller's parser too;
    /// this is the authority on the node and on the log's length.
    pub(super) fn log_page(
        &self,
        node: NodeId,
        from: LogIndex,
        to: LogIndex,
    ) -> Result<LogPage, CommandError> {
        if from == 0 || to < from || to.get() - from.get() >= LOG_PAGE_MAX {
            return Err(CommandError::invalid(format!(
                "bad range {from}..={to}: indexes start at 1, from <= to, and a page holds at \
                 most {LOG_PAGE_MAX} entries"
            )));
        }
        let (entries, log_len) = self.sim.node_log_range(node, from, to).ok_or_else(|| {
            CommandError::not_found(format!(
                "there is no node {node}: nodes are numbered 1 to {}",
                self.sim.config().nodes
            ))
        })?;
        Ok(LogPage {
            node,
            from,
            to,
            log_len,
            commit_index: self
                .sim
                .node(node)
                .map_or(LogIndex(0), |r| r.commit_index()),
            entries: entries.iter().map(LogEntryView::from).collect(),
        })
    }

    /// Every node that is down because its storage failed, with what it last had.
    fn failed_nodes(&self) -> Vec<FailedNode> {
        self.sim
            .node_ids()
            .filter(|id| !self.sim.is_up(*id))
            .filter_map(|id| {
                let failure = match self.sim.storage_failure(id) {
                    Some((kind, error)) => StorageFailureView::new(kind, error),
                    None => self.open_failures.get(&id)?.clone(),
                };
                let (current_term, last_index) = self.sim.term_and_last_index(id)?;
                Some(FailedNode {
                    node: id,
                    kind: failure.kind,
                    error: failure.error,
                    current_term,
                    last_index,
                })
            })
            .collect()
    }

    /// `GET /api/health`: the run in a few numbers, and the truth about what is down.
    pub(super) fn status(&self) -> Status {
        let nodes = self.sim.config().nodes;
        let nodes_down: Vec<NodeId> = self
            .sim
            .node_ids()
            .filter(|id| !self.sim.is_up(*id))
            .collect();
        let nodes_up = nodes - nodes_down.len() as u64;
        let majority = nodes / 2 + 1;
        let leader = self.sim.leader();
        let failed_nodes = self.failed_nodes();
        let summary = summary(nodes, nodes_up, majority, leader, &failed_nodes);
        Status {
            time_ms: self.sim.now_ms(),
            seq: self.sim.last_seq(),
            nodes,
            nodes_up,
            leader,
            speed: self.speed,
            paused: self.paused,
            waiting_requests: self.pending.len(),
            majority,
            nodes_down,
            failed_nodes,
            summary,
        }
    }
}

/// One sentence saying what is true of the cluster.
fn summary(
    nodes: u64,
    up: u64,
    majority: u64,
    leader: Option<NodeId>,
    failed: &[FailedNode],
) -> String {
    let failures: Vec<String> = failed
        .iter()
        .map(|f| format!("S{}'s storage failed ({}: {})", f.node, f.kind, f.error))
        .collect();
    let failures = if failures.is_empty() {
        String::new()
    } else {
        format!("; {}", failures.join("; "))
    };
    match (up, leader) {
        (0, _) => format!("every node is down{failures}"),
        (up, _) if up < majority => format!(
            "only {up} of {nodes} nodes run and a leader needs {majority}: no leader can be \
             elected{failures}"
        ),
        (up, Some(l)) if up == nodes => format!("all {nodes} nodes run; S{l} leads"),
        (up, Some(l)) => format!("{up} of {nodes} nodes run; S{l} leads{failures}"),
        (up, None) => {
            format!("{up} of {nodes} nodes run; no leader yet (an election can succeed){failures}")
        }
    }
}

impl Status {
    /// `ok` (every node runs), `degraded` (a majority runs), `no_quorum` (some run, too few to
    /// elect a leader) or `down` (no node runs).
    pub fn condition(&self) -> &'static str {
        if self.nodes_up == self.nodes {
            "ok"
        } else if self.nodes_up >= self.majority {
            "degraded"
        } else if self.nodes_up > 0 {
            "no_quorum"
        } else {
            "down"
        }
    }
}
