//! A viewer's requests on its WebSocket: each one checked, rate-limited and sent to the driver
//! (its reply comes back on the connection's channel), or answered at once. A presenter may also
//! publish its view state (follow mode); a viewer may answer the lesson's question (its one
//! request besides reading). Owns request admission; must not write to the socket (the
//! connection does) nor wait: a request is decided in one step.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{close_code, Message, Utf8Bytes};
use tokio::sync::Semaphore;

use super::follow;
use super::{predict, End, Peer, Replies};
use crate::driver::{AppendWait, CommandError, Input};
use crate::server::access::Role;
use crate::server::limits::ClientBuckets;
use crate::server::tally::Seat;
use crate::server::{parse_command, reply_json, AppState};

/// The close reason past the ping budget (`follow::Budget`: `PER_SECOND`, `BURST`; a test
/// checks the numbers agree).
pub(super) const TOO_MANY_PINGS: &str = "too many pings: at most 10 a second (a burst of 20)";

/// One connection's request admission: its budgets and what it may do.
pub(super) struct Requests {
    state: AppState,
    peer: Peer,
    /// Where the driver's replies to this connection's commands go (the connection sends them).
    replies: Replies,
    buckets: ClientBuckets,
    in_flight: Arc<Semaphore>,
    /// A presenter's budget of view changes.
    view_budget: follow::Budget,
    /// A viewer's place in the room's tally (none for a presenter).
    seat: Option<Seat>,
    /// A viewer's budget of answers.
    answer_budget: follow::Budget,
    /// Pings the client may send: each one queues a pong, and a client that pings without
    /// reading made the server's write buffer grow by hundreds of MB in seconds (QA, 2026-12-02).
    ping_budget: follow::Budget,
}

/// What one message from the viewer leads to.
pub(super) enum Heard {
    Reply(Utf8Bytes),
    Nothing,
    End(End),
}

impl Requests {
    pub(super) fn new(state: &AppState, peer: Peer, replies: Replies) -> Self {
        let limits = &state.inner.limits;
        let now = Instant::now();
        let viewer = peer.role == Role::Viewer;
        Requests {
            view_budget: follow::Budget::new(now),
            seat: viewer.then(|| state.inner.lessons.predictions.seat()),
            answer_budget: follow::Budget::new(now),
            ping_budget: follow::Budget::new(now),
            buckets: ClientBuckets::new(limits, now),
            in_flight: Arc::new(Semaphore::new(limits.ws_in_flight_max)),
            state: state.clone(),
            peer,
            replies,
        }
    }

