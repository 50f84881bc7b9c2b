//! [`Marks`]: what `GET /api/trace/markers` lists, kept from the live event stream as the run
//! goes, so answering costs a copy of the marks and no re-execution. Owns that list; must not
//! decide what is a marker (`shared::trace::is_marker` does, for the timeline too) nor answer
//! HTTP.
//!
//! Before, the route re-executed the run's trace to collect them: at speed 0 a run covers days of
//! virtual time in a minute, and each call cost tens of seconds of CPU (docs/trace.md has figures).
//! The live run's events are the replay's events byte for byte, so the marks are the same.

use shared::protocol::{Event, SimEvent};
use shared::trace::is_marker;
use shared::{NodeId, Role};

/// The marked events of the live run so far, and the leader as its events tell (a commit is
/// marked only when the leader of the moment made it).
#[derive(Clone, Debug, Default)]
pub(super) struct Marks {
    events: Vec<SimEvent>,
    leader: Option<NodeId>,
}

impl Marks {
    /// The marks a run starts with: those of the replay that led to its first instant.
    pub(super) fn resumed(events: Vec<SimEvent>, leader: Option<NodeId>) -> Self {
        Marks { events, leader }
    }

    /// Take in events of the live run, in stream order.
    pub(super) fn observe(&mut self, events: &[SimEvent]) {
        for e in events {
            // Marked first, then the leader moves: as `Replay` does it.
            if is_marker(&e.event, self.leader) {
                self.events.push(e.clone());
            }
            if let Event::RoleChanged {
                node,
                role: Role::Leader,
                ..
            } = e.event
            {
                self.leader = Some(node);
            }
        }
    }

    /// The marks with `pending` (events emitted but not yet taken) counted in.
    pub(super) fn with(&self, pending: &[SimEvent]) -> Vec<SimEvent> {
        let mut all = self.clone();
        all.observe(pending);
        all.events
    }
}
