//! The leader's view of one follower (Figure 2's `nextIndex[]`/`matchIndex[]`), in the spirit of
//! raft-rs's tracker: what a success or a rejection does to it, and what may be sent next. Owns
//! the flow control of one follower; knows nothing of messages, terms or the log's contents.

use crate::types::LogIndex;

/// The leader's bookkeeping for one follower (Figure 2, "volatile state on leaders").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Index of the next entry to send to that server.
    pub next_index: LogIndex,
    /// Index of the highest entry known to be replicated on that server. Never moves backwards:
    /// replies arrive late, twice or out of order.
    pub match_index: LogIndex,
    /// Last index carried by the outstanding AppendEntries, if one with entries is unanswered:
    /// don't send another until a reply covers it or the next heartbeat (which doubles as the
    /// retry). Only a reply covering it ends the wait — a reply to an older or duplicated batch
    /// must not, or every such reply would start one more concurrent stream of batches.
    inflight_last: Option<LogIndex>,
}

/// A batch the leader may send now: entries `next_index ..= last` after `prev_log_index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Send {
    /// The entry before the batch.
    pub prev_log_index: LogIndex,
    /// Last entry of the batch (`prev_log_index` for a heartbeat with no entries).
    pub last: LogIndex,
}

impl Progress {
    /// Figure 2: "Reinitialized after election: nextIndex … initialized to leader last log index
    /// + 1; matchIndex … initialized to 0".
    pub fn new(next_index: LogIndex) -> Self {
        Progress {
            next_index,
            match_index: LogIndex(0),
            inflight_last: None,
        }
    }

    /// What to send given the leader's log end: a batch of at most `max_entries`, or `None` to
    /// stay quiet (a batch is already in flight, or there is nothing new and this is not a
    /// heartbeat). A heartbeat always goes out, and re-sends from `next_index`.
    pub fn next_send(
        &mut self,
        last_index: LogIndex,
        heartbeat: bool,
        max_entries: u64,
    ) -> Option<Send> {
        let has_entries = self.next_index <= last_index;
        if !heartbeat && (self.inflight_last.is_some() || !has_entries) {
            return None;
        }
        let prev_log_index = self.next_index - 1;
        let last = if has_entries {
            let last = (prev_log_index + max_entries).min(last_index);
            self.inflight_last = Some(last);
            last
        } else {
            prev_log_index
        };
        Some(Send {
            prev_log_index,
            last,
        })
    }

    /// "If successful: update nextIndex and matchIndex for follower (§5.3)", only ever forward.
    /// Returns true if either index moved.
    pub fn on_success(&mut self, match_index: LogIndex) -> bool {
        let before = (self.next_index, self.match_index);
        self.match_index = self.match_index.max(match_index);
        self.next_index = self.next_index.max(self.match_index + 1);
        if self
            .inflight_last
            .is_some_and(|last| self.match_index >= last)
        {
            self.inflight_last = None;
        }
        before != (self.next_index, self.match_index)
    }

