//! Leader election (§5.2, §5.4.1): becoming a candidate, a follower or the leader, granting and
//! counting votes, and the randomized election timer. Owns the role transitions; replication and
//! client requests are elsewhere.

use crate::raft::event::RaftEvent;
use crate::raft::message::{MessageBody, RequestVote, RequestVoteResponse};
use crate::raft::node::RaftNode;
use crate::raft::progress::Progress;
use crate::tree::IntoTree;
use crate::types::{EntryData, NodeId, Role, Term};

impl RaftNode {
    /// Start an election now (§5.2): what an election timeout does, also used to force one.
    pub fn campaign(&mut self) {
        if self.role == Role::Leader {
            return;
        }
        // "On conversion to candidate: increment currentTerm, vote for self, reset election
        // timer, send RequestVote RPCs to all other servers."
        self.current_term += 1;
        self.voted_for = Some(self.id());
        self.role = Role::Candidate;
        self.leader_id = None;
        self.progress.clear();
        self.votes.clear();
        // The vote for self is counted once it is durable (see `count_own_vote`): a one-node
        // cluster that led before its new term reached disk could lose power, come back in the
        // old term, win the same term again and hand the same (index, term) to another request.
        self.own_vote_pending = Some((self.current_term, self.next_ready_number()));
        self.events.push(RaftEvent::RoleChanged {
            node: self.id(),
            role: Role::Candidate,
            term: self.current_term,
            leader_id: None,
        });
        self.reset_election_timer();
        let request = RequestVote {
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.others() {
            self.send(peer, MessageBody::RequestVote(request));
        }
    }

    /// The Ready numbered `durable` (and all before it) reached disk: if it carried this
    /// candidate's vote for itself, that vote now counts.
    pub(super) fn count_own_vote(&mut self, durable: u64) {
        let Some((term, number)) = self.own_vote_pending else {
            return;
        };
        if durable < number {
            return;
        }
        self.own_vote_pending = None;
        if self.role != Role::Candidate || self.current_term != term {
            return; // The election was over before the vote was on disk.
        }
        self.record_vote(self.id(), true);
    }

    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        let changed =
            term != self.current_term || self.role != Role::Follower || leader != self.leader_id;
        let was_leader = self.role == Role::Leader;
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
        }
        self.role = Role::Follower;
        self.leader_id = leader;
        self.votes.clear();
        self.own_vote_pending = None;
        self.progress.clear();
        if changed {
            self.events.push(RaftEvent::RoleChanged {
                node: self.id(),
                role: Role::Follower,
                term: self.current_term,
                leader_id: leader,
            });
        }
        // Figure 2 resets the election timer only on AppendEntries from the current leader or on
        // granting a vote; merely learning of a higher term does not. (Resetting here would let a
        // candidate whose stale log cannot win keep postponing the timeouts of the servers that
        // can, which is exactly the situation of §9.3.) A deposed leader had no timer running, so
        // it arms a fresh one.
        if was_leader {
            self.reset_election_timer();
        }
    }

    fn become_leader(&mut self) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "only a candidate can win an election"
        );
        self.role = Role::Leader;
        self.leader_id = Some(self.id());
        self.votes.clear();
        let next_index = self.log.last_index() + 1;
        self.progress = self
            .others()
            .into_iter()
            .map(|peer| (peer, Progress::new(next_index)))
            .into_map();
        self.events.push(RaftEvent::RoleChanged {
            node: self.id(),
            role: Role::Leader,
            term: self.current_term,
            leader_id: Some(self.id()),
        });
        // §8: "each leader commit a blank no-op entry into the log at the start of its term",
        // which is what lets it commit entries left from earlier terms (§5.4.2).
        self.append_entry(EntryData::Noop);
        self.broadcast_append(true);
    }

    pub(super) fn reset_election_timer(&mut self) {
        let timeout = self.rng.range_inclusive(
            self.config.election_timeout_ms_min,
            self.config.election_timeout_ms_max,
        );
        self.election_deadline_ms = self.now_ms + timeout;
        self.events.push(RaftEvent::TimerReset {
            node: self.id(),
            election_deadline_ms: self.election_deadline_ms,
        });
    }

    /// RequestVote receiver implementation (Figure 2): "1. Reply false if term < currentTerm.
    /// 2. If votedFor is null or candidateId, and candidate's log is at least as up-to-date as
    /// receiver's log, grant vote."
    pub(super) fn handle_request_vote(&mut self, candidate: NodeId, term: Term, rv: RequestVote) {
        // §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
        // candidate", which is what guarantees a new leader holds every committed entry.
        let up_to_date = self.log.is_up_to_date(rv.last_log_index, rv.last_log_term)
            // BROKEN ON PURPOSE (see `BrokenRules`): skip that check.
            || self.config.broken.vote_without_log_check;
        let grant = term == self.current_term
            && self.voted_for.is_none_or(|v| v == candidate)
            && up_to_date;
        if grant {
            self.voted_for = Some(candidate);
            self.events.push(RaftEvent::VoteGranted {
                voter: self.id(),
                candidate,
                term,
            });
            // §5.2: a follower that grants a vote resets its timer, so that it does not start a
            // competing election right after helping this one.
            self.reset_election_timer();
        }
        self.send(
            candidate,
            MessageBody::RequestVoteResponse(RequestVoteResponse {
                vote_granted: grant,
            }),
        );
    }

    pub(super) fn handle_vote_response(&mut self, from: NodeId, term: Term, granted: bool) {
        if term != self.current_term {
            return; // A reply to an election we are no longer running.
        }
        self.record_vote(from, granted);
    }

    /// Count one answer (or the candidate's own durable vote). "If votes received from majority
    /// of servers: become leader."
    fn record_vote(&mut self, from: NodeId, granted: bool) {
        debug_assert_eq!(self.role, Role::Candidate);
        self.votes.insert(from, granted);
        self.events.push(RaftEvent::VoteReceived {
            node: self.id(),
            from,
            granted,
            votes: self.votes_granted(),
        });
        if self.votes_granted().len() >= self.quorum() {
            self.become_leader();
        }
    }
}
