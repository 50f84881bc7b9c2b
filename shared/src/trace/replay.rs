//! Re-executing a trace with the in-memory simulator, up to any instant, optionally under the
//! safety checker, and a short summary of the result. Owns re-execution; must not record (the
//! replayed run is a copy, never the live one) nor read files.
//!
//! Between two inputs the simulator runs exactly as many queue items as the recorded run did
//! (`steps`), then its clock moves to the input's `at_ms`, then the input is applied — the same
//! calls in the same order as the driver made them, hence the same events.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::protocol::{Event, SimEvent};
use crate::sim::checker::{Checker, Violation};
use crate::sim::Sim;
use crate::storage::MemStorage;
use crate::types::{NodeId, Role, Term};

use super::{apply, Trace, TraceError, END_STEPS_MAX};

/// An instant of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// After everything that happened at or before this virtual time (clamped to the end).
    AtMs(u64),
    /// Right after the step or input that emitted the event with this seq.
    Seq(u64),
    /// Just before input number `n` (0-based) took effect: its time, none of its effects.
    BeforeInput(usize),
    /// The end of the trace.
    End,
}

impl Trace {
    /// Whether `position` is an instant of this run, or why not (a fork or a past instant
    /// asked for one that is not, a 400): `before_input` must name one of the inputs, `seq` an
    /// event the run has had (when the trace says how far it went). A time past the end is the
    /// end, as docs/api.md says.
    pub fn reaches(&self, position: Position) -> Result<(), String> {
        match position {
            Position::BeforeInput(n) if n >= self.inputs.len() => Err(match self.inputs.len() {
                0 => format!("there is no input {n}: this run has had no input yet"),
                len => format!(
                    "there is no input {n}: this run has {len} (before_input counts from 0 to {})",
                    len - 1
                ),
            }),
            Position::Seq(s) if self.end_seq.is_some_and(|end| s > end) => Err(format!(
                "there is no event {s}: this run has reached event {}",
                self.end_seq.unwrap_or(0)
            )),
            _ => Ok(()),
        }
    }
}

/// A trace being re-executed. A clone goes on independently (checkpoints, see `Timeline`).
#[derive(Clone)]
pub struct Replay {
    /// Shared by a timeline's checkpoints (a clone of a replay does not copy the trace).
    trace: Arc<Trace>,
    sim: Sim<MemStorage>,
    next: usize,
    checker: Option<Checker>,
    violation: Option<Violation>,
    keep_events: bool,
    events: Vec<SimEvent>,
    keep_markers: bool,
    markers: Vec<SimEvent>,
    tally: Tally,
    /// Indexes of the inputs applied so far that the simulator refused, in order.
    refused: Vec<usize>,
    /// The nodes' start events are observed on the first move, once the options are set.
    started: bool,
    /// The most steps run for a trace that does not give `end_steps` ([`END_STEPS_MAX`]).
    steps_max: u64,
    /// Asked every [`BUDGET_EVERY_STEPS`] steps whether to go on ([`Replay::with_budget`]).
    budget: Option<Budget>,
}

/// Whether a re-execution may go on: `Err` says why not ("it took more than 10 s"). The driver
/// of a live class holds a loaded trace to a wall-clock budget: the step bound alone let a
/// small, busy trace (nine servers, 1 ms timers) hold the live run for minutes.
pub type Budget = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// How often a [`Budget`] is asked: often enough to stop within a few ms, rarely enough to cost
/// nothing.
const BUDGET_EVERY_STEPS: u64 = 4_096;

/// What a summary counts as the run goes.
#[derive(Clone, Debug, Default)]
struct Tally {
    leaders: BTreeMap<Term, NodeId>,
    leader_changes: u64,
    last_leader: Option<NodeId>,
    commits: u64,
    events: u64,
}

