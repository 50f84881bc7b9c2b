//! The run's history in the browser: the same routes as the server's (`GET`/`POST /api/trace`,
//! `GET /api/trace/link`, `/api/trace/at[/log]`, `/api/trace/markers`, `POST /api/fork`,
//! `POST /api/undo`, `GET /api/trace/branches[/{id}]`, `POST /api/trace/branches/{id}/restore`,
//! and the live log's pages `GET /api/nodes/{id}/log`; docs/api.md), answered with the same JSON by [`Session::history_api`], so the page's
//! timeline works with no server. Owns the branches and the timeline's checkpoints kept between
//! questions; must not word the answers (`shared::trace::answers` does) nor re-execute by itself
//! (`shared::trace::Replay` and `Timeline` do).
//!
//! Unlike the server's, the branches live in memory only: a reload recovers the cluster from
//! what its nodes synced, not the runs set aside before.

use std::collections::VecDeque;

use shared::protocol::{SafetyViolation, ServerMessage};
use shared::sim::checker::Checker;
use shared::storage::MemStorage;
use shared::trace::answers::{self, BranchInfo, ForkAt, ForkReply, Reason, Refusal};
use shared::trace::undo::{self, LastMove, RunLeft, Undo};
use shared::trace::{Position, Recorded, Replay, Timeline, Trace, CHECKPOINT_EVERY_MS};

use super::Session;

/// Branches kept, as on the server (the oldest goes first).
pub const BRANCHES_MAX: usize = 20;

/// Largest trace `POST /api/trace` takes here, as on the server (bytes of JSON).
pub const TRACE_BYTES_MAX: usize = 16 << 20;

/// What the history keeps between questions.
#[derive(Default)]
pub(super) struct History {
    /// Runs set aside, oldest first: `(id, why, its trace)`.
    branches: VecDeque<(u64, Reason, Trace)>,
    next_branch_id: u64,
    /// The fork, load, return or reset that made the live run, while Undo would take it back
    /// (`shared::trace::undo`). In memory, as the branches: a reload forgets it. A lesson's
    /// move sets no run aside and leaves it stale (it bumps the run number), as on the server.
    last_move: Option<LastMove>,
    /// Checkpoints of the run last asked about (rebuilt when it no longer answers), kept up
    /// with a paced run by [`Session::keep_warm`].
    pub(super) timeline: Option<Timeline>,
    /// Wall time (ms) of the last [`Session::keep_warm`].
    warmed_at_ms: f64,
}

/// How often (wall ms) [`Session::keep_warm`] extends the timeline.
const WARM_EVERY_MS: f64 = 2_000.0;

/// Most virtual time [`Session::keep_warm`] re-executes at once (in the worker's only thread: a
/// few tens of ms of wasm). More is left to the first question, as before.
const WARM_GROWTH_MAX_MS: u64 = 30_000;

/// A trace re-executed to an instant, under the checker, ready to run on from there.
pub(super) struct Replayed {
    pub sim: Recorded<MemStorage>,
    pub checker: Checker,
    pub violation: Option<SafetyViolation>,
}

/// The longest a move may re-execute in the worker before it is refused: the server's
/// `REPLAY_WALL_MAX`. Meanwhile the worker answers nothing (the page says the engine is busy).
pub(super) const REPLAY_WALL_MAX_MS: f64 = 10_000.0;

/// Wall-clock ms: the worker's clock in the browser, the process's in native tests.
fn wall_ms_now() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Re-execute `trace` to `position`: the cluster as it was then, recording on from the inputs
/// that led there (a fork keeps what led to its instant).
pub(super) fn replayed(trace: Trace, position: Position) -> Result<Replayed, Refusal> {
    replayed_within(trace, position, REPLAY_WALL_MAX_MS)
}

