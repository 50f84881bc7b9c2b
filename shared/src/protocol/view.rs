//! The cluster as drawn from scratch: the snapshot a page (or `GET /api/cluster`) starts from, with
//! every node, a window of its log (or all of it) and the messages in flight. Owns the snapshot's
//! JSON shape; reads nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::raft::{Message, MessageKind};
use crate::storage::StorageFailureKind;
use crate::types::{Entry, EntryData, LogIndex, LogModel, NodeId, Role, Term};

/// Entries of each node's log a windowed snapshot carries (the newest ones): far more than a page
/// draws at once, and small enough that a snapshot's size does not grow with the log.
pub const LOG_WINDOW: u64 = 200;

/// The most entries one `GET /api/nodes/{id}/log` page returns.
pub const LOG_PAGE_MAX: u64 = 1_000;

/// Identifies one message in flight; assigned by the simulator when the message is sent.
pub type MessageId = u64;

/// A message as it travels through the simulated network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// Unique id.
    pub id: MessageId,
    /// "RequestVote", "AppendEntries", … (same as `message.body.kind()`).
    pub kind: MessageKind,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Virtual time it was sent (ms).
    pub sent_at_ms: u64,
    /// Virtual time it will arrive (ms).
    pub deliver_at_ms: u64,
    /// The message itself.
    pub message: Message,
}

/// Network state as shown and as set by people.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkView {
    /// Groups that can talk among themselves only; empty means no partition.
    pub partitions: Vec<Vec<NodeId>>,
    /// Directed links that are cut: `[from, to]`.
    pub cut_links: Vec<[NodeId; 2]>,
    /// Probability that any message is lost.
    pub loss_probability: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_probability: f64,
    /// Minimum one-way latency (ms).
    pub latency_ms_min: u64,
    /// Maximum one-way latency (ms).
    pub latency_ms_max: u64,
}

/// One log entry as listed in the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryView {
    /// Index.
    pub index: LogIndex,
    /// Term.
    pub term: Term,
    /// "add 5", "value = 5" or "no-op": how the entry is drawn.
    pub command: String,
    /// The entry itself, typed (so nobody parses `command` back).
    pub data: EntryData,
}

impl From<&Entry> for LogEntryView {
    fn from(e: &Entry) -> Self {
        LogEntryView {
            index: e.index,
            term: e.term,
            command: e.data.describe(),
            data: e.data.clone(),
        }
    }
}

/// A leader's bookkeeping for one follower.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerProgress {
    /// Next entry to send.
    pub next_index: LogIndex,
    /// Highest entry known replicated there.
    pub match_index: LogIndex,
}

/// One node in the snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// 1..=n.
    pub id: NodeId,
    /// False while crashed.
    pub up: bool,
    /// Role (a crashed node reports `follower`).
    pub role: Role,
    /// Persistent.
    pub current_term: Term,
    /// Persistent.
    pub voted_for: Option<NodeId>,
    /// Volatile.
    pub commit_index: LogIndex,
    /// Volatile.
    pub last_applied: LogIndex,
    /// The state machine's register.
    pub value: i64,
    /// The log (as in memory when up; as on disk when down): all of it in a full snapshot, the
    /// newest entries from `log_first_index` on in a windowed one.
    pub log: Vec<LogEntryView>,
    /// Index of `log[0]` (1 when the whole log is there; also 1 for an empty log).
    #[serde(default = "first_index")]
    pub log_first_index: LogIndex,
    /// Entries in the node's whole log, i.e. its last index (logs start at 1; nothing is
    /// compacted). Older entries than the window are fetched with `GET /api/nodes/{id}/log`.
    #[serde(default)]
    pub log_len: LogIndex,
    /// Last index durable on disk.
    pub synced_index: LogIndex,
    /// Leader this node believes in.
    pub leader_id: Option<NodeId>,
    /// When the election timer fires (virtual ms); `None` for leaders and crashed nodes.
    pub election_deadline_ms: Option<u64>,
    /// Leader only: per-follower progress, keyed by follower id.
    #[serde(deserialize_with = "node_keyed_map")]
    pub progress: BTreeMap<NodeId, PeerProgress>,
    /// Candidate only: votes granted so far.
    pub votes: Vec<NodeId>,
    /// Present while the node is down because its storage failed: why. Its term, vote and log are
    /// then the last it had (in memory), since its files could not be read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_failure: Option<StorageFailureView>,
}

