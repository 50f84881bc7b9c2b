//! The wire protocol between backend and browsers (and the HTTP API): observable events, the
//! cluster snapshot, client commands and server messages. Plain serde data shared by both sides;
//! owns the JSON field names, which are a contract for outside scripts — add fields, never rename.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::command::Command;
pub use crate::raft::{
    AppendEntries, AppendEntriesResponse, ClientRequest as ForwardedRequest, Message, MessageBody,
    MessageKind, RaftEvent, RejectKind, RequestVote, RequestVoteResponse,
};
pub use crate::storage::StorageFailureKind;
use crate::types::{ClientSerial, Entry, EntryData, LogIndex, LogModel, NodeId, Role, Term};

/// Bumped whenever a message changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;

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

/// Something that happened, as the UI narrates it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A message left its sender.
    MessageSent {
        /// The message and its timing.
        message: InFlight,
    },
    /// A message arrived and was handed to its receiver.
    MessageDelivered {
        /// Which message.
        id: MessageId,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
    },
    /// A message was lost.
    MessageDropped {
        /// Which message.
        id: MessageId,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Why.
        reason: DropReason,
    },
    /// A node's election timer fired.
    ElectionTimeout {
        /// The node.
        node: NodeId,
        /// The term it was in.
        term: Term,
    },
    /// A node's role or term changed.
    RoleChanged {
        /// The node.
        node: NodeId,
        /// New role.
        role: Role,
        /// Its `current_term` now.
        term: Term,
        /// Its leader, if known.
        leader_id: Option<NodeId>,
    },
    /// A node granted its vote.
    VoteGranted {
        /// The voter.
        voter: NodeId,
        /// Who got the vote.
        candidate: NodeId,
        /// In which term.
        term: Term,
    },
    /// A candidate counted a vote reply.
    VoteReceived {
        /// The candidate.
        node: NodeId,
        /// Who answered.
        from: NodeId,
        /// Whether the vote was granted.
        granted: bool,
        /// Votes granted so far, the candidate's own included.
        votes: Vec<NodeId>,
    },
    /// A node's election timer was (re)armed.
    TimerReset {
        /// The node.
        node: NodeId,
        /// When it fires (virtual ms).
        election_deadline_ms: u64,
    },
    /// Entries were added to a node's log (in memory; not yet synced).
    EntriesAppended {
        /// The node.
        node: NodeId,
        /// The new entries, in order.
        entries: Vec<Entry>,
    },
    /// A node removed a conflicting suffix of its log (§5.3).
    EntriesTruncated {
        /// The node.
        node: NodeId,
        /// First removed index.
        from_index: LogIndex,
    },
    /// A node's log writes reached stable storage (fsync returned).
    EntriesPersisted {
        /// The node.
        node: NodeId,
        /// Last index now durable.
        synced_index: LogIndex,
    },
    /// A node learned that entries are committed.
    CommitAdvanced {
        /// The node.
        node: NodeId,
        /// New `commit_index`.
        commit_index: LogIndex,
    },
    /// A node's state machine executed an entry.
    EntryApplied {
        /// The node.
        node: NodeId,
        /// The entry's index (now `last_applied`).
        index: LogIndex,
        /// The register after it.
        value: i64,
    },
    /// A committed entry repeats a request its state machine executed before (same client and
    /// serial, §8), so it was not executed again.
    DuplicateIgnored {
        /// The node.
        node: NodeId,
        /// The entry's index.
        index: LogIndex,
        /// Whose request it was.
        client: ClientSerial,
    },
    /// The leader's view of a follower changed (`next_index`/`match_index`).
    ProgressUpdated {
        /// The leader.
        leader: NodeId,
        /// The follower.
        peer: NodeId,
        /// Next entry to send.
        next_index: LogIndex,
        /// Highest entry known replicated.
        match_index: LogIndex,
    },
    /// A client request reached a node.
    ClientRequest {
        /// The node it was sent to.
        node: NodeId,
        /// The request, as text on the wire ("add 5").
        #[serde(with = "crate::command::as_text")]
        command: Command,
        /// Request id (0 when none).
        request_id: u64,
        /// The client's id and serial, when it gave them (or the simulator assigned them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<ClientSerial>,
    },
    /// The leader appended a client request to its log.
    ProposalAccepted {
        /// The leader.
        node: NodeId,
        /// Request id.
        request_id: u64,
        /// Index it was given.
        index: LogIndex,
        /// Term it was given.
        term: Term,
        /// The log already held this request (same client and serial): nothing was appended,
        /// and `index`/`term` name the entry it already has.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    /// A node refused a client request.
    ProposalRejected {
        /// The node.
        node: NodeId,
        /// Request id.
        request_id: u64,
        /// Why, as a kind.
        kind: RejectKind,
        /// Why, in a sentence.
        reason: String,
        /// Leader to try instead, if known.
        leader_hint: Option<NodeId>,
    },
    /// A node crashed: volatile state gone, disk kept.
    NodeCrashed {
        /// The node.
        node: NodeId,
    },
    /// A node lost power: like a crash, and unsynced writes are gone too.
    PowerLost {
        /// The node.
        node: NodeId,
        /// Last index that survived.
        synced_index: LogIndex,
        /// How many written-but-unsynced entries were lost.
        lost_entries: u64,
    },
    /// A node restarted from its durable state.
    NodeRestarted {
        /// The node.
        node: NodeId,
        /// `current_term` recovered.
        term: Term,
        /// Log length recovered.
        last_index: LogIndex,
    },
    /// A node's storage failed; the node was stopped.
    StorageFailed {
        /// The node.
        node: NodeId,
        /// What kind of failure.
        kind: StorageFailureKind,
        /// The error, in a sentence.
        error: String,
    },
    /// Network settings or partitions changed.
    NetworkChanged {
        /// The new network state.
        network: NetworkView,
    },
    /// Cluster-level settings changed (speed, pause) — sent by the driver.
    ControlChanged {
        /// Paused or running.
        paused: bool,
        /// Virtual ms per wall ms (0 = as fast as possible).
        speed: f64,
    },
}

