//! The safety checker: watches a simulator's events and state for the whole run and reports the
//! first broken Raft guarantee (Figure 3 of the paper, plus what Figure 2 asks of votes, disks
//! and state machines). Owns no part of the run; it only reads. Tests call it after every step;
//! the UI may show its verdict.
//!
//! What it remembers is the whole run, not one instant: who led every term, every vote that left
//! a node, every (index, term) ever appended, what each node promised by sending a message, the
//! committed log, and each node's state machine since its last restart. The properties:
//!
//! * **election safety** — at most one leader per term, and each won a majority of votes granted
//!   in that term;
//! * **one vote per term** — a node gives its vote in a term to one candidate, across crashes and
//!   power losses; **vote counting** — a candidate counts only votes granted to it in its term;
//! * **persistence** — a message leaves a node only once its term, the vote it carries and the
//!   log prefix it acknowledges are on synced storage, and no crash or power loss takes them back;
//! * **log matching** — logs agreeing on (index, term) agree on every entry up to it; and one
//!   (index, term) names one entry, after one predecessor, for the whole run;
//! * **leader append-only**, **leader completeness**, **state machine safety**;
//! * **leader commit rule** — a leader commits by counting replicas only an entry of its own
//!   term (§5.4.2; Figure 8 shows how counting an older one loses a "committed" entry);
//! * **leader progress** — a leader's `match_index` only grows and never vouches for more than the
//!   follower durably holds;
//! * **committed on a synced majority** — a committed entry is on a majority's synced storage
//!   from the moment anyone knows it committed; **durability** — and survives every power loss;
//! * **commit rule (Figure 2 rule 5)** — a follower handling an AppendEntries commits at most up
//!   to `min(leader_commit, prev_log_index + entries.len())`, never to its log's end; and the
//!   **acknowledgement rule** — each AppendEntries delivered to a running node gets exactly one
//!   reply, in delivery order, naming its `prev_log_index` and, on success, acknowledging exactly
//!   `prev_log_index + entries.len()` (see `conformance.rs`: both judged from the wire alone);
//! * **apply order** and **state machine replay** — each node life applies entries once, in order,
//!   and its values are a replay of the committed log (see `apply.rs` for `add rand`).

mod apply;
mod conformance;
mod entries;
mod matching;
mod promises;
mod votes;

use std::collections::BTreeMap;

use crate::protocol::{Event, MessageBody, RequestVoteResponse, SimEvent};
use crate::sim::Sim;
use crate::storage::Storage;
use crate::types::{Entry, LogIndex, NodeId, Role, Term};

/// A broken guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which property, as named in the module docs: "election safety", "one vote per term",
    /// "vote counting", "persistence", "log matching", "leader append-only", "leader
    /// completeness", "state machine safety", "leader commit rule", "leader progress",
    /// "committed on a synced majority", "durability", "commit rule (Figure 2 rule 5)",
    /// "acknowledgement rule", "apply order" or "state machine replay"
    /// (and, from `chaos::run`, "no panic" and "liveness after healing").
    pub property: &'static str,
    /// What exactly went wrong.
    pub detail: String,
    /// Virtual time it was noticed (ms).
    pub time_ms: u64,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} violated at t={} ms: {}",
            self.property, self.time_ms, self.detail
        )
    }
}

/// A broken property before it is stamped with the time (the sub-checkers don't know it).
#[derive(Debug)]
struct Broken {
    property: &'static str,
    detail: String,
}

/// What every sub-check returns.
type Check = Result<(), Broken>;

fn broken(property: &'static str, detail: String) -> Check {
    Err(Broken { property, detail })
}

/// Remembers the run so far (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Checker {
    leaders: BTreeMap<Term, NodeId>,
    /// The one committed log: entry `i` at position `i - 1`.
    committed: Vec<Entry>,
    /// Up to where each node's commits were checked against `committed`.
    checked_commit: BTreeMap<NodeId, LogIndex>,
    /// Each node's `current_term` as the events tell it (last known while it is down).
    terms: BTreeMap<NodeId, Term>,
    /// Nodes leading now, with their term.
    leading: BTreeMap<NodeId, Term>,
    votes: votes::Votes,
    promises: promises::Promises,
    entries: entries::Entries,
    apply: apply::Apply,
    conformance: conformance::Conformance,
    matching: matching::Matching,
}

impl Checker {
    /// A checker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries known committed, in order.
    pub fn committed(&self) -> &[Entry] {
        &self.committed
    }

