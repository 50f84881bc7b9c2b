//! The checks on a trace's start disks: that they hold what Raft servers could have written, so
//! that a node recovered from them cannot trip the core's own assertions (the core panics on a
//! log no Raft node could have written, e.g. "log terms must not decrease"). Owns those checks
//! and their sentences; must not build storage or run anything (`Start::storage_for` does).

use std::collections::BTreeSet;

use crate::sim::ANONYMOUS_CLIENT;
use crate::types::{LogIndex, Term};

use super::{NodeDisk, Start};

impl Start {
    /// Everything a node recovering from these disks relies on, for a cluster of `nodes`:
    /// each disk names a node of the cluster once; each log is numbered 1, 2, 3, … with terms
    /// from 1 that never decrease and none above the node's `current_term`; each vote names a
    /// node of the cluster. Nothing is asked *across* disks (Log Matching, say): a run with a
    /// rule broken on purpose writes disks that break it, a server recovered from them records
    /// them as its start, and the safety checker, not a refusal, is what shows the breach.
    pub(super) fn check(&self, nodes: u64) -> Result<(), String> {
        let Start::Disk { nodes: disks } = self else {
            return Ok(());
        };
        let mut seen = BTreeSet::new();
        for disk in disks {
            if disk.node == 0 || disk.node > nodes {
                return Err(format!(
                    "the start state names S{}, but the cluster has {nodes} nodes",
                    disk.node
                ));
            }
            if !seen.insert(disk.node) {
                return Err(format!("the start state gives S{} twice", disk.node));
            }
            check_disk(disk, nodes).map_err(|e| format!("S{}'s start disk: {e}", disk.node))?;
        }
        Ok(())
    }
}

/// The highest term a disk may hold. Each election adds one to a term, and the core does that
/// without a check: a disk at `u64::MAX` made the first election panic (and, in a release
/// build, would wrap to term 0 and break Election Safety). No lesson or run gets near it: at one
/// election every 150 ms, it takes twenty years.
pub const TERM_MAX: Term = Term(u32::MAX as u64);

/// The terms on `disk` (its `current_term`, its log's last term) leave room for elections.
/// Asked of a trace's start disks and of the disks a server recovers from its files.
pub fn check_terms(disk: &NodeDisk) -> Result<(), String> {
    let last = disk.log.last().map_or(Term(0), |e| e.term);
    let highest = disk.hard_state.current_term.max(last);
    if highest > TERM_MAX {
        return Err(format!(
            "it holds term {highest}, above {TERM_MAX}, the highest term a disk may hold here \
             (each election adds one to it)"
        ));
    }
    Ok(())
}

/// One disk on its own.
fn check_disk(disk: &NodeDisk, nodes: u64) -> Result<(), String> {
    check_terms(disk)?;
    let term = disk.hard_state.current_term;
    if let Some(v) = disk.hard_state.voted_for {
        if v == 0 || v > nodes {
            return Err(format!(
                "it voted for S{v}, but the cluster has {nodes} nodes"
            ));
        }
        if term == 0 {
            return Err(format!(
                "it voted for S{v} in term 0, where no election takes place"
            ));
        }
    }
    let mut last = Term(0);
    for (slot, e) in disk.log.iter().enumerate() {
        let expected = LogIndex::of_slot(slot);
        if e.index != expected {
            return Err(format!(
                "its log's entry {} has index {}: a log is numbered 1, 2, 3, … without gaps",
                slot + 1,
                e.index
            ));
        }
        if e.term == 0 {
            return Err(format!(
                "entry {} has term 0: entries are written by leaders, from term 1",
                e.index
            ));
        }
        if e.term < last {
            return Err(format!(
                "entry {} has term {} after an entry of term {last}: terms in a log never \
                 decrease",
                e.index, e.term
            ));
        }
        if e.term > term {
            return Err(format!(
                "entry {} has term {}, above the node's current_term {term}: a node has seen \
                 the term of every entry it holds",
                e.index, e.term
            ));
        }
        // The simulator numbers the next anonymous request after the highest on any disk.
        if e.data
            .client()
            .is_some_and(|c| c.client_id == ANONYMOUS_CLIENT && c.serial == u64::MAX)
        {
            return Err(format!(
                "entry {} is an anonymous request numbered {}, the last number there is: no \
                 request could follow it",
                e.index,
                u64::MAX
            ));
        }
        last = e.term;
    }
    Ok(())
}
