//! What one Raft server observed about itself, in order: the core's own events (roles, votes,
//! timers, log changes, commits, applies, client requests). Owns only their shape; the wire
//! protocol's [`crate::protocol::Event`] carries each of them under the same name and fields,
//! next to what only the simulator sees (messages in flight, crashes, the network).

use serde::{Deserialize, Serialize};

use crate::types::{ClientSerial, Entry, LogIndex, NodeId, Role, Term};

/// Why a node refused a client request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    /// *state* model: only the leader executes requests.
    NotLeader,
    /// *command* model: nobody to forward to (an election is probably under way).
    NoLeader,
    /// A forwarded request reached a node that is no longer the leader.
    LeaderChanged,
}

impl RejectKind {
    /// Every kind's wire name, in the order of [`RejectKind::ALL`] (the page's reader uses them;
    /// written by hand, so the page's tests hold them to what serde writes).
    pub const NAMES: &'static [&'static str] = &["not_leader", "no_leader", "leader_changed"];
    /// Every kind.
    pub const ALL: &'static [RejectKind] = &[
        RejectKind::NotLeader,
        RejectKind::NoLeader,
        RejectKind::LeaderChanged,
    ];
}

/// One thing a Raft server did. See [`crate::protocol::Event`] for each variant's meaning: the
/// names and fields are the same.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // documented once, on the wire enum
pub enum RaftEvent {
    ElectionTimeout {
        node: NodeId,
        term: Term,
    },
    RoleChanged {
        node: NodeId,
        role: Role,
        term: Term,
        leader_id: Option<NodeId>,
    },
    VoteGranted {
        voter: NodeId,
        candidate: NodeId,
        term: Term,
    },
    VoteReceived {
        node: NodeId,
        from: NodeId,
        granted: bool,
        votes: Vec<NodeId>,
    },
    TimerReset {
        node: NodeId,
        election_deadline_ms: u64,
    },
    EntriesAppended {
        node: NodeId,
        entries: Vec<Entry>,
    },
    EntriesTruncated {
        node: NodeId,
        from_index: LogIndex,
    },
    EntriesPersisted {
        node: NodeId,
        synced_index: LogIndex,
    },
    CommitAdvanced {
        node: NodeId,
        commit_index: LogIndex,
    },
    EntryApplied {
        node: NodeId,
        index: LogIndex,
        value: i64,
    },
    DuplicateIgnored {
        node: NodeId,
        index: LogIndex,
        client: ClientSerial,
    },
    ProgressUpdated {
        leader: NodeId,
        peer: NodeId,
        next_index: LogIndex,
        match_index: LogIndex,
    },
    ProposalAccepted {
        node: NodeId,
        request_id: u64,
        index: LogIndex,
        term: Term,
        duplicate: bool,
    },
    ProposalRejected {
        node: NodeId,
        request_id: u64,
        kind: RejectKind,
        reason: String,
        leader_hint: Option<NodeId>,
    },
}
