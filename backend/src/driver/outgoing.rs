//! What the driver hands to the server for viewers: [`Outgoing`] broadcast messages and
//! [`SnapshotReply`], each serialized to JSON once however many viewers copy it. Owns the JSON
//! caching; must not decide what a viewer is sent (the server's connection does).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use shared::protocol::{ClusterSnapshot, ServerMessage, PROTOCOL_VERSION};

/// One message for every viewer, serialized once.
#[derive(Debug)]
pub struct Outgoing {
    /// The run it belongs to (bumped by every reset).
    pub run: u64,
    /// What it is.
    pub kind: OutgoingKind,
    /// The `ServerMessage` as JSON.
    pub text: Utf8Bytes,
    /// When the driver broadcast it (for latency measurements; never sent).
    pub sent_at: Instant,
}

/// What an [`Outgoing`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutgoingKind {
    /// A `ServerMessage::Events` with events `first_seq..=last_seq`.
    Events {
        /// Seq of its first event.
        first_seq: u64,
        /// Seq of its last event.
        last_seq: u64,
    },
    /// A `ServerMessage::Clock` at virtual time `time_ms`.
    Clock {
        /// Virtual time.
        time_ms: u64,
    },
    /// A `ServerMessage::Safety`, sent when the event with this seq was the last one out.
    Safety {
        /// Seq of the last event when it was sent.
        seq: u64,
    },
    /// A `ServerMessage::Snapshot` (after a reset) covering events up to `seq`.
    Snapshot {
        /// The snapshot's seq.
        seq: u64,
    },
}

/// A snapshot and its JSON forms, each serialized at most once however many clients want it.
#[derive(Debug)]
pub struct SnapshotReply {
    /// The run it belongs to.
    pub run: u64,
    /// The state.
    pub snapshot: ClusterSnapshot,
    hello: OnceLock<Utf8Bytes>,
    resync: OnceLock<Utf8Bytes>,
    plain: OnceLock<Utf8Bytes>,
}

impl SnapshotReply {
    pub(super) fn new(run: u64, snapshot: ClusterSnapshot) -> Self {
        SnapshotReply {
            run,
            snapshot,
            hello: OnceLock::new(),
            resync: OnceLock::new(),
            plain: OnceLock::new(),
        }
    }

    /// True when a viewer that has every event up to `seq` already knows all this snapshot
    /// holds (same run assumed).
    pub fn seq_covered_by(&self, seq: u64) -> bool {
        self.snapshot.seq <= seq
    }

    /// `ServerMessage::Hello` with this snapshot.
    pub fn hello_json(&self) -> Utf8Bytes {
        self.hello
            .get_or_init(|| {
                to_json(&ServerMessage::Hello {
                    protocol_version: PROTOCOL_VERSION,
                    snapshot: self.snapshot.clone(),
                    // Per connection: the WebSocket handler adds them to this text.
                    role: None,
                    viewer_url: None,
                })
            })
            .clone()
    }

    /// `ServerMessage::Snapshot` with this snapshot.
    pub fn snapshot_message_json(&self) -> Utf8Bytes {
        self.resync
            .get_or_init(|| {
                to_json(&ServerMessage::Snapshot {
                    snapshot: self.snapshot.clone(),
                    moved: None,
                })
            })
            .clone()
    }

    /// `ServerMessage::Snapshot` of a run just replaced, with why (`None`: a lesson's stop).
    /// Not cached: it is sent once, when the run changes.
    pub fn moved_message_json(&self, moved: Option<shared::trace::answers::Reason>) -> Utf8Bytes {
        if moved.is_none() {
            return self.snapshot_message_json();
        }
        to_json(&ServerMessage::Snapshot {
            snapshot: self.snapshot.clone(),
            moved,
        })
    }

    /// The bare `ClusterSnapshot` (`GET /api/cluster`).
    pub fn json(&self) -> Utf8Bytes {
        self.plain.get_or_init(|| to_json(&self.snapshot)).clone()
    }
}

/// Serialize a message of ours. Our types always serialize; if that ever broke, viewers get a
/// readable error rather than the process a panic.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Utf8Bytes {
    match serde_json::to_string(value) {
        Ok(s) => s.into(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize an outgoing message");
            format!(
                "{{\"type\":\"reply\",\"request_id\":0,\"ok\":false,\"error\":{}}}",
                serde_json::Value::String(format!("internal error: {e}"))
            )
            .into()
        }
    }
}
