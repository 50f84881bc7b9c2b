//! The simulator's event queue: pending items ordered by (virtual time, sequence number), so that
//! items due at the same millisecond run in the order they were scheduled. Owns only that order;
//! must not look inside the items (no nodes, no messages, no randomness).

use std::collections::BTreeMap;

use crate::protocol::MessageId;
use crate::types::NodeId;

/// Where an item sits in the queue: its time and its scheduling sequence number. Kept by whoever
/// may need to cancel the item (a node's timer, a message in flight).
pub(super) type QueueKey = (u64, u64);

/// Something that will happen at a given virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Item {
    Deliver(MessageId),
    /// A lost message vanishes mid-way (so the UI can fade it out where it was lost).
    Lose(MessageId),
    Timer {
        node: NodeId,
        incarnation: u64,
    },
    SyncDone {
        node: NodeId,
        incarnation: u64,
    },
}

/// Pending items, earliest first.
#[derive(Clone, Debug, Default)]
pub(super) struct Queue {
    items: BTreeMap<QueueKey, Item>,
    seq: u64,
}

impl Queue {
    /// Queue `item` at `time_ms`, after everything already queued for that time.
    pub(super) fn schedule(&mut self, time_ms: u64, item: Item) -> QueueKey {
        self.seq += 1;
        let key = (time_ms, self.seq);
        self.items.insert(key, item);
        key
    }

    /// Take the earliest item out, with its time.
    pub(super) fn pop(&mut self) -> Option<(u64, Item)> {
        self.items.pop_first().map(|((time, _), item)| (time, item))
    }

    /// Forget a queued item (nothing happens if it already ran).
    pub(super) fn cancel(&mut self, key: &QueueKey) {
        self.items.remove(key);
    }

    /// Virtual time of the earliest item.
    pub(super) fn next_time(&self) -> Option<u64> {
        self.items.keys().next().map(|(t, _)| *t)
    }
}
