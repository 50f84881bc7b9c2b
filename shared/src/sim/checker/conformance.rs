//! Figure 2 conformance of the AppendEntries receiver, judged only from the wire and the events:
//! a follower's commit index moves by rule 5, and each reply acknowledges what its request
//! proved. Reads events only; knows nothing of logs or disks, and says nothing about safety (a
//! broken rule here may be harmless in this core; it is still not the paper's algorithm).
//!
//! Why it needs the wire: the end state cannot tell "committed up to the last *new* entry" from
//! "committed up to the log's end" while both name the same entries, and a leader that is told a
//! too-high `match_index` may just happen to be right. The request each event answers can.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{broken, Check};
use crate::protocol::{InFlight, MessageBody, MessageId};
use crate::raft::{AppendEntries, AppendEntriesResponse};
use crate::types::{LogIndex, NodeId};

/// What an AppendEntries lets its receiver do: acknowledge `prev_log_index..=last_new` and
/// commit up to `min(leader_commit, last_new)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Request {
    prev_log_index: LogIndex,
    /// `prev_log_index + entries.len()`: Figure 2's "index of last new entry".
    last_new: LogIndex,
    leader_commit: LogIndex,
}

impl Request {
    fn of(ae: &AppendEntries) -> Self {
        Request {
            prev_log_index: ae.prev_log_index,
            last_new: ae.prev_log_index + ae.entries.len() as u64,
            leader_commit: ae.leader_commit,
        }
    }

    /// Whether `r` is a correct answer to this request (either way: accepted or rejected).
    fn answered_by(&self, r: &AppendEntriesResponse) -> bool {
        r.rejected_index == self.prev_log_index && (!r.success || r.match_index == self.last_new)
    }
}

/// Requests delivered to a follower from one leader, oldest first, and how far its replies have
/// got through them.
///
/// The network duplicates a send as two consecutive identical `MessageSent`s, but two real
/// replies can look exactly the same too (a duplicated request delivered twice, both answers
/// released by one fsync). So a copy is either nothing or the answer to the next request, and the
/// checker keeps every count of answered requests that fits all replies so far: a copy may add
/// one, a real reply must answer the next request under at least one of them.
#[derive(Clone, Debug)]
struct Owed {
    requests: VecDeque<Request>,
    /// Requests before `requests[0]`: answered under every count still possible.
    base: u64,
    /// The possible counts of answered requests (from the first this life), never empty.
    answered: BTreeSet<u64>,
}

/// Enough counts for any run of identical copies the network and one fsync produce.
const MAX_COUNTS: usize = 16;

impl Default for Owed {
    /// Nothing delivered, nothing answered.
    fn default() -> Self {
        Owed {
            requests: VecDeque::new(),
            base: 0,
            answered: BTreeSet::from([0]),
        }
    }
}

impl Owed {
    fn request(&self, answered: u64) -> Option<&Request> {
        self.requests.get((answered - self.base) as usize)
    }

    /// A reply `r`; `copy` if it may be the network's duplicate of the one before. `Err` with
    /// the request it should have answered when it answers none it could.
    fn reply(&mut self, r: &AppendEntriesResponse, copy: bool) -> Result<(), Request> {
        let mut next = BTreeSet::new();
        let mut wrong = None;
        for &n in &self.answered {
            match self.request(n) {
                // Nothing owed under this count: a reply we cannot judge (see `delivered`).
                None => {
                    next.insert(n);
                }
                Some(q) if q.answered_by(r) => {
                    next.insert(n + 1);
                }
                Some(q) => {
                    wrong.get_or_insert(*q);
                }
            }
            if copy {
                next.insert(n);
            }
        }
        let Some(&lowest) = next.first() else {
            return Err(wrong.expect("a count without a fitting request"));
        };
        while next.len() > MAX_COUNTS {
            next.pop_first();
        }
        self.answered = next;
        while self.base < lowest && !self.requests.is_empty() {
            self.requests.pop_front();
            self.base += 1;
        }
        Ok(())
    }
}

