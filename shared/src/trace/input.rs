//! Every kind of input a run can be given, as a trace records it, and [`apply`]: the one place
//! where an input reaches the simulator, for the live run and for re-execution alike, so the two
//! cannot drift apart. Owns the input's JSON shape; must not decide when an input happens (the
//! caller does).

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::protocol::{Event, MessageId};
use crate::raft::BrokenRules;
use crate::shortest::Shortest;
use crate::sim::{AppendAccepted, Sim, SimConfig, SimError};
use crate::storage::Storage;
use crate::types::{ClientSerial, NodeId};

/// The `type` of a [`TraceInput::Control`] (pause and speed) in a trace's JSON: the one kind of
/// input that is not an action ([`TraceInput::is_action`]). A page that reads a trace's inputs as
/// JSON values, not as `TraceInput`s, tells actions apart by it.
pub const CONTROL_TYPE: &str = "control";

/// One input, tagged by `type`. Field names follow the commands of docs/api.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TraceInput {
    /// A client request, to `node` or (when absent) to the leader of the moment.
    Append {
        /// The request ("add 5").
        #[serde(with = "crate::command::as_text")]
        command: Command,
        /// Where it was sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        /// The client's id and this request's serial (Raft §8), when it gave them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<ClientSerial>,
    },
    /// Crash a node.
    Crash {
        /// Node.
        node: NodeId,
    },
    /// Restart a crashed node from its disk.
    Restart {
        /// Node.
        node: NodeId,
    },
    /// Cut a node's power.
    PowerLoss {
        /// Node.
        node: NodeId,
    },
    /// Make a node's election timer fire.
    Timeout {
        /// Node.
        node: NodeId,
    },
    /// Split the cluster into groups.
    Partition {
        /// Groups of node ids.
        groups: Vec<Vec<NodeId>>,
    },
    /// Cut the directed link `from → to`.
    Cut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Restore the directed link `from → to`.
    Uncut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Cut every link to and from a node.
    Isolate {
        /// Node.
        node: NodeId,
    },
    /// Remove every partition and cut link.
    Heal,
    /// Change the network (the only configuration a run changes as it goes; fields left out
    /// stay as they are).
    Network {
        /// 0..=1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loss_probability: Option<f64>,
        /// 0..=1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duplicate_probability: Option<f64>,
        /// Minimum one-way latency (ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_ms_min: Option<u64>,
        /// Maximum one-way latency (ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_ms_max: Option<u64>,
    },
    /// Lose one message in flight.
    DropMessage {
        /// Its id.
        id: MessageId,
    },
    /// Every running non-leader's election timer set to the same deadline (split votes).
    AlignTimers,
    /// The running non-leaders' election timers spread over the timeout range.
    SpreadTimers,
    /// Raft rules switched off on purpose from now on (all of them given; see `BrokenRules`).
    BreakRules {
        /// The switches.
        rules: BrokenRules,
    },
    /// Pause, resume or speed change. It changes nothing in the cluster, but the driver numbers
    /// it in the event stream (`control_changed`), so a byte-identical replay needs it.
    Control {
        /// Paused after it?
        paused: bool,
        /// Speed after it.
        speed: f64,
    },
}

impl TraceInput {
    /// Checks that need no run: node ids in range.
    pub(super) fn check(&self, config: &SimConfig) -> Result<(), String> {
        if let TraceInput::Control { speed, .. } = self {
            if !speed.is_finite() || *speed < 0.0 {
                return Err(format!("speed {} is not a speed", Shortest(*speed)));
            }
        }
        match self.unknown_node(config.nodes) {
            Some(id) => Err(format!("there is no node S{id}")),
            None => Ok(()),
        }
    }

    /// The first node this input names that a cluster of `nodes` does not have, if any.
    pub(super) fn unknown_node(&self, nodes: u64) -> Option<NodeId> {
        let ids: Vec<NodeId> = match self {
            TraceInput::Append { node, .. } => node.iter().copied().collect(),
            TraceInput::Crash { node }
            | TraceInput::Restart { node }
            | TraceInput::PowerLoss { node }
            | TraceInput::Timeout { node }
            | TraceInput::Isolate { node } => vec![*node],
            TraceInput::Cut { from, to } | TraceInput::Uncut { from, to } => vec![*from, *to],
            TraceInput::Partition { groups } => groups.iter().flatten().copied().collect(),
            _ => Vec::new(),
        };
        ids.into_iter().find(|id| *id == 0 || *id > nodes)
    }

