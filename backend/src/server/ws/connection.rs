//! One viewer's connection after its `hello`, as one task: every time it is woken it hears the
//! viewer's requests, takes the driver's broadcast into the viewer's outbox, and writes what is
//! due — replies first, then pings, then the stream (through the viewer's [`Cursor`]), or a fresh
//! snapshot when the outbox says the viewer fell behind. Owns the order of what is sent and
//! when a connection ends; must not decide what a request means (requests.rs does).
//!
//! # One turn, written out
//!
//! With a class connected, each broadcast message wakes every connection, so what one wake-up
//! costs is multiplied by a thousand viewers and by every message. A connection is therefore a
//! single hand-written `poll` ([`Connection::turn`]), not two tasks or a `select!` over a
//! reader and a writer: one wake-up per message, the write started without waiting for it, and
//! everything that is due written before one flush. What rarely has anything to say (the
//! viewer's requests, the replies, the timers, shutdown) is polled with a [`WakeFlag`] and looked
//! at only after it woke the task; what every connection shares and rarely speaks (the
//! presenter's view, the lesson) waits in relays.rs, and shutdown reaches each connection
//! through a child token of its own. docs/bench-websocket.md has the measurements.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ws::{close_code, Message, Utf8Bytes};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio::time::{Interval, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::cursor::{Admit, Cursor};
use super::outbox::{Item, Outbox};
use super::requests::{Heard, Requests};
use super::wake_flag::WakeFlag;
use super::End;
use crate::driver::{CommandError, DriverHandle, Outgoing, SnapshotReply};
use crate::server::AppState;

/// Messages read, or broadcast messages taken, in one turn before the others get theirs: a
/// flood of requests must not keep the stream from being written, nor the reverse.
const TURN_MAX: usize = 64;

type Broadcast = BoxStream<'static, Result<Arc<Outgoing>, RecvError>>;

/// Everything one connection needs between two wake-ups.
pub(super) struct Connection<'a, W, R> {
    sink: &'a mut W,
    stream: &'a mut R,
    requests: Requests,
    /// Replies to the viewer's commands (from the driver) and the relays' messages.
    control: mpsc::Receiver<Utf8Bytes>,
    /// The driver's broadcast, as a stream that keeps its place in the channel's list of
    /// waiters between turns (a fresh `recv()` per turn would leave and re-enter it).
    broadcast: Broadcast,
    outbox: Outbox,
    cursor: Cursor,
    /// Replies and relayed messages to write before the stream, in the order they came.
    replies: VecDeque<Utf8Bytes>,
    /// Past this many waiting replies the connection stops hearing requests: the viewer is not
    /// reading what it asked for.
    replies_max: usize,
    /// The queue of replies was full: hear again once one is written.
    hear_blocked: bool,
    /// Whether the rare sources (requests, replies, timers, shutdown) woke the task.
    rare: Arc<WakeFlag>,
    ping_due: bool,
    ping: Interval,
    idle_check: Interval,
    idle_timeout: Duration,
    last_heard: Instant,
    /// A fresh snapshot being fetched for a viewer that fell behind; the stream waits for it.
    fetching: Option<BoxFuture<'static, Result<Arc<SnapshotReply>, CommandError>>>,
    /// That snapshot's message, written before any more of the stream.
    snapshot: Option<Utf8Bytes>,
    /// Messages handed to the sink and not flushed yet.
    unflushed: bool,
    /// Armed while the viewer's socket takes nothing: past `send_timeout` the viewer is gone.
    stuck: Option<Pin<Box<Sleep>>>,
    send_timeout: Duration,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    stopped: Pin<Box<WaitForCancellationFutureOwned>>,
    driver: DriverHandle,
}

