//! Determinism and the randomized simulation test. One seed must reproduce a run bit for bit
//! (madsim's `check_determinism`: run twice, compare the event logs), different seeds must give
//! different runs, and a CI budget of chaos seeds must pass the safety checker — a failure prints
//! the seed and the command that replays it. Owns no production code.
//!
//! The sweep's size: `LOGSCOPE_SEEDS` (how many seeds) and `LOGSCOPE_SEED_START` (the first),
//! e.g. `LOGSCOPE_SEEDS=20000 cargo test --release -p logscope-shared --test determinism`.

use shared::protocol::{ClusterSnapshot, SimEvent};
use shared::sim::chaos::{self, ChaosFailure};
use shared::sim::NetworkSettings;
use shared::NodeId;
use shared::{Sim, SimConfig};

/// Seeds run by default: about 20 s of a debug build on one core (measured with `taskset -c 0`:
/// 2 000 seeds of 10 s virtual time took 16 s, ~8 ms a seed).
const SEEDS_DEFAULT: u64 = 2_000;
/// Virtual time per seed. It must equal the `simulate` binary's default, because the replay
/// command in `ChaosFailure`'s message (`--seed N`) relies on that default.
const DURATION_MS: u64 = 10_000;

/// A run with every kind of input: a lossy, duplicating, reordering network, client requests,
/// a crash, a partition, a power loss and restarts. Returns every event and the final state.
fn scripted_run(seed: u64) -> (Vec<SimEvent>, ClusterSnapshot) {
    let mut sim = Sim::new(SimConfig {
        nodes: 5,
        seed,
        network: NetworkSettings {
            latency_ms_min: 2,
            latency_ms_max: 25,
            loss_probability: 0.05,
            duplicate_probability: 0.05,
        },
        ..SimConfig::default()
    })
    .expect("valid config");
    let mut events = Vec::new();
    let phase = |sim: &mut Sim, ms: u64, events: &mut Vec<SimEvent>| {
        sim.run_for(ms);
        events.extend(sim.take_events());
    };
    phase(&mut sim, 1_500, &mut events);
    for text in ["add 5", "add rand", "mul 3"] {
        // Refusals are part of the run too (they are events); only their presence matters here.
        let _ = sim.propose(None, text.parse().expect("a valid command"));
        phase(&mut sim, 40, &mut events);
    }
    if let Some(leader) = sim.leader() {
        sim.crash(leader).expect("leader is up");
    }
    phase(&mut sim, 1_000, &mut events);
    sim.partition(vec![
        vec![NodeId(1), NodeId(2)],
        vec![NodeId(3), NodeId(4), NodeId(5)],
    ])
    .expect("valid groups");
    let _ = sim.propose(Some(NodeId(1)), "set 9".parse().unwrap());
    let _ = sim.propose(Some(NodeId(4)), "add 1".parse().unwrap());
    phase(&mut sim, 1_000, &mut events);
    sim.heal();
    let _ = sim.power_loss(NodeId(3));
    phase(&mut sim, 300, &mut events);
    for id in 1..=5 {
        let _ = sim.restart(NodeId(id));
    }
    phase(&mut sim, 2_000, &mut events);
    (events, sim.snapshot())
}

/// The same seed and inputs give the same run, event for event, and the same final state.
#[test]
fn same_seed_gives_identical_event_logs() {
    let (a, snap_a) = scripted_run(7);
    let (b, snap_b) = scripted_run(7);
    assert!(
        a.len() > 1_000,
        "the run should be busy, got {} events",
        a.len()
    );
    if let Some(k) = a.iter().zip(&b).position(|(x, y)| x != y) {
        panic!("runs diverge at event {k}:\n  {:?}\n  {:?}", a[k], b[k]);
    }
    assert_eq!(a.len(), b.len());
    assert_eq!(snap_a, snap_b);
    // seq numbers are 1, 2, 3, … without gaps.
    assert!(a.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
}

/// Different seeds give different runs (timeouts, latencies and losses all come from the seed).
#[test]
fn different_seeds_give_different_runs() {
    let (a, _) = scripted_run(7);
    let (b, _) = scripted_run(8);
    assert_ne!(a, b);
}

/// The randomized runs are deterministic too: the same chaos seed produces the same events.
#[test]
fn a_chaos_seed_replays_exactly() {
    for seed in [0, 1, 42] {
        let mut first = Vec::new();
        let mut second = Vec::new();
        let r1 = chaos::run(seed, 3_000, |batch| first.extend_from_slice(batch));
        let r2 = chaos::run(seed, 3_000, |batch| second.extend_from_slice(batch));
        assert_eq!(r1, r2, "seed {seed}: reports differ");
        assert!(!first.is_empty());
        assert!(first == second, "seed {seed}: event logs differ");
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {text:?}")),
        Err(_) => default,
    }
}

/// The randomized simulation test (TigerBeetle's VOPR in miniature): each seed picks a cluster,
/// a fault schedule and a client load, the checker runs after every step, and at the end the
/// healed cluster must elect a leader and commit everywhere. Every failing seed is printed with
/// its replay command.
#[test]
fn chaos_seeds_pass_the_safety_checker() {
    let count = env_u64("LOGSCOPE_SEEDS", SEEDS_DEFAULT);
    let start = env_u64("LOGSCOPE_SEED_START", 0);
    let mut failures: Vec<ChaosFailure> = Vec::new();
    let mut committed = 0;
    for seed in start..start.saturating_add(count) {
        match chaos::run(seed, DURATION_MS, |_| {}) {
            Ok(report) => committed += report.committed,
            Err(failure) => {
                eprintln!("{failure}");
                failures.push(failure);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} chaos seeds failed (from {start}); first:\n{}",
        failures.len(),
        failures[0]
    );
    assert!(
        count == 0 || committed > 0,
        "{count} seeds committed nothing at all: the load never ran"
    );
}
