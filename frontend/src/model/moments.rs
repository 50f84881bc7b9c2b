//! Key moments, for the teacher's "at key moments" setting: an election won, entries truncated by
//! log repair, the first commit of a new term. The reducer notices them as events arrive and
//! keeps the first one not yet taken; `model::auto_pause` decides what the setting does with it
//! (slow down or pause, and say why: "Paused: S2 won the election for term 3"). Owns what counts
//! as a key moment and its sentence; must not slow or pause anything itself.

use shared::protocol::Event;
use shared::types::{LogIndex, Role};

use super::ClusterView;

/// A moment worth stopping at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMoment {
    /// Seq of the event that made it.
    pub seq: u64,
    /// Virtual time (ms).
    pub time_ms: u64,
    /// Why the run would pause: "S2 won the election for term 3".
    pub why: String,
}

impl ClusterView {
    /// What the event about to be applied means, if it is a key moment; `commit_before` is the
    /// global commit index before it (a commit is judged after the event is applied).
    pub(super) fn key_moment_of(&self, event: &Event, commit_before: LogIndex) -> Option<String> {
        match event {
            Event::RoleChanged {
                node,
                role: Role::Leader,
                term,
                ..
            } => Some(format!("S{node} won the election for term {term}")),
            Event::EntriesTruncated { node, from_index } => {
                let last = self.node(*node)?.last_index();
                (last >= *from_index).then(|| {
                    if last == *from_index {
                        format!("S{node} deleted its entry {from_index}: it conflicted with the leader's log")
                    } else {
                        format!(
                            "S{node} deleted its entries {from_index} to {last}: they conflicted with the leader's log"
                        )
                    }
                })
            }
            Event::CommitAdvanced { .. } => {
                let now = self.commit_index();
                if now <= commit_before {
                    return None;
                }
                let old_term = self.committed_entry(commit_before).map(|e| e.term.get());
                let entry = self.committed_entry(now)?;
                (old_term.is_none_or(|t| entry.term.get() > t)).then(|| {
                    format!(
                        "the first entry of term {} committed: entry {now}",
                        entry.term
                    )
                })
            }
            _ => None,
        }
    }

    /// Remember a key moment unless an earlier one is still waiting to be taken.
    pub(super) fn note_key_moment(&mut self, seq: u64, time_ms: u64, why: Option<String>) {
        if let (None, Some(why)) = (&self.key_moment, why) {
            self.key_moment = Some(KeyMoment { seq, time_ms, why });
        }
    }

    /// The first key moment since the last call (the page pauses there when asked to).
    pub fn take_key_moment(&mut self) -> Option<KeyMoment> {
        self.key_moment.take()
    }
}