    /// A short description for summaries and branch lists ("crash S2").
    pub fn describe(&self) -> String {
        match self {
            TraceInput::Append { command, node, .. } => match node {
                Some(n) => format!("append \"{command}\" to S{n}"),
                None => format!("append \"{command}\""),
            },
            TraceInput::Crash { node } => format!("crash S{node}"),
            TraceInput::Restart { node } => format!("restart S{node}"),
            TraceInput::PowerLoss { node } => format!("power loss S{node}"),
            TraceInput::Timeout { node } => format!("timeout S{node}"),
            TraceInput::Partition { groups } => format!("partition {groups:?}"),
            TraceInput::Cut { from, to } => format!("cut S{from}→S{to}"),
            TraceInput::Uncut { from, to } => format!("uncut S{from}→S{to}"),
            TraceInput::Isolate { node } => format!("isolate S{node}"),
            TraceInput::Heal => "heal".into(),
            TraceInput::Network { .. } => "network change".into(),
            TraceInput::DropMessage { id } => format!("drop message {id}"),
            TraceInput::AlignTimers => "align timers".into(),
            TraceInput::SpreadTimers => "spread timers".into(),
            TraceInput::BreakRules { rules } if rules.any() => {
                format!("break Raft: {}", rules.names().join(", "))
            }
            TraceInput::BreakRules { .. } => "restore every Raft rule".into(),
            TraceInput::Control { paused, speed } => {
                format!(
                    "{} at speed {}",
                    if *paused { "pause" } else { "run" },
                    Shortest(*speed)
                )
            }
        }
    }

    /// True for what a person would call an action (undo steps back over these); pause and
    /// speed changes are not.
    pub fn is_action(&self) -> bool {
        !matches!(self, TraceInput::Control { .. })
    }
}

/// Give `input` to the simulator now. An append returns what it became. A refusal is returned
/// as the simulator words it; refused inputs belong in a trace too (a refused append still uses
/// up a request id, so dropping it would change later events).
pub fn apply<S: Storage>(
    sim: &mut Sim<S>,
    input: &TraceInput,
) -> Result<Option<AppendAccepted>, SimError> {
    match input {
        TraceInput::Append {
            command,
            node,
            client,
        } => return sim.propose_from(*node, *command, *client).map(Some),
        TraceInput::Crash { node } => sim.crash(*node)?,
        TraceInput::Restart { node } => sim.restart(*node)?,
        TraceInput::PowerLoss { node } => sim.power_loss(*node)?,
        TraceInput::Timeout { node } => sim.force_timeout(*node)?,
        TraceInput::Partition { groups } => sim.partition(groups.clone())?,
        TraceInput::Cut { from, to } => sim.cut(*from, *to)?,
        TraceInput::Uncut { from, to } => sim.uncut(*from, *to)?,
        TraceInput::Isolate { node } => sim.isolate(*node)?,
        TraceInput::Heal => sim.heal(),
        TraceInput::Network {
            loss_probability,
            duplicate_probability,
            latency_ms_min,
            latency_ms_max,
        } => sim.set_network(
            *loss_probability,
            *duplicate_probability,
            *latency_ms_min,
            *latency_ms_max,
        )?,
        TraceInput::DropMessage { id } => sim.drop_message(*id)?,
        TraceInput::AlignTimers => sim.align_timers(),
        TraceInput::SpreadTimers => sim.spread_timers(),
        TraceInput::BreakRules { rules } => sim.set_broken_rules(*rules),
        TraceInput::Control { paused, speed } => sim.record_event(Event::ControlChanged {
            paused: *paused,
            speed: *speed,
        }),
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CONTROL_TYPE` is what the derived writer puts in `type` for a control input, and no
    /// action is written with it (the page tells actions apart by this tag alone).
    #[test]
    fn control_type_is_the_control_inputs_tag_only() {
        let control = TraceInput::Control {
            paused: true,
            speed: 1.0,
        };
        let json = serde_json::to_value(&control).unwrap();
        assert_eq!(json["type"], CONTROL_TYPE);
        assert!(!control.is_action());
        let crash = TraceInput::Crash { node: NodeId(1) };
        assert_ne!(serde_json::to_value(&crash).unwrap()["type"], CONTROL_TYPE);
        assert!(crash.is_action());
    }
}
