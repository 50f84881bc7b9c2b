//! Staging: a [`Lesson`] run on the seeded in-memory simulator, recorded as a
//! [`Trace`](crate::trace::Trace), with the position of every pause point in it. `run until`
//! stops right after the step that made its event happen, and the trace pins every input between
//! two steps, so the staged trace replays identically (the backend makes the live cluster a
//! prefix of it). Every `expect` is checked here, and the safety checker watches every step.
//! Owns the meaning of actions and assertions; must not do I/O nor pace anything.

use serde::Serialize;

use crate::protocol::{Event, SimEvent};
use crate::sim::checker::{Checker, Violation};
use crate::sim::Sim;
use crate::storage::MemStorage;
use crate::trace::{Recorded, Start, Trace};
use crate::types::{NodeId, Role, Term};

use super::{ActionKind, ExpectKind, Lesson, LessonError, Until};

/// A lesson staged: its trace and where it pauses.
#[derive(Clone, Debug)]
pub struct Staged {
    /// The lesson.
    pub lesson: Lesson,
    /// The whole run, from the first step to the end of the last.
    pub trace: Trace,
    /// The pause points, in order: a question's stop (before its step runs), then each step's
    /// own stop (after it ran).
    pub stops: Vec<Stop>,
    /// The violation a "break Raft" lesson leads to (asserted by its `expect violation`).
    pub violation: Option<Violation>,
}

/// Where the lesson pauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stop {
    /// The step (0-based).
    pub step: usize,
    /// Before the step (its question is asked) or after it (its caption is shown).
    pub kind: StopKind,
    /// Inputs of the trace applied by then.
    pub inputs: usize,
    /// Virtual time (ms).
    pub at_ms: u64,
    /// Seq of the last event.
    pub seq: u64,
    /// Queue items processed.
    pub steps: u64,
}

/// What a stop shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// The step's question, before its actions ran.
    Ask,
    /// The step's caption (and the answer's "why"), after its actions ran.
    Shown,
}

impl Staged {
    /// The trace up to `stop` (what the live cluster becomes there).
    pub fn trace_to(&self, stop: &Stop) -> Trace {
        self.trace
            .prefix(stop.inputs, stop.at_ms, stop.seq, stop.steps)
    }
}

/// The simulator being staged, with its checker.
struct Stage {
    sim: Recorded<MemStorage>,
    checker: Checker,
    /// A node became leader since the last `run until leader elected` began.
    elected: bool,
    /// The first violation the checker reported (only a step that expects one may cause it).
    violation: Option<Violation>,
    /// The step being staged has an `expect violation` line.
    expecting: bool,
}

/// Run the lesson on the simulator: every action in order, every `expect` checked after its
/// step. The first failure refuses the lesson, naming the line.
pub fn stage(lesson: &Lesson) -> Result<Staged, LessonError> {
    let sim = Sim::new(lesson.config.clone()).map_err(|e| LessonError::at(1, e.to_string()))?;
    let trace = Trace::new(lesson.config.clone(), Start::Empty);
    let mut s = Stage {
        sim: Recorded::new(sim, trace),
        checker: Checker::new(),
        elected: false,
        violation: None,
        expecting: false,
    };
    s.observe(1)?;
    let mut stops = Vec::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        if step.question.is_some() {
            stops.push(s.stop(i, StopKind::Ask));
        }
        s.expecting = step
            .expects
            .iter()
            .any(|e| matches!(e.kind, ExpectKind::Violation(_)));
        for action in &step.actions {
            s.act(&action.kind, action.line)?;
        }
        for e in &step.expects {
            s.check(&e.kind)
                .map_err(|m| LessonError::at(e.line, format!("{m} (at {} ms)", s.sim.now_ms())))?;
        }
        stops.push(s.stop(i, StopKind::Shown));
    }
    let violation = s.violation.take();
    let (_, trace) = s.sim.into_parts();
    Ok(Staged {
        lesson: lesson.clone(),
        trace,
        stops,
        violation,
    })
}

impl Stage {
    fn stop(&self, step: usize, kind: StopKind) -> Stop {
        Stop {
            step,
            kind,
            inputs: self.sim.inputs().len(),
            at_ms: self.sim.now_ms(),
            seq: self.sim.last_seq(),
            steps: self.sim.stats().steps,
        }
    }

    /// Give the checker what happened since the last call.
    fn observe(&mut self, line: usize) -> Result<(), LessonError> {
        let events: Vec<SimEvent> = self.sim.take_events();
        if events.iter().any(|e| {
            matches!(
                e.event,
                Event::RoleChanged {
                    role: Role::Leader,
                    ..
                }
            )
        }) {
            self.elected = true;
        }
        if self.violation.is_some() {
            // The first violation is the story; the checker's memory is unsure after it.
            return Ok(());
        }
        match self.checker.observe(&self.sim, &events) {
            Ok(()) => Ok(()),
            Err(v) if self.expecting => {
                self.violation = Some(v);
                Ok(())
            }
            Err(v) => Err(LessonError::at(
                line,
                format!("the safety checker found a violation: {v}"),
            )),
        }
    }