impl<'a, W, R> Connection<'a, W, R>
where
    W: Sink<Message> + Unpin,
    W::Error: std::fmt::Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    /// `outgoing` was subscribed before the snapshot that `cursor` comes from.
    pub(super) fn new(
        state: &AppState,
        (sink, stream): (&'a mut W, &'a mut R),
        requests: Requests,
        control: mpsc::Receiver<Utf8Bytes>,
        outgoing: broadcast::Receiver<Arc<Outgoing>>,
        cursor: Cursor,
    ) -> Self {
        let inner = &state.inner;
        let limits = &inner.limits;
        let ping_every = limits.ws_ping_interval;
        let idle_timeout = limits.ws_idle_timeout;
        // Checked a few times per timeout; the viewer's last word resets the clock.
        let check_every = (idle_timeout / 4).max(Duration::from_millis(10));
        let broadcast = stream::unfold(outgoing, |mut rx| async move {
            let item = rx.recv().await;
            Some((item, rx))
        })
        .boxed();
        // Child tokens: each has a waiter list of its own, so polling them takes no lock that
        // other connections take.
        let child = |token: &tokio_util::sync::CancellationToken| {
            Box::pin(token.child_token().cancelled_owned())
        };
        Connection {
            sink,
            stream,
            requests,
            control,
            broadcast,
            outbox: Outbox::new(limits.ws_backlog_bytes_max),
            cursor,
            replies: VecDeque::new(),
            replies_max: limits.ws_in_flight_max + 16,
            hear_blocked: false,
            rare: WakeFlag::new(),
            ping_due: false,
            ping: tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every),
            idle_check: tokio::time::interval(check_every),
            idle_timeout,
            last_heard: Instant::now(),
            fetching: None,
            snapshot: None,
            unflushed: false,
            stuck: None,
            send_timeout: limits.ws_send_timeout,
            shutdown: child(&inner.shutdown),
            stopped: child(&inner.driver.stopped()),
            driver: inner.driver.clone(),
        }
    }

    /// Run until the connection ends.
    pub(super) async fn run(mut self) -> End {
        std::future::poll_fn(|cx| self.turn(cx)).await
    }

    /// One wake-up: hear (when something rare woke the task), take, write.
    fn turn(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        self.rare.register(cx);
        if self.rare.take() {
            let waker = self.rare.waker();
            if let Poll::Ready(end) = self.rare_sources(&mut Context::from_waker(&waker)) {
                return Poll::Ready(end);
            }
        }
        if let Poll::Ready(end) = self.take(cx) {
            return Poll::Ready(end);
        }
        let written = self.write(cx);
        if written.is_pending() && self.rare.is_set() {
            // A rare source has more to give (see `hear`): another turn, after the others.
            cx.waker().wake_by_ref();
        }
        written
    }

    /// Shutdown, the viewer's requests, the replies, the timers: each registers the rare waker.
    fn rare_sources(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        if self.shutdown.as_mut().poll(cx).is_ready() {
            return Poll::Ready(End::Close(close_code::AWAY, "the server is shutting down"));
        }
        if self.stopped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(End::Close(close_code::ERROR, "the simulator stopped"));
        }
        if let Poll::Ready(end) = self.hear(cx) {
            return Poll::Ready(end);
        }
        self.tick(cx)
    }

    /// The viewer's requests and the replies that came back: queued to write before the stream.
    fn hear(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let mut heard = 0;
        loop {
            if self.replies.len() >= self.replies_max {
                // The viewer is not reading its replies: hear again once one is written.
                self.hear_blocked = true;
                return Poll::Pending;
            }
            if heard == TURN_MAX {
                // A flood: the stream gets its turn, then this goes on.
                self.rare.set();
                return Poll::Pending;
            }
            let Poll::Ready(message) = self.stream.poll_next_unpin(cx) else {
                break;
            };
            heard += 1;
            self.last_heard = Instant::now();
            match self.requests.on_message(message) {
                Heard::Reply(reply) => self.replies.push_back(reply),
                Heard::Nothing => {}
                Heard::End(end) => return Poll::Ready(end),
            }
        }
        loop {
            if self.replies.len() >= self.replies_max {
                self.hear_blocked = true;
                return Poll::Pending;
            }
            // Never closed: the connection's requests hold a sender.
            let Poll::Ready(Some(text)) = self.control.poll_recv(cx) else {
                return Poll::Pending;
            };
            self.replies.push_back(text);
        }
    }

    /// The driver's broadcast, into the outbox (also while the socket is full).
    fn take(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        for _ in 0..TURN_MAX {
            match self.broadcast.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(out))) => {
                    if !self.outbox.push(out) {
                        tracing::debug!("viewer's backlog is over its budget; resync");
                    }
                }
                Poll::Ready(Some(Err(RecvError::Lagged(missed)))) => {
                    tracing::debug!(missed, "viewer missed broadcast messages; resync");
                    self.outbox.resync();
                }
                Poll::Ready(Some(Err(RecvError::Closed)) | None) => {
                    return Poll::Ready(End::Close(close_code::ERROR, "the simulator stopped"));
                }
            }
        }
        // More is waiting: come back for it after writing.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Pings, and the close of a viewer that has said nothing (not even a pong) for too long.
    fn tick(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        // Polled until pending, so each interval is registered for its next tick.
        while self.idle_check.poll_tick(cx).is_ready() {
            if self.last_heard.elapsed() >= self.idle_timeout {
                tracing::debug!("viewer silent (no pong); closing");
                return Poll::Ready(End::Close(
                    close_code::POLICY,
                    "no reply to pings: the connection looks dead",
                ));
            }
        }
        while self.ping.poll_tick(cx).is_ready() {
            self.ping_due = true;
        }
        Poll::Pending
    }

    /// Write everything due, as far as the socket takes it, then flush once.
    fn write(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        loop {
            if let Poll::Ready(end) = self.fetch(cx) {
                return Poll::Ready(end);
            }
            if !self.has_due() {
                break;
            }
            match self.sink.poll_ready_unpin(cx) {
                Poll::Pending => return self.wait_for_viewer(cx),
                Poll::Ready(Err(e)) => return gone(e),
                Poll::Ready(Ok(())) => self.stuck = None,
            }
            // Chosen only now that the socket takes one: a reply that came meanwhile goes first.
            let Some(message) = self.next_message() else {
                continue;
            };
            if let Err(e) = self.sink.start_send_unpin(message) {
                return gone(e);
            }
            self.unflushed = true;
        }
        if self.unflushed {
            match self.sink.poll_flush_unpin(cx) {
                Poll::Pending => return self.wait_for_viewer(cx),
                Poll::Ready(Err(e)) => return gone(e),
                Poll::Ready(Ok(())) => self.unflushed = false,
            }
        }
        self.stuck = None;
        Poll::Pending
    }

    fn has_due(&self) -> bool {
        !self.replies.is_empty()
            || self.ping_due
            || self.snapshot.is_some()
            || (self.fetching.is_none() && self.outbox.has_items())
    }

    /// The next message to write: replies, a ping, a resync's snapshot, then the stream.
    /// `None` when the stream has nothing to send now (skipped messages, or a resync started).
    fn next_message(&mut self) -> Option<Message> {
        if let Some(reply) = self.replies.pop_front() {
            if std::mem::take(&mut self.hear_blocked) {
                self.rare.set();
            }
            return Some(Message::Text(reply));
        }
        if std::mem::take(&mut self.ping_due) {
            return Some(Message::Ping(Default::default()));
        }
        if let Some(snapshot) = self.snapshot.take() {
            return Some(Message::Text(snapshot));
        }
        if self.fetching.is_some() {
            return None;
        }
        while let Some(item) = self.outbox.pop() {
            let admit = match &item {
                Item::Resync => Admit::Resync,
                Item::Message(out) => self.cursor.admit(out),
            };
            match (admit, item) {
                (Admit::Send, Item::Message(out)) => return Some(Message::Text(out.text.clone())),
                (Admit::Skip, _) => continue,
                _ => {
                    tracing::debug!("viewer fell behind; sending a fresh snapshot");
                    let driver = self.driver.clone();
                    self.fetching = Some(async move { driver.snapshot().await }.boxed());
                    return None;
                }
            }
        }
        None
    }

    /// Wait for the snapshot of a resync; once here, it is written before the stream goes on.
    fn fetch(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let Some(fetching) = self.fetching.as_mut() else {
            return Poll::Pending;
        };
        let Poll::Ready(answer) = fetching.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        self.fetching = None;
        let Ok(snapshot) = answer else {
            return Poll::Ready(End::Close(close_code::AWAY, "the server is shutting down"));
        };
        if snapshot.run == self.cursor.run && snapshot.seq_covered_by(self.cursor.seq) {
            // Only clock messages were missed: the viewer has every event already.
            return Poll::Pending;
        }
        self.cursor = Cursor::new(&snapshot);
        self.snapshot = Some(snapshot.snapshot_message_json());
        Poll::Pending
    }

    /// The socket takes nothing now: wait for it (the sink wakes this task), but not forever.
    fn wait_for_viewer(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let stuck = self
            .stuck
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(self.send_timeout)));
        if stuck.as_mut().poll(cx).is_ready() {
            tracing::debug!("viewer stopped reading; closing");
            return Poll::Ready(End::Stop);
        }
        Poll::Pending
    }
}

/// A write failed: the viewer is gone.
fn gone(e: impl std::fmt::Display) -> Poll<End> {
    tracing::debug!(error = %e, "viewer write failed");
    Poll::Ready(End::Stop)
}
