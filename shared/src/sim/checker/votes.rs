//! Votes over the whole run: one vote per (voter, term) across crashes and power losses, a
//! candidate counts only votes really granted to it in its term, and a leader holds a majority
//! of them. Reads events only; knows nothing of logs.

use std::collections::BTreeMap;

use super::{broken, Check};
use crate::types::{NodeId, Term};

/// Every vote seen so far.
#[derive(Clone, Debug, Default)]
pub(super) struct Votes {
    /// Votes that left their voter, for the whole run: (voter, term) → candidate. A granted
    /// `RequestVoteResponse` is one; so is a candidate's `RequestVote`, its vote for itself.
    /// Messages leave only after the vote is on disk, so no power loss may take one back.
    sent: BTreeMap<(NodeId, Term), NodeId>,
    /// Votes decided in memory (`VoteGranted`) since the voter last lost power. A power loss may
    /// legitimately forget a vote that never left the node, so these are dropped then; a crash
    /// keeps them (the write reached the OS, and recovery syncs it).
    decided: BTreeMap<(NodeId, Term), NodeId>,
}

impl Votes {
    /// `voter`'s vote for `candidate` in `term` left the node.
    pub(super) fn sent(&mut self, voter: NodeId, term: Term, candidate: NodeId) -> Check {
        if let Some(other) = self.sent.insert((voter, term), candidate) {
            if other != candidate {
                return broken(
                    "one vote per term",
                    format!("S{voter} sent votes for S{other} and for S{candidate} in term {term}"),
                );
            }
        }
        self.decided(voter, term, candidate)
    }

    /// `voter` decided (in memory) to vote for `candidate` in `term`.
    pub(super) fn decided(&mut self, voter: NodeId, term: Term, candidate: NodeId) -> Check {
        let sent_other = self.sent.get(&(voter, term)).filter(|c| **c != candidate);
        let decided_other = self
            .decided
            .insert((voter, term), candidate)
            .filter(|c| *c != candidate);
        match sent_other.copied().or(decided_other) {
            Some(other) => broken(
                "one vote per term",
                format!(
                    "S{voter} granted its term-{term} vote to S{candidate} after giving it to \
                     S{other}"
                ),
            ),
            None => Ok(()),
        }
    }

    /// `node` lost power: in-memory decisions that never left it are forgotten.
    pub(super) fn power_lost(&mut self, node: NodeId) {
        self.decided.retain(|(voter, _), _| *voter != node);
    }

    /// Candidate `candidate`, in `term`, counted a granted vote from `from`: that vote must have
    /// been sent to it in that very term (a reply from an older election is not a vote now).
    pub(super) fn counted(&self, candidate: NodeId, term: Term, from: NodeId) -> Check {
        match self.sent.get(&(from, term)) {
            Some(c) if *c == candidate => Ok(()),
            other => broken(
                "vote counting",
                format!(
                    "S{candidate} counted a vote from S{from} in term {term}, but S{from} {}",
                    match other {
                        Some(c) => format!("voted for S{c} in that term"),
                        None => "sent no vote in that term".to_string(),
                    }
                ),
            ),
        }
    }

    /// `leader` became leader of `term` in a cluster of `cluster` nodes: a majority must have
    /// voted for it in that term (itself included).
    pub(super) fn won(&self, leader: NodeId, term: Term, cluster: usize) -> Check {
        let others = self
            .sent
            .iter()
            .filter(|((voter, t), c)| *t == term && **c == leader && *voter != leader)
            .count();
        let votes = others + 1;
        if votes < cluster / 2 + 1 {
            return broken(
                "election safety",
                format!(
                    "S{leader} became leader of term {term} with {votes} vote(s) of {cluster} \
                     (its own included)"
                ),
            );
        }
        Ok(())
    }
}