/// What a replay prints (`logscope replay`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Cluster size.
    pub nodes: u64,
    /// Virtual time reached (ms).
    pub time_ms: u64,
    /// Seq of the last event.
    pub last_seq: u64,
    /// Inputs applied.
    pub inputs: usize,
    /// Highest term any node reached.
    pub max_term: Term,
    /// Terms that had a leader, with it.
    pub leaders: BTreeMap<Term, NodeId>,
    /// Times the leader changed (a new node became leader).
    pub leader_changes: u64,
    /// `commit_advanced` events.
    pub commits: u64,
    /// Each node's log length at the end (from its storage, so a down node counts too).
    pub log_lengths: Vec<(NodeId, u64)>,
    /// The first broken guarantee, when the checker ran and found one.
    pub violation: Option<Violation>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "nodes: {}", self.nodes)?;
        writeln!(
            f,
            "virtual time: {} ms (last event seq {})",
            self.time_ms, self.last_seq
        )?;
        writeln!(f, "inputs applied: {}", self.inputs)?;
        writeln!(f, "highest term: {}", self.max_term)?;
        let leaders: Vec<String> = self
            .leaders
            .iter()
            .map(|(t, n)| format!("{t}:S{n}"))
            .collect();
        writeln!(f, "leaders by term: {}", leaders.join(" "))?;
        writeln!(f, "leader changes: {}", self.leader_changes)?;
        writeln!(f, "commit advances: {}", self.commits)?;
        let logs: Vec<String> = self
            .log_lengths
            .iter()
            .map(|(n, l)| format!("S{n}={l}"))
            .collect();
        writeln!(f, "final log lengths: {}", logs.join(" "))?;
        match &self.violation {
            Some(v) => write!(f, "VIOLATION: {v}"),
            None => write!(f, "violations: none"),
        }
    }
}

impl Replay {
    /// Start re-executing `trace` (checked first): the cluster as it was at time 0.
    pub fn new(trace: Trace) -> Result<Replay, TraceError> {
        trace.check()?;
        let start = trace.start.clone();
        let sim = Sim::with_storage(trace.config.clone(), |id| start.storage_for(id))
            .map_err(|e| TraceError::Config(e.to_string()))?;
        let replay = Replay {
            trace: Arc::new(trace),
            sim,
            next: 0,
            checker: None,
            violation: None,
            keep_events: false,
            events: Vec::new(),
            keep_markers: false,
            markers: Vec::new(),
            tally: Tally::default(),
            refused: Vec::new(),
            started: false,
            steps_max: END_STEPS_MAX,
            budget: None,
        };
        Ok(replay)
    }

    /// Run the safety checker over the whole replay (set before the first [`Replay::run_to`]).
    pub fn with_checker(mut self) -> Self {
        self.checker = Some(Checker::new());
        self
    }

    /// Hold a trace without `end_steps` to `steps` steps instead of [`END_STEPS_MAX`] (a test
    /// reaches a small bound in milliseconds).
    pub fn with_steps_max(mut self, steps: u64) -> Self {
        self.steps_max = steps;
        self
    }

    /// Ask `budget` now and then whether to go on; when it says no, the replay stops with
    /// [`TraceError::Stopped`] and its reason.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Keep every event for [`Replay::events`], set before the first [`Replay::run_to`] (otherwise they are counted and dropped, so a
    /// long trace replays in bounded memory).
    pub fn keeping_events(mut self) -> Self {
        self.keep_events = true;
        self
    }

    /// Keep the events a timeline marks (see [`is_marker`]) for [`Replay::take_markers`], set
    /// before the first [`Replay::run_to`].
    pub fn keeping_markers(mut self) -> Self {
        self.keep_markers = true;
        self
    }

    /// The leader as the events so far tell (what [`is_marker`] needs to go on marking).
    pub fn marker_leader(&self) -> Option<NodeId> {
        self.tally.last_leader
    }

