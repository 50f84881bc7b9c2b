//! Log replication (§5.3) and commitment (§5.4.2): sending and answering AppendEntries, the log
//! changes they cause, the commit rule and applying committed entries. Owns the path of an entry
//! from the leader's log to every state machine; elections and client requests are elsewhere.

use crate::raft::event::RaftEvent;
use crate::raft::message::{AppendEntries, AppendEntriesResponse, MessageBody};
use crate::raft::node::RaftNode;
use crate::types::{Entry, EntryData, LogIndex, NodeId, Role, Term};

impl RaftNode {
    // ----- Follower side -----

    /// AppendEntries receiver implementation (Figure 2).
    pub(super) fn handle_append_entries(&mut self, leader: NodeId, term: Term, ae: AppendEntries) {
        // "1. Reply false if term < currentTerm (§5.1)": the stale leader learns our term from
        // the reply and steps down.
        if term < self.current_term {
            self.reply_append(
                leader,
                AppendEntriesResponse::reject(ae.prev_log_index, LogIndex(0), None),
            );
            return;
        }
        // Same term: this is the one legitimate leader of the term. A candidate gives up (§5.2).
        // With a rule broken on purpose two leaders can share a term: this one steps down (below)
        // and the safety checker says what went wrong; in correct Raft it is a bug.
        assert!(
            self.role != Role::Leader || self.config.broken.any(),
            "election safety: two leaders in term {term}"
        );
        if self.role == Role::Candidate || self.leader_id != Some(leader) {
            self.become_follower(term, Some(leader));
        }
        self.reset_election_timer();

        // "2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches
        // prevLogTerm." With the fast-backup hint of §5.3 ("the follower can include the term of
        // the conflicting entry and the first index it stores for that term").
        match self.log.term(ae.prev_log_index) {
            None => {
                let conflict_index = self.log.last_index() + 1;
                let reject = AppendEntriesResponse::reject(ae.prev_log_index, conflict_index, None);
                self.reply_append(leader, reject);
                return;
            }
            Some(t) if t != ae.prev_log_term => {
                let conflict_index = self.log.first_index_of_term(t, ae.prev_log_index);
                let reject =
                    AppendEntriesResponse::reject(ae.prev_log_index, conflict_index, Some(t));
                self.reply_append(leader, reject);
                return;
            }
            Some(_) => {}
        }

        // "3. If an existing entry conflicts with a new one (same index but different terms),
        // delete the existing entry and all that follow it. 4. Append any new entries not already
        // in the log." Entries we already have are skipped, so duplicated or reordered
        // AppendEntries never truncate anything they should not.
        let last_new_index = ae.prev_log_index + ae.entries.len() as u64;
        let mut appended = Vec::new();
        for entry in ae.entries {
            match self.log.term(entry.index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    // With a rule broken on purpose this can happen: the run goes on so that the
                    // safety checker, not a panic, shows what went wrong.
                    assert!(
                        entry.index > self.commit_index || self.config.broken.any(),
                        "state machine safety: leader asked S{} to overwrite committed entry {}",
                        self.id(),
                        entry.index
                    );
                    self.truncate_log(entry.index);
                    self.log.push(entry.clone());
                    appended.push(entry);
                }
                None => {
                    self.log.push(entry.clone());
                    appended.push(entry);
                }
            }
        }
        if let Some(first) = appended.first() {
            self.mark_dirty(first.index);
            self.events.push(RaftEvent::EntriesAppended {
                node: self.id(),
                entries: appended,
            });
        }

