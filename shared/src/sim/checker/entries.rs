//! Log entries over the whole run: one (index, term) names one entry forever (with one
//! predecessor term, so Log Matching holds across time and not only between logs alive at the
//! same instant), a committed entry sits on a majority's *synced* storage, and a leader's
//! `match_index` only grows and never vouches for more than the follower durably holds. Reads
//! the simulator; changes nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{broken, Check};
use crate::sim::Sim;
use crate::storage::Storage;
use crate::types::{Entry, EntryData, LogIndex, NodeId, Term};

/// What one (index, term) pair was first seen naming.
#[derive(Clone, Debug)]
struct Named {
    data: EntryData,
    /// Term of the entry before it, when known (the first entry of an append may come without).
    prev_term: Option<Term>,
    /// Who appended it first, for the report.
    node: NodeId,
}

/// Entry names and the leaders' progress views seen so far.
#[derive(Clone, Debug, Default)]
pub(super) struct Entries {
    names: BTreeMap<(LogIndex, Term), Named>,
    /// (leader, follower) → (leader's term, match_index it last reported).
    matched: BTreeMap<(NodeId, NodeId), (Term, LogIndex)>,
}

impl Entries {
    /// `node` appended `entries`: each (index, term) must name the entry it always named.
    pub(super) fn appended<S: Storage>(
        &mut self,
        sim: &Sim<S>,
        node: NodeId,
        entries: &[Entry],
    ) -> Check {
        // The first entry's predecessor is in the node's log, if the log still holds the entry
        // (a later event of the same batch may have truncated it again).
        let first_prev = entries.first().and_then(|first| {
            let log = sim.node(node)?.log();
            (log.get(first.index) == Some(first))
                .then(|| log.term(first.index - 1))
                .flatten()
        });
        for (k, e) in entries.iter().enumerate() {
            let prev_term = if k == 0 {
                first_prev
            } else {
                Some(entries[k - 1].term)
            };
            match self.names.get_mut(&(e.index, e.term)) {
                None => {
                    self.names.insert(
                        (e.index, e.term),
                        Named {
                            data: e.data.clone(),
                            prev_term,
                            node,
                        },
                    );
                }
                Some(named) => {
                    if named.data != e.data {
                        return broken(
                            "log matching",
                            format!(
                                "index {} term {} named {:?} when S{} appended it, and {:?} when \
                                 S{node} did",
                                e.index,
                                e.term,
                                named.data.describe(),
                                named.node,
                                e.data.describe()
                            ),
                        );
                    }
                    match (named.prev_term, prev_term) {
                        (Some(a), Some(b)) if a != b => {
                            return broken(
                                "log matching",
                                format!(
                                    "index {} term {} followed term {a} at index {} when S{} \
                                     appended it, and term {b} when S{node} did",
                                    e.index,
                                    e.term,
                                    e.index - 1,
                                    named.node
                                ),
                            );
                        }
                        (None, Some(_)) => named.prev_term = prev_term,
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Leader `leader` of `term` now believes `follower` matches its log up to `match_index`.
    /// Figure 2: matchIndex "increases monotonically" during a leadership; and it is a promise
    /// the follower made, so while the follower is still in that term (no newer leader can have
    /// made it truncate) its synced storage must hold the leader's entry there.
    pub(super) fn progress<S: Storage>(
        &mut self,
        sim: &Sim<S>,
        leader: NodeId,
        term: Term,
        follower: (NodeId, Term),
        match_index: LogIndex,
    ) -> Check {
        let (follower, follower_term) = follower;
        let before = self.matched.insert((leader, follower), (term, match_index));
        if let Some((t, m)) = before {
            if t == term && match_index < m {
                return broken(
                    "leader progress",
                    format!(
                        "leader S{leader} of term {term} moved S{follower}'s match_index back \
                         from {m} to {match_index}"
                    ),
                );
            }
            if t == term && match_index == m {
                return Ok(());
            }
        }
        if match_index == 0 || follower_term > term {
            return Ok(());
        }
        let Some(expected) = sim.node(leader).and_then(|r| r.log().get(match_index)) else {
            return broken(
                "leader progress",
                format!(
                    "leader S{leader} of term {term} set S{follower}'s match_index to \
                     {match_index}, past its own log"
                ),
            );
        };
        let disk = DiskView::of(sim, follower);
        if !disk.holds(expected) {
            return broken(
                "leader progress",
                format!(
                    "leader S{leader} of term {term} counts S{follower} as holding index \
                     {match_index} (term {}), but S{follower}'s disk has {}",
                    expected.term,
                    disk.describe(match_index)
                ),
            );
        }
        Ok(())
    }
}

/// A committed entry must be on a majority's synced storage — and not about to leave it (a
/// written truncation becomes durable with the next fsync). Checked when an entry becomes known
/// committed and whenever a node truncates.
pub(super) fn on_synced_majority<S: Storage>(sim: &Sim<S>, committed: &[Entry]) -> Check {
    if committed.is_empty() {
        return Ok(());
    }
    let disks: Vec<DiskView> = sim.node_ids().map(|id| DiskView::of(sim, id)).collect();
    let quorum = disks.len() / 2 + 1;
    for c in committed {
        let holders = disks.iter().filter(|d| d.holds(c)).count();
        if holders < quorum {
            let where_: Vec<String> = disks
                .iter()
                .map(|d| format!("S{}: {}", d.node, d.describe(c.index)))
                .collect();
            return broken(
                "committed on a synced majority",
                format!(
                    "committed entry {} (term {}) is durably held by {holders} of {} nodes, a \
                     majority needs {quorum} ({})",
                    c.index,
                    c.term,
                    disks.len(),
                    where_.join("; ")
                ),
            );
        }
    }
    Ok(())
}

/// One node's log as it would be after a power loss, and as it will be after its next fsync.
struct DiskView<'a> {
    node: NodeId,
    /// Synced log; `None` when the storage cannot show it (then `written` alone is judged).
    synced: Option<&'a [Entry]>,
    /// Everything written (in memory while up, as recovered while down).
    written: Cow<'a, [Entry]>,
}

impl<'a> DiskView<'a> {
    fn of<S: Storage>(sim: &'a Sim<S>, node: NodeId) -> Self {
        let written = match sim.node(node) {
            Some(raft) => Cow::Borrowed(raft.log().entries()),
            None => Cow::Owned(sim.node_log(node)),
        };
        DiskView {
            node,
            synced: sim
                .storage(node)
                .and_then(|s| s.durable_view())
                .map(|(_, log)| log),
            written,
        }
    }

    fn holds(&self, e: &Entry) -> bool {
        let at = |log: &[Entry]| log.get(e.index.slot()) == Some(e);
        at(&self.written) && self.synced.is_none_or(at)
    }

    fn describe(&self, index: LogIndex) -> String {
        let term_at = |log: &[Entry]| {
            log.get(index.slot())
                .map_or("nothing".to_string(), |e| format!("term {}", e.term))
        };
        match self.synced {
            Some(synced) => format!(
                "synced {}, written {}",
                term_at(synced),
                term_at(&self.written)
            ),
            None => format!("written {}", term_at(&self.written)),
        }
    }
}
