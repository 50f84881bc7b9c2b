//! The storage contract every node's durable state goes through, and `MemStorage`, the in-memory
//! implementation the simulator uses. Owns the distinction between *written* and *synced*; must not
//! do real I/O (the backend's file implementation lives in `backend/`).
//!
//! # Contract
//!
//! A storage holds one node's hard state (`current_term`, `voted_for`) and log.
//!
//! * Writes (`set_hard_state`, `truncate_from`, `append`) take effect immediately for reads
//!   (`load` after a *crash* sees them: the OS still has them), but are **durable** only once
//!   `sync` returns `Ok`. A *power loss* (`power_loss`) drops every write since the last
//!   successful `sync` — and nothing before it.
//! * `append` entries must continue the log: the first new entry's index is `last_index() + 1`.
//!   Appending anything else is a caller bug and returns [`StorageError::NotContiguous`].
//! * `truncate_from(i)` removes entries with index `>= i`; it is a no-op when `i > last_index()`.
//! * `set_hard_state` replaces the hard state as a whole: after a power loss either the old or the
//!   new hard state is seen, never a mix (the file implementation uses write-temp + rename).
//! * `load` returns what a restarted node recovers: the hard state and the whole log.
//! * Any `Err` means the node must stop (like etcd-raft: a storage error makes the node
//!   inoperable); the simulator crashes the node and reports the error.

use crate::types::{Entry, HardState, LogIndex, NodeId, Term};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An append did not continue the log.
    #[error("append at index {got} does not continue the log (expected {expected})")]
    NotContiguous {
        /// The index the log needed next.
        expected: LogIndex,
        /// The index that was offered.
        got: LogIndex,
    },
    /// The medium failed (file storage only).
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// A record on disk failed its checksum or could not be decoded and was not a torn tail.
    #[error("corrupt storage: {0}")]
    Corrupt(String),
}

/// What kind of failure a [`StorageError`] is, for events and the page (the sentence is in the
/// error's text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageFailureKind {
    /// An append did not continue the log (a caller bug).
    NotContiguous,
    /// The medium failed (disk full, permissions, …).
    Io,
    /// A record failed its checksum or could not be decoded.
    Corrupt,
}

impl StorageError {
    /// The failure's kind.
    pub fn kind(&self) -> StorageFailureKind {
        match self {
            StorageError::NotContiguous { .. } => StorageFailureKind::NotContiguous,
            StorageError::Io(_) => StorageFailureKind::Io,
            StorageError::Corrupt(_) => StorageFailureKind::Corrupt,
        }
    }
}

/// Durable state of one node. See the module docs for the contract.
pub trait Storage {
    /// Hard state and log as a restarted node would recover them.
    fn load(&mut self) -> Result<(HardState, Vec<Entry>), StorageError>;
    /// Replace the hard state (durable after the next `sync`).
    fn set_hard_state(&mut self, hard_state: HardState) -> Result<(), StorageError>;
    /// Remove every entry with index `>= index` (durable after the next `sync`).
    fn truncate_from(&mut self, index: LogIndex) -> Result<(), StorageError>;
    /// Append entries that continue the log (durable after the next `sync`).
    fn append(&mut self, entries: &[Entry]) -> Result<(), StorageError>;
    /// Make every write so far durable.
    fn sync(&mut self) -> Result<(), StorageError>;
    /// Index of the last entry written (synced or not); 0 for an empty log.
    fn last_index(&self) -> LogIndex;
    /// Index of the last entry that would survive a power loss right now.
    fn synced_index(&self) -> LogIndex;
    /// Simulate losing power: every write since the last `sync` is gone.
    fn power_loss(&mut self) -> Result<(), StorageError>;
    /// The node's `commit_index`, told with every batch (`Ready::write`). Not a write the
    /// contract covers: a storage may keep a record of the prefix that is both committed and
    /// synced, so that reopening a log that has since lost committed entries (a file emptied or
    /// cut by hand) is refused instead of read as a node that is merely behind — Raft would let
    /// a majority of such nodes overwrite committed entries. Committed entries are never
    /// truncated, so the record stays true. The default ignores it: memory is not damaged by
    /// hand.
    fn note_commit_index(&mut self, _commit_index: LogIndex) -> Result<(), StorageError> {
        Ok(())
    }
    /// What a power loss right now would leave: the synced hard state and log. Read-only, for
    /// the safety checker; `None` (the default) when an implementation cannot show it cheaply,
    /// and the checker then judges by what is written instead.
    fn durable_view(&self) -> Option<(HardState, &[Entry])> {
        None
    }
}

