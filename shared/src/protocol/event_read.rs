//! Reading [`Event`] and [`SimEvent`] from the wire. Owns the reader only: the names and fields
//! are [`Event`]'s own (event.rs), written by its derived `Serialize`.
//!
//! Why not a derived `Deserialize`: serde's derive for an internally tagged enum writes a whole
//! reader per variant (a map reader, a sequence reader, a field matcher), and `SimEvent`'s
//! `#[serde(flatten)]` adds a buffered reader on top; for 24 variants that was the largest part of
//! the page's wasm module after its own views (docs/bench-frontend.md). The page now reads events
//! with its own reader (shared/src/wire/events.rs); this one is what Rust programs reading the
//! stream (the server's tests, the engine's) use, and stays the smaller. Here every event is read
//! as one flat record holding every field any event has ([`Fields`], derived: one reader for
//! all), and the variant is then built from its `type`, with the derived reader's errors
//! ("missing field `node`", "unknown variant `…`, expected one of …"). Unknown fields are
//! ignored, as before; a field of another event must still have that field's type, so a field
//! name means one type in every event (docs/api.md says so for new events).

use serde::de::{value::StringDeserializer, Error};
use serde::{Deserialize, Deserializer};

use crate::command::Command;
use crate::raft::RejectKind;
use crate::storage::StorageFailureKind;
use crate::types::{ClientSerial, Entry, LogIndex, NodeId, Role, Term};

use super::event::{DropReason, Event, SimEvent};
use super::view::{InFlight, MessageId, NetworkView};

/// The `type` of an event: [`Event`]'s variants by their wire names ([`KIND_NAMES`]). A new event
/// must be added here too: [`kind_of`] (compiled with the tests) fails to compile until it is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    MessageSent,
    MessageDelivered,
    MessageDropped,
    ElectionTimeout,
    RoleChanged,
    VoteGranted,
    VoteReceived,
    TimerReset,
    EntriesAppended,
    EntriesTruncated,
    EntriesPersisted,
    CommitAdvanced,
    EntryApplied,
    DuplicateIgnored,
    ProgressUpdated,
    ClientRequest,
    ProposalAccepted,
    ProposalRejected,
    NodeCrashed,
    PowerLost,
    NodeRestarted,
    StorageFailed,
    NetworkChanged,
    ControlChanged,
}

/// Each [`Kind`]'s wire name, as `Event`'s `Serialize` writes it (`rename_all = "snake_case"`).
const KIND_NAMES: [&str; 24] = [
    "message_sent",
    "message_delivered",
    "message_dropped",
    "election_timeout",
    "role_changed",
    "vote_granted",
    "vote_received",
    "timer_reset",
    "entries_appended",
    "entries_truncated",
    "entries_persisted",
    "commit_advanced",
    "entry_applied",
    "duplicate_ignored",
    "progress_updated",
    "client_request",
    "proposal_accepted",
    "proposal_rejected",
    "node_crashed",
    "power_lost",
    "node_restarted",
    "storage_failed",
    "network_changed",
    "control_changed",
];
const KINDS: [Kind; 24] = [
    Kind::MessageSent,
    Kind::MessageDelivered,
    Kind::MessageDropped,
    Kind::ElectionTimeout,
    Kind::RoleChanged,
    Kind::VoteGranted,
    Kind::VoteReceived,
    Kind::TimerReset,
    Kind::EntriesAppended,
    Kind::EntriesTruncated,
    Kind::EntriesPersisted,
    Kind::CommitAdvanced,
    Kind::EntryApplied,
    Kind::DuplicateIgnored,
    Kind::ProgressUpdated,
    Kind::ClientRequest,
    Kind::ProposalAccepted,
    Kind::ProposalRejected,
    Kind::NodeCrashed,
    Kind::PowerLost,
    Kind::NodeRestarted,
    Kind::StorageFailed,
    Kind::NetworkChanged,
    Kind::ControlChanged,
];

impl Event {
    /// Every event's `type`, in the order of its variants (the page's reader uses them).
    pub const NAMES: &'static [&'static str] = &KIND_NAMES;
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::names::read(deserializer, &KIND_NAMES, &KINDS)
    }
}

