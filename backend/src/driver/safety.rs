//! The live safety panel: the whole-run checker (`shared::sim::checker::Checker`) watching the
//! live cluster step by step, and what happens when it finds a violation (the run pauses and
//! viewers get a `safety` message naming it and the input to rewind to). Owns the checker's
//! place in the driver; must not judge anything itself (the checker does) nor pace time.

use shared::protocol::{SafetyView, SafetyViolation, ServerMessage};
use shared::sim::checker::{Checker, Violation};

use super::outgoing::to_json;
use super::{Driver, LiveSim, OutgoingKind};

/// The checker of the run now live and its verdict so far.
pub(super) struct Safety {
    checker: Checker,
    /// Seq of the last event the checker saw.
    checked_seq: u64,
    violation: Option<SafetyViolation>,
}

impl Safety {
    /// A checker for a run that starts now (what it has seen so far is the start's events).
    pub(super) fn new(sim: &LiveSim) -> Self {
        Safety::resumed(sim, Checker::new(), None)
    }

    /// Go on with a checker that has seen the run up to `sim` (a fork re-executed under it).
    pub(super) fn resumed(sim: &LiveSim, checker: Checker, found: Option<&Violation>) -> Self {
        let mut safety = Safety {
            checker,
            checked_seq: 0,
            violation: None,
        };
        // Events still pending are the new run's first ones: checked by the first `check`.
        safety.checked_seq = sim
            .pending_events()
            .first()
            .map_or(sim.last_seq(), |e| e.seq - 1);
        if let Some(v) = found {
            safety.violation = Some(SafetyViolation::from_checker(v, sim.last_seq()));
        }
        safety
    }

    /// The verdict, for the snapshot and the `safety` message.
    pub(super) fn view(&self, sim: &LiveSim) -> SafetyView {
        let mut view = SafetyView::holding(sim.config().broken_rules, self.checked_seq);
        if let Some(v) = &self.violation {
            view.violated(v.clone());
        }
        view
    }

    /// True once a violation was found.
    pub(super) fn is_violated(&self) -> bool {
        self.violation.is_some()
    }
}

impl Driver {
    /// Show the checker what the run did since it last looked (call after every step and
    /// input). On the first violation: pause, and tell every viewer. True when one was found now.
    pub(super) fn check_safety(&mut self) -> bool {
        if self.safety.is_violated() {
            return false; // The first one is the story; the checker's memory is unsure after it.
        }
        let events = self.sim.pending_events();
        let start = events.partition_point(|e| e.seq <= self.safety.checked_seq);
        let Some(last) = events.last().map(|e| e.seq) else {
            return false;
        };
        if start == events.len() {
            return false;
        }
        let result = self.safety.checker.observe(&*self.sim, &events[start..]);
        self.safety.checked_seq = last;
        let Err(v) = result else {
            return false;
        };
        let mut violation = SafetyViolation::from_checker(&v, last);
        let inputs = self.sim.inputs();
        // The input an undo would take back (a refused one changed nothing, so it is not it).
        if let Some(n) = self.sim.last_undoable() {
            violation.before_input = Some(n);
            violation.input = Some(inputs[n].input.describe());
        }
        tracing::warn!(property = v.property, detail = %v.detail, "safety violated; pausing");
        self.safety.violation = Some(violation);
        self.snapshot_cache = None;
        self.set_control(true, self.speed);
        self.broadcast_safety();
        true
    }

    /// Send every viewer the verdict as it is now.
    pub(super) fn broadcast_safety(&mut self) {
        let safety = self.safety.view(&self.sim);
        self.broadcast(
            OutgoingKind::Safety {
                seq: self.sim.last_seq(),
            },
            to_json(&ServerMessage::Safety { safety }),
        );
    }
}