/// Why a message in flight was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The network lost it at random (`loss_probability`).
    Loss,
    /// The link was cut, or a partition separated sender and receiver.
    Cut,
    /// The receiver was down when it arrived.
    NodeDown,
    /// A person dropped it by hand.
    Dropped,
}

impl From<RaftEvent> for Event {
    /// The core's events travel under the same names and fields.
    fn from(e: RaftEvent) -> Self {
        match e {
            RaftEvent::ElectionTimeout { node, term } => Event::ElectionTimeout { node, term },
            RaftEvent::RoleChanged {
                node,
                role,
                term,
                leader_id,
            } => Event::RoleChanged {
                node,
                role,
                term,
                leader_id,
            },
            RaftEvent::VoteGranted {
                voter,
                candidate,
                term,
            } => Event::VoteGranted {
                voter,
                candidate,
                term,
            },
            RaftEvent::VoteReceived {
                node,
                from,
                granted,
                votes,
            } => Event::VoteReceived {
                node,
                from,
                granted,
                votes,
            },
            RaftEvent::TimerReset {
                node,
                election_deadline_ms,
            } => Event::TimerReset {
                node,
                election_deadline_ms,
            },
            RaftEvent::EntriesAppended { node, entries } => {
                Event::EntriesAppended { node, entries }
            }
            RaftEvent::EntriesTruncated { node, from_index } => {
                Event::EntriesTruncated { node, from_index }
            }
            RaftEvent::EntriesPersisted { node, synced_index } => {
                Event::EntriesPersisted { node, synced_index }
            }
            RaftEvent::CommitAdvanced { node, commit_index } => {
                Event::CommitAdvanced { node, commit_index }
            }
            RaftEvent::EntryApplied { node, index, value } => {
                Event::EntryApplied { node, index, value }
            }
            RaftEvent::DuplicateIgnored {
                node,
                index,
                client,
            } => Event::DuplicateIgnored {
                node,
                index,
                client,
            },
            RaftEvent::ProgressUpdated {
                leader,
                peer,
                next_index,
                match_index,
            } => Event::ProgressUpdated {
                leader,
                peer,
                next_index,
                match_index,
            },
            RaftEvent::ProposalAccepted {
                node,
                request_id,
                index,
                term,
                duplicate,
            } => Event::ProposalAccepted {
                node,
                request_id,
                index,
                term,
                duplicate,
            },
            RaftEvent::ProposalRejected {
                node,
                request_id,
                kind,
                reason,
                leader_hint,
            } => Event::ProposalRejected {
                node,
                request_id,
                kind,
                reason,
                leader_hint,
            },
        }
    }
}

