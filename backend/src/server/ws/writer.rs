//! The writing half of a viewer's connection: replies first, then pings, then the stream from
//! the viewer's outbox (through its [`Cursor`]), and a fresh snapshot when the outbox says the
//! viewer fell behind. Owns what is sent and in which order; must not read the socket (the
//! reader does).

use std::time::Duration;

use axum::extract::ws::{close_code, Message, Utf8Bytes};
use futures_util::Sink;
use tokio::sync::mpsc;

use super::cursor::{Admit, Cursor};
use super::outbox::{Item, Outbox};
use super::{send, End};
use crate::driver::DriverHandle;
use crate::server::AppState;

pub(super) struct Writer<'a, W> {
    sink: &'a mut W,
    outbox: &'a Outbox,
    replies: mpsc::Receiver<Utf8Bytes>,
    cursor: Cursor,
    driver: DriverHandle,
    ping_interval: Duration,
}

/// What the writer sends next.
enum Next {
    Text(Utf8Bytes),
    Ping,
    Resync,
}

impl<'a, W> Writer<'a, W>
where
    W: Sink<Message> + Unpin,
    W::Error: std::fmt::Display,
{
    pub(super) fn new(
        state: &AppState,
        sink: &'a mut W,
        outbox: &'a Outbox,
        replies: mpsc::Receiver<Utf8Bytes>,
        cursor: Cursor,
    ) -> Self {
        Writer {
            sink,
            outbox,
            replies,
            cursor,
            driver: state.inner.driver.clone(),
            ping_interval: state.inner.limits.ws_ping_interval,
        }
    }

    pub(super) async fn run(mut self) -> End {
        let start = tokio::time::Instant::now() + self.ping_interval;
        let mut ping = tokio::time::interval_at(start, self.ping_interval);
        loop {
            let next = tokio::select! {
                // Replies before anything else: a viewer's own commands never wait behind the
                // event stream.
                biased;
                Some(reply) = self.replies.recv() => Next::Text(reply),
                _ = ping.tick() => Next::Ping,
                item = self.outbox.next() => match item {
                    Item::Resync => Next::Resync,
                    Item::Message(out) => match self.cursor.admit(&out) {
                        Admit::Send => Next::Text(out.text.clone()),
                        Admit::Skip => continue,
                        Admit::Resync => Next::Resync,
                    },
                },
            };
            let message = match next {
                Next::Text(text) => Message::Text(text),
                Next::Ping => Message::Ping(Default::default()),
                Next::Resync => {
                    tracing::debug!("viewer fell behind; sending a fresh snapshot");
                    let Ok(snapshot) = self.driver.snapshot().await else {
                        return End::Close(close_code::AWAY, "the server is shutting down");
                    };
                    if snapshot.run == self.cursor.run && snapshot.seq_covered_by(self.cursor.seq) {
                        // Only clock messages were missed: the viewer has every event already.
                        continue;
                    }
                    self.cursor = Cursor::new(&snapshot);
                    Message::Text(snapshot.snapshot_message_json())
                }
            };
            if send(self.sink, message).await.is_err() {
                return End::Stop;
            }
        }
    }
}