/// The kind of an event: an exhaustive match, so that a new event cannot be forgotten here.
#[cfg(test)]
fn kind_of(event: &Event) -> Kind {
    match event {
        Event::MessageSent { .. } => Kind::MessageSent,
        Event::MessageDelivered { .. } => Kind::MessageDelivered,
        Event::MessageDropped { .. } => Kind::MessageDropped,
        Event::ElectionTimeout { .. } => Kind::ElectionTimeout,
        Event::RoleChanged { .. } => Kind::RoleChanged,
        Event::VoteGranted { .. } => Kind::VoteGranted,
        Event::VoteReceived { .. } => Kind::VoteReceived,
        Event::TimerReset { .. } => Kind::TimerReset,
        Event::EntriesAppended { .. } => Kind::EntriesAppended,
        Event::EntriesTruncated { .. } => Kind::EntriesTruncated,
        Event::EntriesPersisted { .. } => Kind::EntriesPersisted,
        Event::CommitAdvanced { .. } => Kind::CommitAdvanced,
        Event::EntryApplied { .. } => Kind::EntryApplied,
        Event::DuplicateIgnored { .. } => Kind::DuplicateIgnored,
        Event::ProgressUpdated { .. } => Kind::ProgressUpdated,
        Event::ClientRequest { .. } => Kind::ClientRequest,
        Event::ProposalAccepted { .. } => Kind::ProposalAccepted,
        Event::ProposalRejected { .. } => Kind::ProposalRejected,
        Event::NodeCrashed { .. } => Kind::NodeCrashed,
        Event::PowerLost { .. } => Kind::PowerLost,
        Event::NodeRestarted { .. } => Kind::NodeRestarted,
        Event::StorageFailed { .. } => Kind::StorageFailed,
        Event::NetworkChanged { .. } => Kind::NetworkChanged,
        Event::ControlChanged { .. } => Kind::ControlChanged,
    }
}

/// Every field of every event, each optional. Two fields change type with the event: `reason`
/// (a [`DropReason`] or a sentence) and `kind` (a [`RejectKind`] or a [`StorageFailureKind`]),
/// so they are read as text and then as the event's type.
#[derive(Deserialize)]
#[serde(expecting = "an event (a JSON object with its `type`)")]
struct Fields {
    #[serde(rename = "type")]
    kind_of_event: Kind,
    seq: Option<u64>,
    time_ms: Option<u64>,
    message: Option<InFlight>,
    id: Option<MessageId>,
    from: Option<NodeId>,
    to: Option<NodeId>,
    reason: Option<String>,
    node: Option<NodeId>,
    term: Option<Term>,
    role: Option<Role>,
    leader_id: Option<NodeId>,
    voter: Option<NodeId>,
    candidate: Option<NodeId>,
    granted: Option<bool>,
    votes: Option<Vec<NodeId>>,
    election_deadline_ms: Option<u64>,
    entries: Option<Vec<Entry>>,
    from_index: Option<LogIndex>,
    synced_index: Option<LogIndex>,
    commit_index: Option<LogIndex>,
    index: Option<LogIndex>,
    value: Option<i64>,
    client: Option<ClientSerial>,
    leader: Option<NodeId>,
    peer: Option<NodeId>,
    next_index: Option<LogIndex>,
    match_index: Option<LogIndex>,
    command: Option<String>,
    request_id: Option<u64>,
    duplicate: Option<bool>,
    kind: Option<String>,
    leader_hint: Option<NodeId>,
    lost_entries: Option<u64>,
    last_index: Option<LogIndex>,
    error: Option<String>,
    network: Option<NetworkView>,
    paused: Option<bool>,
    speed: Option<f64>,
}

/// A field the event (or a highlight, follow.rs, or a message, raft/message_read.rs) must have.
pub(crate) fn need<T, E: Error>(field: Option<T>, name: &'static str) -> Result<T, E> {
    field.ok_or_else(|| E::missing_field(name))
}

/// A unit enum (`DropReason`, `RejectKind`, `StorageFailureKind`) from the text read for it.
fn named<'de, T: Deserialize<'de>, E: Error>(
    field: Option<String>,
    name: &'static str,
) -> Result<T, E> {
    T::deserialize(StringDeserializer::<E>::new(need(field, name)?))
}

