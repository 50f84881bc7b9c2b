//! People's fault, network and timer controls as the server's driver and the page's engine both
//! carry them out: which trace input a command stands for, and the sentence that answers it once
//! the simulator has taken it. Owns the mapping and the wording; must not apply anything (each
//! runner records the input itself, and handles appends, playback, resets and rule switches).

use crate::protocol::ClientCommand;
use crate::raft::BrokenRules;
use crate::shortest::Shortest;
use crate::sim::{Sim, SimConfig};
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
                // "{S1, S5} | {S2, S3, S4}": the names the page draws, not Rust's debug text.
                let groups: Vec<String> = view
                    .partitions
                    .iter()
                    .map(|group| {
                        let names: Vec<String> = group.iter().map(|n| format!("S{n}")).collect();
                        format!("{{{}}}", names.join(", "))
                    })
                    .collect();
                format!("partitioned into {}", groups.join(" | "))
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
                Shortest(n.loss_probability),
                Shortest(n.duplicate_probability),
                n.latency_ms_min,
                n.latency_ms_max
            )
        }
        TraceInput::DropMessage { id } => format!("dropped message {id}"),
        TraceInput::AlignTimers => {
            "every follower's election timer now fires at the same instant".into()
        }
        TraceInput::SpreadTimers => {
            "the followers' election timers are spread over the timeout range".into()
        }
        // Not reached (control_input makes only the inputs above); words, not Debug text.
        other => other.describe(),
    }
}

/// The configuration a `reset` asks for: `current` with every field the command gives replaced
/// (`None` for every other command). Validating it is the simulator's job.
pub fn reset_config(current: &SimConfig, command: &ClientCommand) -> Option<SimConfig> {
    let ClientCommand::Reset {
        nodes,
        seed,
        log_model,
        election_timeout_ms_min,
        election_timeout_ms_max,
        heartbeat_interval_ms,
        default_settings,
    } = *command
    else {
        return None;
    };
    // What a lesson or the lab leaves behind goes; the cluster's size, seed and model stay.
    let mut cluster = if default_settings {
        current.with_default_settings()
    } else {
        current.clone()
    };
    cluster.nodes = nodes.unwrap_or(cluster.nodes);
    cluster.seed = seed.unwrap_or(cluster.seed);
    cluster.log_model = log_model.unwrap_or(cluster.log_model);
    let t = &mut cluster.timing;
    t.election_timeout_ms_min = election_timeout_ms_min.unwrap_or(t.election_timeout_ms_min);
    t.election_timeout_ms_max = election_timeout_ms_max.unwrap_or(t.election_timeout_ms_max);
    t.heartbeat_interval_ms = heartbeat_interval_ms.unwrap_or(t.heartbeat_interval_ms);
    Some(cluster)
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
        let partition = TraceInput::Partition {
            groups: vec![
                vec![NodeId(1), NodeId(5)],
                vec![NodeId(2), NodeId(3), NodeId(4)],
            ],
        };
        super::super::apply(&mut sim, &partition).unwrap();
        let said = control_reply(&partition, &sim);
        assert!(
            said.contains("{S1, S5}") && said.contains("{S2, S3, S4}"),
            "{said}"
        );
        assert!(!said.contains("NodeId"), "{said}");
        assert!(control_input(&ClientCommand::Pause).is_none());
        assert!(control_input(&ClientCommand::Step).is_none());
    }

    #[test]
    fn a_reset_keeps_what_it_does_not_name() {
        let current = SimConfig::default();
        let asked = ClientCommand::Reset {
            nodes: Some(3),
            seed: None,
            log_model: None,
            election_timeout_ms_min: None,
            election_timeout_ms_max: None,
            heartbeat_interval_ms: Some(40),
            default_settings: false,
        };
        let next = reset_config(&current, &asked).expect("a reset");
        assert_eq!(next.nodes, 3);
        assert_eq!(next.seed, current.seed);
        assert_eq!(next.timing.heartbeat_interval_ms, 40);
        assert_eq!(
            next.timing.election_timeout_ms_min,
            current.timing.election_timeout_ms_min
        );
        assert!(reset_config(&current, &ClientCommand::Heal).is_none());
    }

    /// After a lesson: a broken rule, slow timers and a fixed latency are what the lesson
    /// wanted, not the next demo. `default_settings` drops them and keeps the cluster's size,
    /// seed and model; a field given still wins.
    #[test]
    fn a_reset_from_the_default_settings_drops_what_a_lesson_left() {
        let mut current = SimConfig {
            nodes: 3,
            seed: 77,
            ..SimConfig::default()
        };
        current.broken_rules.forget_vote_on_restart = true;
        current.timing.election_timeout_ms_min = 30_000;
        current.timing.election_timeout_ms_max = 40_000;
        current.network.latency_ms_max = 5;
        let reset = |default_settings| ClientCommand::Reset {
            nodes: None,
            seed: None,
            log_model: None,
            election_timeout_ms_min: None,
            election_timeout_ms_max: None,
            heartbeat_interval_ms: Some(40),
            default_settings,
        };
        let kept = reset_config(&current, &reset(false)).expect("a reset");
        assert!(kept.broken_rules.forget_vote_on_restart);
        assert_eq!(kept.timing.election_timeout_ms_min, 30_000);
        let fresh = reset_config(&current, &reset(true)).expect("a reset");
        let defaults = SimConfig::default();
        assert!(!fresh.broken_rules.any());
        assert_eq!(fresh.network, defaults.network);
        assert_eq!(
            (
                fresh.timing.election_timeout_ms_min,
                fresh.timing.election_timeout_ms_max
            ),
            (
                defaults.timing.election_timeout_ms_min,
                defaults.timing.election_timeout_ms_max
            )
        );
        assert_eq!(fresh.timing.heartbeat_interval_ms, 40);
        assert_eq!((fresh.nodes, fresh.seed), (3, 77));
    }
}
