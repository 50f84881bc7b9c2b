//! Ghost entries: entries a server's log lost — deleted by log repair (§5.3: "delete the existing
//! entry and all that follow it") or written but never synced before a power loss — kept for a
//! while so the page can draw them struck out in that server's row, saying why. Owns when a ghost
//! appears, who overwrote it and when it fades; must not draw (`components::log_ghosts` does)
//! nor narrate (the truncation and the power loss are told by `events`).

use shared::protocol::LogEntryView;
use shared::types::{Entry, LogIndex, NodeId, Term};

use super::ClusterView;

/// A ghost is forgotten this long (virtual ms) after its entry was lost: long enough to see at
/// a teaching speed, and forever while the run is paused.
pub const LOG_GHOST_KEEP_MS: u64 = 4_000;
/// Ghosts kept at most (all servers together); the oldest go first.
pub const LOG_GHOSTS_MAX: usize = 64;

/// An entry a server's log no longer holds.
#[derive(Clone, Debug, PartialEq)]
pub struct LogGhost {
    /// The server whose row shows it.
    pub node: NodeId,
    /// The entry as it was.
    pub entry: LogEntryView,
    /// Why it is gone.
    pub cause: GhostCause,
    /// When it was lost (virtual ms).
    pub lost_at_ms: u64,
}

/// Why an entry left a server's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GhostCause {
    /// Deleted because it conflicted with the leader's log. `by` is the leader and the term of
    /// the entry that took its place, once that entry arrived.
    Overwritten {
        /// (leader, term of the new entry at this index).
        by: Option<(Option<NodeId>, Term)>,
    },
    /// Written but not yet synced when the server lost power.
    PowerLoss,
}

impl LogGhost {
    /// Why it is gone, for its tooltip: "overwritten by S1's entry from term 4", "lost in power
    /// loss: never synced".
    pub fn reason(&self) -> String {
        match self.cause {
            GhostCause::Overwritten {
                by: Some((Some(leader), term)),
            } => format!("overwritten by S{leader}'s entry from term {term}"),
            GhostCause::Overwritten {
                by: Some((None, term)),
            } => format!("overwritten by the leader's entry from term {term}"),
            GhostCause::Overwritten { by: None } => {
                "deleted by log repair: it conflicted with the leader's log".into()
            }
            GhostCause::PowerLoss => "lost in power loss: never synced".into(),
        }
    }
}

impl ClusterView {
    /// Server `node` is about to lose its entries from `from` on: keep them as ghosts. Call
    /// before the handler that removes them.
    pub(super) fn bury(&mut self, node: NodeId, from: LogIndex, cause: GhostCause, at_ms: u64) {
        let Some(n) = self.node(node) else {
            return;
        };
        let lost: Vec<LogEntryView> = from
            .max(n.log_first_index)
            .through(n.last_index())
            .filter_map(|i| n.entry(i).cloned())
            .collect();
        if lost.is_empty() {
            return;
        }
        // A second loss at the same place replaces the older ghost there.
        self.log_ghosts
            .retain(|g| g.node != node || g.entry.index < from);
        self.log_ghosts
            .extend(lost.into_iter().map(|entry| LogGhost {
                node,
                entry,
                cause,
                lost_at_ms: at_ms,
            }));
        while self.log_ghosts.len() > LOG_GHOSTS_MAX {
            self.log_ghosts.pop_front();
        }
        self.changes.nodes.insert(node);
    }

    /// Entries arrived on `node`: an overwritten ghost at one of their indexes learns what
    /// replaced it, and from which leader.
    pub(super) fn name_overwriters(&mut self, node: NodeId, entries: &[Entry]) {
        let leader = self
            .node(node)
            .and_then(|n| n.leader_id)
            .or_else(|| self.leaders_by_term.values().next_back().copied());
        let mut named = false;
        for g in self.log_ghosts.iter_mut().filter(|g| g.node == node) {
            if g.cause != (GhostCause::Overwritten { by: None }) {
                continue;
            }
            if let Some(e) = entries.iter().find(|e| e.index == g.entry.index) {
                g.cause = GhostCause::Overwritten {
                    by: Some((leader, e.term)),
                };
                named = true;
            }
        }
        if named {
            self.changes.nodes.insert(node);
        }
    }

    /// A later snapshot of the same run replaced `old` (a lesson's next pause point, or a
    /// resync after a gap): the entries that vanished from a server's log in between were not
    /// seen going, so they are buried here — overwritten when another entry now stands at their
    /// index (by the leader of that entry's term, when known), lost in a power loss when they
    /// were past what the server had synced, else deleted by log repair. Only the part of each
    /// log both views hold is compared (a windowed log says nothing of older entries). Ghosts
    /// `old` still showed are kept.
    pub(super) fn bury_vanished(&mut self, old: &ClusterView) {
        let at_ms = self.time_ms;
        self.log_ghosts = old.log_ghosts.clone();
        for before in &old.nodes {
            let Some(now) = self.node(before.id) else {
                continue;
            };
            let from = before.log_first_index.max(now.log_first_index);
            let mut gone: Option<(LogIndex, GhostCause)> = None;
            for i in from.through(before.last_index()) {
                let (Some(was), is) = (before.entry(i), now.entry(i)) else {
                    continue;
                };
                let cause = match is {
                    Some(e) if e.term == was.term => continue,
                    Some(e) => GhostCause::Overwritten {
                        by: Some((self.leaders_by_term.get(&e.term).copied(), e.term)),
                    },
                    None if i > before.synced_index => GhostCause::PowerLoss,
                    None => GhostCause::Overwritten { by: None },
                };
                gone = Some((i, cause));
                break;
            }
            let Some((from, cause)) = gone else {
                continue;
            };
            // `bury` reads the lost entries from the current view: borrow them from `old`.
            let lost: Vec<LogEntryView> = from
                .through(before.last_index())
                .filter_map(|i| before.entry(i).cloned())
                .collect();
            self.log_ghosts
                .retain(|g| g.node != before.id || g.entry.index < from);
            for entry in lost {
                // Each index says what replaced it, if anything did.
                let cause = match (
                    cause,
                    self.node(before.id).and_then(|n| n.entry(entry.index)),
                ) {
                    (GhostCause::Overwritten { .. }, Some(e)) => GhostCause::Overwritten {
                        by: Some((self.leaders_by_term.get(&e.term).copied(), e.term)),
                    },
                    (cause, _) => cause,
                };
                self.log_ghosts.push_back(LogGhost {
                    node: before.id,
                    entry,
                    cause,
                    lost_at_ms: at_ms,
                });
            }
            self.changes.nodes.insert(before.id);
        }
        while self.log_ghosts.len() > LOG_GHOSTS_MAX {
            self.log_ghosts.pop_front();
        }
    }

    /// Forget ghosts lost more than [`LOG_GHOST_KEEP_MS`] before `now_ms`.
    pub(super) fn fade_log_ghosts(&mut self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(LOG_GHOST_KEEP_MS);
        while let Some(g) = self.log_ghosts.front().filter(|g| g.lost_at_ms < horizon) {
            let node = g.node;
            self.log_ghosts.pop_front();
            self.changes.nodes.insert(node);
        }
    }

    /// The ghosts in server `node`'s row within `range`, oldest first.
    pub fn log_ghosts_of(
        &self,
        node: NodeId,
        range: std::ops::RangeInclusive<LogIndex>,
    ) -> Vec<&LogGhost> {
        self.log_ghosts
            .iter()
            .filter(|g| g.node == node && range.contains(&g.entry.index))
            .collect()
    }
}
