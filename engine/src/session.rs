//! [`Session`]: one run of the cluster in the page, paced against the wall clock the page passes
//! in. Owns time (frames, clocks, slipping), the order of what goes out (a command's events
//! before its reply) and the safety checker's place; must not read a clock, touch the browser or
//! decide anything about Raft (the core does). What each command does is in `commands.rs`, the
//! lesson routes in `lessons.rs`.
//!
//! Pacing follows the server's driver (docs/api.md, "Pacing"): virtual time is the wall clock
//! times `speed`, counted from an anchor that moves whenever pause or speed change; at speed 0
//! each tick runs a bounded chunk of steps instead.

use std::collections::BTreeMap;

use shared::protocol::{
    ClientRequest, ClusterSnapshot, Reply, SafetyView, SafetyViolation, ServerMessage, SimEvent,
    LOG_WINDOW, PROTOCOL_VERSION, SPEED_DEFAULT,
};
use shared::sim::checker::Checker;
use shared::sim::SimConfig;
use shared::storage::MemStorage;
use shared::trace::{Position, Recorded, Start, Trace};
use shared::{NodeId, Sim};

use super::history::{replayed, History, Replayed};
use super::saved::Saved;

/// Wall ms between two frames: how often the page should call [`Session::tick`].
pub const FRAME_INTERVAL_MS: f64 = 25.0;
/// Wall ms between two `Clock` messages.
pub const CLOCK_INTERVAL_MS: f64 = 250.0;
/// Events per `Events` message, as the server sends them.
pub const EVENTS_PER_MESSAGE_MAX: usize = 200;
/// Steps one paced frame may take before virtual time is allowed to slip.
const FRAME_STEPS_MAX: u64 = 20_000;
/// Steps one tick takes at speed 0 (a few milliseconds of work, so the page stays responsive).
const FAST_CHUNK_STEPS: u64 = 2_000;

/// A forwarded append waiting for the leader's verdict.
pub(super) struct Forwarded {
    /// The page's request id, echoed in the reply.
    pub request_id: u64,
    pub via: NodeId,
    pub leader: NodeId,
    /// Virtual time (ms) and wall time (ms) after which the wait gives up.
    pub deadline: (u64, f64),
}

/// The cluster as the page runs it.
pub struct Session {
    pub(super) sim: Recorded<MemStorage>,
    pub(super) speed: f64,
    pub(super) paused: bool,
    /// Wall time and virtual time (ms) that pacing counts from.
    anchor: (f64, f64),
    last_clock: f64,
    pub(super) checker: Checker,
    /// Seq of the last event the checker saw.
    checked_seq: u64,
    pub(super) violation: Option<SafetyViolation>,
    /// Forwarded appends by the simulator's request id.
    pub(super) forwarded: BTreeMap<u64, Forwarded>,
    /// What goes out at the end of the call, in order.
    pub(super) out: Vec<ServerMessage>,
    /// Bumped by every reset (what the page keeps belongs to one run).
    pub(super) run: u64,
    /// Branches and the timeline's checkpoints (`history`).
    pub(super) history: History,
    /// The lesson open in this page, if any (`lessons.rs`).
    pub(super) lesson: Option<shared::lesson::OpenLesson>,
}

impl Session {
    /// A new cluster of `config`, running at the default speed from wall time `wall_ms`.
    pub fn new(config: SimConfig, wall_ms: f64) -> Result<Session, String> {
        shared::sim::validate(&config).map_err(|e| e.to_string())?;
        let sim = Sim::new(config.clone()).map_err(|e| e.to_string())?;
        Ok(Session::around(
            Recorded::new(sim, Trace::new(config, Start::Empty)),
            wall_ms,
        ))
    }

    /// The cluster `saved` describes, restarted from what each node had synced (as the server
    /// restarts from its files): every node starts up again, its volatile state gone.
    pub fn recover(saved: &Saved, wall_ms: f64) -> Result<Session, String> {
        let start = saved.start();
        start_check(&saved.config, &start)?;
        let sim = Sim::with_storage(saved.config.clone(), |id| start.storage_for(id))
            .map_err(|e| e.to_string())?;
        Ok(Session::around(
            Recorded::new(sim, Trace::new(saved.config.clone(), start)),
            wall_ms,
        ))
    }

