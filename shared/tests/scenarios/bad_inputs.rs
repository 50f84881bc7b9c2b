//! Bad inputs: requests and faults the simulator must refuse get the right error and change
//! nothing, and configurations out of range are refused before anything runs.

use super::config;
use crate::common::Checked;
use shared::sim::{NetworkSettings, SimError};
use shared::NodeId;
use shared::{ClientSerial, Command, Sim, SimConfig};

/// Bad inputs get the right error and change nothing: same snapshot, no events.
#[test]
fn bad_inputs_are_refused_and_change_nothing() {
    let mut c = Checked::new(config(5, 81));
    let leader = c.await_leader(3_000);
    let down = NodeId::all(5).find(|id| *id != leader).unwrap();
    c.with(|s| s.crash(down)).unwrap();
    let up = NodeId::all(5)
        .find(|id| *id != leader && *id != down)
        .unwrap();

    type Case = (
        &'static str,
        Box<dyn Fn(&mut Sim) -> Result<(), SimError>>,
        SimError,
    );
    let unknown = |id| SimError::UnknownNode(id, 5);
    let bad_config = || SimError::BadConfig(String::new()); // message compared by kind below
    let cases: Vec<Case> = vec![
        (
            "crash 0",
            Box::new(|s| s.crash(NodeId(0))),
            unknown(NodeId(0)),
        ),
        (
            "crash 99",
            Box::new(|s| s.crash(NodeId(99))),
            unknown(NodeId(99)),
        ),
        (
            "restart 0",
            Box::new(|s| s.restart(NodeId(0))),
            unknown(NodeId(0)),
        ),
        (
            "power loss 99",
            Box::new(|s| s.power_loss(NodeId(99))),
            unknown(NodeId(99)),
        ),
        (
            "timeout 99",
            Box::new(|s| s.force_timeout(NodeId(99))),
            unknown(NodeId(99)),
        ),
        (
            "isolate 0",
            Box::new(|s| s.isolate(NodeId(0))),
            unknown(NodeId(0)),
        ),
        (
            "cut to 99",
            Box::new(|s| s.cut(NodeId(1), NodeId(99))),
            unknown(NodeId(99)),
        ),
        (
            "propose to 0",
            Box::new(|s| {
                s.propose(Some(NodeId(0)), "add 1".parse().unwrap())
                    .map(|_| ())
            }),
            unknown(NodeId(0)),
        ),
        (
            "propose to 99",
            Box::new(|s| {
                s.propose(Some(NodeId(99)), "add 1".parse().unwrap())
                    .map(|_| ())
            }),
            unknown(NodeId(99)),
        ),
        (
            "crash twice",
            Box::new(move |s| s.crash(down)),
            SimError::NodeDown(down),
        ),
        (
            "power loss of a down node",
            Box::new(move |s| s.power_loss(down)),
            SimError::NodeDown(down),
        ),
        (
            "timeout of a down node",
            Box::new(move |s| s.force_timeout(down)),
            SimError::NodeDown(down),
        ),
        (
            "propose to a down node",
            Box::new(move |s| s.propose(Some(down), "add 1".parse().unwrap()).map(|_| ())),
            SimError::NodeDown(down),
        ),
        (
            "propose_with_id to a down node",
            Box::new(move |s| s.propose_with_id(down, Command::Add(1), 7).map(|_| ())),
            SimError::NodeDown(down),
        ),
        (
            "restart a running node",
            Box::new(move |s| s.restart(up)),
            SimError::NodeUp(up),
        ),
        (
            "timeout the leader",
            Box::new(move |s| s.force_timeout(leader)),
            SimError::LeaderTimeout(leader),
        ),
        (
            "client id 0 is the simulator's own",
            Box::new(move |s| {
                let client = Some(ClientSerial {
                    client_id: 0,
                    serial: 1,
                });
                s.propose_as(up, Command::Add(1), 8, client).map(|_| ())
            }),
            SimError::ReservedClient,
        ),
        (
            "node in two partition groups",
            Box::new(|s| s.partition(vec![vec![NodeId(1), NodeId(2)], vec![NodeId(2), NodeId(3)]])),
            bad_config(),
        ),
        (
            "node twice in one partition group",
            Box::new(|s| s.partition(vec![vec![NodeId(1), NodeId(1)], vec![NodeId(2)]])),
            bad_config(),
        ),
        (
            "unknown node in a partition",
            Box::new(|s| s.partition(vec![vec![NodeId(1), NodeId(99)]])),
            unknown(NodeId(99)),
        ),
        (
            "cut a node from itself",
            Box::new(|s| s.cut(NodeId(2), NodeId(2))),
            bad_config(),
        ),
        (
            "latency min above max",
            Box::new(|s| s.set_network(None, None, Some(50), Some(10))),
            bad_config(),
        ),
        (
            "loss 1.5",
            Box::new(|s| s.set_network(Some(1.5), None, None, None)),
            bad_config(),
        ),
        (
            "negative duplication",
            Box::new(|s| s.set_network(None, Some(-0.1), None, None)),
            bad_config(),
        ),
        (
            "loss NaN",
            Box::new(|s| s.set_network(Some(f64::NAN), None, None, None)),
            bad_config(),
        ),
        (
            "latency too high",
            Box::new(|s| s.set_network(None, None, None, Some(1_000_000))),
            bad_config(),
        ),
        (
            "drop a message that is not in flight",
            Box::new(|s| s.drop_message(u64::MAX)),
            SimError::UnknownMessage(u64::MAX),
        ),
    ];
    for (name, op, want) in cases {
        let before = c.sim.snapshot();
        let got = op(&mut c.sim).expect_err(name);
        match (&got, &want) {
            (SimError::BadConfig(msg), SimError::BadConfig(_)) => {
                assert!(!msg.is_empty(), "{name}: the error must say why")
            }
            _ => assert_eq!(got, want, "{name}"),
        }
        assert!(!got.to_string().is_empty());
        assert_eq!(c.sim.snapshot(), before, "{name} changed the cluster");
        let events = c.sim.take_events();
        assert!(events.is_empty(), "{name} emitted {events:?}");
    }

    // The simulator still works after all that.
    c.with(|s| s.restart(down)).unwrap();
    let index = c.propose_to_leader("add 1");
    c.await_applied_everywhere(index, 2_000);
}

