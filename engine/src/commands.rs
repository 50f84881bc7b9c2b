//! What each command does in the browser's run: appends (answered once a leader has them, as
//! the server's WebSocket does), faults, the network, pause/step/speed and reset. Owns the
//! replies' wording for the browser; must not pace time (`session.rs` does) nor decide anything
//! about Raft: every change goes to the simulator as a recorded `TraceInput`.

use shared::protocol::{check_speed, ClientCommand, CommandOk, ServerMessage};
use shared::raft::ProposeOutcome;
use shared::sim::{SimConfig, SimError};
use shared::trace::{
    broken_rules_reply, control_input, control_reply, reset_config, Recorded, Start, Trace,
    TraceInput,
};
use shared::{Command, Sim};

use super::session::{Forwarded, Session};

/// A forwarded request waits this long on the wall clock for the leader's verdict.
const FORWARD_WALL_WAIT_MS: f64 = 30_000.0;
/// Virtual time a forwarded request may wait, in election timeouts (as on the server).
const WAIT_ELECTION_TIMEOUTS: u64 = 10;

/// A command's outcome, or `None` when its reply comes later (a forwarded append).
type Outcome = Option<Result<CommandOk, String>>;

fn done(message: String) -> Outcome {
    Some(Ok(CommandOk {
        message: Some(message),
        ..CommandOk::default()
    }))
}

impl Session {
    /// Carry out `command` (the page's request `request_id`) at wall time `wall_ms`.
    pub(super) fn command(
        &mut self,
        command: ClientCommand,
        request_id: u64,
        wall_ms: f64,
    ) -> Outcome {
        match self.try_command(command, request_id, wall_ms) {
            Ok(outcome) => outcome,
            Err(e) => Some(Err(e)),
        }
    }

    fn input(&mut self, input: TraceInput) -> Result<(), String> {
        self.sim.input(input).map(|_| ()).map_err(|e| e.to_string())
    }

    fn try_command(
        &mut self,
        command: ClientCommand,
        request_id: u64,
        wall_ms: f64,
    ) -> Result<Outcome, String> {
        let client = command.client_serial()?;
        if let Some(input) = control_input(&command) {
            self.input(input.clone())?;
            return Ok(done(control_reply(&input, &self.sim)));
        }
        if let Some(cluster) = reset_config(self.sim.config(), &command) {
            return self.reset(cluster, wall_ms).map_err(|e| e.to_string());
        }
        Ok(match command {
            ClientCommand::Append { command, node, .. } => {
                let command: Command = command
                    .parse()
                    .map_err(|e: shared::CommandError| e.to_string())?;
                return self.append(command, node, client, request_id, wall_ms);
            }
            // No viewers follow a page's own engine: nothing to relay.
            ClientCommand::PresenterView(_) => Some(Ok(CommandOk::default())),
            // Predictions are tallied by a server over its viewers; the page alone has none.
            ClientCommand::Answer { .. } => {
                return Err(
                    "answers are tallied by a presenter's server; the cluster running in your \
                     browser has no room of viewers"
                        .to_string(),
                )
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
            ClientCommand::Restart { node } => {
                // The node's storage lives on in memory (the OS kept its unsynced writes).
                self.input(TraceInput::Restart { node })?;
                let (term, last) = self
                    .sim
                    .node(node)
                    .map(|r| (r.current_term(), r.log().last_index()))
                    .unwrap_or_default();
                done(format!(
                    "S{node} restarted from its disk: term {term}, log up to index {last}"
                ))
            }
            ClientCommand::BreakRules { rules } => {
                self.input(TraceInput::BreakRules { rules })?;
                self.flush_events();
                self.send_safety();
                done(broken_rules_reply(&rules))
            }
            ClientCommand::Pause => {
                self.set_control(true, self.speed, wall_ms);
                done("paused".into())
            }
            ClientCommand::Resume => {
                self.set_control(false, self.speed, wall_ms);
                done("running".into())
            }
            ClientCommand::Step => {
                self.set_control(true, self.speed, wall_ms);
                if self.sim.step_to_event() {
                    self.rebase(wall_ms);
                    done(format!("stepped to {} ms", self.sim.now_ms()))
                } else {
                    done("nothing is scheduled: every node is down".into())
                }
            }
            ClientCommand::Speed { speed } => {
                check_speed(speed)?;
                self.set_control(self.paused, speed, wall_ms);
                done(format!("speed {}", shared::shortest::Shortest(speed)))
            }
        })
    }

    /// An append: answered once a leader has it (at once when the request reached the leader;
    /// after the forward otherwise, from the event that settles it).
    fn append(
        &mut self,
        command: Command,
        node: Option<shared::NodeId>,
        client: Option<shared::types::ClientSerial>,
        request_id: u64,
        wall_ms: f64,
    ) -> Result<Outcome, String> {
        let accepted = self
            .sim
            .input(TraceInput::Append {
                command,
                node,
                client,
            })
            .map_err(|e| e.to_string())?
            .expect("an append input always says what it became");
        Ok(match accepted.outcome {
            ProposeOutcome::Appended {
                index,
                term,
                duplicate: true,
            } => Some(Ok(CommandOk::duplicate(accepted.node, index, term))),
            ProposeOutcome::Appended { index, term, .. } => {
                Some(Ok(CommandOk::appended(accepted.node, index, term, None)))
            }
            ProposeOutcome::Forwarded { leader } => {
                let wait_ms =
                    WAIT_ELECTION_TIMEOUTS * self.sim.config().timing.election_timeout_ms_max;
                self.forwarded.insert(
                    accepted.request_id,
                    Forwarded {
                        request_id,
                        via: accepted.node,
                        leader,
                        deadline: (
                            self.sim.now_ms().saturating_add(wait_ms),
                            wall_ms + FORWARD_WALL_WAIT_MS,
                        ),
                    },
                );
                None
            }
        })
    }

    /// Start a new cluster of `cluster` (announced with a `Snapshot`, as the server does).
    fn reset(&mut self, cluster: SimConfig, wall_ms: f64) -> Result<Outcome, SimError> {
        shared::sim::validate(&cluster)?;
        // The old run's last events go out before its end is announced.
        self.flush_events();
        let sim = Sim::new(cluster.clone())?;
        let mut sim = Recorded::new(sim, Trace::new(cluster.clone(), Start::Empty));
        sim.take_events();
        self.fail_waiting("the cluster was reset before this request was answered");
        // The old run stays reachable from the timeline's branch list, as on the server.
        let branch = self.set_aside(shared::trace::answers::Reason::Reset);
        self.sim = sim;
        self.restart_checker();
        self.run += 1;
        // Undo right after a reset brings the old cluster back, as after a fork.
        self.remember_move(shared::trace::answers::Reason::Reset, branch);
        self.rebase(wall_ms);
        self.out.push(ServerMessage::Snapshot {
            snapshot: self.snapshot(),
            moved: Some(shared::trace::answers::Reason::Reset),
        });
        let mut message = format!(
            "started a new cluster: {} nodes, seed {}, {} log model",
            cluster.nodes, cluster.seed, cluster.log_model
        );
        for warning in cluster.warnings() {
            message.push_str(&format!(". Note: {warning}"));
        }
        Ok(done(message))
    }
}