    /// A sandbox: the run `trace_json` records (a class's `GET /api/trace`), re-executed up to
    /// virtual time `at_ms` (its end when `None`), and from there this page's own, paused so the
    /// student sees the instant they forked before anything moves. What came before the instant
    /// stays in the trace (the checker goes on knowing it); nothing is shared with the server.
    pub fn fork(trace_json: &str, at_ms: Option<u64>, wall_ms: f64) -> Result<Session, String> {
        let trace = Trace::from_json(trace_json).map_err(|e| e.to_string())?;
        let position = at_ms.map_or(Position::End, Position::AtMs);
        let Replayed {
            sim,
            checker,
            violation,
        } = replayed(trace, position).map_err(|r| r.to_string())?;
        let mut session = Session::checked(sim, checker, violation, wall_ms);
        session.paused = true;
        Ok(session)
    }

    /// Make `trace` (re-executed to its end under the checker) the run from now on, paused, as
    /// the server's `POST /api/trace` does (a lesson's stop): the old run's last events go out,
    /// its waiting appends are refused, and the page hears a `Snapshot` to redraw from.
    pub(super) fn become_trace(&mut self, trace: Trace, wall_ms: f64) -> Result<(), String> {
        let Replayed {
            sim,
            checker,
            violation,
        } = replayed(trace, Position::End).map_err(|r| r.to_string())?;
        self.flush_events();
        self.fail_waiting(
            "the cluster moved to another instant of its history before this request was answered",
        );
        self.replace_run(sim, checker, violation, wall_ms);
        self.paused = true;
        self.out.push(ServerMessage::Snapshot {
            snapshot: self.snapshot(),
            moved: None, // a lesson's stop: the lesson tells it
        });
        Ok(())
    }

    pub(super) fn around(sim: Recorded<MemStorage>, wall_ms: f64) -> Session {
        // The start's own events (nodes coming up) are part of the state the first snapshot
        // shows; they are checked, then not sent again.
        let mut checker = Checker::new();
        let violation = checker
            .observe(&sim, sim.pending_events())
            .err()
            .map(|v| SafetyViolation::from_checker(&v, sim.last_seq()));
        Session::checked(sim, checker, violation, wall_ms)
    }

    /// `sim` with a checker that has seen everything up to its last event.
    fn checked(
        mut sim: Recorded<MemStorage>,
        checker: Checker,
        violation: Option<SafetyViolation>,
        wall_ms: f64,
    ) -> Session {
        sim.take_events();
        Session {
            anchor: (wall_ms, sim.now_ms() as f64),
            checked_seq: sim.last_seq(),
            sim,
            speed: SPEED_DEFAULT,
            paused: false,
            last_clock: wall_ms,
            checker,
            violation,
            forwarded: BTreeMap::new(),
            out: Vec::new(),
            run: 1,
            history: History::default(),
            lesson: None,
        }
    }

    /// The first message the page hears: the whole state, as the server's `Hello`.
    pub fn hello(&mut self) -> ServerMessage {
        self.flush_events();
        // Everything flushed so far is in the snapshot: the page starts after it.
        self.out.clear();
        ServerMessage::Hello {
            protocol_version: PROTOCOL_VERSION,
            snapshot: self.snapshot(),
            role: None,
            viewer_url: None,
        }
    }

    /// What the run looks like now (the windowed form the server sends viewers).
    pub fn snapshot(&self) -> ClusterSnapshot {
        let mut snapshot = self.sim.snapshot_window(LOG_WINDOW);
        snapshot.safety = Some(self.safety_view());
        snapshot.speed = self.speed;
        snapshot.paused = self.paused;
        snapshot
    }

    /// The simulator (read-only).
    pub fn sim(&self) -> &Recorded<MemStorage> {
        &self.sim
    }

    /// Paused?
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Speed (virtual ms per wall ms; 0 = as fast as possible).
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Which run this is (1, then one more per reset).
    pub fn run(&self) -> u64 {
        self.run
    }