/// An event with its place in the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimEvent {
    /// Sequence number, strictly increasing from 1 within a run.
    pub seq: u64,
    /// Virtual time (ms).
    pub time_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
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
    /// The log (as in memory when up; as on disk when down).
    pub log: Vec<LogEntryView>,
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
    /// Settings that are allowed but will not behave as people expect, one sentence each (e.g.
    /// election timeouts too close together to ever settle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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

/// A command from a person or script (WebSocket and `POST /api/commands`), tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientCommand {
    /// Append a client request ("add 5"), optionally to a chosen node.
    Append {
        /// The request text.
        command: String,
        /// Node to send it to (default: the leader, or any live node in *command* mode).
        #[serde(default)]
        node: Option<NodeId>,
    },
    /// Crash a node (volatile state lost).
    Crash {
        /// Node.
        node: NodeId,
    },
    /// Restart a crashed node from its disk.
    Restart {
        /// Node.
        node: NodeId,
    },
    /// Cut a node's power (unsynced writes lost).
    PowerLoss {
        /// Node.
        node: NodeId,
    },
    /// Make a node's election timer fire now.
    Timeout {
        /// Node.
        node: NodeId,
    },
    /// Split the cluster into groups; nodes not listed form one more group.
    Partition {
        /// Groups of node ids.
        groups: Vec<Vec<NodeId>>,
    },
    /// Cut the directed link `from → to`.
    Cut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Restore the directed link `from → to`.
    Uncut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Cut every link to and from a node.
    Isolate {
        /// Node.
        node: NodeId,
    },
    /// Remove all partitions and cuts.
    Heal,
    /// Change loss, duplication or latency (fields left out stay as they are).
    Network {
        /// 0..=1.
        #[serde(default)]
        loss_probability: Option<f64>,
        /// 0..=1.
        #[serde(default)]
        duplicate_probability: Option<f64>,
        /// Minimum one-way latency.
        #[serde(default)]
        latency_ms_min: Option<u64>,
        /// Maximum one-way latency.
        #[serde(default)]
        latency_ms_max: Option<u64>,
    },
    /// Lose one message in flight.
    DropMessage {
        /// Its id.
        id: MessageId,
    },
    /// Stop virtual time.
    Pause,
    /// Let virtual time run.
    Resume,
    /// Advance to the next event (pauses first).
    Step,
    /// Set the speed: virtual ms per wall ms (1/1000 ..= 1), or 0 for as fast as possible.
    Speed {
        /// The factor.
        speed: f64,
    },
    /// Start a new cluster (fields left out keep their current values).
    Reset {
        /// 1..=9.
        #[serde(default)]
        nodes: Option<u64>,
        /// Seed.
        #[serde(default)]
        seed: Option<u64>,
        /// "command" or "state".
        #[serde(default)]
        log_model: Option<LogModel>,
        /// Timings.
        #[serde(default)]
        election_timeout_ms_min: Option<u64>,
        /// Timings.
        #[serde(default)]
        election_timeout_ms_max: Option<u64>,
        /// Timings.
        #[serde(default)]
        heartbeat_interval_ms: Option<u64>,
    },
}

/// A command on the WebSocket: a client-chosen request id plus the command's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// Echoed in the reply.
    pub request_id: u64,
    /// The command (its `type` and fields sit beside `request_id` in the JSON object).
    #[serde(flatten)]
    pub command: ClientCommand,
}

/// What a successful command returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct CommandOk {
    /// `append`: index given to the entry (absent when forwarded and not yet accepted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<LogIndex>,
    /// `append`: term given to the entry.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub term: Option<Term>,
    /// `append`: the node that appended it (the leader).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub leader: Option<NodeId>,
    /// `append?wait=commit`: true once committed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub committed: Option<bool>,
    /// Human-readable summary.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