/// In-memory storage that remembers which writes are synced, so the simulator can show
/// "written but not yet on disk" and lose exactly that on a power loss.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    hard_state: HardState,
    log: Vec<Entry>,
    synced_hard_state: HardState,
    synced_log: Vec<Entry>,
    /// Length of the prefix shared by `log` and `synced_log` (what is durable *and* current).
    synced_len: usize,
}

impl MemStorage {
    /// An empty storage (a brand new node).
    pub fn new() -> Self {
        Self::default()
    }

    /// The log as currently written (tests and the checker read it).
    pub fn entries(&self) -> &[Entry] {
        &self.log
    }

    /// The log as it would be after a power loss.
    pub fn synced_entries(&self) -> &[Entry] {
        &self.synced_log
    }

    /// The hard state as currently written.
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }
}

impl Storage for MemStorage {
    fn load(&mut self) -> Result<(HardState, Vec<Entry>), StorageError> {
        Ok((self.hard_state, self.log.clone()))
    }

    fn set_hard_state(&mut self, hard_state: HardState) -> Result<(), StorageError> {
        self.hard_state = hard_state;
        Ok(())
    }

    fn truncate_from(&mut self, index: LogIndex) -> Result<(), StorageError> {
        let keep = index.saturating_sub(1).get() as usize;
        if keep < self.log.len() {
            self.log.truncate(keep);
            self.synced_len = self.synced_len.min(keep);
        }
        Ok(())
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), StorageError> {
        let first = LogIndex::of_len(self.log.len()) + 1;
        for (expected, entry) in (first.get()..).map(LogIndex).zip(entries) {
            if entry.index != expected {
                return Err(StorageError::NotContiguous {
                    expected,
                    got: entry.index,
                });
            }
        }
        self.log.extend_from_slice(entries);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.synced_hard_state = self.hard_state;
        // Copy only what changed since the last sync: the durable prefix is already there.
        self.synced_log.truncate(self.synced_len);
        self.synced_log
            .extend_from_slice(&self.log[self.synced_len..]);
        self.synced_len = self.log.len();
        Ok(())
    }

    fn last_index(&self) -> LogIndex {
        LogIndex::of_len(self.log.len())
    }

    fn synced_index(&self) -> LogIndex {
        LogIndex::of_len(self.synced_len)
    }

    fn durable_view(&self) -> Option<(HardState, &[Entry])> {
        Some((self.synced_hard_state, &self.synced_log))
    }

    fn power_loss(&mut self) -> Result<(), StorageError> {
        self.hard_state = self.synced_hard_state;
        self.log = self.synced_log.clone();
        self.synced_len = self.log.len();
        Ok(())
    }
}

/// The storage conformance suite: every implementation of [`Storage`] must pass it. The backend
/// runs it against its file storage; `fresh` must return an empty storage, and `reopen` must
/// simulate a process crash (drop and open again from the same medium, keeping unsynced writes
/// the OS would still have).
pub mod conformance {
    use super::*;
    use crate::command::Command;
    use crate::types::EntryData;

    fn entry(index: LogIndex, term: u64) -> Entry {
        Entry {
            index,
            term: Term(term),
            data: EntryData::Request {
                command: Command::Add(index.get() as i64),
                client: None,
            },
        }
    }