    /// Carry out one request at wall time `wall_ms`; returns what the server would send: the
    /// events the command caused, then its reply (a forwarded append's reply comes later, from
    /// the tick that sees the leader decide).
    pub fn request(&mut self, request: ClientRequest, wall_ms: f64) -> Vec<ServerMessage> {
        let ClientRequest {
            request_id,
            command,
        } = request;
        let outcome = self.command(command, request_id, wall_ms);
        self.flush_events();
        if let Some(outcome) = outcome {
            self.out.push(ServerMessage::Reply(Reply {
                request_id,
                outcome,
            }));
        }
        std::mem::take(&mut self.out)
    }

    /// One frame at wall time `wall_ms`: run the simulator up to the virtual time it maps to,
    /// and return the frame's events, a clock when one is due, and replies that came due.
    pub fn tick(&mut self, wall_ms: f64) -> Vec<ServerMessage> {
        self.advance(wall_ms);
        self.flush_events();
        self.check_waits(wall_ms);
        if wall_ms - self.last_clock >= CLOCK_INTERVAL_MS {
            self.send_clock(wall_ms);
        }
        self.keep_warm(wall_ms);
        std::mem::take(&mut self.out)
    }

    /// What the browser should keep on its disk now (synced state only: see [`Saved`]).
    pub fn saved(&self) -> Saved {
        Saved::of(&self.sim)
    }

    // ----- Time -----

    fn advance(&mut self, wall_ms: f64) {
        if self.paused {
            return;
        }
        if self.speed == 0.0 {
            for _ in 0..FAST_CHUNK_STEPS {
                if !self.sim.step() || self.check_safety(wall_ms) {
                    break;
                }
            }
            return;
        }
        let target = (self.anchor.1 + (wall_ms - self.anchor.0).max(0.0) * self.speed) as u64;
        let mut steps = 0;
        while self.sim.next_event_time().is_some_and(|t| t <= target) {
            self.sim.step();
            if self.check_safety(wall_ms) {
                return; // Paused at the very step that broke a guarantee.
            }
            steps += 1;
            if steps >= FRAME_STEPS_MAX {
                // More work than a frame can do: virtual time falls behind the wall clock.
                self.rebase(wall_ms);
                return;
            }
        }
        self.sim.run_until(target);
    }

    /// Count virtual time from the simulator's clock, from `wall_ms` on.
    pub(super) fn rebase(&mut self, wall_ms: f64) {
        self.anchor = (wall_ms, self.sim.now_ms() as f64);
    }

    // ----- Output -----

    /// Queue the simulator's events (in messages of at most [`EVENTS_PER_MESSAGE_MAX`]), and
    /// answer the forwarded appends they settle.
    pub(super) fn flush_events(&mut self) {
        // Inputs reach the simulator outside the step loop: what they emitted is checked here.
        self.check_safety(self.anchor.0);
        let events = self.sim.take_events();
        for chunk in events.chunks(EVENTS_PER_MESSAGE_MAX) {
            self.out.push(ServerMessage::Events {
                events: chunk.to_vec(),
            });
            self.on_events(chunk);
        }
    }

    pub(super) fn send_clock(&mut self, wall_ms: f64) {
        self.last_clock = wall_ms;
        self.out.push(ServerMessage::Clock {
            time_ms: self.sim.now_ms(),
            paused: self.paused,
            speed: self.speed,
        });
    }

    /// Change pause/speed: rebase time, record it (it is numbered in the event stream, as on the
    /// server) and send a clock at once.
    pub(super) fn set_control(&mut self, paused: bool, speed: f64, wall_ms: f64) {
        if paused == self.paused && speed == self.speed {
            return;
        }
        self.rebase(wall_ms);
        self.paused = paused;
        self.speed = speed;
        let _ = self
            .sim
            .input(shared::trace::TraceInput::Control { paused, speed });
        self.flush_events();
        self.send_clock(wall_ms);
    }

    // ----- Safety -----

    pub(super) fn safety_view(&self) -> SafetyView {
        let mut view = SafetyView::holding(self.sim.config().broken_rules, self.checked_seq);
        if let Some(v) = &self.violation {
            view.violated(v.clone());
        }
        view
    }