/// [`replayed`], refused once it has taken `max_ms` of wall time.
pub(super) fn replayed_within(
    trace: Trace,
    position: Position,
    max_ms: f64,
) -> Result<Replayed, Refusal> {
    trace.reaches(position).map_err(Refusal::Invalid)?;
    let deadline = wall_ms_now() + max_ms;
    let budget: shared::trace::Budget = std::sync::Arc::new(move || {
        if wall_ms_now() < deadline {
            Ok(())
        } else {
            Err(format!(
                "it took more than {} s; cut it shorter or make its cluster less busy (longer \
                 timers, fewer servers)",
                // Not `{}` of an f64: core's float printer stays out of the module.
                shared::shortest::Shortest(max_ms / 1000.0)
            ))
        }
    });
    let mut replay = Replay::new(trace.clone())
        .map_err(|e| Refusal::Invalid(e.to_string()))?
        .with_checker()
        .with_budget(budget);
    replay
        .run_to(position)
        .map_err(|e| Refusal::Invalid(e.to_string()))?;
    let kept = replay.inputs_applied();
    let refused = replay.refused_inputs().to_vec();
    let checker = replay.checker().cloned().unwrap_or_default();
    let found = replay.violation().cloned();
    let sim = replay.into_sim();
    let prefix = trace.prefix(kept, sim.now_ms(), sim.last_seq(), sim.stats().steps);
    let violation = found.map(|v| SafetyViolation::from_checker(&v, sim.last_seq()));
    Ok(Replayed {
        sim: Recorded::new(sim, prefix).with_refused(&refused),
        checker,
        violation,
    })
}

/// An answer: HTTP status and JSON body, as the server would send them.
pub type Answer = (u16, String);

fn status(r: &Refusal) -> u16 {
    match r {
        Refusal::Invalid(_) => 400,
        Refusal::NotFound(_) => 404,
        Refusal::Conflict(_) => 409,
        Refusal::Failed(_) => 500,
    }
}

// The envelopes are written straight to text, as every other answer and message of the engine:
// through `json!` each result type would also be compiled for serde_json's `Value` writer.
fn error(status: u16, text: &str) -> Answer {
    let body = super::lessons::Error {
        ok: false,
        error: text,
    };
    (status, serde_json::to_string(&body).unwrap_or_default())
}

fn refused(r: Refusal) -> Answer {
    let code = status(&r);
    match r {
        Refusal::Invalid(e) | Refusal::NotFound(e) | Refusal::Conflict(e) | Refusal::Failed(e) => {
            error(code, &e)
        }
    }
}

fn ok(result: impl serde::Serialize) -> Answer {
    let body = super::lessons::Ok { ok: true, result };
    match serde_json::to_string(&body) {
        Ok(text) => (200, text),
        Err(e) => error(500, &e.to_string()),
    }
}

