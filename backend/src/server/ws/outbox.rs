//! [`Outbox`]: one viewer's queue of broadcast messages, bounded in *bytes*. Owns the rule for a
//! viewer that falls behind; must not send anything (the connection's writer does).
//!
//! The connection's reader takes every broadcast message off the shared channel at once and
//! pushes it here, so the driver's broadcast never holds messages for a slow viewer (at speed 0
//! one `events` message can be over a megabyte, and the broadcast keeps a fixed *number* of
//! them). When a message would take the queue over its byte budget, the queue is emptied and
//! marked for a resync: the writer sends a fresh snapshot instead, and until it has asked for
//! one, new messages are dropped too (the snapshot, taken later, covers them). So one viewer
//! holds at most its budget plus the one message being written, however slowly it reads.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::driver::Outgoing;

/// What the writer should do next.
#[derive(Debug)]
pub(super) enum Item {
    /// Send this broadcast message (subject to the viewer's cursor).
    Message(Arc<Outgoing>),
    /// Send a fresh snapshot: messages were dropped.
    Resync,
}

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Arc<Outgoing>>,
    bytes: usize,
    resync: bool,
}

/// A viewer's byte-bounded backlog (shared by its reader and its writer).
#[derive(Debug)]
pub(super) struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
    budget: usize,
}

impl Outbox {
    /// An empty outbox holding at most `budget` bytes of queued messages (one message is always
    /// accepted into an empty queue, however big, or a huge message would resync forever).
    pub(super) fn new(budget: usize) -> Self {
        Outbox {
            queue: Mutex::new(Queue::default()),
            ready: Notify::new(),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A poisoned lock only means a panic mid-update of a plain queue; it is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue one message, or drop the backlog and ask for a resync when it would exceed the
    /// budget. Returns false when it started a resync (for logging).
    pub(super) fn push(&self, out: Arc<Outgoing>) -> bool {
        let mut q = self.lock();
        if q.resync {
            return true;
        }
        let size = out.text.len();
        if !q.messages.is_empty() && q.bytes + size > self.budget {
            drop_backlog(&mut q);
            drop(q);
            self.ready.notify_one();
            return false;
        }
        q.bytes += size;
        q.messages.push_back(out);
        drop(q);
        self.ready.notify_one();
        true
    }

    /// Drop the backlog and ask for a resync (the broadcast itself lost messages).
    pub(super) fn resync(&self) {
        drop_backlog(&mut self.lock());
        self.ready.notify_one();
    }

    /// The next thing to send, if any.
    pub(super) fn pop(&self) -> Option<Item> {
        let mut q = self.lock();
        if q.resync {
            q.resync = false;
            return Some(Item::Resync);
        }
        let out = q.messages.pop_front()?;
        q.bytes -= out.text.len();
        Some(Item::Message(out))
    }

    /// Wait for the next thing to send.
    pub(super) async fn next(&self) -> Item {
        loop {
            // `notified` is created before looking, so a push in between is not missed.
            let notified = self.ready.notified();
            if let Some(item) = self.pop() {
                return item;
            }
            notified.await;
        }
    }

    /// Bytes queued now.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

fn drop_backlog(q: &mut Queue) {
    q.messages.clear();
    // Give the memory back too: a burst must not leave a big buffer behind.
    q.messages.shrink_to(16);
    q.bytes = 0;
    q.resync = true;
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::driver::OutgoingKind;

    fn message(seq: u64, bytes: usize) -> Arc<Outgoing> {
        Arc::new(Outgoing {
            run: 1,
            kind: OutgoingKind::Events {
                first_seq: seq,
                last_seq: seq,
            },
            text: "x".repeat(bytes).into(),
            sent_at: Instant::now(),
        })
    }

    #[test]
    fn the_backlog_never_exceeds_its_budget_and_overflow_turns_into_one_resync() {
        let outbox = Outbox::new(1000);
        for seq in 1..=3 {
            assert!(outbox.push(message(seq, 300)));
        }
        assert_eq!(outbox.bytes(), 900);
        assert!(!outbox.push(message(4, 300)), "over budget: resync");
        assert_eq!(outbox.bytes(), 0, "the backlog is dropped at once");
        // Until the writer takes the resync, later messages are dropped: the snapshot it asks
        // for afterwards covers them.
        for seq in 5..100 {
            outbox.push(message(seq, 300));
            assert_eq!(outbox.bytes(), 0);
        }
        assert!(matches!(outbox.pop(), Some(Item::Resync)));
        assert!(outbox.pop().is_none());
        assert!(outbox.push(message(100, 300)));
        assert!(matches!(outbox.pop(), Some(Item::Message(m)) if m.text.len() == 300));
    }

    #[test]
    fn one_message_bigger_than_the_budget_still_goes_through() {
        let outbox = Outbox::new(1000);
        assert!(outbox.push(message(1, 5000)));
        assert!(matches!(outbox.pop(), Some(Item::Message(_))));
    }

    #[test]
    fn a_dropped_backlog_releases_its_messages() {
        let outbox = Outbox::new(1000);
        let m = message(1, 600);
        outbox.push(m.clone());
        outbox.push(message(2, 600));
        assert_eq!(Arc::strong_count(&m), 1, "only the test holds it now");
    }
}
