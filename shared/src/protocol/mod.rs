//! The wire protocol between backend and browsers (and the HTTP API): observable events, the
//! cluster snapshot, client commands and server messages. Plain serde data shared by both sides;
//! owns the JSON field names, which are a contract for outside scripts — add fields, never rename.
//! `event.rs` holds what happened, `view.rs` the snapshot, `command.rs` what people send and what
//! they get back, `follow.rs` the classroom's roles and the presenter's view state,
//! `prediction.rs` the questions viewers answer and their tally.

mod command;
mod event;
pub(crate) mod event_read;
mod follow;
mod prediction;
mod safety;
mod view;

pub use crate::raft::{
    AppendEntries, AppendEntriesResponse, ClientRequest as ForwardedRequest, Message, MessageBody,
    MessageKind, RaftEvent, RejectKind, RequestVote, RequestVoteResponse,
};
pub use crate::storage::StorageFailureKind;
pub(crate) use command::ReplyWire;
pub use command::{
    check_speed, ClientCommand, ClientRequest, CommandOk, Reply, ServerMessage, SPEED_DEFAULT,
    SPEED_MAX, SPEED_MIN,
};
pub use event::{DropReason, Event, SimEvent};
pub use follow::{ConnectionRole, Highlight, PresenterView};
pub use prediction::{PredictionView, Tally};
pub use safety::{invariant_of, InvariantView, SafetyView, SafetyViolation, INVARIANTS};
pub use view::{
    ClusterSnapshot, InFlight, LogEntryView, MessageId, NetworkView, NodeView, PeerProgress,
    StorageFailureView, Timing, LOG_PAGE_MAX, LOG_WINDOW,
};

/// Bumped whenever a message changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;
