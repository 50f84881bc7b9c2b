//! The run's history on the driver's side: recording each input (to the trace and
//! `trace.jsonl`), and making the live cluster another instant of a trace — fork, undo, load a
//! trace, bring a branch back. Owns what those do to the live run and its files; must not parse
//! HTTP (the server does) nor re-implement re-execution (`shared::trace::Replay` does it).
//!
//! Becoming an instant: re-execute the trace to it in memory (nothing live changes if that
//! fails), rewrite every node's files to hold what that node's storage held then — first what
//! was synced, fsynced and swapped in crash-safely (`fork_files`); then any written-but-unsynced
//! tail, written without fsync, exactly the state the simulation was in — move the in-memory
//! cluster onto those files
//! ([`shared::Sim::map_storage`]), and record on from the trace's prefix. The old run is kept as
//! a branch — but for an undo that brings a branch back when a branch already holds all the run
//! being left did (`shared::trace::undo`).

use std::time::{Duration, Instant};

use shared::sim::{AppendAccepted, SimError};
use shared::trace::undo::{self, LastMove, RunLeft, Undo};
use shared::trace::{Position, Recorded, Replay, Trace, TraceInput};
use shared::{MemStorage, NodeId, Storage};

use super::fork_files;
use super::trace_file::{Branch, Reason, TraceFile, BRANCHES_MAX};
use super::{CommandError, DataDir, Driver, Manifest, OutgoingKind};
use crate::storage::FileStorage;

/// Largest trace `POST /api/trace` accepts (bytes of JSON).
pub const TRACE_BODY_BYTES_MAX: usize = 16 << 20;

pub use shared::trace::answers::{BranchInfo, ForkAt, ForkReply};

impl Driver {
    /// The one way an input reaches the live cluster: recorded, persisted, applied.
    pub(super) fn input(&mut self, input: TraceInput) -> Result<Option<AppendAccepted>, SimError> {
        let result = self.sim.input(input);
        if let Some(last) = self.sim.last_input() {
            if let Err(e) = self.trace_file.input(last) {
                tracing::warn!(error = %e, "could not append to trace.jsonl");
            }
            if self.trace_file.over_cap() {
                self.compact_trace_file();
            }
        }
        result
    }

    /// At start: read what `trace.jsonl` holds and begin this process's segment.
    pub(super) fn start_history(&mut self, recovered: bool) {
        let root = self.data_dir.root().to_path_buf();
        let stored = if recovered {
            TraceFile::read(&root)
        } else {
            Default::default()
        };
        if let Some(why) = &stored.unreadable {
            tracing::warn!(
                "trace.jsonl could not be read ({why}): the history and branches of the runs \
                 before this start are not available; it is rewritten from this run on"
            );
        } else if !stored.damaged_lines.is_empty() {
            tracing::warn!(
                lines = ?stored.damaged_lines,
                "trace.jsonl is damaged: these lines could not be read and were skipped, so a \
                 branch or part of the run's history may be missing"
            );
        } else if stored.bad_lines > 0 {
            tracing::warn!(
                "skipped the unreadable last line of trace.jsonl (a torn last line is normal \
                 after a crash)"
            );
        }
        self.branches = stored.branches;
        self.next_branch_id = self.branches.iter().map(|b| b.id + 1).max().unwrap_or(1);
        // The run before the restart can be re-executed in memory (its own start is recorded),
        // but not continued on these files byte for byte: keep it as a branch — unless nothing
        // was done in it (restarting an idle server must not push real branches out).
        if let Some((_, before)) = stored.current.filter(|_| stored.inputs_added > 0) {
            self.push_branch(Reason::Recovered, before, None); // trace.jsonl is rewritten below
        }
        self.segment_reason = if recovered {
            Reason::Recovered
        } else {
            Reason::New
        };
        self.compact_trace_file();
    }

    /// The trace of the run so far.
    pub(super) fn current_trace(&self) -> Trace {
        self.sim.trace()
    }

    /// The branches, oldest first.
    pub(super) fn branch_list(&self) -> Vec<BranchInfo> {
        let live = self.current_trace();
        self.branches
            .iter()
            .map(|b| BranchInfo::of(b.id, b.reason, &b.trace, &live))
            .collect()
    }

