//! Key moments, for the teacher's "pause at key moments" setting: an election won, entries
//! truncated by log repair, the first commit of a new term. The reducer notices them as events
//! arrive and keeps the first one not yet taken; the page (`components::auto_pause`) pauses the
//! run when the setting is on and says why ("Paused: S2 won the election for term 3"). Owns what
//! counts as a key moment and its sentence; must not pause anything itself.

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

/// The teacher's "pause at key moments" setting and the reason of the pause it made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoPause {
    /// Switched on (off by default).
    pub on: bool,
    /// Why the run stopped, while it stays paused there.
    pub why: Option<String>,
}

impl AutoPause {
    /// Events were applied and `moment` is the first key moment among them: true when the page
    /// should send the pause command (the setting is on and the run is not paused yet). A moment
    /// met while stepping a paused run only updates the reason.
    pub fn on_moment(&mut self, moment: Option<KeyMoment>, paused: bool) -> bool {
        match moment {
            Some(m) if self.on => {
                self.why = Some(m.why);
                !paused
            }
            _ => false,
        }
    }

    /// The run was resumed (or the setting switched off): the reason no longer holds.
    pub fn resumed(&mut self) {
        self.why = None;
    }

    /// "Paused: S2 won the election for term 3", while there is a reason.
    pub fn label(&self) -> Option<String> {
        self.why.as_ref().map(|w| format!("Paused: {w}"))
    }
}