/// A message from server to browser, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection.
    Hello {
        /// [`PROTOCOL_VERSION`].
        protocol_version: u32,
        /// Current state.
        snapshot: ClusterSnapshot,
    },
    /// A fresh full state (after a reset, or when the client fell behind).
    Snapshot {
        /// Current state.
        snapshot: ClusterSnapshot,
    },
    /// Events, in order.
    Events {
        /// The batch.
        events: Vec<SimEvent>,
    },
    /// The driver's clock, a few times a second, so viewers can animate between events.
    Clock {
        /// Virtual time now (ms).
        time_ms: u64,
        /// Paused?
        paused: bool,
        /// Virtual ms per wall ms (0 = as fast as possible).
        speed: f64,
    },
    /// Answer to one client request.
    Reply {
        /// The request's id.
        request_id: u64,
        /// True on success.
        ok: bool,
        /// Success details.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        result: Option<CommandOk>,
        /// What went wrong.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        error: Option<String>,
    },
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
    raw.into_iter()
        .map(|(k, v)| {
            k.parse::<NodeId>()
                .map(|id| (id, v))
                .map_err(|_| serde::de::Error::custom(format!("{k:?} is not a node id")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_commands_use_the_documented_json() {
        let c: ClientCommand =
            serde_json::from_str(r#"{"type":"append","command":"add 5"}"#).unwrap();
        assert_eq!(
            c,
            ClientCommand::Append {
                command: "add 5".into(),
                node: None
            }
        );
        let c: ClientCommand = serde_json::from_str(r#"{"type":"crash","node":1}"#).unwrap();
        assert_eq!(c, ClientCommand::Crash { node: 1 });
        let c: ClientCommand = serde_json::from_str(r#"{"type":"power_loss","node":2}"#).unwrap();
        assert_eq!(c, ClientCommand::PowerLoss { node: 2 });
        let c: ClientCommand =
            serde_json::from_str(r#"{"type":"partition","groups":[[1,2],[3,4,5]]}"#).unwrap();
        assert_eq!(
            c,
            ClientCommand::Partition {
                groups: vec![vec![1, 2], vec![3, 4, 5]]
            }
        );
        let r: ClientRequest =
            serde_json::from_str(r#"{"request_id":7,"type":"drop_message","id":3}"#).unwrap();
        assert_eq!(r.request_id, 7);
        assert_eq!(r.command, ClientCommand::DropMessage { id: 3 });
        assert!(serde_json::from_str::<ClientCommand>(r#"{"type":"crash"}"#).is_err());
        assert!(serde_json::from_str::<ClientCommand>(r#"{"type":"explode"}"#).is_err());
    }

    #[test]
    fn a_snapshot_with_progress_round_trips_inside_a_server_message() {
        let mut progress = BTreeMap::new();
        progress.insert(
            2,
            PeerProgress {
                next_index: 3,
                match_index: 2,
            },
        );
        let node = NodeView {
            id: 1,
            up: true,
            role: Role::Leader,
            current_term: 1,
            voted_for: Some(1),
            commit_index: 2,
            last_applied: 2,
            value: 0,
            log: Vec::new(),
            synced_index: 2,
            leader_id: Some(1),
            election_deadline_ms: None,
            progress,
            votes: Vec::new(),
        };
        let snapshot = ClusterSnapshot {
            time_ms: 1,
            seq: 1,
            seed: 1,
            log_model: LogModel::Command,
            speed: 1.0,
            paused: false,
            timing: Timing::default(),
            network: NetworkView {
                partitions: Vec::new(),
                cut_links: Vec::new(),
                loss_probability: 0.0,
                duplicate_probability: 0.0,
                latency_ms_min: 1,
                latency_ms_max: 2,
            },
            nodes: vec![node],
            messages: Vec::new(),
            warnings: Vec::new(),
        };
        let m = ServerMessage::Hello {
            protocol_version: PROTOCOL_VERSION,
            snapshot: snapshot.clone(),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""progress":{"2":"#), "{json}");
        let back: ServerMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let direct: ClusterSnapshot =
            serde_json::from_str(&serde_json::to_string(&snapshot).unwrap()).unwrap();
        assert_eq!(direct, snapshot);
    }

    #[test]
    fn events_flatten_their_type_beside_seq_and_time() {
        let e = SimEvent {
            seq: 3,
            time_ms: 10,
            event: Event::CommitAdvanced {
                node: 1,
                commit_index: 4,
            },
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "commit_advanced");
        assert_eq!(json["seq"], 3);
        assert_eq!(json["commit_index"], 4);
        let back: SimEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