/// A configuration out of range is refused with a message, before anything runs.
#[test]
fn bad_configurations_are_refused() {
    let with = |f: &dyn Fn(&mut SimConfig)| {
        let mut cfg = SimConfig::default();
        f(&mut cfg);
        cfg
    };
    let bad = [
        ("no nodes", with(&|c| c.nodes = 0)),
        ("ten nodes", with(&|c| c.nodes = 10)),
        (
            "election min above max",
            with(&|c| {
                c.timing.election_timeout_ms_min = 400;
                c.timing.election_timeout_ms_max = 300;
            }),
        ),
        (
            "zero election timeout",
            with(&|c| c.timing.election_timeout_ms_min = 0),
        ),
        (
            "zero heartbeat",
            with(&|c| c.timing.heartbeat_interval_ms = 0),
        ),
        ("zero batch", with(&|c| c.timing.max_entries_per_append = 0)),
        (
            "loss 1.5",
            with(&|c| {
                c.network = NetworkSettings {
                    loss_probability: 1.5,
                    ..NetworkSettings::default()
                }
            }),
        ),
        (
            "latency min above max",
            with(&|c| {
                c.network.latency_ms_min = 20;
                c.network.latency_ms_max = 10;
            }),
        ),
    ];
    for (name, cfg) in bad {
        match Sim::new(cfg) {
            Err(SimError::BadConfig(msg)) => assert!(!msg.is_empty(), "{name}"),
            Err(other) => panic!("{name}: wrong error {other:?}"),
            Ok(_) => panic!("{name}: accepted"),
        }
    }
}