    fn act(&mut self, action: &ActionKind, line: usize) -> Result<(), LessonError> {
        match action {
            ActionKind::Input(input) => {
                // A refused input is still recorded (it can use up a request id): staging it
                // is the teacher's mistake, so say so.
                let refused = self.sim.input(input.clone()).err();
                self.observe(line)?;
                if let Some(e) = refused {
                    return Err(LessonError::at(
                        line,
                        format!("{} was refused: {e}", input.describe()),
                    ));
                }
            }
            ActionKind::RunFor(ms) => {
                let end = self.sim.now_ms() + ms;
                while self.sim.next_event_time().is_some_and(|t| t <= end) {
                    self.sim.step();
                    self.observe(line)?;
                }
                self.sim.run_until(end);
            }
            ActionKind::RunUntil { until, limit_ms } => {
                self.elected = false;
                let give_up = self.sim.now_ms() + limit_ms;
                while !self.holds(until) {
                    if self.sim.next_event_time().is_none_or(|t| t > give_up) {
                        return Err(LessonError::at(
                            line,
                            format!(
                                "'run until' waited {limit_ms} ms and it did not happen (at {} ms)",
                                self.sim.now_ms()
                            ),
                        ));
                    }
                    self.sim.step();
                    self.observe(line)?;
                }
            }
        }
        Ok(())
    }

    fn holds(&self, until: &Until) -> bool {
        let sim = &self.sim;
        match until {
            Until::LeaderElected => self.elected,
            Until::Leader(n) => sim.leader() == Some(*n),
            Until::Committed(k) => self.checker.committed().len() as u64 >= *k,
            Until::LogLength(n, k) => sim.node_log(*n).len() as u64 >= *k,
            Until::CaughtUp(n) => sim.leader().is_some_and(|l| {
                let theirs = sim.node_log(l);
                sim.is_up(*n) && !theirs.is_empty() && sim.node_log(*n) == theirs
            }),
        }
    }

    /// Check one assertion; the error says what was found instead.
    fn check(&self, e: &ExpectKind) -> Result<(), String> {
        let sim = &self.sim;
        let terms = |n: NodeId| -> Vec<Term> { sim.node_log(n).iter().map(|e| e.term).collect() };
        let show = |t: &[Term]| {
            if t.is_empty() {
                "empty".to_string()
            } else {
                t.iter()
                    .map(|t| t.get().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let hard = |n: NodeId| match sim.node(n) {
            Some(r) => r.hard_state(),
            None => sim.storage(n).map(|s| s.hard_state()).unwrap_or_default(),
        };
        let leader = || match sim.leader() {
            Some(l) => format!("S{l}"),
            None => "none".into(),
        };
        match e {
            ExpectKind::Leader(n) if sim.leader() != Some(*n) => Err(format!(
                "expected leader S{n}, but the leader is {}",
                leader()
            )),
            ExpectKind::NoLeader if sim.leader().is_some() => Err(format!(
                "expected no leader, but the leader is {}",
                leader()
            )),
            ExpectKind::Committed(k) if self.checker.committed().len() as u64 != *k => {
                Err(format!(
                    "expected {k} committed, but {} are",
                    self.checker.committed().len()
                ))
            }
            ExpectKind::LogTerms(n, want) if terms(*n) != *want => Err(format!(
                "expected S{n}'s log terms {}, but they are {}",
                show(want),
                show(&terms(*n))
            )),
            ExpectKind::Term(n, t) if hard(*n).current_term != *t => Err(format!(
                "expected S{n} in term {t}, but it is in term {}",
                hard(*n).current_term
            )),
            ExpectKind::Voted(n, v) if hard(*n).voted_for != *v => Err(format!(
                "expected S{n} to have voted for {}, but it voted for {}",
                v.map_or("nobody".into(), |v| format!("S{v}")),
                hard(*n)
                    .voted_for
                    .map_or("nobody".into(), |v| format!("S{v}"))
            )),
            ExpectKind::Up(n, up) if sim.is_up(*n) != *up => Err(format!(
                "expected S{n} {}, but it is {}",
                if *up { "up" } else { "down" },
                if *up { "down" } else { "up" }
            )),
            ExpectKind::Value(n, v) => match sim.node(*n) {
                None => Err(format!("expected S{n}'s value {v}, but S{n} is down")),
                Some(r) if r.value() != *v => Err(format!(
                    "expected S{n}'s value {v}, but it is {}",
                    r.value()
                )),
                Some(_) => Ok(()),
            },
            ExpectKind::Safe => match &self.violation {
                Some(v) => Err(format!("expected no violation, but the checker found: {v}")),
                None => Ok(()),
            },
            ExpectKind::Violation(want) => match &self.violation {
                Some(v) if v.property == *want => Ok(()),
                Some(v) => Err(format!(
                    "expected a violation of {want}, but the checker found: {v}"
                )),
                None => Err(format!(
                    "expected a violation of {want}, but the checker found none"
                )),
            },
            _ => Ok(()),
        }
    }
}
