//! The WebSocket at `/ws`: one task per viewer that sends `Hello` with a snapshot, then the live
//! stream, and answers the viewer's requests. Owns the per-connection protocol (ordering against
//! the snapshot, resync after lag, limits, close codes); must not touch the simulator except
//! through the driver's handle.
//!
//! # Ordering
//!
//! The connection subscribes to the driver's broadcast *before* asking for the snapshot, so no
//! event can fall between the two. Whatever the subscription already holds that the snapshot
//! covers is skipped here (batches whose last seq is at most the snapshot's seq). A viewer must
//! still ignore any event with `seq <= snapshot.seq`, which is how the protocol is specified.
//!
//! # Falling behind
//!
//! The broadcast keeps a bounded number of messages. A viewer that reads too slowly misses some
//! (`RecvError::Lagged`); instead of dropping it, the connection sends a fresh
//! `ServerMessage::Snapshot` and goes on from there.
//!
//! # Testing
//!
//! [`handle_socket`] takes any `Sink<Message>` and `Stream` of messages, not a `WebSocket`: the
//! unit tests (`tests.rs`) drive a connection through in-memory channels, without a socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, Semaphore};

use super::limits::ClientBuckets;
use super::{parse_command, reply_json, AppState, ServerError};
use crate::driver::{AppendWait, CommandError};
use cursor::{Admit, Cursor};

mod cursor;

/// A send that takes longer than this means the viewer stopped reading: the connection is closed.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Initial read buffer per connection.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// `GET /ws`: upgrade, unless the request is not a WebSocket handshake or the server is full.
pub(super) async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ServerError> {
    let ws = ws.map_err(|r| {
        ServerError::new(
            r.status(),
            format!(
                "/ws is a WebSocket endpoint: connect with a WebSocket client ({})",
                r.body_text()
            ),
        )
    })?;
    let inner = &state.inner;
    if inner.shutdown.is_cancelled() {
        return Err(ServerError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        ));
    }
    let slot = inner.ws_slots.clone().try_acquire_owned().map_err(|_| {
        ServerError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many WebSocket connections: the server takes {} at once; try again later",
                inner.limits.ws_connections_max
            ),
        )
    })?;
    let hard_max = inner.limits.ws_message_bytes_hard_max;
    // Requests are small: a small read buffer (it grows for a big message) keeps a thousand
    // idle viewers from costing 128 KiB each.
    Ok(ws
        .max_message_size(hard_max)
        .max_frame_size(hard_max)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            tracing::debug!(%addr, "viewer connected");
            let (write, read) = socket.split();
            handle_socket(write, read, state).await;
            tracing::debug!(%addr, "viewer disconnected");
            drop(slot);
        })
        .into_response())
}

/// Serve one viewer until it leaves, the server shuts down or the simulator stops: `Hello` first,
/// then the live stream and the replies to its requests. `write` and `read` are the two halves of
/// a WebSocket in production and in-memory channels in the unit tests.
pub(super) async fn handle_socket<W, R>(write: W, read: R, state: AppState)
where
    W: Sink<Message> + Unpin,
    W::Error: std::fmt::Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    Connection::new(state, write, read).run().await;
}

/// What the loop decided to do next.
enum Next {
    Send(Utf8Bytes),
    Resync,
    Close(u16, &'static str),
    Stop,
    Nothing,
}

struct Connection<W, R> {
    state: AppState,
    sink: W,
    stream: R,
    buckets: ClientBuckets,
    in_flight: Arc<Semaphore>,
    replies_tx: mpsc::Sender<Utf8Bytes>,
    replies_rx: mpsc::Receiver<Utf8Bytes>,
}

impl<W, R> Connection<W, R>
where
    W: Sink<Message> + Unpin,
    W::Error: std::fmt::Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    fn new(state: AppState, sink: W, stream: R) -> Self {
        let limits = &state.inner.limits;
        let (replies_tx, replies_rx) = mpsc::channel(limits.ws_in_flight_max + 16);
        Connection {
            buckets: ClientBuckets::new(limits, Instant::now()),
            in_flight: Arc::new(Semaphore::new(limits.ws_in_flight_max)),
            state,
            sink,
            stream,
            replies_tx,
            replies_rx,
        }
    }

