//! [`Outbox`]: one viewer's queue of broadcast messages, bounded in *bytes*. Owns the rule for a
//! viewer that falls behind; must not send anything (the connection does).
//!
//! The connection takes every broadcast message off the shared channel as soon as it is woken
//! and pushes it here, also while the viewer's socket is full, so the driver's broadcast never
//! holds messages for a slow viewer (at speed 0 one `events` message can be over a megabyte, and
//! the broadcast keeps a fixed *number* of them). When a message would take the queue over its
//! byte budget, the queue is emptied and marked for a resync: the connection sends a fresh
//! snapshot instead, and until it has asked for one, new messages are dropped too (the snapshot,
//! taken later, covers them). So one viewer holds at most its budget plus the one message being
//! written, however slowly it reads. The queue belongs to its connection alone: no lock.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::driver::Outgoing;

/// What the connection should send next.
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

/// A viewer's byte-bounded backlog.
#[derive(Debug)]
pub(super) struct Outbox {
    queue: Queue,
    budget: usize,
}

impl Outbox {
    /// An empty outbox holding at most `budget` bytes of queued messages (one message is always
    /// accepted into an empty queue, however big, or a huge message would resync forever).
    pub(super) fn new(budget: usize) -> Self {
        Outbox {
            queue: Queue::default(),
            budget,
        }
    }

    /// Queue one message, or drop the backlog and ask for a resync when it would exceed the
    /// budget. Returns false when it started a resync (for logging).
    pub(super) fn push(&mut self, out: Arc<Outgoing>) -> bool {
        let q = &mut self.queue;
        if q.resync {
            return true;
        }
        let size = out.text.len();
        if !q.messages.is_empty() && q.bytes + size > self.budget {
            drop_backlog(q);
            return false;
        }
        q.bytes += size;
        q.messages.push_back(out);
        true
    }

    /// Drop the backlog and ask for a resync (the broadcast itself lost messages).
    pub(super) fn resync(&mut self) {
        drop_backlog(&mut self.queue);
    }

    /// Something to send: a message or a resync.
    pub(super) fn has_items(&self) -> bool {
        self.queue.resync || !self.queue.messages.is_empty()
    }

    /// The next thing to send, if any.
    pub(super) fn pop(&mut self) -> Option<Item> {
        let q = &mut self.queue;
        if q.resync {
            q.resync = false;
            return Some(Item::Resync);
        }
        let out = q.messages.pop_front()?;
        q.bytes -= out.text.len();
        Some(Item::Message(out))
    }

    /// Bytes queued now.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.queue.bytes
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
        let mut outbox = Outbox::new(1000);
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
        let mut outbox = Outbox::new(1000);
        assert!(outbox.push(message(1, 5000)));
        assert!(matches!(outbox.pop(), Some(Item::Message(_))));
    }

    #[test]
    fn a_dropped_backlog_releases_its_messages() {
        let mut outbox = Outbox::new(1000);
        let m = message(1, 600);
        outbox.push(m.clone());
        outbox.push(message(2, 600));
        assert_eq!(Arc::strong_count(&m), 1, "only the test holds it now");
    }
}