    /// Show the checker what happened since it last looked. On the first violation: pause and
    /// send the verdict. True when one was found now.
    fn check_safety(&mut self, wall_ms: f64) -> bool {
        if self.violation.is_some() {
            return false; // The first one is the story.
        }
        let events = self.sim.pending_events();
        let start = events.partition_point(|e| e.seq <= self.checked_seq);
        let Some(last) = events.last().map(|e| e.seq) else {
            return false;
        };
        if start == events.len() {
            return false;
        }
        let result = self.checker.observe(&self.sim, &events[start..]);
        self.checked_seq = last;
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
        self.violation = Some(violation);
        self.set_control(true, self.speed, wall_ms);
        self.send_safety();
        true
    }

    pub(super) fn send_safety(&mut self) {
        self.out.push(ServerMessage::Safety {
            safety: self.safety_view(),
        });
    }

    /// A new checker for a run that starts now.
    pub(super) fn restart_checker(&mut self) {
        self.checker = Checker::new();
        self.violation = None;
        self.checked_seq = self
            .sim
            .pending_events()
            .first()
            .map_or(self.sim.last_seq(), |e| e.seq - 1);
    }

    /// The cluster becomes `sim` (a new run: a reset, fork, undo, load): its checker goes on
    /// from `checker`, time from now.
    pub(super) fn replace_run(
        &mut self,
        sim: Recorded<MemStorage>,
        checker: Checker,
        violation: Option<SafetyViolation>,
        wall_ms: f64,
    ) {
        let mut sim = sim;
        sim.take_events();
        self.checked_seq = sim.last_seq();
        self.sim = sim;
        self.checker = checker;
        self.violation = violation;
        self.run += 1;
        self.rebase(wall_ms);
    }

    // ----- Waiting appends -----

    /// Answer every forwarded append still waiting with `why` (its run is gone).
    pub(super) fn fail_waiting(&mut self, why: &str) {
        for f in std::mem::take(&mut self.forwarded).into_values() {
            self.out.push(ServerMessage::Reply(Reply {
                request_id: f.request_id,
                outcome: Err(why.to_string()),
            }));
        }
    }

    fn on_events(&mut self, events: &[SimEvent]) {
        use shared::protocol::{CommandOk, Event};
        if self.forwarded.is_empty() {
            return;
        }
        for e in events {
            let (id, outcome) = match &e.event {
                Event::ProposalAccepted {
                    node,
                    request_id,
                    index,
                    term,
                    duplicate,
                } => (
                    request_id,
                    Ok(if *duplicate {
                        CommandOk::duplicate(*node, *index, *term)
                    } else {
                        CommandOk::appended(*node, *index, *term, None)
                    }),
                ),
                Event::ProposalRejected {
                    request_id, reason, ..
                } => (request_id, Err(reason.clone())),
                _ => continue,
            };
            if let Some(f) = self.forwarded.remove(id) {
                self.out.push(ServerMessage::Reply(Reply {
                    request_id: f.request_id,
                    outcome,
                }));
            }
        }
    }

    /// Give up on forwarded appends whose deadline passed.
    fn check_waits(&mut self, wall_ms: f64) {
        let now_ms = self.sim.now_ms();
        let (late, waiting): (BTreeMap<_, _>, BTreeMap<_, _>) = std::mem::take(&mut self.forwarded)
            .into_iter()
            .partition(|(_, f)| now_ms >= f.deadline.0 || wall_ms >= f.deadline.1);
        self.forwarded = waiting;
        for f in late.into_values() {
            self.out.push(ServerMessage::Reply(Reply {
                request_id: f.request_id,
                outcome: Err(format!(
                    "timed out waiting for S{} to accept the request S{} forwarded to it: the \
                     message may have been lost or S{} may no longer lead; the request may still \
                     be appended",
                    f.leader, f.via, f.leader
                )),
            }));
        }
    }
}

/// Refuse a saved start whose disks do not fit its cluster (a hand-edited or damaged save).
fn start_check(config: &SimConfig, start: &Start) -> Result<(), String> {
    let mut trace = Trace::new(config.clone(), start.clone());
    trace.end_ms = 0;
    trace.check().map_err(|e| e.to_string())
}
