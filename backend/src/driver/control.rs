//! The driver's side of people's commands: appends (answered at once, or once the leader has
//! them, or once committed) and every control command (faults, network, pause/speed, reset).
//! Owns what each command does to the run; must not parse request JSON (the server does) nor
//! decide anything about Raft (the core does).

use std::time::{Duration, Instant};

use shared::protocol::{ClientCommand, CommandOk, StorageFailureView};
use shared::raft::ProposeOutcome;
use shared::sim::SimConfig;
use shared::trace::answers::markers_of;
use shared::trace::{broken_rules_reply, control_input, control_reply, reset_config, TraceInput};
use shared::{LogIndex, NodeId, Term};

use super::handle::{HistoryOp, HistoryReply, Request};
use super::pending::{self, Deadline, ReplyTx};
use super::{
    check_speed, open_cluster, Append, AppendWait, CommandError, Driver, Input, Manifest,
    OutgoingKind, Reason,
};

/// Waiting appends the driver keeps at once; more are refused rather than queued without bound.
const PENDING_MAX: usize = 10_000;
/// A forwarded request waits this long on the wall clock for the leader's verdict.
const FORWARD_WALL_WAIT: Duration = Duration::from_secs(30);
/// Virtual time any wait may take, in election timeouts: long enough for a new election and a
/// round of replication, short enough to answer at speed 0.
const WAIT_ELECTION_TIMEOUTS: u64 = 10;

impl Driver {
    pub(super) fn handle(&mut self, request: Request) -> std::ops::ControlFlow<()> {
        match request {
            Request::Command {
                command,
                wait,
                reply,
            } => self.command(command, wait, reply),
            Request::Snapshot { reply } => {
                // Everything the snapshot covers is broadcast first, so a new viewer's stream
                // starts right after it.
                self.flush_events();
                let _ = reply.send(self.snapshot());
            }
            Request::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Request::History { op, reply } => {
                let _ = reply.send(self.history(op));
            }
            Request::FullSnapshot { reply } => {
                self.flush_events();
                let _ = reply.send(self.full_snapshot());
            }
            Request::Log {
                node,
                from,
                to,
                reply,
            } => {
                let _ = reply.send(self.log_page(node, from, to));
            }
            Request::Shutdown => return std::ops::ControlFlow::Break(()),
        }
        std::ops::ControlFlow::Continue(())
    }

    fn history(&mut self, op: HistoryOp) -> Result<HistoryReply, CommandError> {
        Ok(match op {
            HistoryOp::Trace => HistoryReply::Trace(Box::new(self.current_trace())),
            HistoryOp::Markers => HistoryReply::Markers(Box::new(markers_of(
                &self.current_trace(),
                self.marks.with(self.sim.pending_events()),
            ))),
            HistoryOp::Load(trace) => {
                HistoryReply::Moved(self.become_trace(*trace, None, Reason::Loaded)?)
            }
            HistoryOp::Stage(trace) => HistoryReply::Moved(self.stage(*trace)?),
            HistoryOp::Fork(at) => HistoryReply::Moved(self.fork(at)?),
            HistoryOp::Undo => HistoryReply::Moved(self.undo()?),
            HistoryOp::Branches => HistoryReply::Branches(self.branch_list()),
            HistoryOp::Branch(id) => HistoryReply::Trace(Box::new(self.branch(id)?)),
            HistoryOp::Restore(id) => HistoryReply::Moved(self.restore(id)?),
        })
    }

    fn command(&mut self, command: Input, wait: AppendWait, reply: ReplyTx) {
        let result = match command {
            Input::Append(append) => return self.append(append, wait, reply),
            Input::Control(other) => self.control(other),
        };
        self.answer(reply, result);
    }

    /// Reply once this frame's events are out.
    fn answer(&mut self, reply: ReplyTx, result: Result<CommandOk, CommandError>) {
        self.replies.push((reply, result));
    }

