//! The batch a node hands its driver (etcd-raft's `Ready`), and the two-step write-then-sync
//! path that is the only way to get its messages out. Owns the persistence contract; knows nothing
//! of how storage or the network are implemented.
//!
//! # The persistence contract (Figure 2: "updated on stable storage before responding to RPCs")
//!
//! 1. Take a [`Ready`] from the node ([`crate::RaftNode::ready`]).
//! 2. Read its `events` (they are observations, free to show at once).
//! 3. [`Ready::write`] it to the node's storage: the hard state, then the log suffix starting at
//!    the first changed index (replacing anything at or after it). Nothing is durable yet.
//! 4. [`Unsynced::sync`] it: storage fsyncs, and only then are the messages handed back, because a
//!    vote or an AppendEntries acknowledgement must never leave before what it promises is on disk.
//! 5. Send the messages, and give the returned [`Persisted`] to [`crate::RaftNode::advance`] so the
//!    node knows how much of its log is durable (a leader counts only durable entries of its own
//!    toward a commit quorum).
//!
//! Readys must be written and synced in the order they were taken. Several may be in flight
//! between write and sync (the simulator models fsync latency this way).
//!
//! Volatile state — `commit_index`, `last_applied`, role, votes received, leader bookkeeping — is
//! never persisted and is lost on a crash. (`write` tells the storage the commit index, which a
//! file storage keeps only to refuse a log that later lost committed entries; a restarted node
//! does not read it back.)

use crate::raft::event::RaftEvent;
use crate::raft::message::{Message, MessageBody};
use crate::storage::{Storage, StorageError};
use crate::types::{Entry, HardState, LogIndex};

/// Output of a node since the previous `Ready`.
#[derive(Debug, Default)]
pub struct Ready {
    pub(crate) number: u64,
    /// New hard state to persist, if it changed.
    pub hard_state: Option<HardState>,
    /// Log suffix to persist: storage drops everything at or after `entries[0].index`, then
    /// appends these.
    pub entries: Vec<Entry>,
    /// Log truncation with nothing appended after it (rare: a follower's conflicting suffix
    /// removed while the replacement has not arrived yet).
    pub truncate_from: Option<LogIndex>,
    /// What happened, in order, for people and checkers.
    pub events: Vec<RaftEvent>,
    pub(crate) messages: Vec<Message>,
    pub(crate) last_index: LogIndex,
    /// The node's commit index when the batch was taken (for `Storage::note_commit_index`).
    pub(crate) commit_index: LogIndex,
}

impl Ready {
    /// Messages waiting for this batch to be durable (read-only: to send them, sync first).
    pub fn pending_messages(&self) -> &[Message] {
        &self.messages
    }

    /// True when the batch needs no disk write (then `sync` costs nothing real, but the order
    /// must still be kept).
    pub fn needs_write(&self) -> bool {
        self.hard_state.is_some() || !self.entries.is_empty() || self.truncate_from.is_some()
    }

    /// Step 3: write the batch to storage (not yet durable).
    pub fn write<S: Storage + ?Sized>(self, storage: &mut S) -> Result<Unsynced, StorageError> {
        if let Some(hs) = self.hard_state {
            storage.set_hard_state(hs)?;
        }
        if let Some(index) = self.truncate_from {
            storage.truncate_from(index)?;
        }
        if let Some(first) = self.entries.first() {
            storage.truncate_from(first.index)?;
            storage.append(&self.entries)?;
        }
        storage.note_commit_index(self.commit_index)?;
        Ok(Unsynced {
            number: self.number,
            needs_sync: self.needs_write(),
            messages: self.messages,
            last_index: self.last_index,
        })
    }
}

/// A batch written to storage but not yet durable; holds its messages back until `sync`.
#[derive(Clone, Debug)]
pub struct Unsynced {
    number: u64,
    needs_sync: bool,
    messages: Vec<Message>,
    last_index: LogIndex,
}

impl Unsynced {
    /// Step 4: make the batch durable, then release its messages.
    pub fn sync<S: Storage + ?Sized>(
        self,
        storage: &mut S,
    ) -> Result<(Vec<Message>, Persisted), StorageError> {
        if self.needs_sync {
            storage.sync()?;
        }
        Ok((
            self.messages,
            Persisted {
                number: self.number,
                last_index: self.last_index,
            },
        ))
    }

    /// BROKEN ON PURPOSE, for the "break Raft" lab only ([`crate::raft::BrokenRules`]'s
    /// `ack_before_fsync`): take the AppendEntries replies out of the batch before it is synced,
    /// breaking step 4 of the contract above. Correct drivers never call this.
    pub fn release_acks_before_sync(&mut self) -> Vec<Message> {
        let (acks, rest) = std::mem::take(&mut self.messages)
            .into_iter()
            .partition(|m| matches!(m.body, MessageBody::AppendEntriesResponse(_)));
        self.messages = rest;
        acks
    }

    /// True when this batch wrote something (so a real fsync is due).
    pub fn needs_sync(&self) -> bool {
        self.needs_sync
    }

    /// Messages held back until sync.
    pub fn pending_messages(&self) -> &[Message] {
        &self.messages
    }
}

/// Proof that a batch is durable, for [`crate::RaftNode::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persisted {
    pub(crate) number: u64,
    /// The log's last index when the batch was taken.
    pub(crate) last_index: LogIndex,
}
