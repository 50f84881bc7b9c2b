//! People's fault, network and timer controls as the server's driver and the page's engine both
//! carry them out: which trace input a command stands for, and the sentence that answers it once
//! the simulator has taken it. Owns the mapping and the wording; must not apply anything (each
//! runner records the input itself, and handles appends, playback, resets and rule switches).

use crate::protocol::ClientCommand;
use crate::raft::BrokenRules;
use crate::sim::Sim;
use crate::storage::Storage;
use crate::types::LogIndex;

use super::TraceInput;

/// The trace input a fault, network or timer command stands for; `None` for every other command
/// (appends, restart, playback, reset, rule switches, the presenter's view, answers).
pub fn control_input(command: &ClientCommand) -> Option<TraceInput> {
    Some(match command.clone() {
        ClientCommand::Crash { node } => TraceInput::Crash { node },
        ClientCommand::PowerLoss { node } => TraceInput::PowerLoss { node },
        ClientCommand::Timeout { node } => TraceInput::Timeout { node },
        ClientCommand::Partition { groups } => TraceInput::Partition { groups },
        ClientCommand::Cut { from, to } => TraceInput::Cut { from, to },
        ClientCommand::Uncut { from, to } => TraceInput::Uncut { from, to },
        ClientCommand::Isolate { node } => TraceInput::Isolate { node },
        ClientCommand::Heal => TraceInput::Heal,
        ClientCommand::Network {
            loss_probability,
            duplicate_probability,
            latency_ms_min,
            latency_ms_max,
        } => TraceInput::Network {
            loss_probability,
            duplicate_probability,
            latency_ms_min,
            latency_ms_max,
        },
        ClientCommand::DropMessage { id } => TraceInput::DropMessage { id },
        ClientCommand::AlignTimers => TraceInput::AlignTimers,
        ClientCommand::SpreadTimers => TraceInput::SpreadTimers,
        _ => return None,
    })
}

/// The sentence that answers a [`control_input`] once `sim` has taken it (it reads the state
/// the input left: where a power loss cut the log, the network as it now is).
pub fn control_reply<S: Storage>(input: &TraceInput, sim: &Sim<S>) -> String {
    match input {
        TraceInput::Crash { node } => {
            format!("S{node} crashed: its volatile state is gone, its disk stays")
        }
        TraceInput::PowerLoss { node } => {
            let synced = sim
                .storage(*node)
                .map_or(LogIndex(0), Storage::synced_index);
            format!(
                "S{node} lost power: writes not yet synced are gone; its log now ends at index \
                 {synced}"
            )
        }
        TraceInput::Timeout { node } => format!("S{node}'s election timer fired"),
        TraceInput::Partition { .. } => {
            let view = sim.network_view();
            if view.partitions.is_empty() {
                "no partition: every node is in one group".into()
            } else {
                format!("partitioned into {:?}", view.partitions)
            }
        }
        TraceInput::Cut { from, to } => format!("cut the link S{from} → S{to}"),
        TraceInput::Uncut { from, to } => format!("restored the link S{from} → S{to}"),
        TraceInput::Isolate { node } => format!("cut every link to and from S{node}"),
        TraceInput::Heal => "removed every partition and cut link".into(),
        TraceInput::Network { .. } => {
            let n = sim.network_view();
            format!(
                "network: loss {}, duplication {}, latency {}..{} ms",
                n.loss_probability, n.duplicate_probability, n.latency_ms_min, n.latency_ms_max
            )
        }
        TraceInput::DropMessage { id } => format!("dropped message {id}"),
        TraceInput::AlignTimers => {
            "every follower's election timer now fires at the same instant".into()
        }
        TraceInput::SpreadTimers => {
            "the followers' election timers are spread over the timeout range".into()
        }
        other => format!("{other:?}"),
    }
}

/// The answer to switching Raft rules off (or back on).
pub fn broken_rules_reply(rules: &BrokenRules) -> String {
    if rules.any() {
        format!(
            "Raft rules switched off on purpose: {} (from now on; start a new cluster to stage a \
             scenario from the beginning)",
            rules.names().join(", ")
        )
    } else {
        "every Raft rule is back on".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;
    use crate::types::NodeId;

    #[test]
    fn a_control_maps_to_its_input_and_is_answered_from_the_state_it_left() {
        let mut sim = Sim::new(SimConfig::default()).unwrap();
        let heal = control_input(&ClientCommand::Heal).expect("heal is a control");
        assert_eq!(heal, TraceInput::Heal);
        let crash = control_input(&ClientCommand::Crash { node: NodeId(2) }).unwrap();
        super::super::apply(&mut sim, &crash).unwrap();
        assert_eq!(
            control_reply(&crash, &sim),
            "S2 crashed: its volatile state is gone, its disk stays"
        );
        assert!(control_input(&ClientCommand::Pause).is_none());
        assert!(control_input(&ClientCommand::Step).is_none());
    }
}