    async fn run(mut self) {
        let inner = self.state.inner.clone();
        // Subscribe first, then take the snapshot: nothing can fall between the two.
        let mut outgoing = inner.driver.subscribe();
        let Ok(snapshot) = inner.driver.snapshot().await else {
            return self
                .close(close_code::AWAY, "the server is shutting down")
                .await;
        };
        let mut cursor = Cursor::new(&snapshot);
        if self.send(snapshot.hello_json()).await.is_err() {
            return;
        }
        drop(snapshot);
        let shutdown = inner.shutdown.clone();
        let stopped = inner.driver.stopped();
        loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.cancelled() => Next::Close(close_code::AWAY, "the server is shutting down"),
                _ = stopped.cancelled() => Next::Close(close_code::ERROR, "the simulator stopped"),
                item = outgoing.recv() => match item {
                    Ok(out) => match cursor.admit(&out) {
                        Admit::Send => Next::Send(out.text.clone()),
                        Admit::Skip => Next::Nothing,
                        Admit::Resync => Next::Resync,
                    },
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "viewer fell behind; sending a fresh snapshot");
                        Next::Resync
                    }
                    Err(RecvError::Closed) => Next::Close(close_code::ERROR, "the simulator stopped"),
                },
                Some(reply) = self.replies_rx.recv() => Next::Send(reply),
                message = self.stream.next() => self.on_message(message),
            };
            match next {
                Next::Send(text) => {
                    if self.send(text).await.is_err() {
                        return;
                    }
                }
                Next::Resync => {
                    let Ok(snapshot) = inner.driver.snapshot().await else {
                        return self
                            .close(close_code::AWAY, "the server is shutting down")
                            .await;
                    };
                    if snapshot.run == cursor.run && snapshot.seq_covered_by(cursor.seq) {
                        // Only clock messages were missed: the viewer has every event already.
                        continue;
                    }
                    cursor = Cursor::new(&snapshot);
                    if self.send(snapshot.snapshot_message_json()).await.is_err() {
                        return;
                    }
                }
                Next::Close(code, reason) => return self.close(code, reason).await,
                Next::Stop => return,
                Next::Nothing => {}
            }
        }
    }

    /// Send one text message; an error means the viewer is gone (or stuck).
    async fn send(&mut self, text: Utf8Bytes) -> Result<(), ()> {
        let shutdown = self.state.inner.shutdown.clone();
        tokio::select! {
            r = tokio::time::timeout(SEND_TIMEOUT, self.sink.send(Message::Text(text))) => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "viewer write failed");
                    Err(())
                }
                Err(_) => {
                    tracing::debug!("viewer stopped reading; closing");
                    Err(())
                }
            },
            _ = shutdown.cancelled() => Err(()),
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }

    fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Next {
        match message {
            None | Some(Ok(Message::Close(_))) => Next::Stop,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "viewer read failed");
                // The usual cause besides a dropped connection: a message over the hard limit,
                // which the WebSocket layer refuses to buffer.
                Next::Close(
                    close_code::SIZE,
                    "message too big or malformed WebSocket frame",
                )
            }
            Some(Ok(Message::Text(text))) => match self.on_text(&text) {
                Some(reply) => Next::Send(reply),
                None => Next::Nothing,
            },
            Some(Ok(Message::Binary(_))) => Next::Send(reply_json(
                0,
                Err(CommandError::invalid(
                    "binary messages are not supported: send each request as JSON text",
                )),
            )),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Next::Nothing,
        }
    }

    /// Handle one request; returns an immediate error reply, or `None` once the request is on
    /// its way to the driver (its reply comes back through `replies`).
    fn on_text(&mut self, text: &str) -> Option<Utf8Bytes> {
        let limits = &self.state.inner.limits;
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
        let request_id = match value.get("request_id") {
            Some(v) => match v.as_u64() {
                Some(id) => id,
                None => {
                    return refuse(
                        0,
                        CommandError::invalid(format!(
                            "request_id must be a whole number from 0 to 18446744073709551615, \
                             got {v}"
                        )),
                    )
                }
            },
            None if value.is_object() => {
                return refuse(
                    0,
                    CommandError::invalid(
                        "missing request_id: every request carries a number its reply echoes, \
                         e.g. {\"request_id\":1,\"type\":\"pause\"}",
                    ),
                )
            }
            None => {
                return refuse(
                    0,
                    CommandError::invalid(
                        "expected a JSON object such as {\"request_id\":1,\"type\":\"pause\"}",
                    ),
                )
            }
        };
        let command = match parse_command(value) {
            Ok(c) => c,
            Err(e) => return refuse(request_id, e),
        };
        let append = matches!(command, crate::driver::Input::Append(_));
        if let Err(r) = self.buckets.admit(append, Instant::now()) {
            return refuse(
                request_id,
                CommandError::too_many(r.message(limits, "connection")),
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
        let driver = self.state.inner.driver.clone();
        let replies = self.replies_tx.clone();
        tokio::spawn(async move {
            let result = driver.command(command, AppendWait::Appended).await;
            let _ = replies.send(reply_json(request_id, result)).await;
            drop(permit);
        });
        None
    }
}

#[cfg(test)]
mod tests;
