//! The pure Raft core (paper §5), shaped like etcd-raft's `RawNode`: inputs are `tick`, `step`,
//! `propose` and `campaign`; the output is a [`Ready`] batch. Owns the algorithm; must never touch
//! a clock, a socket, a file or a global RNG — time arrives as a number and randomness as a seeded
//! [`crate::Rng`].
//!
//! Rooms: `node.rs` (state, inputs, per-role dispatch, Ready/advance), `election.rs` (§5.2),
//! `replication.rs` (§5.3, §5.4), `client.rs` (§8), `progress.rs` (the leader's view of one
//! follower), `log.rs` (the in-memory log), `message.rs` and `event.rs` (what goes in and out).

mod broken;
mod client;
mod election;
mod event;
mod log;
mod message;
mod message_read;
mod node;
mod progress;
mod ready;
mod replication;

pub use broken::BrokenRules;
pub use client::{Proposal, ProposeError, ProposeOutcome};
pub use event::{RaftEvent, RejectKind};
pub use log::RaftLog;
pub use message::{
    AppendEntries, AppendEntriesResponse, ClientRequest, Message, MessageBody, MessageKind,
    RequestVote, RequestVoteResponse,
};
pub use node::{Config, RaftNode};
pub use progress::{Progress, Send};
pub use ready::{Persisted, Ready, Unsynced};