/// What the checker remembers for these rules.
#[derive(Clone, Debug, Default)]
pub(super) struct Conformance {
    /// AppendEntries in flight, by id: sent, not yet delivered or dropped (so bounded by what
    /// the network holds).
    in_flight: BTreeMap<MessageId, Request>,
    /// Node → the AppendEntries it is handling now: from its delivery until the next delivery to
    /// it. A follower's commit index moves only there.
    handling: BTreeMap<NodeId, Request>,
    /// (follower, leader) → replies owed, in delivery order (they leave after the fsync, in
    /// order; a crash, power loss or storage failure takes the unsent ones away).
    owed: BTreeMap<(NodeId, NodeId), Owed>,
    /// The previous `MessageSent`, if it was the event just before: how duplicates show.
    previous_sent: Option<InFlight>,
    /// The first message id seen: a delivery of an older one is of a message sent before the
    /// checker started, perhaps an AppendEntries we never saw.
    first_id: Option<MessageId>,
    /// (follower, leader) pairs that received such a message: their replies cannot be paired
    /// with requests until the follower's next life.
    blind: BTreeSet<(NodeId, NodeId)>,
}

impl Conformance {
    /// Any event that is not a `MessageSent` ends a run of duplicates.
    pub(super) fn other_event(&mut self) {
        self.previous_sent = None;
    }

    /// A message left its sender.
    pub(super) fn sent(&mut self, m: &InFlight) -> Check {
        let copy = self.previous_sent.as_ref().is_some_and(|p| {
            p.id + 1 == m.id && p.from == m.from && p.to == m.to && p.message == m.message
        });
        self.previous_sent = Some(m.clone());
        self.first_id.get_or_insert(m.id);
        match &m.message.body {
            MessageBody::AppendEntries(ae) => {
                self.in_flight.insert(m.id, Request::of(ae));
                Ok(())
            }
            MessageBody::AppendEntriesResponse(r) => self.replied(m.from, m.to, r, copy),
            _ => Ok(()),
        }
    }

    /// A message reached `to`, a running node.
    pub(super) fn delivered(&mut self, id: MessageId, from: NodeId, to: NodeId) {
        match self.in_flight.remove(&id) {
            Some(request) => {
                self.handling.insert(to, request);
                if self.blind.contains(&(to, from)) {
                    return;
                }
                let owed = self.owed.entry((to, from)).or_default();
                owed.requests.push_back(request);
            }
            None => {
                self.handling.remove(&to);
                if self.first_id.is_none_or(|first| id < first) {
                    self.blind.insert((to, from));
                    self.owed.remove(&(to, from));
                }
            }
        }
    }

    /// A message was lost.
    pub(super) fn dropped(&mut self, id: MessageId) {
        self.in_flight.remove(&id);
    }

    /// `node` stopped or started a new life: the replies it had not sent are gone.
    pub(super) fn reset(&mut self, node: NodeId) {
        self.handling.remove(&node);
        self.blind.retain(|(follower, _)| *follower != node);
        self.owed.retain(|(follower, _), _| *follower != node);
    }

    /// Figure 2, AppendEntries receiver rule 5: "If leaderCommit > commitIndex, set commitIndex =
    /// min(leaderCommit, index of last new entry)." `node` is not leading (a leader's commits
    /// are judged by the leader commit rule).
    pub(super) fn follower_committed(&self, node: NodeId, commit_index: LogIndex) -> Check {
        let Some(r) = self.handling.get(&node) else {
            return Ok(()); // Not while handling a request we saw whole: nothing to judge by.
        };
        let allowed = r.leader_commit.min(r.last_new);
        if commit_index > allowed {
            return broken(
                "commit rule (Figure 2 rule 5)",
                format!(
                    "S{node} advanced its commit index to {commit_index} on an AppendEntries with \
                     prev_log_index {}, last new entry {} and leader_commit {}: at most \
                     min(leader_commit, last new entry) = {allowed}",
                    r.prev_log_index, r.last_new, r.leader_commit
                ),
            );
        }
        Ok(())
    }

    /// `follower` sent `r` to `leader`; `copy` if it is identical to the `MessageSent` just
    /// before it (perhaps the network's duplicate).
    fn replied(
        &mut self,
        follower: NodeId,
        leader: NodeId,
        r: &AppendEntriesResponse,
        copy: bool,
    ) -> Check {
        let Some(owed) = self.owed.get_mut(&(follower, leader)) else {
            return Ok(()); // Answers a request we did not see whole (a checker started late).
        };
        let Err(q) = owed.reply(r, copy) else {
            return Ok(());
        };
        let what = if r.success {
            format!("accepted it with match_index {}", r.match_index)
        } else {
            "rejected it".to_string()
        };
        broken(
            "acknowledgement rule",
            format!(
                "S{follower} answered S{leader}'s AppendEntries with prev_log_index {} and last \
                 new entry {} (the oldest it owed a reply) with rejected_index {} and {what} (a \
                 reply names its request's prev_log_index and, on success, acknowledges exactly \
                 up to its last new entry)",
                q.prev_log_index, q.last_new, r.rejected_index
            ),
        )
    }
}