impl NodeView {
    /// `log_first_index` when a snapshot leaves it out (`#[serde(default = "first_index")]`):
    /// the whole log is there, from index 1. Public for the page's reader.
    pub const LOG_FIRST_INDEX_DEFAULT: LogIndex = LogIndex(1);

    /// The node's last log index, whether `log` is a window or the whole log.
    pub fn last_index(&self) -> LogIndex {
        let window_end = (self.log_first_index.max(LogIndex(1)) - 1) + self.log.len() as u64;
        self.log_len.max(window_end)
    }
}

/// Why a node's storage failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageFailureView {
    /// `io`, `corrupt` or `not_contiguous` (as in the `storage_failed` event); `lost_files` when
    /// the backend refused to reopen a node whose files were deleted.
    pub kind: String,
    /// The error, in a sentence.
    pub error: String,
}

impl StorageFailureView {
    /// A failure the simulator saw.
    pub fn new(kind: StorageFailureKind, error: impl Into<String>) -> Self {
        // The same words as the kind's JSON in a `storage_failed` event.
        let kind = match kind {
            StorageFailureKind::NotContiguous => "not_contiguous",
            StorageFailureKind::Io => "io",
            StorageFailureKind::Corrupt => "corrupt",
        };
        StorageFailureView {
            kind: kind.to_string(),
            error: error.into(),
        }
    }
}

fn first_index() -> LogIndex {
    NodeView::LOG_FIRST_INDEX_DEFAULT
}

/// Everything needed to draw the cluster from scratch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    /// Virtual time (ms).
    pub time_ms: u64,
    /// Sequence number of the last event included.
    pub seq: u64,
    /// The run's seed.
    pub seed: u64,
    /// Log model.
    pub log_model: LogModel,
    /// Virtual ms per wall ms (0 means as fast as possible).
    pub speed: f64,
    /// Paused?
    pub paused: bool,
    /// Timings in force.
    pub timing: Timing,
    /// Network.
    pub network: NetworkView,
    /// Nodes, by id.
    pub nodes: Vec<NodeView>,
    /// Messages in flight.
    pub messages: Vec<InFlight>,
    /// In a windowed snapshot (the default of `GET /api/cluster` and the WebSocket), the most
    /// entries each node's `log` holds ([`LOG_WINDOW`]); absent when every log is whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_window: Option<u64>,
    /// Settings that are allowed but will not behave as people expect, one sentence each (e.g.
    /// election timeouts too close together to ever settle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The live safety checker's verdict (the server fills it; absent elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<super::SafetyView>,
}

/// Raft and disk timings (all virtual ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Election timeouts are drawn from `[min, max]`.
    pub election_timeout_ms_min: u64,
    /// See `election_timeout_ms_min`.
    pub election_timeout_ms_max: u64,
    /// How often a leader sends AppendEntries when idle.
    pub heartbeat_interval_ms: u64,
    /// Time an fsync takes.
    pub fsync_ms: u64,
    /// Max entries per AppendEntries.
    pub max_entries_per_append: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            election_timeout_ms_min: 150,
            election_timeout_ms_max: 300,
            heartbeat_interval_ms: 50,
            fsync_ms: 2,
            max_entries_per_append: 8,
        }
    }
}

/// JSON object keys are strings (`{"2": …}`). serde_json turns them back into numbers when it
/// reads a map directly, but not inside an internally tagged enum such as [`ServerMessage`], which
/// buffers the object first; so read the keys as strings and parse them here.
fn node_keyed_map<'de, D, V>(deserializer: D) -> Result<BTreeMap<NodeId, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    let raw = BTreeMap::<String, V>::deserialize(deserializer)?;
    let mut map = BTreeMap::new();
    for (k, v) in raw {
        let id = k
            .parse::<NodeId>()
            .map_err(|_| serde::de::Error::custom(format!("{k:?} is not a node id")))?;
        // Inserted, not collected: no sort compiled for it (crate::tree).
        map.insert(id, v);
    }
    Ok(map)
}