        // "5. If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last
        // new entry)." Not the log's end: past the last new entry the follower's log may still
        // hold entries the leader does not have.
        if ae.leader_commit > self.commit_index {
            let new_commit = ae.leader_commit.min(last_new_index);
            if new_commit > self.commit_index {
                self.set_commit_index(new_commit);
            }
        }
        // Acknowledge what this request proved to match, not the log's end (the same reason).
        let accept = AppendEntriesResponse::accept(last_new_index, ae.prev_log_index);
        self.reply_append(leader, accept);
    }

    fn reply_append(&mut self, leader: NodeId, response: AppendEntriesResponse) {
        self.send(leader, MessageBody::AppendEntriesResponse(response));
    }

    // ----- Leader side -----

    pub(super) fn handle_append_response(
        &mut self,
        from: NodeId,
        term: Term,
        r: AppendEntriesResponse,
    ) {
        if term != self.current_term {
            return; // Stale: an answer to a previous leadership.
        }
        let last_index = self.log.last_index();
        // The §5.3 hint: skip past the whole conflicting term if the leader has entries of it,
        // otherwise go to where the follower's log (or that term) starts.
        let hint = if r.success {
            LogIndex(0)
        } else {
            match r.conflict_term.and_then(|t| self.log.last_index_of_term(t)) {
                Some(index) => index + 1,
                None => r.conflict_index,
            }
        };
        let Some(progress) = self.progress.get_mut(&from) else {
            return;
        };
        let moved = if r.success {
            progress.on_success(r.match_index)
        } else {
            match progress.on_reject(r.rejected_index, hint, last_index) {
                Some(moved) => moved,
                None => return, // A rejection of an older probe; a newer one is under way.
            }
        };
        let (next_index, match_index) = (progress.next_index, progress.match_index);
        if moved {
            self.events.push(RaftEvent::ProgressUpdated {
                leader: self.id(),
                peer: from,
                next_index,
                match_index,
            });
        }
        if r.success {
            self.maybe_commit();
        }
        if next_index <= last_index {
            self.send_append(from, false);
        }
    }

    /// Leader: send AppendEntries to every follower. `heartbeat` sends even when an earlier one
    /// is unanswered (it is the retry after a lost message).
    pub(super) fn broadcast_append(&mut self, heartbeat: bool) {
        for peer in self.others() {
            self.send_append(peer, heartbeat);
        }
        if heartbeat {
            self.heartbeat_deadline_ms = self.now_ms + self.config.heartbeat_interval_ms;
        }
    }

    fn send_append(&mut self, peer: NodeId, heartbeat: bool) {
        let last_index = self.log.last_index();
        let max_entries = self.config.max_entries_per_append;
        let Some(progress) = self.progress.get_mut(&peer) else {
            return;
        };
        let Some(batch) = progress.next_send(last_index, heartbeat, max_entries) else {
            return;
        };
        let prev_log_term = self
            .log
            .term(batch.prev_log_index)
            .expect("leader's next_index never passes its log end + 1");
        let append = AppendEntries {
            prev_log_index: batch.prev_log_index,
            prev_log_term,
            entries: self
                .log
                .slice(batch.prev_log_index + 1, batch.last)
                .to_vec(),
            leader_commit: self.commit_index,
        };
        self.send(peer, MessageBody::AppendEntries(append));
    }

    // ----- The log -----

    pub(super) fn append_entry(&mut self, data: EntryData) -> (LogIndex, Term) {
        let entry = Entry {
            index: self.log.last_index() + 1,
            term: self.current_term,
            data,
        };
        let (index, term) = (entry.index, entry.term);
        self.log.push(entry.clone());
        self.mark_dirty(index);
        self.events.push(RaftEvent::EntriesAppended {
            node: self.id(),
            entries: vec![entry],
        });
        (index, term)
    }

    fn truncate_log(&mut self, from: LogIndex) {
        assert_ne!(
            self.role,
            Role::Leader,
            "leader append-only: a leader never truncates"
        );
        self.log.truncate_from(from);
        self.persisted_index = self.persisted_index.min(from - 1);
        self.mark_dirty(from);
        self.events.push(RaftEvent::EntriesTruncated {
            node: self.id(),
            from_index: from,
        });
    }

    fn mark_dirty(&mut self, index: LogIndex) {
        self.dirty_from = Some(self.dirty_from.map_or(index, |d| d.min(index)));
    }

    // ----- Commit and apply -----

    /// Leader: "If there exists an N such that N > commitIndex, a majority of matchIndex[i] ≥ N,
    /// and log[N].term == currentTerm: set commitIndex = N (§5.3, §5.4)." The leader's own
    /// match is what it has durably written.
    pub(super) fn maybe_commit(&mut self) {
        let mut matched: Vec<LogIndex> = self.progress.values().map(|p| p.match_index).collect();
        matched.push(self.persisted_index);
        // Highest first (at most nine servers: an insertion sort, crate::tree).
        crate::tree::sort_small_by_key(&mut matched, |m| std::cmp::Reverse(*m));
        let n = matched[self.quorum() - 1];
        // §5.4.2: only entries of the current term are committed by counting replicas; earlier
        // ones are committed indirectly, by the Log Matching Property.
        let countable = self.log.term(n) == Some(self.current_term)
            // BROKEN ON PURPOSE (see `BrokenRules`): count replicas of older terms' entries too,
            // the mistake Figure 8 illustrates.
            || self.config.broken.commit_old_term_by_counting;
        if n > self.commit_index && countable {
            self.set_commit_index(n);
            // Followers learn the new commit index on the next AppendEntries; send one now
            // rather than waiting for the heartbeat, so commits show up promptly everywhere.
            self.broadcast_append(true);
        }
    }

    fn set_commit_index(&mut self, index: LogIndex) {
        assert!(index > self.commit_index, "commit_index never decreases");
        assert!(
            index <= self.log.last_index(),
            "cannot commit past the log's end"
        );
        self.commit_index = index;
        self.events.push(RaftEvent::CommitAdvanced {
            node: self.id(),
            commit_index: index,
        });
        self.apply_committed();
    }

    /// "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state
    /// machine (§5.3)." Only durable entries are applied, so a power loss cannot take back an
    /// entry this node already executed. A request executed before (same client and serial) is
    /// skipped, and said so (§8).
    pub(super) fn apply_committed(&mut self) {
        let applicable = self.commit_index.min(self.persisted_index);
        while self.last_applied < applicable {
            self.last_applied += 1;
            let entry = self
                .log
                .get(self.last_applied)
                .expect("applied entry exists");
            let applied = self.state_machine.apply(&entry.data);
            if let Some(client) = applied.duplicate {
                self.events.push(RaftEvent::DuplicateIgnored {
                    node: self.config.id,
                    index: self.last_applied,
                    client,
                });
            }
            self.events.push(RaftEvent::EntryApplied {
                node: self.config.id,
                index: self.last_applied,
                value: applied.value,
            });
        }
    }
}
