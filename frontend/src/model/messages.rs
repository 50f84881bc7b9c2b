//! Messages as the page draws them: where one is along its line, the ghosts of lost ones, and
//! the light description (`FlightLook`) the ring animates, so drawing never copies the entries a
//! message carries. Pure; must not narrate.

use shared::protocol::{
    AppendEntries, AppendEntriesResponse, ForwardedRequest, RequestVote, RequestVoteResponse,
};
use shared::protocol::{DropReason, InFlight, MessageBody, MessageId, MessageKind};
use shared::types::NodeId;

/// A message that was lost, kept for a moment where it vanished.
#[derive(Clone, Debug, PartialEq)]
pub struct Ghost {
    /// The message as it was in flight.
    pub flight: InFlight,
    /// Virtual time it was lost.
    pub lost_at_ms: u64,
    /// "loss", "cut", "node_down" or "dropped".
    pub reason: DropReason,
}

impl Ghost {
    /// Where along its line it was lost, 0 (sender) ..= 1 (receiver).
    pub fn position(&self) -> f64 {
        flight_fraction(&self.flight, self.lost_at_ms as f64)
    }
}

/// How far along its line a message is at virtual time `now_ms`, clamped to 0..=1 (RaftScope's
/// `(now - sent) / (deliver - sent)`).
pub fn flight_fraction(flight: &InFlight, now_ms: f64) -> f64 {
    fraction(flight.sent_at_ms, flight.deliver_at_ms, now_ms)
}

fn fraction(sent_at_ms: u64, deliver_at_ms: u64, now_ms: f64) -> f64 {
    let span = deliver_at_ms.saturating_sub(sent_at_ms) as f64;
    if span <= 0.0 {
        return 1.0;
    }
    ((now_ms - sent_at_ms as f64) / span).clamp(0.0, 1.0)
}

/// The marker a message is drawn with: its kind, and the one fact of its body that shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// RequestVote.
    RequestVote,
    /// RequestVote reply.
    VoteReply {
        /// Vote granted?
        granted: bool,
    },
    /// AppendEntries without entries.
    Heartbeat,
    /// AppendEntries with entries.
    Append {
        /// How many.
        entries: usize,
    },
    /// AppendEntries reply.
    AppendReply {
        /// Accepted?
        success: bool,
    },
    /// A request forwarded to the leader.
    ClientRequest,
}

impl Shape {
    /// The shape of a message body.
    pub fn of(body: &MessageBody) -> Shape {
        match body {
            MessageBody::RequestVote(RequestVote { .. }) => Shape::RequestVote,
            MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted }) => {
                Shape::VoteReply {
                    granted: *vote_granted,
                }
            }
            MessageBody::AppendEntries(AppendEntries { entries, .. }) if entries.is_empty() => {
                Shape::Heartbeat
            }
            MessageBody::AppendEntries(AppendEntries { entries, .. }) => Shape::Append {
                entries: entries.len(),
            },
            MessageBody::AppendEntriesResponse(AppendEntriesResponse { success, .. }) => {
                Shape::AppendReply { success: *success }
            }
            MessageBody::ClientRequest(ForwardedRequest { .. }) => Shape::ClientRequest,
        }
    }
}

/// What the ring draws of a message in flight (or of a ghost): a few numbers, no entries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlightLook {
    /// The message's id.
    pub id: MessageId,
    /// The body's kind, as the protocol names it ("AppendEntries", …).
    pub kind: MessageKind,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Virtual time it was sent (ms).
    pub sent_at_ms: u64,
    /// Virtual time it arrives (ms).
    pub deliver_at_ms: u64,
    /// Its marker.
    pub shape: Shape,
}

impl FlightLook {
    /// The light description of a message.
    pub fn of(flight: &InFlight) -> FlightLook {
        FlightLook {
            id: flight.id,
            kind: flight.message.body.kind(),
            from: flight.from,
            to: flight.to,
            sent_at_ms: flight.sent_at_ms,
            deliver_at_ms: flight.deliver_at_ms,
            shape: Shape::of(&flight.message.body),
        }
    }

    /// How far along its line it is at virtual time `now_ms` (as [`flight_fraction`]).
    pub fn fraction(&self, now_ms: f64) -> f64 {
        fraction(self.sent_at_ms, self.deliver_at_ms, now_ms)
    }
}

/// What the ring draws of a lost message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GhostLook {
    /// The message as it flew.
    pub flight: FlightLook,
    /// Where along its line it was lost, 0..=1.
    pub position: f64,
    /// Virtual time it was lost.
    pub lost_at_ms: u64,
}

impl GhostLook {
    /// The light description of a ghost.
    pub fn of(ghost: &Ghost) -> GhostLook {
        GhostLook {
            flight: FlightLook::of(&ghost.flight),
            position: ghost.position(),
            lost_at_ms: ghost.lost_at_ms,
        }
    }
}

/// Where a message is, as the inspector reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlightStatus {
    /// On its way.
    InFlight,
    /// Lost, with the network's reason.
    Lost(DropReason),
}

impl FlightStatus {
    /// In words.
    pub fn describe(&self) -> &str {
        match self {
            FlightStatus::InFlight => "in flight",
            FlightStatus::Lost(reason) => match reason {
                DropReason::Loss => "lost by the network",
                DropReason::Cut => "lost: the link is cut",
                DropReason::NodeDown => "lost: the receiver is down",
                DropReason::Dropped => "dropped by hand",
            },
        }
    }
}