    /// The marked events since the last call.
    pub fn take_markers(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.markers)
    }

    /// Events so far (only with [`Replay::keeping_events`]; the start's events included).
    pub fn events(&self) -> &[SimEvent] {
        &self.events
    }

    /// The simulator where the replay stands.
    pub fn sim(&self) -> &Sim<MemStorage> {
        &self.sim
    }

    /// The trace being replayed.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The trace being replayed, shared.
    pub(super) fn shared_trace(&self) -> &Arc<Trace> {
        &self.trace
    }

    /// Go on re-executing `trace` instead: the same run grown, whose inputs begin with this
    /// one's and whose later inputs come after where this replay stands (the caller checks:
    /// `Timeline::extend`). Everything re-executed so far stays valid.
    pub(super) fn follow(&mut self, trace: Arc<Trace>) {
        self.trace = trace;
    }

    /// Inputs applied so far.
    pub fn inputs_applied(&self) -> usize {
        self.next
    }

    /// Indexes of the inputs applied so far that the simulator refused (they changed nothing;
    /// a run forked from here hands them to [`super::Recorded::with_refused`]).
    pub fn refused_inputs(&self) -> &[usize] {
        &self.refused
    }

    /// The simulator, to go on with (fork).
    pub fn into_sim(self) -> Sim<MemStorage> {
        self.sim
    }

    /// The checker, when the replay runs one (a live run forked from here goes on with it).
    pub fn checker(&self) -> Option<&Checker> {
        self.checker.as_ref()
    }

    /// The first violation the checker found, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Re-execute up to `position` (from wherever the replay stands; positions already passed
    /// change nothing).
    pub fn run_to(&mut self, position: Position) -> Result<(), TraceError> {
        if !self.started {
            self.started = true;
            self.observe();
        }
        match position {
            Position::End => {
                while self.advance(None)? != Advanced::End {}
                self.skip_to(self.trace.end_ms)?;
                if let Some(seq) = self.trace.end_seq {
                    if seq != self.sim.last_seq() {
                        return Err(TraceError::Diverged(format!(
                            "the trace ends at event {seq}, the replay at {}",
                            self.sim.last_seq()
                        )));
                    }
                }
            }
            Position::AtMs(t) => {
                let t = t.min(self.trace.end_ms);
                while self.advance(Some(t))? == Advanced::Moved {}
                self.skip_to(t.max(self.sim.now_ms()))?;
            }
            Position::Seq(seq) => {
                while self.sim.last_seq() < seq && self.advance(None)? == Advanced::Moved {}
            }
            Position::BeforeInput(n) => {
                let n = n.min(self.trace.inputs.len());
                while self.next < n || (self.next == n && self.may_step()) {
                    if self.advance(None)? == Advanced::End {
                        break;
                    }
                }
                if let Some(input) = self.trace.inputs.get(n) {
                    self.skip_to(input.at_ms)?;
                }
            }
        }
        Ok(())
    }

    /// The summary of the run so far.
    pub fn summary(&self) -> Summary {
        let sim = &self.sim;
        let max_term = sim
            .node_ids()
            .map(|id| {
                sim.node(id)
                    .map(|r| r.current_term())
                    .or_else(|| sim.storage(id).map(|s| s.hard_state().current_term))
                    .unwrap_or(Term(0))
            })
            .max()
            .unwrap_or(Term(0))
            .max(self.tally.leaders.keys().last().copied().unwrap_or(Term(0)));
        Summary {
            nodes: sim.config().nodes,
            time_ms: sim.now_ms(),
            last_seq: sim.last_seq(),
            inputs: self.next,
            max_term,
            leaders: self.tally.leaders.clone(),
            leader_changes: self.tally.leader_changes,
            commits: self.tally.commits,
            log_lengths: sim
                .node_ids()
                .map(|id| (id, sim.storage(id).map_or(0, |s| s.entries().len() as u64)))
                .collect(),
            violation: self.violation.clone(),
        }
    }

    // ----- Internals -----

    /// The next input's (or the end's) step count, when the trace gives it, and its time.
    fn next_mark(&self) -> (Option<u64>, u64) {
        match self.trace.inputs.get(self.next) {
            Some(i) => (i.steps, i.at_ms),
            None => (self.trace.end_steps, self.trace.end_ms),
        }
    }

    /// May the simulator process one more queue item before the next input (or the end)?
    fn may_step(&self) -> bool {
        let (steps, at_ms) = self.next_mark();
        match steps {
            Some(n) => self.sim.stats().steps < n,
            None => self.sim.next_event_time().is_some_and(|t| t <= at_ms),
        }
    }

    /// One step or one input, unless that would go past `limit_ms`.
    fn advance(&mut self, limit_ms: Option<u64>) -> Result<Advanced, TraceError> {
        let beyond = |t: u64| limit_ms.is_some_and(|l| t > l);
        if self.may_step() {
            let Some(t) = self.sim.next_event_time() else {
                return Err(TraceError::Diverged(format!(
                    "nothing is left to run after {} steps, but the trace has more",
                    self.sim.stats().steps
                )));
            };
            // Every item the recorded run processed before an input (or the end) was due by
            // then: a count that reaches further is not this run's, and would let a trace run
            // on far past its `end_ms`.
            if let (Some(steps), at_ms) = self.next_mark() {
                if t > at_ms {
                    return Err(TraceError::Diverged(format!(
                        "the trace says {steps} steps had run by {at_ms} ms, but the replay had \
                         run {} by then",
                        self.sim.stats().steps
                    )));
                }
            }
            // A trace that does not say how many steps its run took (one written by hand) is
            // held to the bound a loaded trace's `end_steps` is: a busy cluster must not turn
            // 12 virtual hours into minutes of work. (Recorded traces always say.)
            if self.trace.end_steps.is_none() && self.sim.stats().steps >= self.steps_max {
                return Err(TraceError::Inconsistent(format!(
                    "its run takes more than {} steps before {} ms, the most a trace may hold: \
                     cut it shorter, or make the cluster less busy",
                    self.steps_max,
                    self.sim.now_ms()
                )));
            }
            if beyond(t) {
                return Ok(Advanced::Stopped);
            }
            if let Some(budget) = self
                .budget
                .as_ref()
                .filter(|_| self.sim.stats().steps.is_multiple_of(BUDGET_EVERY_STEPS))
            {
                budget().map_err(|why| {
                    TraceError::Stopped(format!(
                        "{why} (it had reached {} ms of its {} ms)",
                        self.sim.now_ms(),
                        self.trace.end_ms
                    ))
                })?;
            }
            self.sim.step();
        } else if let Some(input) = self.trace.inputs.get(self.next) {
            if beyond(input.at_ms) {
                return Ok(Advanced::Stopped);
            }
            let (at_ms, after_seq) = (input.at_ms, input.after_seq);
            self.skip_to(at_ms)?;
            if let Some(seq) = after_seq.filter(|s| *s != self.sim.last_seq()) {
                return Err(TraceError::Diverged(format!(
                    "input {} followed event {seq} in the trace, event {} in the replay",
                    self.next + 1,
                    self.sim.last_seq()
                )));
            }
            let input = self.trace.inputs[self.next].input.clone();
            if apply(&mut self.sim, &input).is_err() {
                self.refused.push(self.next);
            }
            self.next += 1;
        } else {
            return Ok(Advanced::End);
        }
        self.observe();
        Ok(Advanced::Moved)
    }

    fn skip_to(&mut self, t: u64) -> Result<(), TraceError> {
        if self.sim.skip_to(t) {
            Ok(())
        } else {
            Err(TraceError::Diverged(format!(
                "the trace says the clock reached {t} ms with an item still due at {} ms",
                self.sim.next_event_time().unwrap_or(0)
            )))
        }
    }

    /// Count, check and (maybe) keep what the last step or input emitted.
    fn observe(&mut self) {
        let events = self.sim.take_events();
        for e in &events {
            if self.keep_markers && is_marker(&e.event, self.tally.last_leader) {
                self.markers.push(e.clone());
            }
            match e.event {
                Event::RoleChanged {
                    node,
                    role: Role::Leader,
                    term,
                    ..
                } => {
                    self.tally.leaders.insert(term, node);
                    if self.tally.last_leader != Some(node) {
                        self.tally.leader_changes += 1;
                        self.tally.last_leader = Some(node);
                    }
                }
                Event::CommitAdvanced { .. } => self.tally.commits += 1,
                _ => {}
            }
        }
        self.tally.events += events.len() as u64;
        if let (Some(checker), None) = (self.checker.as_mut(), &self.violation) {
            if let Err(v) = checker.observe(&self.sim, &events) {
                self.violation = Some(v);
            }
        }
        if self.keep_events {
            self.events.extend(events);
        }
    }
}

/// Whether a timeline marks this event: a node becoming leader, the current leader's commits,
/// crashes, power losses, restarts, storage failures and network changes (partitions, heals,
/// cuts, settings). `leader` is the leader as far as the events so far tell.
pub fn is_marker(event: &Event, leader: Option<NodeId>) -> bool {
    match event {
        Event::RoleChanged { role, .. } => *role == Role::Leader,
        Event::CommitAdvanced { node, .. } => Some(*node) == leader,
        Event::NodeCrashed { .. }
        | Event::PowerLost { .. }
        | Event::NodeRestarted { .. }
        | Event::StorageFailed { .. }
        | Event::NetworkChanged { .. } => true,
        _ => false,
    }
}

/// What one [`Replay::advance`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Advanced {
    Moved,
    Stopped,
    End,
}