    /// Run every contract check; panics with a message naming the broken rule.
    pub fn run_all<S: Storage>(mut fresh: impl FnMut() -> S, mut reopen: impl FnMut(S) -> S) {
        // A fresh storage is empty.
        let mut s = fresh();
        let (hs, log) = s.load().expect("load fresh");
        assert_eq!(hs, HardState::default(), "fresh hard state must be zero");
        assert!(log.is_empty(), "fresh log must be empty");
        assert_eq!(s.last_index(), 0);
        assert_eq!(s.synced_index(), 0);

        // Appends must be contiguous.
        assert!(
            matches!(
                s.append(&[entry(LogIndex(2), 1)]),
                Err(StorageError::NotContiguous {
                    expected: LogIndex(1),
                    got: LogIndex(2)
                })
            ),
            "an append that skips an index must be refused"
        );

        // Written-but-unsynced is visible, not durable.
        s.append(&[entry(LogIndex(1), 1), entry(LogIndex(2), 1)])
            .unwrap();
        s.set_hard_state(HardState {
            current_term: Term(1),
            voted_for: Some(NodeId(1)),
        })
        .unwrap();
        assert_eq!(s.last_index(), 2);
        assert_eq!(s.synced_index(), 0, "nothing is synced before sync()");
        s.sync().unwrap();
        assert_eq!(s.synced_index(), 2);

        // More writes, then a power loss: only the unsynced part is lost.
        s.append(&[entry(LogIndex(3), 2)]).unwrap();
        s.set_hard_state(HardState {
            current_term: Term(2),
            voted_for: None,
        })
        .unwrap();
        s.power_loss().unwrap();
        let (hs, log) = s.load().unwrap();
        assert_eq!(
            hs.current_term, 1,
            "power loss must restore the synced hard state"
        );
        assert_eq!(hs.voted_for, Some(NodeId(1)));
        assert_eq!(
            log,
            vec![entry(LogIndex(1), 1), entry(LogIndex(2), 1)],
            "power loss keeps synced entries only"
        );

        // Truncation is a write like any other.
        s.append(&[entry(LogIndex(3), 2), entry(LogIndex(4), 2)])
            .unwrap();
        s.sync().unwrap();
        s.truncate_from(LogIndex(3)).unwrap();
        assert_eq!(s.last_index(), 2);
        assert_eq!(
            s.synced_index(),
            2,
            "truncation shortens the durable prefix"
        );
        s.truncate_from(LogIndex(10)).unwrap();
        assert_eq!(s.last_index(), 2, "truncating past the end is a no-op");
        s.append(&[entry(LogIndex(3), 3)]).unwrap();
        s.sync().unwrap();

        // A crash (reopen) keeps everything written, synced or not.
        s.append(&[entry(LogIndex(4), 3)]).unwrap();
        let mut s = reopen(s);
        let (hs, log) = s.load().unwrap();
        assert_eq!(hs.current_term, 1);
        assert_eq!(
            log.iter()
                .map(|e| (e.index.get(), e.term.get()))
                .collect::<Vec<_>>(),
            vec![(1, 1), (2, 1), (3, 3), (4, 3)],
            "a crash must not lose written entries"
        );
        assert_eq!(
            log[2].data,
            entry(LogIndex(3), 3).data,
            "entries round-trip exactly"
        );
        s.sync().unwrap();
        assert_eq!(s.synced_index(), 4);

        // Truncate everything, and a durable truncation survives a power loss.
        s.truncate_from(LogIndex(1)).unwrap();
        s.sync().unwrap();
        s.power_loss().unwrap();
        let (_, log) = s.load().unwrap();
        assert!(log.is_empty(), "a synced truncation is durable");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_storage_passes_the_conformance_suite() {
        conformance::run_all(MemStorage::new, |s| s);
    }

    #[test]
    fn mem_storage_shows_what_a_power_loss_would_leave() {
        let mut s = MemStorage::new();
        let e = |index| Entry {
            index,
            term: Term(1),
            data: crate::types::EntryData::Noop,
        };
        let voted = HardState {
            current_term: Term(1),
            voted_for: Some(NodeId(2)),
        };
        s.set_hard_state(voted).unwrap();
        s.append(&[e(LogIndex(1)), e(LogIndex(2))]).unwrap();
        assert_eq!(s.durable_view(), Some((HardState::default(), &[][..])));
        s.sync().unwrap();
        s.truncate_from(LogIndex(2)).unwrap();
        // The truncation is written, not synced: a power loss would bring entry 2 back.
        assert_eq!(
            s.durable_view(),
            Some((voted, &[e(LogIndex(1)), e(LogIndex(2))][..]))
        );
        s.power_loss().unwrap();
        assert_eq!(
            s.load().unwrap(),
            (voted, vec![e(LogIndex(1)), e(LogIndex(2))])
        );
    }
}