    /// One branch's trace.
    pub(super) fn branch(&self, id: u64) -> Result<Trace, CommandError> {
        self.branches
            .iter()
            .find(|b| b.id == id)
            .map(|b| b.trace.clone())
            .ok_or_else(|| no_branch(id))
    }

    /// Fork: the live cluster becomes the state at `at` of its own trace.
    pub(super) fn fork(&mut self, at: ForkAt) -> Result<ForkReply, CommandError> {
        let position = at.position().map_err(CommandError::invalid)?;
        let trace = self.current_trace();
        self.become_trace(trace, Some(position), Reason::Fork)
    }

    /// Undo, as `undo::plan` decides: right after a fork, load, return or reset with no action
    /// since, bring back the run it left; otherwise fork just before the last input that
    /// changed something (pause and speed changes are not actions, and a refused command did
    /// nothing a person would undo).
    pub(super) fn undo(&mut self) -> Result<ForkReply, CommandError> {
        let has_branch = |id| self.branches.iter().any(|b: &Branch| b.id == id);
        match undo::plan(self.last_move, self.run, &self.sim, has_branch) {
            Undo::BringBack { branch, undone } => {
                let trace = self.branch(branch)?;
                let leaving = Leaving::Undoing {
                    undone,
                    brought_back: branch,
                };
                self.move_to(trace, None, Reason::Undo, leaving)
            }
            Undo::BeforeInput(last) => {
                let trace = self.current_trace();
                self.become_trace(trace, Some(Position::BeforeInput(last)), Reason::Undo)
            }
            Undo::Nothing => {
                let live = self.current_trace();
                let newest = self
                    .branches
                    .iter()
                    .max_by_key(|b| b.id)
                    .filter(|b| undo::adds_to(&b.trace, &live))
                    .map(|b| b.id);
                Err(CommandError::conflict(
                    shared::trace::answers::nothing_to_undo(newest),
                ))
            }
        }
    }

    /// Bring branch `id` back (the current run becomes a branch in its turn).
    pub(super) fn restore(&mut self, id: u64) -> Result<ForkReply, CommandError> {
        let trace = self.branch(id)?;
        self.become_trace(trace, None, Reason::Restored)
    }

    /// A lesson's stop (`server::lessons`): loaded as `POST /api/trace` loads a trace, except
    /// that Undo does not take the move back (the lesson's Back does), as in the in-browser
    /// engine, whose lessons set no run aside.
    pub(super) fn stage(&mut self, trace: Trace) -> Result<ForkReply, CommandError> {
        let reply = self.move_to(trace, None, Reason::Loaded, Leaving::ForLesson)?;
        self.last_move = None;
        self.lesson_stop = Some((self.run, self.sim.last_undoable()));
        Ok(reply)
    }

    /// Make the live cluster `trace` at `position` (its end when `None`), keeping the run left
    /// as a branch. Nothing changes when the trace cannot be re-executed.
    pub(super) fn become_trace(
        &mut self,
        trace: Trace,
        position: Option<Position>,
        reason: Reason,
    ) -> Result<ForkReply, CommandError> {
        self.move_to(trace, position, reason, Leaving::Kept)
    }

