//! What a node promised by sending a message, and whether its disk keeps the promise. Figure 2:
//! persistent state is "updated on stable storage before responding to RPCs". So once a message
//! has left a node, its term, a vote it carries and the log prefix an acknowledgement vouches for
//! must be durable: on its synced storage the moment it leaves, and in what it recovers after any
//! crash or power loss — unless a later legitimate change (a newer leader truncating an
//! uncommitted suffix) replaced them. Reads the simulator; changes nothing.

use std::collections::BTreeMap;

use super::{broken, Check};
use crate::protocol::{AppendEntriesResponse, InFlight, MessageBody, RequestVoteResponse};
use crate::sim::Sim;
use crate::storage::Storage;
use crate::types::{Entry, HardState, LogIndex, NodeId, Term};

/// One node's standing promises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Promise {
    /// Highest term of any message it sent: its durable `current_term` may never go below.
    term: Term,
    /// Its latest vote that left it (granted reply or its own `RequestVote`): (term, candidate).
    vote: Option<(Term, NodeId)>,
    /// The longest log prefix it acknowledged, as (index, term of the entry there); by Log
    /// Matching the whole prefix up to it is vouched for.
    log: Option<(LogIndex, Term)>,
}

/// Every node's promises.
#[derive(Clone, Debug, Default)]
pub(super) struct Promises {
    by_node: BTreeMap<NodeId, Promise>,
}

impl Promises {
    /// A message left `message.from`: record what it promises, then check that the sender's
    /// synced storage already keeps every promise (the message waited for the fsync).
    pub(super) fn sent<S: Storage>(&mut self, sim: &Sim<S>, message: &InFlight) -> Check {
        let node = message.from;
        let term = message.message.term;
        let p = self.by_node.entry(node).or_default();
        p.term = p.term.max(term);
        match message.message.body {
            // A vote in a term never goes back to an older one.
            MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted: true })
                if p.vote.is_none_or(|(t, _)| t <= term) =>
            {
                p.vote = Some((term, message.to));
            }
            MessageBody::RequestVote(_) if p.vote.is_none_or(|(t, _)| t <= term) => {
                p.vote = Some((term, node));
            }
            MessageBody::AppendEntriesResponse(AppendEntriesResponse {
                success: true,
                match_index,
                ..
            }) if match_index > p.log.map_or(LogIndex(0), |(m, _)| m) => {
                // What the node holds at `match_index` as the reply leaves. (If a newer leader
                // truncated the log between the reply being made and the fsync that releases it,
                // the node now holds less or something else; that change was legitimate, and it
                // is what the node's disk holds now, so that is what is promised.)
                if let Some(raft) = sim.node(node) {
                    let m = match_index.min(raft.log().last_index());
                    if m > p.log.map_or(LogIndex(0), |(pm, _)| pm) {
                        p.log = raft.log().get(m).map(|e| (m, e.term));
                    }
                }
            }
            _ => {}
        }
        let p = *p;
        match sim.storage(node).and_then(|s| s.durable_view()) {
            Some((hard_state, log)) => keeps(node, &p, hard_state, log, "its synced storage"),
            None => Ok(()),
        }
    }

    /// A candidate counted its own vote: that vote is a promise too (a power loss must not let it
    /// vote again, or lead again, in the same term), so it must already be on synced storage.
    pub(super) fn own_vote<S: Storage>(&mut self, sim: &Sim<S>, node: NodeId, term: Term) -> Check {
        let p = self.by_node.entry(node).or_default();
        p.term = p.term.max(term);
        if p.vote.is_none_or(|(t, _)| t <= term) {
            p.vote = Some((term, node));
        }
        let p = *p;
        match sim.storage(node).and_then(|s| s.durable_view()) {
            Some((hard_state, log)) => keeps(node, &p, hard_state, log, "its synced storage"),
            None => Ok(()),
        }
    }

    /// `node` removed its log from `from` on: the acknowledged prefix shrinks to what remains
    /// (only a newer leader can make a node truncate, and only an uncommitted suffix — the
    /// other properties check that).
    pub(super) fn truncated<S: Storage>(&mut self, sim: &Sim<S>, node: NodeId, from: LogIndex) {
        let Some(p) = self.by_node.get_mut(&node) else {
            return;
        };
        if p.log.is_some_and(|(m, _)| m >= from) {
            let keep = from - 1;
            p.log = sim
                .node(node)
                .and_then(|r| r.log().get(keep))
                .map(|e| (keep, e.term));
        }
    }

    /// `node` lost power: what its disk kept must keep every promise.
    pub(super) fn power_lost<S: Storage>(&self, sim: &Sim<S>, node: NodeId) -> Check {
        let Some(p) = self.by_node.get(&node) else {
            return Ok(());
        };
        match sim.storage(node).and_then(|s| s.durable_view()) {
            Some((hard_state, log)) => {
                keeps(node, p, hard_state, log, "what survived its power loss")
            }
            None => Ok(()),
        }
    }

    /// `node` restarted: what it recovered must keep every promise. `truncated_later` is the
    /// lowest index a later event of the same batch truncated this node's log from, if any.
    pub(super) fn restarted<S: Storage>(
        &self,
        sim: &Sim<S>,
        node: NodeId,
        truncated_later: Option<LogIndex>,
    ) -> Check {
        let (Some(p), Some(raft)) = (self.by_node.get(&node), sim.node(node)) else {
            return Ok(());
        };
        let mut p = *p;
        if let Some(from) = truncated_later {
            if p.log.is_some_and(|(m, _)| m >= from) {
                let keep = from - 1;
                p.log = raft.log().get(keep).map(|e| (keep, e.term));
            }
        }
        keeps(
            node,
            &p,
            raft.hard_state(),
            raft.log().entries(),
            "what it recovered on restart",
        )
    }
}

/// Does durable state (`hard_state`, `log`) keep `node`'s promise `p`? `what` names the state.
fn keeps(node: NodeId, p: &Promise, hard_state: HardState, log: &[Entry], what: &str) -> Check {
    let fail = |detail: String| broken("persistence", format!("S{node}: {detail}"));
    if hard_state.current_term < p.term {
        return fail(format!(
            "it sent a message in term {}, but {what} says term {}",
            p.term, hard_state.current_term
        ));
    }
    if let Some((term, candidate)) = p.vote {
        if hard_state.current_term == term && hard_state.voted_for != Some(candidate) {
            return fail(format!(
                "its vote for S{candidate} in term {term} left it, but {what} says term {term}, \
                 voted for {}",
                hard_state
                    .voted_for
                    .map_or("nobody".to_string(), |v| format!("S{v}"))
            ));
        }
    }
    if let Some((index, term)) = p.log {
        let held = log.get(index.slot()).map(|e| e.term);
        if held != Some(term) {
            return fail(format!(
                "it acknowledged its log up to index {index} (term {term}), but {what} has {}",
                match held {
                    Some(t) => format!("term {t} there"),
                    None => format!("only {} entries", log.len()),
                }
            ));
        }
    }
    Ok(())
}