    /// A client request, already parsed at the edge ([`Input::parse`]), goes to the core.
    fn append(&mut self, append: Append, wait: AppendWait, reply: ReplyTx) {
        if self.pending.len() >= PENDING_MAX {
            let error = CommandError::too_many(format!(
                "{PENDING_MAX} requests are already waiting for the cluster; try again shortly"
            ));
            return self.answer(reply, Err(error));
        }
        let proposed = self.input(TraceInput::Append {
            command: append.command,
            node: append.node,
            client: append.client,
        });
        let accepted = match proposed {
            Ok(Some(a)) => a,
            Ok(None) => unreachable!("an append input always says what it became"),
            Err(e) => return self.answer(reply, Err(e.into())),
        };
        let wait_virtual_ms =
            WAIT_ELECTION_TIMEOUTS * self.sim.config().timing.election_timeout_ms_max;
        let now = Instant::now();
        let deadline = |wall: Duration| Deadline {
            virtual_ms: self.sim.now_ms().saturating_add(wait_virtual_ms),
            wall: now + wall,
        };
        match (accepted.outcome, wait) {
            (
                ProposeOutcome::Appended {
                    index,
                    term,
                    duplicate,
                },
                AppendWait::Appended,
            ) => {
                let ok = if duplicate {
                    pending::duplicate(accepted.node, index, term)
                } else {
                    pending::appended(accepted.node, index, term, None)
                };
                self.answer(reply, Ok(ok));
            }
            (
                ProposeOutcome::Appended { index, term, .. },
                AppendWait::Committed { wall_timeout },
            ) => {
                // Checked every frame (a one-node cluster commits it at the next one).
                let d = deadline(wall_timeout);
                self.pending.commit(index, term, accepted.node, d, reply);
            }
            (ProposeOutcome::Forwarded { leader }, wait) => {
                let (wait_commit, wall) = match wait {
                    AppendWait::Appended => (false, FORWARD_WALL_WAIT),
                    AppendWait::Committed { wall_timeout } => (true, wall_timeout),
                };
                let d = deadline(wall);
                self.pending.forwarded(
                    accepted.request_id,
                    accepted.node,
                    leader,
                    wait_commit,
                    d,
                    reply,
                );
            }
        }
    }

    /// Every command but `append`.
    fn control(&mut self, command: ClientCommand) -> Result<CommandOk, CommandError> {
        let done = |message: String| {
            Ok(CommandOk {
                message: Some(message),
                ..CommandOk::default()
            })
        };
        if let Some(input) = control_input(&command) {
            self.input(input.clone())?;
            if matches!(input, TraceInput::Network { .. }) {
                // The network settings are part of the run a restarted server resumes.
                self.save_manifest();
            }
            return done(control_reply(&input, &self.sim));
        }
        if let Some(cluster) = reset_config(self.sim.config(), &command) {
            return self.reset(cluster);
        }
        match command {
            ClientCommand::Append { .. } => unreachable!("append is handled by Driver::append"),
            ClientCommand::PresenterView(_) | ClientCommand::Answer { .. } => {
                unreachable!("refused by Input::parse")
            }
            // Faults, network, timers and resets are answered above (`control_input`,
            // `reset_config`).
            ClientCommand::Crash { .. }
            | ClientCommand::PowerLoss { .. }
            | ClientCommand::Timeout { .. }
            | ClientCommand::Partition { .. }
            | ClientCommand::Cut { .. }
            | ClientCommand::Uncut { .. }
            | ClientCommand::Isolate { .. }
            | ClientCommand::Heal
            | ClientCommand::Network { .. }
            | ClientCommand::DropMessage { .. }
            | ClientCommand::AlignTimers
            | ClientCommand::SpreadTimers
            | ClientCommand::Reset { .. } => unreachable!("answered above"),
            ClientCommand::Restart { node } => self.restart(node),
            ClientCommand::BreakRules { rules } => {
                self.input(TraceInput::BreakRules { rules })?;
                self.save_manifest();
                self.snapshot_cache = None;
                self.flush_events();
                self.broadcast_safety();
                done(broken_rules_reply(&rules))
            }
            ClientCommand::Pause => {
                self.set_control(true, self.speed);
                done("paused".into())
            }
            ClientCommand::Resume => {
                self.set_control(false, self.speed);
                done("running".into())
            }
            ClientCommand::Step => {
                self.set_control(true, self.speed);
                if self.sim.step_to_event() {
                    self.check_safety();
                    self.rebase(Instant::now());
                    done(format!("stepped to {} ms", self.sim.now_ms()))
                } else {
                    done("nothing is scheduled: every node is down".into())
                }
            }
            ClientCommand::Speed { speed } => {
                check_speed(speed)?;
                self.set_control(self.paused, speed);
                done(format!("speed {speed}"))
            }
        }
    }