    /// "If AppendEntries fails because of log inconsistency: decrement nextIndex and retry",
    /// skipping a whole conflicting term at once when `hint` (the §5.3 optimisation) says where.
    /// `rejected_index` is the refused request's `prev_log_index`: a rejection of an older probe
    /// is ignored (returns `None`), since a newer one is under way. Otherwise returns whether
    /// `next_index` moved.
    pub fn on_reject(
        &mut self,
        rejected_index: LogIndex,
        hint: LogIndex,
        last_index: LogIndex,
    ) -> Option<bool> {
        if rejected_index + 1 != self.next_index || rejected_index < self.match_index {
            return None;
        }
        let before = self.next_index;
        self.next_index = hint
            .min(self.next_index - 1)
            .max(self.match_index + 1)
            .min(last_index + 1);
        self.inflight_last = None;
        Some(before != self.next_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_batch_in_flight_until_a_reply_covers_it() {
        let mut p = Progress::new(LogIndex(1));
        let first = p
            .next_send(LogIndex(10), false, 4)
            .expect("entries to send");
        assert_eq!(
            (first.prev_log_index, first.last),
            (LogIndex(0), LogIndex(4))
        );
        assert_eq!(
            p.next_send(LogIndex(10), false, 4),
            None,
            "wait for the reply"
        );
        // A reply to an older or duplicated batch does not end the wait.
        assert!(p.on_success(LogIndex(2)));
        assert_eq!(p.next_send(LogIndex(10), false, 4), None);
        assert!(p.on_success(LogIndex(4)));
        let second = p.next_send(LogIndex(10), false, 4).expect("next batch");
        assert_eq!(
            (second.prev_log_index, second.last),
            (LogIndex(4), LogIndex(8))
        );
    }

    #[test]
    fn match_index_never_moves_backwards() {
        let mut p = Progress::new(LogIndex(1));
        p.on_success(LogIndex(7));
        assert!(!p.on_success(LogIndex(3)), "a late reply changes nothing");
        assert_eq!((p.match_index, p.next_index), (LogIndex(7), LogIndex(8)));
    }

    #[test]
    fn rejection_backs_up_but_not_below_match_and_ignores_old_probes() {
        let mut p = Progress::new(LogIndex(11));
        p.match_index = LogIndex(3);
        assert_eq!(
            p.on_reject(LogIndex(10), LogIndex(6), LogIndex(10)),
            Some(true)
        );
        assert_eq!(p.next_index, 6);
        assert_eq!(
            p.on_reject(LogIndex(10), LogIndex(1), LogIndex(10)),
            None,
            "answer to an older probe"
        );
        assert_eq!(
            p.on_reject(LogIndex(5), LogIndex(1), LogIndex(10)),
            Some(true)
        );
        assert_eq!(p.next_index, 4, "never below match_index + 1");
    }

    #[test]
    fn heartbeat_goes_out_even_with_a_batch_in_flight() {
        let mut p = Progress::new(LogIndex(5));
        p.next_send(LogIndex(8), false, 8);
        assert!(p.next_send(LogIndex(8), true, 8).is_some());
        let idle = Progress::new(LogIndex(9))
            .next_send(LogIndex(8), true, 8)
            .expect("heartbeat");
        assert_eq!((idle.prev_log_index, idle.last), (LogIndex(8), LogIndex(8)));
    }

    #[test]
    fn rejection_backs_up_at_least_one_even_when_the_hint_points_ahead() {
        // A hint past the probe (the follower's conflicting term is one the leader has later
        // in its log) must still move next_index back, or the same probe would repeat forever.
        // The leader's log ends at 4, so this was its first probe.
        let mut p = Progress::new(LogIndex(5));
        assert_eq!(
            p.on_reject(LogIndex(4), LogIndex(9), LogIndex(4)),
            Some(true)
        );
        assert_eq!(p.next_index, 4);
    }

    #[test]
    fn rejection_at_the_matched_index_ends_the_wait() {
        // next_index = match_index + 1, so this probe is the current one: its rejection cannot
        // move next_index, but it ends the wait for the batch so a retry can go out at once.
        let mut p = Progress::new(LogIndex(1));
        p.on_success(LogIndex(4));
        assert!(p.next_send(LogIndex(10), false, 4).is_some());
        assert_eq!(
            p.next_send(LogIndex(10), false, 4),
            None,
            "a batch is in flight"
        );
        assert_eq!(
            p.on_reject(LogIndex(4), LogIndex(1), LogIndex(10)),
            Some(false)
        );
        assert!(
            p.next_send(LogIndex(10), false, 4).is_some(),
            "the retry goes out"
        );
        // Even when the follower holds the leader's whole log, next_index stays past match.
        let mut q = Progress::new(LogIndex(1));
        q.on_success(LogIndex(4));
        assert_eq!(
            q.on_reject(LogIndex(4), LogIndex(1), LogIndex(4)),
            Some(false)
        );
        assert_eq!(q.next_index, 5);
    }
}
