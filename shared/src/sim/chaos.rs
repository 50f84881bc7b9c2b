//! Randomized runs: one seed picks a cluster, a fault schedule and a client load, and the safety
//! checker runs after every step. Owns the fault schedule only; a failing seed replays exactly
//! with `cargo run --release -p logscope-tools --bin simulate -- --seed <seed>`.

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::protocol::{SimEvent, Timing};
use crate::rng::Rng;
use crate::sim::checker::{Checker, Violation};
use crate::sim::{NetworkSettings, Sim, SimConfig};
use crate::types::{LogModel, NodeId, Role};

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChaosReport {
    /// The seed.
    pub seed: u64,
    /// Cluster size.
    pub nodes: u64,
    /// Log model.
    pub log_model: LogModel,
    /// Events checked.
    pub events: u64,
    /// Entries committed by the end.
    pub committed: u64,
    /// Client requests accepted.
    pub proposals: u64,
    /// Crashes, power losses and network faults injected.
    pub faults: u64,
    /// Virtual time simulated (ms).
    pub virtual_ms: u64,
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosFailure {
    /// The seed that reproduces it.
    pub seed: u64,
    /// What broke.
    pub violation: Violation,
}

impl std::fmt::Display for ChaosFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {}: {}\n  reproduce with: cargo run --release -p logscope-tools --bin simulate \
             -- --seed {}",
            self.seed, self.violation, self.seed
        )
    }
}

/// The cluster a seed asks for: 1 to 7 nodes, either log model, and a network from perfect to
/// quite bad.
pub fn config_for_seed(seed: u64) -> SimConfig {
    let mut rng = Rng::new(seed ^ 0xC4A0_5EED);
    let nodes = [1, 2, 3, 3, 4, 5, 5, 5, 6, 7][rng.range_inclusive(0, 9) as usize];
    let log_model = if rng.chance(0.5) {
        LogModel::Command
    } else {
        LogModel::State
    };
    let latency_ms_min = rng.range_inclusive(1, 10);
    SimConfig {
        nodes,
        seed,
        log_model,
        timing: Timing {
            fsync_ms: rng.range_inclusive(0, 5),
            max_entries_per_append: rng.range_inclusive(1, 8),
            ..Timing::default()
        },
        broken_rules: Default::default(),
        network: NetworkSettings {
            latency_ms_min,
            latency_ms_max: latency_ms_min + rng.range_inclusive(0, 20),
            loss_probability: [0.0, 0.0, 0.02, 0.1, 0.3][rng.range_inclusive(0, 4) as usize],
            duplicate_probability: [0.0, 0.0, 0.05, 0.2][rng.range_inclusive(0, 3) as usize],
        },
    }
}

/// Run one seed for `duration_ms` of virtual time with faults, then heal everything and check
/// that the cluster recovers: a leader is elected, a new entry commits everywhere, and every
/// committed entry is on every node. `on_events` sees every batch (for determinism checks).
///
/// A panic inside the core or the simulator (a broken `assert!`, e.g. "election safety: two
/// leaders") is this seed's failure, reported with the seed like any other, so that a sweep goes
/// on and names it. A panic raised by `on_events` itself is the caller's and is passed on
/// untouched (the `simulate` binary stops runaway seeds that way).
pub fn run(
    seed: u64,
    duration_ms: u64,
    on_events: impl FnMut(&[SimEvent]),
) -> Result<ChaosReport, ChaosFailure> {
    guarded(seed, on_events, |watched| {
        run_unguarded(seed, duration_ms, watched)
    })
}

/// Run `body` (one seed's run, which reports each batch of events to the callback it is given),
/// turning a panic inside it into the seed's failure. A panic raised by `on_events` itself is
/// passed on untouched.
fn guarded(
    seed: u64,
    mut on_events: impl FnMut(&[SimEvent]),
    body: impl FnOnce(&mut dyn FnMut(&[SimEvent])) -> Result<ChaosReport, ChaosFailure>,
) -> Result<ChaosReport, ChaosFailure> {
    let in_callback = Cell::new(false);
    let last_time_ms = Cell::new(0);
    let mut watched = |batch: &[SimEvent]| {
        if let Some(last) = batch.last() {
            last_time_ms.set(last.time_ms);
        }
        in_callback.set(true);
        on_events(batch);
        in_callback.set(false);
    };
    match catch_unwind(AssertUnwindSafe(|| body(&mut watched))) {
        Ok(result) => result,
        Err(payload) if in_callback.get() => resume_unwind(payload),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".to_string());
            Err(ChaosFailure {
                seed,
                violation: Violation {
                    property: "no panic",
                    detail: format!("the run panicked: {message}"),
                    // The simulator died with the panic: the time of its last event.
                    time_ms: last_time_ms.get(),
                },
            })
        }
    }
}

