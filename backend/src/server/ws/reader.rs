//! The reading half of a viewer's connection: the viewer's requests (checked, rate-limited and
//! sent to the driver; their replies go to the writer), and the driver's broadcast, taken off
//! the shared channel at once into the viewer's outbox. Also closes a viewer that has said
//! nothing, not even a pong, for too long. A viewer's reader also hands on the presenter's
//! view state (follow mode), the lesson's question and tally, and the notice that the lesson
//! changed; a viewer may answer that question (its one request besides reading). Owns request admission; must not write to the
//! socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{close_code, Message, Utf8Bytes};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::Semaphore;

use super::follow;
use super::outbox::Outbox;
use super::{predict, End, Peer, Replies};
use crate::driver::{AppendWait, CommandError, Input, Outgoing};
use crate::server::access::Role;
use crate::server::limits::ClientBuckets;
use crate::server::tally::Seat;
use crate::server::{parse_command, reply_json, AppState};

pub(super) struct Reader<'a, R> {
    state: AppState,
    peer: Peer,
    stream: &'a mut R,
    outbox: &'a Outbox,
    outgoing: broadcast::Receiver<Arc<Outgoing>>,
    replies: Replies,
    buckets: ClientBuckets,
    in_flight: Arc<Semaphore>,
    /// A viewer's view of the presenter's latest view state (never yields for a presenter).
    follow: BoxStream<'static, Utf8Bytes>,
    /// A presenter's budget of view changes.
    view_budget: follow::Budget,
    /// A viewer's place in the room's tally (none for a presenter).
    seat: Option<Seat>,
    /// The lesson's question and its tally, as this connection is to see it.
    prediction: BoxStream<'static, Utf8Bytes>,
    /// A viewer's budget of answers.
    answer_budget: follow::Budget,
    /// The `lesson_changed` notices (the newest only).
    lesson: BoxStream<'static, Utf8Bytes>,
}

/// The channels a connection subscribed to before its `hello`, so that nothing sent after the
/// hello's state is missed.
pub(super) struct Subscribed {
    /// The driver's broadcast (events, clock, snapshots).
    pub(super) outgoing: broadcast::Receiver<Arc<Outgoing>>,
    /// The `lesson_changed` notices (changes from then on only).
    pub(super) lesson_notices: tokio::sync::watch::Receiver<Option<Utf8Bytes>>,
}

/// What one message from the viewer leads to.
enum Heard {
    Reply(Utf8Bytes),
    Nothing,
    End(End),
}

impl<'a, R> Reader<'a, R>
where
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    pub(super) fn new(
        state: &AppState,
        peer: Peer,
        stream: &'a mut R,
        outbox: &'a Outbox,
        subscribed: Subscribed,
        replies: Replies,
    ) -> Self {
        let Subscribed {
            outgoing,
            lesson_notices,
        } = subscribed;
        let limits = &state.inner.limits;
        let follow = (peer.role == Role::Viewer).then(|| {
            let mut rx = state.inner.presenter_view.subscribe();
            // A viewer that joins mid-lecture gets the presenter's current view at once.
            rx.mark_changed();
            rx
        });
        let predictions = &state.inner.lessons.predictions;
        let viewer = peer.role == Role::Viewer;
        Reader {
            follow: follow::newest(follow),
            view_budget: follow::Budget::new(Instant::now()),
            seat: viewer.then(|| predictions.seat()),
            prediction: follow::newest(Some(predictions.subscribe(!viewer))),
            answer_budget: follow::Budget::new(Instant::now()),
            lesson: follow::newest(Some(lesson_notices)),
            buckets: ClientBuckets::new(limits, Instant::now()),
            in_flight: Arc::new(Semaphore::new(limits.ws_in_flight_max)),
            state: state.clone(),
            peer,
            stream,
            outbox,
            outgoing,
            replies,
        }
    }

    pub(super) async fn run(mut self) -> End {
        let idle_timeout = self.state.inner.limits.ws_idle_timeout;
        // Checked a few times per timeout; the viewer's last word resets the clock.
        let check_every = (idle_timeout / 4).max(Duration::from_millis(10));
        let mut idle_check = tokio::time::interval(check_every);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                // The viewer's own requests first: they must not wait behind the stream.
                biased;
                message = self.stream.next() => {
                    last_heard = Instant::now();
                    match self.on_message(message) {
                        Heard::Reply(reply) => {
                            // Waits only when the viewer does not read its replies.
                            if self.replies.send(reply).await.is_err() {
                                return End::Stop;
                            }
                        }
                        Heard::Nothing => {}
                        Heard::End(end) => return end,
                    }
                }
                item = self.outgoing.recv() => match item {
                    Ok(out) => {
                        self.push(out);
                        // Take whatever else is waiting without another turn of this loop: a
                        // connection that was kept from running (a busy machine) catches up at
                        // the cost of one wait on the shared channel, not one per message.
                        loop {
                            match self.outgoing.try_recv() {
                                Ok(out) => self.push(out),
                                Err(TryRecvError::Lagged(missed)) => {
                                    tracing::debug!(missed, "viewer missed broadcast messages; resync");
                                    self.outbox.resync();
                                }
                                // Empty (the usual end) or closed (the next `recv` says so).
                                Err(_) => break,
                            }
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "viewer missed broadcast messages; resync");
                        self.outbox.resync();
                    }
                    Err(RecvError::Closed) => {
                        return End::Close(close_code::ERROR, "the simulator stopped")
                    }
                },
                Some(view) = self.follow.next() => {
                    // Beside the replies: small, newest-only, and ahead of a backlog of events.
                    if self.replies.send(view).await.is_err() {
                        return End::Stop;
                    }
                }
                Some(prediction) = self.prediction.next() => {
                    // The same way: the newest question and tally only.
                    if self.replies.send(prediction).await.is_err() {
                        return End::Stop;
                    }
                }
                Some(notice) = self.lesson.next() => {
                    // And the lesson's notices: a close moves no cluster, so no snapshot says it.
                    if self.replies.send(notice).await.is_err() {
                        return End::Stop;
                    }
                }
                _ = idle_check.tick() => {
                    if last_heard.elapsed() >= idle_timeout {
                        tracing::debug!("viewer silent (no pong); closing");
                        return End::Close(
                            close_code::POLICY,
                            "no reply to pings: the connection looks dead",
                        );
                    }
                }
            }
        }
    }

    fn push(&self, out: Arc<Outgoing>) {
        if !self.outbox.push(out) {
            tracing::debug!("viewer's backlog is over its budget; resync");
        }
    }

    fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Heard {
        match message {
            None | Some(Ok(Message::Close(_))) => Heard::End(End::Stop),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "viewer read failed");
                // The usual cause besides a dropped connection: a message over the hard limit,
                // which the WebSocket layer refuses to buffer.
                Heard::End(End::Close(
                    close_code::SIZE,
                    "message too big or malformed WebSocket frame",
                ))
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
        let value: serde_json::Value = match serde_json::from_str(text) {
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