    /// [`Driver::become_trace`], with what becomes of the run left said by `leaving`.
    fn move_to(
        &mut self,
        trace: Trace,
        position: Option<Position>,
        reason: Reason,
        leaving: Leaving,
    ) -> Result<ForkReply, CommandError> {
        let started = Instant::now();
        if let Some(p) = position {
            trace.reaches(p).map_err(CommandError::invalid)?;
        }
        // Re-executed under the checker, so the live panel goes on knowing the whole run.
        let mut replay = Replay::new(trace.clone())
            .map_err(|e| CommandError::invalid(e.to_string()))?
            .with_checker()
            .keeping_markers()
            .with_budget(wall_budget(self.replay_wall_max));
        replay
            .run_to(position.unwrap_or(Position::End))
            .map_err(|e| CommandError::invalid(e.to_string()))?;
        let kept = replay.inputs_applied();
        let refused = replay.refused_inputs().to_vec();
        let marks = super::marks::Marks::resumed(replay.take_markers(), replay.marker_leader());
        let checker = replay.checker().cloned().unwrap_or_default();
        let found = replay.violation().cloned();
        let memory = replay.into_sim();
        let prefix = trace.prefix(
            kept,
            memory.now_ms(),
            memory.last_seq(),
            memory.stats().steps,
        );

        // From here on the live run is replaced.
        self.flush_events();
        self.pending.fail_all(&CommandError::conflict(
            "the cluster moved to another instant of its history before this request was answered",
        ));
        let left = self.leave(&trace, reason, leaving);
        let live = write_files(&self.data_dir, memory).map_err(|e| {
            CommandError::unavailable(format!("could not rewrite the nodes' files: {e}"))
        })?;
        self.sim = Recorded::new(live, prefix).with_refused(&refused);
        self.marks = marks;
        self.safety = super::safety::Safety::resumed(&self.sim, checker, found.as_ref());
        self.new_segment(reason);
        self.run += 1;
        self.storage_errors.clear();
        self.snapshot_cache = None;
        self.rebase(Instant::now());
        let reply = self.snapshot();
        // Every page hears why (a page that did not ask tells a loaded trace from a step back);
        // a lesson's stop is told by the lesson itself.
        let moved = match leaving {
            Leaving::ForLesson => None,
            Leaving::Kept | Leaving::Undoing { .. } => Some(reason),
        };
        self.broadcast(
            OutgoingKind::Snapshot {
                seq: reply.snapshot.seq,
            },
            reply.moved_message_json(moved),
        );
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (now, seq) = (self.sim.now_ms(), self.sim.last_seq());
        let message = match leaving {
            Leaving::Kept | Leaving::ForLesson => {
                ForkReply::message(reason, now, seq, left.branch_id())
            }
            Leaving::Undoing { undone, .. } => ForkReply::undid(undone, now, seq, left),
        };
        // What the next Undo takes back, if it is this move (not when it was an undo itself).
        self.last_move = LastMove::after(reason, left.branch_id(), self.run, &self.sim);
        tracing::info!(elapsed_ms, "{message}");
        Ok(ForkReply {
            message,
            run: self.run,
            time_ms: self.sim.now_ms(),
            seq: self.sim.last_seq(),
            inputs: self.sim.inputs().len(),
            branch_id: left.branch_id(),
            elapsed_ms,
        })
    }

    /// What becomes of the run being left for `trace` (the run a move brings in): kept as a
    /// branch, unless an undo is bringing a branch back and a branch already holds all the run
    /// left did — then keeping it would only clutter the list (`undo::holder`).
    fn leave(&mut self, trace: &Trace, reason: Reason, leaving: Leaving) -> RunLeft {
        if let Leaving::Undoing { brought_back, .. } = leaving {
            let left = self.current_trace();
            let branches = self.branches.iter().map(|b| (b.id, &b.trace));
            if let Some(held) = undo::holder(&left, (brought_back, trace), branches) {
                return held;
            }
        }
        RunLeft::Kept(self.set_aside(reason))
    }

    /// Keep the current run's trace as a branch; returns its id. A lesson's stop nobody acted
    /// in is kept in place of the last such stop: each Next and Reveal leaves one, and a lesson
    /// of ten stops filled the list and pushed out the runs people made (the lesson can stage
    /// its stops again).
    pub(super) fn set_aside(&mut self, reason: Reason) -> u64 {
        let trace = self.current_trace();
        let untouched = self.lesson_stop == Some((self.run, self.sim.last_undoable()));
        let replacing = if untouched {
            self.lesson_branch.take()
        } else {
            None
        };
        let (id, dropped) = self.push_branch(reason, trace, replacing);
        if untouched {
            self.lesson_branch = Some(id);
        }
        if dropped {
            // trace.jsonl forgets the dropped ones too (the rewrite holds the new branch).
            self.compact_trace_file();
        } else if let Some(branch) = self.branches.last() {
            if let Err(e) = self.trace_file.branch(branch) {
                tracing::warn!(error = %e, "could not write a branch to trace.jsonl");
            }
        }
        id
    }

    /// Start a new segment of `trace.jsonl` for the run now live.
    pub(super) fn new_segment(&mut self, reason: Reason) {
        self.segment_reason = reason;
        let trace = self.current_trace();
        if let Err(e) = self.trace_file.segment(reason, &trace) {
            tracing::warn!(error = %e, "could not write to trace.jsonl");
        }
        if self.trace_file.over_cap() {
            self.compact_trace_file();
        }
    }

