//! Client appends that are waiting for the run to answer them: a request a follower forwarded to
//! the leader (answered by the leader's `ProposalAccepted` / `ProposalRejected` event), and an
//! append whose client asked to hear back only once the entry is committed. Owns the waiting and
//! the deadlines; must not change the run — it only reads events and node state.
//!
//! Every wait has two deadlines, one in virtual time and one on the wall clock, and ends at
//! whichever comes first: virtual time is what matters to Raft (at speed 0 a second of wall time
//! is minutes of virtual time), and the wall-clock one guarantees an answer when the run is paused
//! or slow (at speed 0.01 one virtual second is 100 wall seconds).

use std::collections::BTreeMap;
use std::time::Instant;

use shared::protocol::{CommandOk, Event, SimEvent};
use shared::{LogIndex, NodeId, Sim, Storage, Term};
use tokio::sync::oneshot;

use super::CommandError;

/// Where a reply goes.
pub(super) type ReplyTx = oneshot::Sender<Result<CommandOk, CommandError>>;

/// When a wait gives up.
#[derive(Clone, Copy, Debug)]
pub(super) struct Deadline {
    /// Virtual time (ms).
    pub virtual_ms: u64,
    /// Wall clock.
    pub wall: Instant,
}

impl Deadline {
    fn passed(&self, now_ms: u64, now: Instant) -> bool {
        now_ms >= self.virtual_ms || now >= self.wall
    }
}

/// A forwarded request waiting for the leader's verdict.
struct Forwarded {
    via: NodeId,
    leader: NodeId,
    wait_commit: bool,
    deadline: Deadline,
    reply: ReplyTx,
}

/// An appended entry waiting to be committed.
struct Commit {
    index: LogIndex,
    term: Term,
    leader: NodeId,
    deadline: Deadline,
    reply: ReplyTx,
}

/// Everything waiting.
#[derive(Default)]
pub(super) struct Pending {
    forwarded: BTreeMap<u64, Forwarded>,
    commits: Vec<Commit>,
}

impl Pending {
    /// How many requests wait.
    pub fn len(&self) -> usize {
        self.forwarded.len() + self.commits.len()
    }

    /// Wait for the leader to accept or refuse request `request_id`, forwarded by `via`.
    pub fn forwarded(
        &mut self,
        request_id: u64,
        via: NodeId,
        leader: NodeId,
        wait_commit: bool,
        deadline: Deadline,
        reply: ReplyTx,
    ) {
        self.forwarded.insert(
            request_id,
            Forwarded {
                via,
                leader,
                wait_commit,
                deadline,
                reply,
            },
        );
    }

    /// Wait for entry `index` of `term`, appended by `leader`, to be committed.
    pub fn commit(
        &mut self,
        index: LogIndex,
        term: Term,
        leader: NodeId,
        deadline: Deadline,
        reply: ReplyTx,
    ) {
        self.commits.push(Commit {
            index,
            term,
            leader,
            deadline,
            reply,
        });
    }

    /// Answer forwarded requests the leader has decided about.
    pub fn on_events(&mut self, events: &[SimEvent]) {
        if self.forwarded.is_empty() {
            return;
        }
        for e in events {
            match &e.event {
                Event::ProposalAccepted {
                    node,
                    request_id,
                    index,
                    term,
                    duplicate,
                } => {
                    let Some(f) = self.forwarded.remove(request_id) else {
                        continue;
                    };
                    if f.wait_commit {
                        self.commit(*index, *term, *node, f.deadline, f.reply);
                    } else if *duplicate {
                        let _ = f.reply.send(Ok(self::duplicate(*node, *index, *term)));
                    } else {
                        let _ = f.reply.send(Ok(appended(*node, *index, *term, None)));
                    }
                }
                Event::ProposalRejected {
                    request_id, reason, ..
                } => {
                    if let Some(f) = self.forwarded.remove(request_id) {
                        let _ = f.reply.send(Err(CommandError::conflict(reason.clone())));
                    }
                }
                _ => {}
            }
        }
    }

    /// Answer commit waits whose entry is committed (or can no longer be), and every wait whose
    /// deadline passed.
    pub fn check<S: Storage>(&mut self, sim: &Sim<S>, now: Instant) {
        let now_ms = sim.now_ms();
        let forwarded = std::mem::take(&mut self.forwarded);
        for (request_id, f) in forwarded {
            if f.deadline.passed(now_ms, now) {
                let _ = f.reply.send(Err(CommandError::timeout(format!(
                    "timed out waiting for S{} to accept the request S{} forwarded to it: the \
                     message may have been lost or S{} may no longer lead; the request may still \
                     be appended",
                    f.leader, f.via, f.leader
                ))));
            } else {
                self.forwarded.insert(request_id, f);
            }
        }
        let commits = std::mem::take(&mut self.commits);
        for c in commits {
            match commit_status(sim, c.index, c.term) {
                Some(Ok(())) => {
                    let _ = c
                        .reply
                        .send(Ok(appended(c.leader, c.index, c.term, Some(true))));
                }
                Some(Err(other_term)) => {
                    let _ = c.reply.send(Err(CommandError::conflict(format!(
                        "entry {} of term {} was replaced by an entry of term {other_term} (a new \
                         leader overwrote it): it will never be committed",
                        c.index, c.term
                    ))));
                }
                None if c.deadline.passed(now_ms, now) => {
                    let _ = c.reply.send(Err(CommandError::timeout(format!(
                        "timed out waiting for entry {} (term {}) to be committed; it was \
                         appended by S{} and may still commit",
                        c.index, c.term, c.leader
                    ))));
                }
                None => self.commits.push(c),
            }
        }
    }

    /// Answer every wait with `error` (reset, shutdown).
    pub fn fail_all(&mut self, error: &CommandError) {
        for (_, f) in std::mem::take(&mut self.forwarded) {
            let _ = f.reply.send(Err(error.clone()));
        }
        for c in std::mem::take(&mut self.commits) {
            let _ = c.reply.send(Err(error.clone()));
        }
    }
}

/// The reply to an append that a leader took (worded in `shared`, as the browser's engine does).
pub(super) fn appended(
    leader: NodeId,
    index: LogIndex,
    term: Term,
    committed: Option<bool>,
) -> CommandOk {
    CommandOk::appended(leader, index, term, committed)
}

/// The answer to a request the leader's log already held.
pub(super) fn duplicate(leader: NodeId, index: LogIndex, term: Term) -> CommandOk {
    CommandOk::duplicate(leader, index, term)
}

/// `Some(Ok)` once some running node has committed `index` holding an entry of `term`;
/// `Some(Err(t))` when a node committed a different entry (of term `t`) at `index`; `None` while
/// undecided. Any node's `commit_index` covers a committed prefix (Leader Completeness), so one
/// node is enough.
fn commit_status<S: Storage>(
    sim: &Sim<S>,
    index: LogIndex,
    term: Term,
) -> Option<Result<(), Term>> {
    for id in sim.node_ids() {
        let Some(node) = sim.node(id) else { continue };
        if node.commit_index() < index {
            continue;
        }
        match node.log().term(index) {
            Some(t) if t == term => return Some(Ok(())),
            Some(t) => return Some(Err(t)),
            None => {}
        }
    }
    None
}
