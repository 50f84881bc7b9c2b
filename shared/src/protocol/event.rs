//! What happened in a run, as the page narrates it: the core's events plus what only the
//! simulator sees (messages in flight, crashes, the network), each with its sequence number and
//! virtual time. Owns the event names and fields on the wire; builds nothing itself.

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::raft::{RaftEvent, RejectKind};
use crate::storage::StorageFailureKind;
use crate::types::{ClientSerial, Entry, LogIndex, NodeId, Role, Term};

use super::view::{InFlight, MessageId, NetworkView};

/// Something that happened, as the UI narrates it.
// Read by hand (event_read.rs): a derived reader costs the page's module far more.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

impl DropReason {
    /// Every reason's wire name, in the order of [`DropReason::ALL`] (the page's reader uses
    /// them; written by hand, so the page's tests hold them to what serde writes).
    pub const NAMES: &'static [&'static str] = &["loss", "cut", "node_down", "dropped"];
    /// Every reason.
    pub const ALL: &'static [DropReason] = &[
        DropReason::Loss,
        DropReason::Cut,
        DropReason::NodeDown,
        DropReason::Dropped,
    ];
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

/// An event with its place in the run (read by hand too: event_read.rs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimEvent {
    /// Sequence number, strictly increasing from 1 within a run.
    pub seq: u64,
    /// Virtual time (ms).
    pub time_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}
