//! [`Recorded`]: a simulator that writes down every input it is given, with the instant it took
//! effect. Owns the trace of the run in progress; must not decide what to do (the driver does):
//! it only forwards. Reading goes through `Deref` to the [`Sim`]; every call that changes the run
//! is a method here, so an input cannot reach the simulator without being recorded.

use std::ops::Deref;

use crate::protocol::SimEvent;
use crate::sim::{AppendAccepted, Sim, SimError};
use crate::storage::Storage;
use crate::types::NodeId;

use super::{apply, Trace, TraceInput, TracedInput};

/// Inputs one run's trace keeps. Past it, recording stops (the run goes on): the trace stays a
/// consistent prefix, ending at the last input that fit, and says so (`Recorded::is_full`). At
/// ~80 bytes an input that is ~8 MB of JSON; an hour of a class is a few thousand inputs.
pub const INPUTS_MAX: usize = 100_000;

/// A simulator and the trace of everything given to it.
pub struct Recorded<S: Storage> {
    sim: Sim<S>,
    trace: Trace,
    full: bool,
    cap: usize,
    /// Indexes (in `trace.inputs`) of the inputs the simulator refused, in order: they stay in
    /// the trace (see [`apply`]) but changed nothing, so undo steps over them.
    refused: Vec<usize>,
}

impl<S: Storage> Deref for Recorded<S> {
    type Target = Sim<S>;
    fn deref(&self) -> &Sim<S> {
        &self.sim
    }
}

impl<S: Storage> Recorded<S> {
    /// Record `sim` from where it is. `trace` holds what led there (inputs so far, or none for a
    /// new run); it must describe `sim` exactly, or later replays diverge.
    pub fn new(sim: Sim<S>, trace: Trace) -> Self {
        Self::with_cap(sim, trace, INPUTS_MAX)
    }

    /// Like [`Recorded::new`], recording at most `cap` inputs (tests use a small one).
    pub fn with_cap(sim: Sim<S>, mut trace: Trace, cap: usize) -> Self {
        let full = trace.inputs.len() > cap;
        trace.inputs.truncate(cap);
        Recorded {
            sim,
            trace,
            full,
            cap,
            refused: Vec::new(),
        }
    }

    /// Say which inputs of the trace given to [`Recorded::new`] the simulator refused (a fork's
    /// re-execution knows: [`super::Replay::refused_inputs`]), for [`Recorded::last_undoable`].
    pub fn with_refused(mut self, refused: &[usize]) -> Self {
        let kept = self.trace.inputs.len();
        self.refused = refused.iter().copied().filter(|i| *i < kept).collect();
        self
    }

    /// Give the simulator an input now, and record it (refused or not: see [`apply`]) — except
    /// an input naming a node the cluster does not have, refused here and not recorded.
    pub fn input(&mut self, input: TraceInput) -> Result<Option<AppendAccepted>, SimError> {
        // Why an unknown node is the one refusal left out of the trace: a trace names only nodes
        // that exist (`Trace::check` refuses any other, so the trace, its download, a fork of it
        // and `logscope replay` stay valid), and the simulator's own refusal of one is not free
        // of effects (an append to S9 takes a request id before the node is looked up), so
        // recording it would oblige every replay to run it too. Refused here, before the
        // simulator sees it, it changes nothing at all: leaving it out keeps replay exact.
        let nodes = self.sim.config().nodes;
        if let Some(id) = input.unknown_node(nodes) {
            return Err(SimError::UnknownNode(id, nodes));
        }
        let traced = TracedInput {
            at_ms: self.sim.now_ms(),
            after_seq: Some(self.sim.last_seq()),
            steps: Some(self.sim.stats().steps),
            input,
        };
        let result = apply(&mut self.sim, &traced.input);
        if self.trace.inputs.len() < self.cap {
            if result.is_err() {
                self.refused.push(self.trace.inputs.len());
            }
            self.trace.inputs.push(traced);
        } else {
            self.full = true;
        }
        result
    }

    /// The input recorded last, if recording has not stopped (what a caller persists).
    pub fn last_input(&self) -> Option<&TracedInput> {
        if self.full {
            None
        } else {
            self.trace.inputs.last()
        }
    }

    /// The index of the last recorded input that changed something: an action (not a pause or
    /// speed change) the simulator did not refuse. What undo goes back before.
    pub fn last_undoable(&self) -> Option<usize> {
        self.trace
            .inputs
            .iter()
            .enumerate()
            .rev()
            .find(|(i, t)| t.input.is_action() && self.refused.binary_search(i).is_err())
            .map(|(i, _)| i)
    }

    /// True once the cap ([`INPUTS_MAX`]) was reached and an input went unrecorded.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Inputs recorded.
    pub fn inputs(&self) -> &[TracedInput] {
        &self.trace.inputs
    }

    /// The trace up to now (or, once full, up to the last input recorded).
    pub fn trace(&self) -> Trace {
        let mut trace = self.trace.clone();
        if self.full {
            let last = trace
                .inputs
                .last()
                .expect("full means inputs were recorded");
            // Freeze the end just before the first input that was not recorded: everything up
            // to there is exact. (The last recorded input's own effects are included.)
            trace.end_ms = last.at_ms;
            trace.end_seq = None;
            trace.end_steps = last.steps;
        } else {
            trace.end_ms = self.sim.now_ms();
            trace.end_seq = Some(self.sim.last_seq());
            trace.end_steps = Some(self.sim.stats().steps);
        }
        trace
    }

    // ----- What moves the run without being an input -----

    /// [`Sim::step`].
    pub fn step(&mut self) -> bool {
        self.sim.step()
    }

    /// [`Sim::step_to_event`]: a person's Step.
    pub fn step_to_event(&mut self) -> bool {
        self.sim.step_to_event()
    }

    /// [`Sim::run_until`].
    pub fn run_until(&mut self, time_ms: u64) {
        self.sim.run_until(time_ms);
    }

    /// [`Sim::take_events`].
    pub fn take_events(&mut self) -> Vec<SimEvent> {
        self.sim.take_events()
    }

    /// [`Sim::replace_storage`]: the backend reopens a node's files before a restart. The new
    /// storage must hold what the old one did, so this is not an input.
    pub fn replace_storage(&mut self, id: NodeId, storage: S) -> Result<S, SimError> {
        self.sim.replace_storage(id, storage)
    }

    /// The simulator and its trace, apart.
    pub fn into_parts(self) -> (Sim<S>, Trace) {
        let trace = self.trace();
        (self.sim, trace)
    }
}