    fn restart(&mut self, node: NodeId) -> Result<CommandOk, CommandError> {
        if node == 0 || node > self.sim.config().nodes || self.sim.is_up(node) {
            // Unknown or running: the simulator words the refusal.
            self.input(TraceInput::Restart { node })?;
        }
        // A restarted process opens its files again: recovery reads them from disk.
        let (storage, report) = self.data_dir.open_node(node).map_err(|e| {
            // Kept so that health, the snapshot and later restarts say why this node stays down.
            let failure = StorageFailureView {
                kind: e.failure_kind().to_string(),
                error: e.to_string(),
            };
            self.open_failures.insert(node, failure);
            self.snapshot_cache = None;
            self.storage_errors.insert(node, e.to_string());
            CommandError::unavailable(format!("S{node} could not restart: {e}"))
        })?;
        self.open_failures.remove(&node);
        if !report.is_clean() {
            tracing::warn!(%node, ?report, "recovery repaired S{node}'s files");
        }
        self.sim.replace_storage(node, storage)?;
        self.input(TraceInput::Restart { node })?;
        self.flush_events();
        if !self.sim.is_up(node) {
            let why = self
                .storage_errors
                .get(&node)
                .cloned()
                .unwrap_or_else(|| "unknown storage error".into());
            return Err(CommandError::unavailable(format!(
                "S{node} could not restart: {why}"
            )));
        }
        let (term, last) = self.sim.node(node).map_or((Term(0), LogIndex(0)), |r| {
            (r.current_term(), r.log().last_index())
        });
        Ok(CommandOk {
            message: Some(format!(
                "S{node} restarted from its files: term {term}, log up to index {last}"
            )),
            ..CommandOk::default()
        })
    }

    fn reset(&mut self, cluster: SimConfig) -> Result<CommandOk, CommandError> {
        shared::sim::validate(&cluster)?;
        // The old run's last events go out before its end is announced.
        self.flush_events();
        // The old run stays in the history, as a branch the teacher can return to.
        let branch = self.set_aside(Reason::Reset);
        let (sim, info, marks) = open_cluster(&self.data_dir, cluster, true).map_err(|e| {
            CommandError::unavailable(format!("could not start a new cluster: {e}"))
        })?;
        self.pending.fail_all(&CommandError::conflict(
            "the cluster was reset before this request was answered",
        ));
        self.sim = sim;
        self.marks = marks;
        self.safety = super::safety::Safety::new(&self.sim);
        self.new_segment(Reason::Reset);
        self.run += 1;
        // Undo right after a reset brings the old cluster back, as after a fork.
        self.last_move =
            shared::trace::undo::LastMove::after(Reason::Reset, branch, self.run, &self.sim);
        self.storage_errors = info.failed_nodes.iter().cloned().collect();
        self.open_failures.clear();
        self.snapshot_cache = None;
        self.rebase(Instant::now());
        let reply = self.snapshot();
        self.broadcast(
            OutgoingKind::Snapshot {
                seq: reply.snapshot.seq,
            },
            reply.moved_message_json(Some(Reason::Reset)),
        );
        let c = &info.cluster;
        tracing::info!(nodes = c.nodes, seed = c.seed, log_model = %c.log_model, "cluster reset");
        // Allowed but surprising settings (e.g. timeouts too close to ever settle) are said here,
        // in the snapshot's `warnings` and in the server's log.
        let mut message = format!(
            "started a new cluster: {} nodes, seed {}, {} log model",
            c.nodes, c.seed, c.log_model
        );
        for warning in c.warnings() {
            tracing::warn!("{warning}");
            message.push_str(&format!(". Note: {warning}"));
        }
        Ok(CommandOk {
            message: Some(message),
            ..CommandOk::default()
        })
    }

    /// Change pause/speed, tell the viewers (an event in the stream and a clock right away).
    pub(super) fn set_control(&mut self, paused: bool, speed: f64) {
        if paused == self.paused && speed == self.speed {
            return;
        }
        let now = Instant::now();
        self.rebase(now);
        self.paused = paused;
        self.speed = speed;
        // Recorded like any input: it is numbered in the event stream.
        let _ = self.input(TraceInput::Control { paused, speed });
        self.flush_events();
        self.send_clock(now);
    }

    fn save_manifest(&self) {
        if let Err(e) = self
            .data_dir
            .write_manifest(&Manifest::from_config(self.sim.config()))
        {
            tracing::warn!(error = %e, "could not save the network settings to cluster.json");
        }
    }
}