fn run_unguarded(
    seed: u64,
    duration_ms: u64,
    mut on_events: impl FnMut(&[SimEvent]),
) -> Result<ChaosReport, ChaosFailure> {
    let config = config_for_seed(seed);
    let mut report = ChaosReport {
        seed,
        nodes: config.nodes,
        log_model: config.log_model,
        ..ChaosReport::default()
    };
    let mut sim = Sim::new(config.clone()).expect("chaos configs are valid");
    let mut checker = Checker::new();
    let mut rng = Rng::new(seed ^ 0xFA17_5EED);
    let fail = |violation| ChaosFailure { seed, violation };
    let n = config.nodes;
    let pick = |rng: &mut Rng| NodeId(rng.range_inclusive(1, n));
    let usual_latency = (config.network.latency_ms_min, config.network.latency_ms_max);
    // The nodes' first start, checked before anything else happens.
    drain(&mut sim, &mut checker, &mut report, &mut on_events).map_err(fail)?;

    let mut t = 0;
    while t < duration_ms {
        t += rng.range_inclusive(1, 120);
        advance(&mut sim, &mut checker, t, &mut report, &mut on_events).map_err(fail)?;
        let roll = rng.range_inclusive(0, 99);
        let target = pick(&mut rng);
        let ok = match roll {
            0..=44 => {
                use crate::command::Command::{Add, AddRand, Mul, Set};
                let command = [Add(1), Add(5), Mul(2), Set(7), AddRand, Add(-3)]
                    [rng.range_inclusive(0, 5) as usize];
                let node = rng.chance(0.5).then_some(target);
                let accepted = sim.propose(node, command).is_ok();
                report.proposals += u64::from(accepted);
                true
            }
            45..=52 => sim.crash(target).is_ok(),
            53..=62 => sim.restart(target).is_ok(),
            63..=65 => sim.power_loss(target).is_ok(),
            66..=69 => {
                let mut groups = vec![Vec::new(), Vec::new()];
                for id in NodeId::all(n) {
                    groups[rng.range_inclusive(0, 1) as usize].push(id);
                }
                sim.partition(groups).is_ok()
            }
            70..=75 => {
                sim.heal();
                true
            }
            76..=79 => {
                let other = pick(&mut rng);
                if rng.chance(0.5) {
                    sim.cut(target, other).is_ok()
                } else {
                    sim.uncut(target, other).is_ok()
                }
            }
            80..=82 => sim.force_timeout(target).is_ok(),
            83..=84 => {
                let id = sim.messages_in_flight().next().map(|m| m.id);
                id.is_some_and(|id| sim.drop_message(id).is_ok())
            }
            // Aimed at the leader: most bugs (Figure 8, votes and acknowledgements that must
            // survive) need leaders to change hands at awkward moments.
            85..=87 => match sim.leader() {
                Some(leader) => match rng.range_inclusive(0, 2) {
                    0 => sim.crash(leader).is_ok(),
                    1 => sim.power_loss(leader).is_ok(),
                    _ => {
                        let others = NodeId::all(n).filter(|id| *id != leader).collect();
                        sim.partition(vec![vec![leader], others]).is_ok()
                    }
                },
                None => false,
            },
            // A leader loses power right after accepting requests, before (or while) its disk
            // catches up: written-but-unsynced entries and terms are lost, and must not have
            // been promised to anyone.
            88..=89 => match sim.leader() {
                Some(leader) => {
                    for _ in 0..rng.range_inclusive(1, 3) {
                        use crate::command::Command::{Add, Mul, Set};
                        let command = [Add(1), Set(9), Mul(3)][rng.range_inclusive(0, 2) as usize];
                        report.proposals += u64::from(sim.propose(Some(leader), command).is_ok());
                        drain(&mut sim, &mut checker, &mut report, &mut on_events).map_err(fail)?;
                    }
                    let until = sim.now_ms() + rng.range_inclusive(0, config.timing.fsync_ms);
                    advance(&mut sim, &mut checker, until, &mut report, &mut on_events)
                        .map_err(fail)?;
                    sim.power_loss(leader).is_ok()
                }
                None => false,
            },
            // A slow spell: one-way latency above the heartbeat interval, so a lagging
            // follower's catch-up batches overtake one another — an older batch (or its
            // heartbeat copy) arrives after a newer one, the case where a follower that commits
            // to its log end instead of to the last new entry goes wrong (§5.3, Figure 2).
            90..=93 => {
                let min = rng.range_inclusive(20, 60);
                let max = min + rng.range_inclusive(40, 100);
                sim.set_network(None, None, Some(min), Some(max)).is_ok()
            }
            94..=96 => sim
                .set_network(None, None, Some(usual_latency.0), Some(usual_latency.1))
                .is_ok(),
            _ => false,
        };
        if ok && (45..=96).contains(&roll) {
            report.faults += 1;
        }
        drain(&mut sim, &mut checker, &mut report, &mut on_events).map_err(fail)?;
    }

    // Recovery: heal the network, restart everyone, and give the cluster time to settle.
    sim.heal();
    sim.set_network(
        Some(0.0),
        Some(0.0),
        Some(usual_latency.0),
        Some(usual_latency.1),
    )
    .expect("valid network");
    // The checker judges each input against the state right after it, so every restart is
    // checked on its own, before any message reaches the restarted node.
    for id in NodeId::all(n) {
        let _ = sim.restart(id);
        drain(&mut sim, &mut checker, &mut report, &mut on_events).map_err(fail)?;
    }
    let settle = config.timing.election_timeout_ms_max * 20;
    t = sim.now_ms() + settle;
    advance(&mut sim, &mut checker, t, &mut report, &mut on_events).map_err(fail)?;
    checker.check_durability(&sim).map_err(fail)?;

    let liveness = |detail: String, sim: &Sim| ChaosFailure {
        seed,
        violation: Violation {
            property: "liveness after healing",
            detail,
            time_ms: sim.now_ms(),
        },
    };
    let Some(leader) = sim.leader() else {
        return Err(liveness("no leader elected after healing".into(), &sim));
    };
    let accepted = sim
        .propose(Some(leader), crate::command::Command::Add(1))
        .map_err(|e| liveness(format!("leader S{leader} refused a request: {e}"), &sim))?;
    let crate::raft::ProposeOutcome::Appended { index, .. } = accepted.outcome else {
        return Err(liveness(
            "leader forwarded instead of appending".into(),
            &sim,
        ));
    };
    t = sim.now_ms() + settle;
    advance(&mut sim, &mut checker, t, &mut report, &mut on_events).map_err(fail)?;
    for id in NodeId::all(n) {
        let raft = sim.node(id).expect("all restarted");
        if raft.commit_index() < index || raft.last_applied() < index {
            return Err(liveness(
                format!(
                    "S{id} has commit_index {} and last_applied {} after healing; expected at \
                     least {index}",
                    raft.commit_index(),
                    raft.last_applied()
                ),
                &sim,
            ));
        }
        // Every committed entry is on every node once the cluster has caught up.
        for c in checker.committed() {
            if raft.log().get(c.index) != Some(c) {
                return Err(fail(Violation {
                    property: "durability",
                    detail: format!("S{id} lacks committed entry {} after catching up", c.index),
                    time_ms: sim.now_ms(),
                }));
            }
        }
        if raft.role() == Role::Leader && id != leader {
            return Err(liveness(format!("S{id} is also leader"), &sim));
        }
    }
    report.committed = checker.committed().len() as u64;
    report.virtual_ms = sim.now_ms();
    Ok(report)
}