impl Fields {
    fn into_event<E: Error>(self) -> Result<Event, E> {
        let f = self;
        Ok(match f.kind_of_event {
            Kind::MessageSent => Event::MessageSent {
                message: need(f.message, "message")?,
            },
            Kind::MessageDelivered => Event::MessageDelivered {
                id: need(f.id, "id")?,
                from: need(f.from, "from")?,
                to: need(f.to, "to")?,
            },
            Kind::MessageDropped => Event::MessageDropped {
                id: need(f.id, "id")?,
                from: need(f.from, "from")?,
                to: need(f.to, "to")?,
                reason: named::<DropReason, E>(f.reason, "reason")?,
            },
            Kind::ElectionTimeout => Event::ElectionTimeout {
                node: need(f.node, "node")?,
                term: need(f.term, "term")?,
            },
            Kind::RoleChanged => Event::RoleChanged {
                node: need(f.node, "node")?,
                role: need(f.role, "role")?,
                term: need(f.term, "term")?,
                leader_id: f.leader_id,
            },
            Kind::VoteGranted => Event::VoteGranted {
                voter: need(f.voter, "voter")?,
                candidate: need(f.candidate, "candidate")?,
                term: need(f.term, "term")?,
            },
            Kind::VoteReceived => Event::VoteReceived {
                node: need(f.node, "node")?,
                from: need(f.from, "from")?,
                granted: need(f.granted, "granted")?,
                votes: need(f.votes, "votes")?,
            },
            Kind::TimerReset => Event::TimerReset {
                node: need(f.node, "node")?,
                election_deadline_ms: need(f.election_deadline_ms, "election_deadline_ms")?,
            },
            Kind::EntriesAppended => Event::EntriesAppended {
                node: need(f.node, "node")?,
                entries: need(f.entries, "entries")?,
            },
            Kind::EntriesTruncated => Event::EntriesTruncated {
                node: need(f.node, "node")?,
                from_index: need(f.from_index, "from_index")?,
            },
            Kind::EntriesPersisted => Event::EntriesPersisted {
                node: need(f.node, "node")?,
                synced_index: need(f.synced_index, "synced_index")?,
            },
            Kind::CommitAdvanced => Event::CommitAdvanced {
                node: need(f.node, "node")?,
                commit_index: need(f.commit_index, "commit_index")?,
            },
            Kind::EntryApplied => Event::EntryApplied {
                node: need(f.node, "node")?,
                index: need(f.index, "index")?,
                value: need(f.value, "value")?,
            },
            Kind::DuplicateIgnored => Event::DuplicateIgnored {
                node: need(f.node, "node")?,
                index: need(f.index, "index")?,
                client: need(f.client, "client")?,
            },
            Kind::ProgressUpdated => Event::ProgressUpdated {
                leader: need(f.leader, "leader")?,
                peer: need(f.peer, "peer")?,
                next_index: need(f.next_index, "next_index")?,
                match_index: need(f.match_index, "match_index")?,
            },
            Kind::ClientRequest => Event::ClientRequest {
                node: need(f.node, "node")?,
                // As `command::as_text` reads it: "add 5", with the parser's own message.
                command: need(f.command, "command")?
                    .parse::<Command>()
                    .map_err(E::custom)?,
                request_id: need(f.request_id, "request_id")?,
                client: f.client,
            },
            Kind::ProposalAccepted => Event::ProposalAccepted {
                node: need(f.node, "node")?,
                request_id: need(f.request_id, "request_id")?,
                index: need(f.index, "index")?,
                term: need(f.term, "term")?,
                duplicate: f.duplicate.unwrap_or(false),
            },
            Kind::ProposalRejected => Event::ProposalRejected {
                node: need(f.node, "node")?,
                request_id: need(f.request_id, "request_id")?,
                kind: named::<RejectKind, E>(f.kind, "kind")?,
                reason: need(f.reason, "reason")?,
                leader_hint: f.leader_hint,
            },
            Kind::NodeCrashed => Event::NodeCrashed {
                node: need(f.node, "node")?,
            },
            Kind::PowerLost => Event::PowerLost {
                node: need(f.node, "node")?,
                synced_index: need(f.synced_index, "synced_index")?,
                lost_entries: need(f.lost_entries, "lost_entries")?,
            },
            Kind::NodeRestarted => Event::NodeRestarted {
                node: need(f.node, "node")?,
                term: need(f.term, "term")?,
                last_index: need(f.last_index, "last_index")?,
            },
            Kind::StorageFailed => Event::StorageFailed {
                node: need(f.node, "node")?,
                kind: named::<StorageFailureKind, E>(f.kind, "kind")?,
                error: need(f.error, "error")?,
            },
            Kind::NetworkChanged => Event::NetworkChanged {
                network: need(f.network, "network")?,
            },
            Kind::ControlChanged => Event::ControlChanged {
                paused: need(f.paused, "paused")?,
                speed: need(f.speed, "speed")?,
            },
        })
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::deserialize(deserializer)?.into_event()
    }
}

impl<'de> Deserialize<'de> for SimEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = Fields::deserialize(deserializer)?;
        Ok(SimEvent {
            seq: need(fields.seq.take(), "seq")?,
            time_ms: need(fields.time_ms.take(), "time_ms")?,
            event: fields.into_event()?,
        })
    }
}

#[cfg(test)]
#[path = "event_read_tests.rs"]
mod tests;