/// The query string's `key=value` pairs, every key one of `known`.
fn query<'q>(text: &'q str, known: &[&str]) -> Result<Vec<(&'q str, &'q str)>, Refusal> {
    let mut pairs = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !known.contains(&key) {
            return Err(Refusal::Invalid(format!(
                "unknown field `{key}`, expected one of {}",
                known.join(", ")
            )));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The number `key` carries, if given.
fn number<T: std::str::FromStr>(pairs: &[(&str, &str)], key: &str) -> Result<Option<T>, Refusal> {
    pairs
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| {
            v.parse()
                .map_err(|_| Refusal::Invalid(format!("{key}={v} is not a whole number")))
        })
        .transpose()
}

fn fork_at(pairs: &[(&str, &str)]) -> Result<Position, Refusal> {
    ForkAt {
        at_ms: number(pairs, "at_ms")?,
        seq: number(pairs, "seq")?,
        before_input: number(pairs, "before_input")?,
    }
    .position()
    .map_err(Refusal::Invalid)
}

fn trace_file(trace: &Trace) -> Answer {
    (200, trace.to_json())
}

impl Session {
    /// One request to the history routes (`path` as the page asks it, e.g.
    /// `api/trace/at?at_ms=1500`), answered as the server would; `None` when it is not one of
    /// them. Run changes (fork, undo, load, restore) send the new run's `Snapshot` first.
    pub fn history_api(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        wall_ms: f64,
    ) -> Option<Answer> {
        let path = path.trim_start_matches('/');
        let (route, query_text) = path.split_once('?').unwrap_or((path, ""));
        let segments: Vec<&str> = route.split('/').collect();
        let answer = match (method, segments.as_slice()) {
            ("GET", ["api", "trace"]) => trace_file(&self.sim.trace()),
            ("POST", ["api", "trace"]) => self.load(body.unwrap_or(""), wall_ms),
            ("GET", ["api", "trace", "link"]) => match answers::share_link(&self.sim.trace()) {
                Ok(link) => ok(link),
                Err(e) => error(413, &e),
            },
            ("GET", ["api", "trace", "at"]) => self.at(query_text).unwrap_or_else(refused),
            ("GET", ["api", "trace", "at", "log"]) => {
                self.at_log(query_text).unwrap_or_else(refused)
            }
            ("GET", ["api", "trace", "markers"]) => match self.timeline(None) {
                Ok(t) => ok(answers::markers(t)),
                Err(r) => refused(r),
            },
            ("GET", ["api", "trace", "branches"]) => ok(self.branch_list()),
            ("GET", ["api", "trace", "branches", id]) => match self.branch(id) {
                Ok(trace) => trace_file(&trace),
                Err(r) => refused(r),
            },
            ("POST", ["api", "trace", "branches", id, "restore"]) => {
                let moved = self.branch(id).and_then(|trace| {
                    self.become_instant(trace, Position::End, Reason::Restored, wall_ms)
                });
                moved.map(ok).unwrap_or_else(refused)
            }
            ("POST", ["api", "fork"]) => {
                let at = shared::wire::read::<ForkAt>(body.unwrap_or("")).map_err(|e| {
                    Refusal::Invalid(format!(
                        "expected {{\"at_ms\": T}}, {{\"seq\": S}} or {{\"before_input\": I}}: {e}"
                    ))
                });
                let moved = at
                    .and_then(|at| at.position().map_err(Refusal::Invalid))
                    .and_then(|p| self.become_instant(self.sim.trace(), p, Reason::Fork, wall_ms));
                moved.map(ok).unwrap_or_else(refused)
            }
            ("POST", ["api", "undo"]) => self.undo(wall_ms).map(ok).unwrap_or_else(refused),
            // The live log's older pages (the page scrolled back past the snapshot's window).
            ("GET", ["api", "nodes", node, "log"]) => {
                self.live_log(node, query_text).unwrap_or_else(refused)
            }
            (_, ["api", "trace", ..] | ["api", "fork"] | ["api", "undo"]) => error(
                405,
                &format!(
                    "{method} is not allowed on /{route} (the history routes are in docs/api.md)"
                ),
            ),
            _ => return None,
        };
        Some(answer)
    }

    /// Remember that a change of run for `reason` just kept the run before it as `branch`, for
    /// the next Undo to take back (a reset's, from `commands.rs`; the others' from here).
    pub(super) fn remember_move(&mut self, reason: Reason, branch: u64) {
        self.history.last_move = LastMove::after(reason, branch, self.run, &self.sim);
    }

    /// Keep the current run as a branch (the oldest goes past [`BRANCHES_MAX`]); its id.
    pub(super) fn set_aside(&mut self, reason: Reason) -> u64 {
        let h = &mut self.history;
        h.next_branch_id += 1;
        let trace = self.sim.trace();
        h.branches
            .retain(|(_, _, kept)| undo::stays_beside(kept, &trace));
        h.branches.push_back((h.next_branch_id, reason, trace));
        while h.branches.len() > BRANCHES_MAX {
            h.branches.pop_front();
        }
        h.next_branch_id
    }

    fn branch_list(&self) -> Vec<BranchInfo> {
        let live = self.sim.trace();
        let branches = &self.history.branches;
        branches
            .iter()
            .map(|(id, reason, trace)| BranchInfo::of(*id, *reason, trace, &live))
            .collect()
    }

    fn branch(&self, id: &str) -> Result<Trace, Refusal> {
        let id: u64 = id
            .parse()
            .map_err(|_| Refusal::Invalid(format!("{id:?} is not a branch id (a whole number)")))?;
        self.branch_trace(id)
    }

    fn branch_trace(&self, id: u64) -> Result<Trace, Refusal> {
        let branches = &self.history.branches;
        branches
            .iter()
            .find(|(b, _, _)| *b == id)
            .map(|(_, _, trace)| trace.clone())
            .ok_or_else(|| Refusal::NotFound(format!("there is no branch {id}")))
    }

    /// Every [`WARM_EVERY_MS`] of a paced run, extend the timeline by what the run did since (a
    /// few virtual seconds at most), so the first look at its past finds it built rather than
    /// re-executing the whole run while the page waits (about a second for half an hour).
    /// Not at speed 0, nor after a stretch of it: re-executing that would hold up the worker's
    /// only thread; the next question builds it then, as before, and warming goes on from there.
    pub(super) fn keep_warm(&mut self, wall_ms: f64) {
        if self.paused || self.speed == 0.0 || wall_ms - self.history.warmed_at_ms < WARM_EVERY_MS {
            return;
        }
        self.history.warmed_at_ms = wall_ms;
        let trace = self.sim.trace();
        let cached = self.history.timeline.as_ref();
        if cached.is_some_and(|t| answers::timeline_serves(t, &trace, None)) {
            return;
        }
        // Re-executed from its end when the cache is this run's (else from the start).
        let same_run =
            cached.filter(|t| answers::timeline_serves(t, &trace, Some(Position::AtMs(0))));
        let from_ms = same_run.map_or(0, |t| t.trace().end_ms);
        if trace.end_ms.saturating_sub(from_ms) > WARM_GROWTH_MAX_MS {
            return;
        }
        let cached = self.history.timeline.take();
        self.history.timeline = Timeline::update(cached, trace, CHECKPOINT_EVERY_MS).ok();
    }

    /// The checkpoints of the run so far, covering `position` (built again when needed).
    fn timeline(&mut self, position: Option<Position>) -> Result<&Timeline, Refusal> {
        let trace = self.sim.trace();
        let fresh = self.history.timeline.as_ref();
        if !fresh.is_some_and(|t| answers::timeline_serves(t, &trace, position)) {
            // Extended when the run only grew (re-executing what was added), else built anew.
            let cached = self.history.timeline.take();
            self.history.timeline = Some(Timeline::update(cached, trace, CHECKPOINT_EVERY_MS)?);
        }
        Ok(self.history.timeline.as_ref().expect("just built"))
    }

    fn at(&mut self, query_text: &str) -> Result<Answer, Refusal> {
        let pairs = query(query_text, &["at_ms", "seq", "before_input", "full"])?;
        let position = fork_at(&pairs)?;
        let full = pairs.iter().any(|(k, v)| *k == "full" && *v == "true");
        Ok(ok(answers::at(
            self.timeline(Some(position))?,
            position,
            full,
        )?))
    }

    fn at_log(&mut self, query_text: &str) -> Result<Answer, Refusal> {
        let known = ["at_ms", "seq", "before_input", "node", "from", "to"];
        let pairs = query(query_text, &known)?;
        let position = fork_at(&pairs)?;
        let node = number(&pairs, "node")?
            .ok_or_else(|| Refusal::Invalid("missing field `node`".into()))?;
        let (from, to) = (number(&pairs, "from")?, number(&pairs, "to")?);
        if node == 0 {
            return Err(Refusal::Invalid(
                "node must be a server's number, from 1".into(),
            ));
        }
        answers::log_range(from, to).map_err(Refusal::Invalid)?;
        let timeline = self.timeline(Some(position))?;
        timeline
            .trace()
            .reaches(position)
            .map_err(Refusal::Invalid)?;
        let replay = timeline.at(position)?;
        Ok(ok(answers::log_page(replay.sim(), node, from, to)?))
    }

    fn live_log(&self, node: &str, query_text: &str) -> Result<Answer, Refusal> {
        let pairs = query(query_text, &["from", "to"])?;
        let node: u64 = node
            .parse()
            .map_err(|_| Refusal::Invalid(format!("{node:?} is not a server's number")))?;
        let (from, to) = (number(&pairs, "from")?, number(&pairs, "to")?);
        Ok(ok(answers::log_page(&self.sim, node, from, to)?))
    }

    fn load(&mut self, text: &str, wall_ms: f64) -> Answer {
        if text.len() > TRACE_BYTES_MAX {
            let e = format!("the trace is larger than the limit of {TRACE_BYTES_MAX} bytes");
            return error(413, &e);
        }
        let moved = Trace::from_json(text)
            .map_err(|e| Refusal::Invalid(e.to_string()))
            .and_then(|trace| self.become_instant(trace, Position::End, Reason::Loaded, wall_ms));
        moved.map(ok).unwrap_or_else(refused)
    }

    /// Undo, as `undo::plan` decides (the same rule as the server's): right after a fork, load,
    /// return or reset with no action since, bring back the run it left; otherwise fork just
    /// before the last input that changed something (pause and speed changes are not actions,
    /// and a refused command did nothing a person would undo).
    fn undo(&mut self, wall_ms: f64) -> Result<ForkReply, Refusal> {
        let branches = &self.history.branches;
        let has_branch = |id| branches.iter().any(|(b, _, _)| *b == id);
        match undo::plan(self.history.last_move, self.run, &self.sim, has_branch) {
            Undo::BringBack { branch, undone } => {
                let trace = self.branch_trace(branch)?;
                let leaving = Leaving::Undoing {
                    undone,
                    brought_back: branch,
                };
                self.move_to(trace, Position::End, Reason::Undo, leaving, wall_ms)
            }
            Undo::BeforeInput(last) => {
                let trace = self.sim.trace();
                self.become_instant(trace, Position::BeforeInput(last), Reason::Undo, wall_ms)
            }
            Undo::Nothing => {
                let live = self.sim.trace();
                let newest = branches
                    .iter()
                    .max_by_key(|(id, _, _)| *id)
                    .filter(|(_, _, trace)| undo::adds_to(trace, &live))
                    .map(|(id, _, _)| *id);
                Err(Refusal::Conflict(answers::nothing_to_undo(newest)))
            }
        }
    }

    /// Make the cluster `trace` at `position`; the run left becomes a branch. Nothing changes
    /// when the trace cannot be re-executed. The page hears a `Snapshot` of the new run, which
    /// goes on as the old one went (paused or not, at its speed), as on the server.
    pub(super) fn become_instant(
        &mut self,
        trace: Trace,
        position: Position,
        reason: Reason,
        wall_ms: f64,
    ) -> Result<ForkReply, Refusal> {
        self.move_to(trace, position, reason, Leaving::Kept, wall_ms)
    }

    /// [`Session::become_instant`], with what becomes of the run left said by `leaving`.
    fn move_to(
        &mut self,
        trace: Trace,
        position: Position,
        reason: Reason,
        leaving: Leaving,
        wall_ms: f64,
    ) -> Result<ForkReply, Refusal> {
        let brought_back = matches!(leaving, Leaving::Undoing { .. }).then(|| trace.clone());
        let Replayed {
            sim,
            checker,
            violation,
        } = replayed(trace, position)?;
        // The old run's last events go out before its end is announced.
        self.flush_events();
        self.fail_waiting(
            "the cluster moved to another instant of its history before this request was answered",
        );
        let left = self.leave(brought_back.as_ref(), reason, leaving);
        self.replace_run(sim, checker, violation, wall_ms);
        self.out.push(ServerMessage::Snapshot {
            snapshot: self.snapshot(),
            moved: Some(reason),
        });
        let (time_ms, seq) = (self.sim.now_ms(), self.sim.last_seq());
        let message = match leaving {
            Leaving::Kept => ForkReply::message(reason, time_ms, seq, left.branch_id()),
            Leaving::Undoing { undone, .. } => ForkReply::undid(undone, time_ms, seq, left),
        };
        // What the next Undo takes back, if it is this move (not when it was an undo itself).
        self.remember_move(reason, left.branch_id());
        Ok(ForkReply {
            message,
            run: self.run,
            time_ms,
            seq,
            inputs: self.sim.inputs().len(),
            branch_id: left.branch_id(),
            elapsed_ms: 0.0,
        })
    }

    /// What becomes of the run being left (`brought_back`: the trace an undo brings back):
    /// kept as a branch, unless an undo is bringing a branch back and a branch already holds
    /// all the run left did — then keeping it would only clutter the list (`undo::holder`).
    fn leave(&mut self, brought_back: Option<&Trace>, reason: Reason, leaving: Leaving) -> RunLeft {
        if let (
            Leaving::Undoing {
                brought_back: id, ..
            },
            Some(trace),
        ) = (leaving, brought_back)
        {
            let left = self.sim.trace();
            let branches = self.history.branches.iter().map(|(b, _, t)| (*b, t));
            if let Some(held) = undo::holder(&left, (id, trace), branches) {
                return held;
            }
        }
        RunLeft::Kept(self.set_aside(reason))
    }
}

/// What a move does with the run it leaves.
#[derive(Clone, Copy)]
enum Leaving {
    /// Keeps it as a branch (fork, load, return, undo of an input).
    Kept,
    /// Undoes the change of run `undone` by bringing back branch `brought_back`: the run left
    /// is kept only if no branch holds all it did.
    Undoing { undone: Reason, brought_back: u64 },
}
