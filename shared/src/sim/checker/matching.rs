//! Log Matching between the logs of running nodes after each batch that changed a log, without
//! comparing again the prefixes already found identical: for each pair of nodes, how many
//! leading entries were identical at the last check, forgotten from wherever either log has
//! changed since. Comparing whole logs every time made a long run quadratic (a loaded hour
//! with 20,000 requests spent 96 % of its 34 s here; docs/trace.md, "A long loaded run"). A
//! `Matching` that has found nothing yet compares whole logs (`Checker::check_log_matching`).
//! Reads the simulator; changes nothing.

use std::collections::BTreeMap;

use super::Violation;
use crate::protocol::{Event, SimEvent};
use crate::sim::Sim;
use crate::storage::Storage;
use crate::types::NodeId;

/// What the last checks found, and what changed since.
#[derive(Clone, Debug, Default)]
pub(super) struct Matching {
    /// (a, b) with a < b → the number of leading entries (slots) found identical in both logs.
    same: BTreeMap<(NodeId, NodeId), usize>,
    /// Node → the lowest slot its log may have changed at since the last check.
    changed_from: BTreeMap<NodeId, usize>,
}

impl Matching {
    /// Note where `events` may have changed logs. Called on the whole batch before any of it is
    /// judged, so an early return on a violation cannot leave a change unnoted.
    pub(super) fn note(&mut self, events: &[SimEvent]) {
        for ev in events {
            match ev.event {
                // A running log changes only at its end (appends) or by a truncation, which
                // names where; a restart replaces the log with what the disk held.
                Event::EntriesTruncated { node, from_index } => {
                    self.changed(node, from_index.checked_slot().unwrap_or(0));
                }
                Event::NodeRestarted { node, .. }
                | Event::NodeCrashed { node }
                | Event::PowerLost { node, .. } => {
                    self.changed(node, 0);
                }
                _ => {}
            }
        }
    }

    fn changed(&mut self, node: NodeId, slot: usize) {
        let from = self.changed_from.entry(node).or_insert(slot);
        *from = (*from).min(slot);
    }

    /// Every pair of running nodes: where both logs hold an entry of the same term at the same
    /// index, they must be identical up to it. Only the part not already found identical is
    /// compared. The verdict is the same as comparing whole logs (in debug builds, it is
    /// checked against that).
    pub(super) fn check<S: Storage>(&mut self, sim: &Sim<S>) -> Result<(), Violation> {
        let changed_from = std::mem::take(&mut self.changed_from);
        let lowered = |pair: (NodeId, NodeId), same: usize| {
            let a = changed_from.get(&pair.0).copied().unwrap_or(usize::MAX);
            let b = changed_from.get(&pair.1).copied().unwrap_or(usize::MAX);
            same.min(a).min(b)
        };
        for (pair, same) in self.same.iter_mut() {
            *same = lowered(*pair, *same);
        }
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
                // …everything up to it must be identical; the first `same` already were.
                let same = self.same.get(&(*a, *b)).copied().unwrap_or(0).min(top + 1);
                if let Some(k) = (same..=top).find(|k| la[*k] != lb[*k]) {
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
                self.same.insert((*a, *b), top + 1);
            }
        }
        Ok(())
    }
}