    /// Check the events of one step against the simulator's state right after it.
    pub fn observe<S: Storage>(
        &mut self,
        sim: &Sim<S>,
        events: &[SimEvent],
    ) -> Result<(), Violation> {
        // A property that merely restates a rule switched off on purpose is not reported (it
        // would fire the instant the rule is broken): what the broken rule leads to is.
        let broken_rules = sim.config().broken_rules;
        let stamp = |result: Check| match result {
            Err(b) if !broken_rules.restates(b.property) => Err(Violation {
                property: b.property,
                detail: b.detail,
                time_ms: sim.now_ms(),
            }),
            _ => Ok(()),
        };
        self.matching.note(events);
        let mut logs_changed = false;
        let mut power_lost = false;
        for (i, ev) in events.iter().enumerate() {
            stamp(self.observe_one(sim, &ev.event, &mut logs_changed, &mut power_lost))?;
            if let Event::NodeRestarted { node, .. } = ev.event {
                // What the node recovered is judged on the state after the batch, which a later
                // event of the same batch may have changed (a driver that checks only after a
                // step ran past the restart): a truncation there legitimately shortens the log.
                let truncated_later = events[i + 1..]
                    .iter()
                    .filter_map(|e| match e.event {
                        Event::EntriesTruncated {
                            node: n,
                            from_index,
                        } if n == node => Some(from_index),
                        _ => None,
                    })
                    .min();
                stamp(self.promises.restarted(sim, node, truncated_later))?;
            }
        }
        if logs_changed {
            let verdict = self.matching.check(sim);
            #[cfg(debug_assertions)]
            {
                // The incremental check must judge exactly as comparing whole logs does.
                let whole = self.check_log_matching(sim);
                debug_assert_eq!(
                    verdict.as_ref().map_err(|v| &v.detail),
                    whole.as_ref().map_err(|v| &v.detail),
                    "incremental log matching disagrees with the whole comparison"
                );
            }
            verdict?;
        }
        if power_lost {
            self.check_durability(sim)?;
        }
        Ok(())
    }

    fn observe_one<S: Storage>(
        &mut self,
        sim: &Sim<S>,
        event: &Event,
        logs_changed: &mut bool,
        power_lost: &mut bool,
    ) -> Check {
        if !matches!(event, Event::MessageSent { .. }) {
            self.conformance.other_event();
        }
        match event {
            Event::MessageSent { message } => {
                self.conformance.sent(message)?;
                let (from, to, term) = (message.from, message.to, message.message.term);
                match message.message.body {
                    MessageBody::RequestVoteResponse(RequestVoteResponse {
                        vote_granted: true,
                    }) => self.votes.sent(from, term, to)?,
                    MessageBody::RequestVote(_) => self.votes.sent(from, term, from)?,
                    _ => {}
                }
                self.promises.sent(sim, message)?;
            }
            Event::MessageDelivered { id, from, to } => self.conformance.delivered(*id, *from, *to),
            Event::MessageDropped { id, .. } => self.conformance.dropped(*id),
            Event::VoteGranted {
                voter,
                candidate,
                term,
            } => self.votes.decided(*voter, *term, *candidate)?,
            Event::VoteReceived {
                node,
                from,
                granted: true,
                ..
            } => {
                let term = self.terms.get(node).copied().unwrap_or(Term(0));
                if from == node {
                    // A candidate's vote for itself counts once durable: it leaves no message,
                    // so it is "sent" here, and must already be on synced storage.
                    self.votes.sent(*node, term, *node)?;
                    self.promises.own_vote(sim, *node, term)?;
                }
                self.votes.counted(*node, term, *from)?;
            }
            Event::RoleChanged {
                node, role, term, ..
            } => {
                self.terms.insert(*node, *term);
                if *role == Role::Leader {
                    self.leading.insert(*node, *term);
                    self.new_leader(sim, *node, *term)?;
                } else {
                    self.leading.remove(node);
                }
            }
            Event::EntriesTruncated { node, from_index } => {
                *logs_changed = true;
                // Leader Append-Only: a leader never overwrites or deletes its entries.
                if sim.node(*node).is_some_and(|r| r.role() == Role::Leader) {
                    return broken(
                        "leader append-only",
                        format!("leader S{node} truncated its log from {from_index}"),
                    );
                }
                self.promises.truncated(sim, *node, *from_index);
                let from = from_index.get().saturating_sub(1) as usize;
                entries::on_synced_majority(sim, self.committed.get(from..).unwrap_or(&[]))?;
            }
            Event::EntriesAppended { node, entries } => {
                *logs_changed = true;
                self.entries.appended(sim, *node, entries)?;
            }
            Event::ProgressUpdated {
                leader,
                peer,
                match_index,
                ..
            } => {
                let term = self.terms.get(leader).copied().unwrap_or(Term(0));
                let peer_term = self.terms.get(peer).copied().unwrap_or(Term(0));
                self.entries
                    .progress(sim, *leader, term, (*peer, peer_term), *match_index)?;
            }
            Event::CommitAdvanced { node, commit_index } => {
                if !self.leading.contains_key(node) {
                    self.conformance.follower_committed(*node, *commit_index)?;
                }
                self.commit_advanced(sim, *node, *commit_index)?
            }
            Event::EntryApplied { node, index, value } => {
                let applied = sim.node(*node).and_then(|r| r.log().get(*index));
                let committed = self.committed.get(index.slot());
                match (applied, committed) {
                    (Some(a), Some(c)) if a == c => self.apply.applied(*node, c, *value)?,
                    _ => {
                        return broken(
                            "state machine safety",
                            format!("S{node} applied index {index} that is not the committed one"),
                        )
                    }
                }
            }
            Event::NodeCrashed { node } | Event::StorageFailed { node, .. } => {
                self.conformance.reset(*node);
                self.leading.remove(node);
                self.checked_commit.remove(node);
                self.apply.stopped(*node);
            }
            Event::PowerLost { node, .. } => {
                self.conformance.reset(*node);
                self.leading.remove(node);
                self.checked_commit.remove(node);
                self.apply.stopped(*node);
                self.votes.power_lost(*node);
                // Set before the promise check, which may be skipped while a rule is broken on
                // purpose: durability must still be judged after this power loss.
                *power_lost = true;
                self.promises.power_lost(sim, *node)?;
            }
            Event::NodeRestarted { node, term, .. } => {
                self.conformance.reset(*node);
                self.checked_commit.remove(node);
                self.terms.insert(*node, *term);
                self.apply.restarted(*node);
                // (What it recovered is checked against its promises in `observe`.)
            }
            _ => {}
        }
        Ok(())
    }

