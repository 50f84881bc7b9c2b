//! The safety checker: watches a simulator's events and state and reports the first broken Raft
//! guarantee (Figure 3 of the paper, plus durability). Owns no part of the run; it only reads.
//! Tests call it after every step; the UI may show its verdict.

use std::collections::BTreeMap;

use crate::protocol::{Event, SimEvent};
use crate::sim::Sim;
use crate::storage::Storage;
use crate::types::{Entry, LogIndex, NodeId, Role, Term};

/// A broken guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which property: "election safety", "leader append-only", "log matching",
    /// "leader completeness", "state machine safety" or "durability".
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

/// Remembers what has been committed and who led which term.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    leaders: BTreeMap<Term, NodeId>,
    /// The one committed log: entry `i` at position `i - 1`.
    committed: Vec<Entry>,
    /// Up to where each node's commits were checked against `committed`.
    checked_commit: BTreeMap<NodeId, LogIndex>,
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
        let now = sim.now_ms();
        let fail = |property, detail: String| {
            Err(Violation {
                property,
                detail,
                time_ms: now,
            })
        };
        let mut logs_changed = false;
        let mut power_lost = false;
        for ev in events {
            match &ev.event {
                Event::RoleChanged {
                    node,
                    role: Role::Leader,
                    term,
                    ..
                } => {
                    // Election Safety: at most one leader per term.
                    if let Some(other) = self.leaders.insert(*term, *node) {
                        if other != *node {
                            return fail(
                                "election safety",
                                format!("S{other} and S{node} were both leader in term {term}"),
                            );
                        }
                    }
                    // Leader Completeness: a leader has every entry committed before its term.
                    if let Some(raft) = sim.node(*node) {
                        for c in &self.committed {
                            if c.term < *term && raft.log().get(c.index) != Some(c) {
                                return fail(
                                    "leader completeness",
                                    format!(
                                        "S{node} became leader of term {term} without committed \
                                         entry {} (term {})",
                                        c.index, c.term
                                    ),
                                );
                            }
                        }
                    }
                }
                Event::EntriesTruncated { node, from_index } => {
                    logs_changed = true;
                    // Leader Append-Only: a leader never overwrites or deletes its entries.
                    if sim.node(*node).is_some_and(|r| r.role() == Role::Leader) {
                        return fail(
                            "leader append-only",
                            format!("leader S{node} truncated its log from {from_index}"),
                        );
                    }
                }
                Event::EntriesAppended { .. } => logs_changed = true,
                Event::CommitAdvanced { node, commit_index } => {
                    let Some(raft) = sim.node(*node) else {
                        continue;
                    };
                    let from = self.checked_commit.get(node).copied().unwrap_or(0) + 1;
                    for index in from..=*commit_index {
                        let Some(entry) = raft.log().get(index) else {
                            return fail(
                                "state machine safety",
                                format!("S{node} committed index {index} it does not have"),
                            );
                        };
                        match self.committed.get(index as usize - 1) {
                            Some(c) if c != entry => {
                                return fail(
                                    "state machine safety",
                                    format!(
                                        "index {index} committed as term {} on one node and as \
                                         term {} ({}) on S{node}",
                                        c.term,
                                        entry.term,
                                        entry.data.describe()
                                    ),
                                );
                            }
                            Some(_) => {}
                            None => self.committed.push(entry.clone()),
                        }
                    }
                    self.checked_commit.insert(*node, *commit_index);
                }
                Event::EntryApplied { node, index, .. } => {
                    let applied = sim.node(*node).and_then(|r| r.log().get(*index));
                    let committed = self.committed.get(*index as usize - 1);
                    if applied.is_none() || applied != committed {
                        return fail(
                            "state machine safety",
                            format!("S{node} applied index {index} that is not the committed one"),
                        );
                    }
                }
                Event::NodeCrashed { node } | Event::StorageFailed { node, .. } => {
                    self.checked_commit.remove(node);
                }
                Event::PowerLost { node, .. } => {
                    self.checked_commit.remove(node);
                    power_lost = true;
                }
                Event::NodeRestarted { node, .. } => {
                    self.checked_commit.remove(node);
                }
                _ => {}
            }
        }
        if logs_changed {
            self.check_log_matching(sim)?;
        }
        if power_lost {
            self.check_durability(sim)?;
        }
        Ok(())
    }

    /// Log Matching: if two logs have an entry with the same index and term, they are identical
    /// in all entries up to that index.
    pub fn check_log_matching<S: Storage>(&self, sim: &Sim<S>) -> Result<(), Violation> {
        let ids: Vec<NodeId> = sim.node_ids().filter(|id| sim.is_up(*id)).collect();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                let la = sim.node(*a).expect("up").log().entries();
                let lb = sim.node(*b).expect("up").log().entries();
                let common = la.len().min(lb.len());
                // Highest index where both have the same term…
                let Some(top) = (0..common).rev().find(|k| la[*k].term == lb[*k].term) else {
                    continue;
                };
                // …everything up to it must be identical.
                if let Some(k) = (0..=top).find(|k| la[*k] != lb[*k]) {
                    return Err(Violation {
                        property: "log matching",
                        detail: format!(
                            "S{a} and S{b} agree on index {} (term {}) but differ at index {}",
                            top + 1,
                            la[top].term,
                            k + 1
                        ),
                        time_ms: sim.now_ms(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Durability: every committed entry is still held by a majority (running nodes in memory,
    /// crashed ones on disk), so no future leader can lack it.
    pub fn check_durability<S: Storage>(&self, sim: &Sim<S>) -> Result<(), Violation> {
        let logs: Vec<Vec<Entry>> = sim.node_ids().map(|id| sim.node_log(id)).collect();
        let quorum = logs.len() / 2 + 1;
        for c in &self.committed {
            let holders = logs
                .iter()
                .filter(|l| l.get(c.index as usize - 1) == Some(c))
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