    /// Keep `trace` as a branch (in place of branch `replacing`): its id, and whether older
    /// branches were dropped for it (then trace.jsonl is to be rewritten, not appended to).
    fn push_branch(&mut self, reason: Reason, trace: Trace, replacing: Option<u64>) -> (u64, bool) {
        let id = self.next_branch_id;
        self.next_branch_id += 1;
        let before = self.branches.len();
        self.branches
            .retain(|b| Some(b.id) != replacing && undo::stays_beside(&b.trace, &trace));
        let dropped = self.branches.len() != before;
        self.branches.push(Branch { id, reason, trace });
        if self.branches.len() > BRANCHES_MAX {
            self.branches.remove(0);
        }
        (id, dropped)
    }

    fn compact_trace_file(&mut self) {
        let trace = self.current_trace();
        if let Err(e) = self
            .trace_file
            .rewrite(self.segment_reason, &trace, &self.branches)
        {
            tracing::warn!(error = %e, "could not rewrite trace.jsonl");
        }
    }
}

/// What a move does with the run it leaves.
#[derive(Clone, Copy)]
enum Leaving {
    /// Keeps it as a branch (fork, load, return, undo of an input).
    Kept,
    /// Keeps it as a branch, for a lesson's stop (pages are told no reason: the lesson tells).
    ForLesson,
    /// Undoes the change of run `undone` by bringing back branch `brought_back`: the run left
    /// is kept only if no branch holds all it did.
    Undoing { undone: Reason, brought_back: u64 },
}

fn no_branch(id: u64) -> CommandError {
    CommandError {
        kind: super::ErrorKind::NotFound,
        message: format!("there is no branch {id}: GET /api/trace/branches lists them"),
    }
}

/// Rewrite the data directory for `memory`'s cluster (manifest and every node's files, crash-safe:
/// see `fork_files`) and move the cluster onto them.
fn write_files(
    data_dir: &DataDir,
    memory: shared::Sim<MemStorage>,
) -> Result<shared::Sim<FileStorage>, String> {
    let nodes: Vec<(NodeId, &MemStorage)> = memory
        .node_ids()
        .map(|id| (id, memory.storage(id).expect("every node has storage")))
        .collect();
    fork_files::stage(
        data_dir.root(),
        &Manifest::from_config(memory.config()),
        &nodes,
    )?;
    fork_files::install(data_dir)?;
    let mut files = Vec::new();
    for (id, storage) in nodes {
        let (live, _report) = data_dir.open_node(id).map_err(|e| e.to_string())?;
        files.push(Some(write_unsynced_tail(id, live, storage)?));
    }
    Ok(memory.map_storage(|id, _| files[id.slot()].take().expect("one per node")))
}

/// Write over `files` (holding what `memory` had synced) the tail `memory` had written but not
/// synced, without an fsync: the files are then in the very state the simulation was in.
fn write_unsynced_tail(
    id: NodeId,
    mut files: FileStorage,
    memory: &MemStorage,
) -> Result<FileStorage, String> {
    let fail = |e: shared::StorageError| format!("S{id}: {e}");
    let (synced_state, synced_log) = memory.durable_view().expect("memory storage has one");
    let common = memory.synced_index();
    if memory.entries() != synced_log {
        files.truncate_from(common + 1).map_err(fail)?;
        files
            .append(&memory.entries()[common.get() as usize..])
            .map_err(fail)?;
    }
    if memory.hard_state() != synced_state {
        files.set_hard_state(memory.hard_state()).map_err(fail)?;
    }
    Ok(files)
}

/// A [`shared::trace::Budget`] that says no once `max` of wall time has passed.
fn wall_budget(max: Duration) -> shared::trace::Budget {
    let deadline = Instant::now() + max;
    std::sync::Arc::new(move || {
        if Instant::now() < deadline {
            Ok(())
        } else {
            Err(format!(
                "it took more than {} s while the live run waited; cut it shorter or make its \
                 cluster less busy (longer timers, fewer servers)",
                max.as_secs_f64()
            ))
        }
    })
}
