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
//! # One task per viewer
//!
//! After the hello, a connection is one task ([`connection::Connection`]): each time it is woken
//! it hears the viewer's requests ([`requests`]), takes every broadcast message off the shared
//! channel into the viewer's byte-bounded [`outbox::Outbox`], and writes replies first, then the
//! stream. So a reply never waits behind a backlog of events, the driver's broadcast never holds
//! messages for a slow viewer, and a viewer that falls behind by more than its byte budget gets
//! a fresh `ServerMessage::Snapshot` instead of its backlog. The presenter's view and the
//! lesson's messages wait in a small task of their own ([`relays`]).
//!
//! # Testing
//!
//! [`handle_socket`] takes any `Sink<Message>` and `Stream` of messages, not a `WebSocket`: the
//! unit tests (`tests.rs`) drive a connection through in-memory channels, without a socket.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::access::Role;
use super::{AppState, ServerError};
use connection::Connection;
use cursor::Cursor;
use requests::Requests;

mod connection;
mod cursor;
mod follow;
mod outbox;
mod predict;
mod relays;
mod requests;
mod wake_flag;

pub(super) use requests::waiting_message;

/// Initial read buffer per connection.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Who is on the other end of one connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct Peer {
    /// Its address (per-address budgets).
    pub ip: IpAddr,
    /// Presenter (may control) or viewer (read-only).
    pub role: Role,
}

/// How a connection ended.
#[derive(Debug)]
pub(super) enum End {
    /// Send this close frame first.
    Close(u16, &'static str),
    /// The viewer is gone: nothing more to send.
    Stop,
}

/// `GET /ws`: upgrade, unless the request is not a WebSocket handshake or the server is full.
pub(super) async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
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
    let role = inner.access.role(&headers, uri.query());
    let slot = take_slot(&state, addr.ip())?;
    let hard_max = inner.limits.ws_message_bytes_hard_max;
    // Requests are small: a small read buffer (it grows for a big message) keeps a thousand
    // idle viewers from costing 128 KiB each.
    Ok(ws
        .max_message_size(hard_max)
        .max_frame_size(hard_max)
        // What waits in the socket's write buffer for a client that does not read: past this
        // the connection fails instead of growing (the outbox already bounds the messages; this
        // bounds the pongs and close frames the protocol answers with on its own).
        .max_write_buffer_size(inner.limits.ws_write_buffer_bytes_max)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            tracing::debug!(%addr, ?role, "viewer connected");
            let (write, read) = socket.split();
            let peer = Peer {
                ip: addr.ip(),
                role,
            };
            handle_socket(write, read, state, peer).await;
            tracing::debug!(%addr, "viewer disconnected");
            drop(slot);
        })
        .into_response())
}

/// A WebSocket slot: one of the server's and one of its address's.
fn take_slot(
    state: &AppState,
    ip: IpAddr,
) -> Result<(tokio::sync::OwnedSemaphorePermit, super::limits::Held), ServerError> {
    let inner = &state.inner;
    let busy = |message: String| ServerError::new(StatusCode::SERVICE_UNAVAILABLE, message);
    let per_ip = inner.ws_per_ip.try_take(ip).ok_or_else(|| {
        busy(format!(
            "too many WebSocket connections from your address: the server takes {} per address; \
             close some tabs or try again later",
            inner.limits.ws_connections_per_ip_max
        ))
    })?;
    let global = inner.ws_slots.clone().try_acquire_owned().map_err(|_| {
        busy(format!(
            "too many WebSocket connections: the server takes {} at once; try again later",
            inner.ws_slots_max
        ))
    })?;
    Ok((global, per_ip))
}

/// Serve one viewer until it leaves, the server shuts down or the simulator stops: `Hello` first,
/// then the live stream and the replies to its requests. `write` and `read` are the two halves of
/// a WebSocket in production and in-memory channels in the unit tests.
pub(super) async fn handle_socket<W, R>(mut write: W, mut read: R, state: AppState, peer: Peer)
where
    W: Sink<Message> + Unpin,
    W::Error: std::fmt::Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let inner = state.inner.clone();
    // Subscribe first, then take the snapshot: nothing can fall between the two. The same for
    // the lesson's notices: a page reads `GET /api/lesson` after the hello, and hears of every
    // change made after this line.
    let outgoing = inner.driver.subscribe();
    let lesson_notices = inner.lessons.subscribe();
    let Ok(snapshot) = inner.driver.snapshot().await else {
        return close(&mut write, close_code::AWAY, "the server is shutting down").await;
    };
    let cursor = Cursor::new(&snapshot);
    let hello = with_connection(
        &snapshot.hello_json(),
        peer.role,
        inner.viewer_url.as_deref(),
    );
    let send_timeout = inner.limits.ws_send_timeout;
    if send(&mut write, Message::Text(hello), send_timeout)
        .await
        .is_err()
    {
        return;
    }
    drop(snapshot);

    // Replies to the viewer's commands and the relays' messages; the connection writes them
    // before the stream.
    let (replies_tx, replies_rx) = mpsc::channel(inner.limits.ws_in_flight_max + 16);
    let relays_done = CancellationToken::new();
    let _stop_relays = relays_done.clone().drop_guard();
    relays::spawn(
        &state,
        peer.role,
        lesson_notices,
        replies_tx.clone(),
        relays_done,
    );
    let requests = Requests::new(&state, peer, replies_tx);
    let end = Connection::new(
        &state,
        (&mut write, &mut read),
        requests,
        replies_rx,
        outgoing,
        cursor,
    )
    .run()
    .await;
    if let End::Close(code, reason) = end {
        close(&mut write, code, reason).await;
        // Let the viewer's close frame come back (and the 1009 reason reach it) rather than
        // drop the socket under it, which a client sees as a reset.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(m)) = read.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// The hello message with the connection's `role` and the server's `viewer_url` added (fields
/// beside `type`, so the shared JSON of the snapshot is copied once per connection but never
/// re-serialized).
fn with_connection(hello: &Utf8Bytes, role: Role, viewer_url: Option<&str>) -> Utf8Bytes {
    let text = hello.as_str();
    debug_assert!(text.starts_with('{'));
    let url = viewer_url
        .and_then(|u| serde_json::to_string(u).ok())
        .map(|u| format!("\"viewer_url\":{u},"))
        .unwrap_or_default();
    format!("{{\"role\":\"{}\",{url}{}", role.as_str(), &text[1..]).into()
}

/// Send one message; an error means the viewer is gone (or stuck for `timeout`).
async fn send<W>(sink: &mut W, message: Message, timeout: Duration) -> Result<(), ()>
where
    W: Sink<Message> + Unpin,
    W::Error: std::fmt::Display,
{
    match tokio::time::timeout(timeout, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "viewer write failed");
            Err(())
        }
        Err(_) => {
            tracing::debug!("viewer stopped reading; closing");
            Err(())
        }
    }
}

async fn close<W>(sink: &mut W, code: u16, reason: &'static str)
where
    W: Sink<Message> + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        sink.send(Message::Close(Some(frame))),
    )
    .await;
}

/// Where replies and relayed messages reach a connection.
pub(super) type Replies = mpsc::Sender<Utf8Bytes>;

#[cfg(test)]
mod tests;