    /// `node` became leader of `term`.
    fn new_leader<S: Storage>(&mut self, sim: &Sim<S>, node: NodeId, term: Term) -> Check {
        // Election Safety: at most one leader per term, elected by a majority.
        if let Some(other) = self.leaders.insert(term, node) {
            if other != node {
                return broken(
                    "election safety",
                    format!("S{other} and S{node} were both leader in term {term}"),
                );
            }
        }
        self.votes.won(node, term, sim.node_ids().count())?;
        // Leader Completeness: a leader has every entry committed before its term.
        if let Some(raft) = sim.node(node) {
            for c in &self.committed {
                if c.term < term && raft.log().get(c.index) != Some(c) {
                    return broken(
                        "leader completeness",
                        format!(
                            "S{node} became leader of term {term} without committed entry {} \
                             (term {})",
                            c.index, c.term
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// `node` learned that everything up to `commit_index` is committed.
    fn commit_advanced<S: Storage>(
        &mut self,
        sim: &Sim<S>,
        node: NodeId,
        commit_index: LogIndex,
    ) -> Check {
        let Some(raft) = sim.node(node) else {
            return Ok(());
        };
        // §5.4.2 (Figure 8): a leader commits by counting replicas only an entry of its own
        // term; older ones become committed with it. An older-term entry counted on its own
        // can still be overwritten by a later leader, even though a majority holds it.
        // Judged last, after the bookkeeping below, so that a run where this rule is broken on
        // purpose (and the finding skipped) still keeps the committed log right.
        let mut commit_rule: Check = Ok(());
        if let Some(&term) = self.leading.get(&node) {
            let at = raft.log().term(commit_index);
            if at != Some(term) {
                commit_rule = broken(
                    "leader commit rule",
                    format!(
                        "leader S{node} of term {term} advanced its commit index to \
                         {commit_index}, an entry of term {} (only its own term's entries \
                         commit by counting)",
                        at.map_or("?".to_string(), |t| t.to_string())
                    ),
                );
            }
        }
        let from = self
            .checked_commit
            .get(&node)
            .copied()
            .unwrap_or(LogIndex(0))
            + 1;
        for index in from.through(commit_index) {
            let Some(entry) = raft.log().get(index) else {
                return broken(
                    "state machine safety",
                    format!("S{node} committed index {index} it does not have"),
                );
            };
            match self.committed.get(index.slot()) {
                Some(c) if c != entry => {
                    return broken(
                        "state machine safety",
                        format!(
                            "index {index} committed as term {} on one node and as term {} ({}) \
                             on S{node}",
                            c.term,
                            entry.term,
                            entry.data.describe()
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    self.apply.committed(entry)?;
                    self.committed.push(entry.clone());
                }
            }
        }
        self.checked_commit.insert(node, commit_index);
        // Known committed now, so on a majority's synced storage now.
        let newly = self.committed.get(from.slot()..).unwrap_or(&[]);
        commit_rule?;
        entries::on_synced_majority(sim, newly)
    }

    /// Log Matching: if two logs have an entry with the same index and term, they are identical
    /// in all entries up to that index. Compares the whole logs of every pair of running nodes
    /// (a `Matching` that has found nothing yet); `observe` checks the same incrementally and, in
    /// debug builds, against this.
    pub fn check_log_matching<S: Storage>(&self, sim: &Sim<S>) -> Result<(), Violation> {
        matching::Matching::default().check(sim)
    }

    /// Durability: every committed entry is still held by a majority (running nodes in memory,
    /// crashed ones on disk), so no future leader can lack it.
    pub fn check_durability<S: Storage>(&self, sim: &Sim<S>) -> Result<(), Violation> {
        let logs: Vec<Vec<Entry>> = sim.node_ids().map(|id| sim.node_log(id)).collect();
        let quorum = logs.len() / 2 + 1;
        for c in &self.committed {
            let holders = logs
                .iter()
                .filter(|l| l.get(c.index.slot()) == Some(c))
                .count();
            if holders < quorum {
                return Err(Violation {
                    property: "durability",
                    detail: format!(
                        "committed entry {} (term {}) survives on only {holders} of {} nodes",
                        c.index,
                        c.term,
                        logs.len()
                    ),
                    time_ms: sim.now_ms(),
                });
            }
        }
        Ok(())
    }
}