/// Check the events produced since the last call.
fn drain(
    sim: &mut Sim,
    checker: &mut Checker,
    report: &mut ChaosReport,
    on_events: &mut impl FnMut(&[SimEvent]),
) -> Result<(), Violation> {
    let events = sim.take_events();
    report.events += events.len() as u64;
    on_events(&events);
    checker.observe(sim, &events)
}

/// Run the simulator to `until`, checking after every single step.
fn advance(
    sim: &mut Sim,
    checker: &mut Checker,
    until: u64,
    report: &mut ChaosReport,
    on_events: &mut impl FnMut(&[SimEvent]),
) -> Result<(), Violation> {
    while sim.next_event_time().is_some_and(|t| t <= until) {
        sim.step();
        drain(sim, checker, report, on_events)?;
    }
    sim.run_until(until);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Event;

    fn batch(time_ms: u64) -> Vec<SimEvent> {
        vec![SimEvent {
            seq: 1,
            time_ms,
            event: Event::NodeCrashed { node: NodeId(1) },
        }]
    }

    #[test]
    fn a_panic_in_the_run_is_the_seeds_failure() {
        let failure = guarded(
            77,
            |_| {},
            |watched| {
                watched(&batch(40));
                panic!("election safety: two leaders in term 3")
            },
        )
        .unwrap_err();
        assert_eq!(failure.seed, 77);
        assert_eq!(failure.violation.property, "no panic");
        assert_eq!(failure.violation.time_ms, 40);
        assert!(failure.violation.detail.contains("two leaders in term 3"));
        assert!(failure.to_string().contains("--seed 77"));
    }

    #[test]
    fn a_panic_in_the_callers_callback_is_the_callers() {
        struct Stop;
        let caught = catch_unwind(AssertUnwindSafe(|| {
            guarded(
                5,
                |_| std::panic::panic_any(Stop),
                |watched| {
                    watched(&batch(1));
                    Ok(ChaosReport::default())
                },
            )
        }));
        assert!(caught.unwrap_err().downcast_ref::<Stop>().is_some());
    }
}