    /// What the viewer's next message (`None`: it hung up) leads to.
    pub(super) fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Heard {
        match message {
            None | Some(Ok(Message::Close(_))) => Heard::End(End::Stop),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "viewer read failed");
                Heard::End(read_failure(e))
            }
            Some(Ok(Message::Text(text))) => match self.on_text(&text) {
                Some(reply) => Heard::Reply(reply),
                None => Heard::Nothing,
            },
            Some(Ok(Message::Binary(_))) => Heard::Reply(reply_json(
                0,
                Err(CommandError::invalid(
                    "binary messages are not supported: send each request as JSON text",
                )),
            )),
            Some(Ok(Message::Ping(_))) if !self.ping_budget.take(Instant::now()) => {
                Heard::End(End::Close(close_code::POLICY, TOO_MANY_PINGS))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Heard::Nothing,
        }
    }

    /// Handle one request; returns an immediate error reply, or `None` once the request is on
    /// its way to the driver (its reply comes back through `replies`).
    fn on_text(&mut self, text: &str) -> Option<Utf8Bytes> {
        let inner = self.state.inner.clone();
        let limits = &inner.limits;
        let refuse = |request_id: u64, e: CommandError| Some(reply_json(request_id, Err(e)));
        if text.len() > limits.body_bytes_max {
            return refuse(
                0,
                CommandError::invalid(format!(
                    "message too large: {} bytes; the limit is {} bytes",
                    text.len(),
                    limits.body_bytes_max
                )),
            );
        }
        let value = match crate::server::json_once::read(text.as_bytes()) {
            Ok(v) => v,
            Err(e) => return refuse(0, CommandError::invalid(format!("invalid JSON: {e}"))),
        };
        let request_id = match request_id(&value) {
            Ok(id) => id,
            Err(e) => return refuse(0, e),
        };
        // A viewer's answer to the lesson's question: the one request a viewer may make.
        if predict::is_answer(&value) {
            let seat = self.seat.as_ref();
            let result = predict::answer(value, seat, &mut self.answer_budget, Instant::now());
            return Some(reply_json(request_id, result));
        }
        if self.peer.role == Role::Viewer {
            return refuse(
                request_id,
                CommandError::invalid(super::super::access::READ_ONLY),
            );
        }
        if follow::is_presenter_view(&value) {
            let published = &inner.presenter_view;
            let result = follow::relay(value, &mut self.view_budget, published, Instant::now());
            return Some(reply_json(request_id, result));
        }
        let command = match parse_command(value) {
            Ok(c) => c,
            Err(e) => return refuse(request_id, e),
        };
        let append = matches!(command, Input::Append(_));
        let now = Instant::now();
        if let Err(r) = self.buckets.admit(append, now) {
            return refuse(
                request_id,
                CommandError::too_many(r.message(limits, "connection")),
            );
        }
        // The address's budget too, shared by all its connections (and its HTTP requests).
        if let Err(r) = inner.per_ip.admit(self.peer.ip, append) {
            return refuse(
                request_id,
                CommandError::too_many(r.message(limits, "IP address")),
            );
        }
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            return refuse(
                request_id,
                CommandError::too_many(format!(
                    "{} requests on this connection are still waiting for replies; wait for \
                     some before sending more",
                    limits.ws_in_flight_max
                )),
            );
        };
        let Some(held) = inner.waiting.try_take(self.peer.ip) else {
            return refuse(request_id, CommandError::too_many(waiting_message(limits)));
        };
        let driver = inner.driver.clone();
        let replies = self.replies.clone();
        tokio::spawn(async move {
            let result = driver.command(command, AppendWait::Appended).await;
            drop(held);
            let _ = replies.send(reply_json(request_id, result)).await;
            drop(permit);
        });
        None
    }
}

/// The refusal when an address has too many requests waiting.
pub(crate) fn waiting_message(limits: &crate::server::Limits) -> String {
    format!(
        "{} requests from your address are already waiting for the cluster; wait for some \
         replies before sending more",
        limits.waiting_per_ip_max
    )
}

fn request_id(value: &serde_json::Value) -> Result<u64, CommandError> {
    match value.get("request_id") {
        Some(v) => v.as_u64().ok_or_else(|| {
            CommandError::invalid(format!(
                "request_id must be a whole number from 0 to 18446744073709551615, got {v}"
            ))
        }),
        None if value.is_object() => Err(CommandError::invalid(
            "missing request_id: every request carries a number its reply echoes, \
             e.g. {\"request_id\":1,\"type\":\"pause\"}",
        )),
        None => Err(CommandError::invalid(
            "expected a JSON object such as {\"request_id\":1,\"type\":\"pause\"}",
        )),
    }
}

/// The close a failed read earns (RFC 6455 §7.4.1): 1007 for a text message that is not UTF-8,
/// 1009 for a message over the hard limit (which the WebSocket layer refuses to buffer), 1002 for
/// any other broken frame.
fn read_failure(e: axum::Error) -> End {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.into_inner().downcast_ref::<WsError>() {
        Some(WsError::Utf8(_)) => {
            End::Close(close_code::INVALID, "a text message that is not UTF-8")
        }
        Some(WsError::Capacity(_)) => End::Close(close_code::SIZE, "message too big"),
        _ => End::Close(close_code::PROTOCOL, "malformed WebSocket frame"),
    }
}
