//! A node's in-memory copy of its log (1-based, with index 0 as the empty "before the start"
//! position of term 0). Owns index arithmetic and the up-to-date comparison of §5.4.1; knows
//! nothing about roles, messages or storage.

use crate::types::{ClientSerial, Entry, LogIndex, Term};

/// The log: `entries[i]` has index `i + 1`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftLog {
    entries: Vec<Entry>,
}

impl RaftLog {
    /// A log recovered from storage. Panics if the entries are not numbered 1, 2, 3, … or their
    /// terms decrease — storage handed back something no Raft node could have written.
    pub fn from_entries(entries: Vec<Entry>) -> Self {
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(
                e.index,
                LogIndex::of_slot(i),
                "recovered log is not contiguous"
            );
            if i > 0 {
                assert!(
                    e.term >= entries[i - 1].term,
                    "recovered log has decreasing terms at index {}",
                    e.index
                );
            }
        }
        RaftLog { entries }
    }

    /// The newest entry after index `after` holding the request `client`, if any (searched from
    /// the end: a leader asks about the short tail its state machine has not applied yet).
    pub fn find_client_after(&self, after: LogIndex, client: ClientSerial) -> Option<&Entry> {
        let from = (after.get() as usize).min(self.entries.len());
        self.entries[from..]
            .iter()
            .rev()
            .find(|e| e.data.client() == Some(client))
    }

    /// Index of the last entry (0 when empty).
    pub fn last_index(&self) -> LogIndex {
        LogIndex::of_len(self.entries.len())
    }

    /// Term of the last entry (0 when empty).
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(Term(0), |e| e.term)
    }

    /// Term of the entry at `index`: `Some(0)` for index 0, `None` past the end.
    pub fn term(&self, index: LogIndex) -> Option<Term> {
        if index == 0 {
            return Some(Term(0));
        }
        self.entries.get(index.slot()).map(|e| e.term)
    }

    /// The entry at `index`, if any.
    pub fn get(&self, index: LogIndex) -> Option<&Entry> {
        if index == 0 {
            return None;
        }
        self.entries.get(index.slot())
    }

    /// Entries in `[lo, hi]` that exist (clamped to the log).
    pub fn slice(&self, lo: LogIndex, hi: LogIndex) -> &[Entry] {
        let lo = lo.max(LogIndex(1));
        let hi = hi.min(self.last_index());
        if lo > hi {
            return &[];
        }
        &self.entries[lo.slot()..=hi.slot()]
    }

    /// All entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Append one entry; it must continue the log with a term no lower than the last.
    pub fn push(&mut self, entry: Entry) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "append must continue the log"
        );
        assert!(
            entry.term >= self.last_term(),
            "log terms must not decrease"
        );
        self.entries.push(entry);
    }

    /// Remove entries with index `>= index`.
    pub fn truncate_from(&mut self, index: LogIndex) {
        self.entries
            .truncate(index.saturating_sub(1).get() as usize);
    }

    /// §5.4.1: is a log ending at (`last_log_term`, `last_log_index`) at least as up-to-date as
    /// this one? "If the logs have last entries with different terms, then the log with the later
    /// term is more up-to-date. If the logs end with the same term, then whichever log is longer
    /// is more up-to-date."
    pub fn is_up_to_date(&self, last_log_index: LogIndex, last_log_term: Term) -> bool {
        last_log_term > self.last_term()
            || (last_log_term == self.last_term() && last_log_index >= self.last_index())
    }

    /// First index holding `term`, searching back from `from` (used for the conflict hint).
    pub fn first_index_of_term(&self, term: Term, from: LogIndex) -> LogIndex {
        let mut index = from.min(self.last_index());
        while index > 1 && self.term(index - 1) == Some(term) {
            index -= 1;
        }
        index
    }

    /// Last index holding `term`, if the log has any entry of that term (leader side of the
    /// fast backup).
    pub fn last_index_of_term(&self, term: Term) -> Option<LogIndex> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.term == term)
            .map(|e| e.index)
    }
}
