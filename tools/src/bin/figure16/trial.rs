//! One trial of Figure 16 and the broadcast-time calibration: a cluster set up so that two of the
//! four survivors cannot win, a leader crashed at a random moment of its heartbeat interval, and
//! the virtual time until someone else leads. Owns the procedure only; must not reach into the
//! simulator or the core beyond their public API.
//!
//! # The procedure
//!
//! 1. Five nodes start from pre-filled storages (all entries of term 1): three *current* nodes
//!    hold 100 entries, two *lagging* nodes hold fewer (20–40 and 0–19). The lagging nodes are
//!    held down while one current node, picked at random, times out at once and is elected by
//!    the other two; it commits its no-op.
//! 2. The lagging nodes are restarted with every link *from* them cut. They receive every
//!    heartbeat (so they follow the leader and their election timers are reset like everyone
//!    else's), but their replies are lost, so no leader learns it should repair their logs: they
//!    stay behind, with logs older (last term 1) and shorter than the others'. This is the
//!    paper's "the servers in each trial had different log lengths, so some candidates were not
//!    eligible to become leader": two of the four survivors can never collect three votes.
//! 3. After a warm-up (one to two maximum timeouts, and until every survivor follows the leader in
//!    its term), the leader sends its regular heartbeat broadcast (one `AppendEntries` to
//!    every follower at the same instant: the paper's "synchronized broadcast of heartbeat RPCs")
//!    and is crashed at a uniformly random millisecond of the following heartbeat interval. The
//!    cut links are healed at the crash. Messages already in flight still arrive.
//! 4. The *time without a leader* is the virtual time from the crash to the first moment a
//!    surviving node is leader (checked after every simulator step; its term is necessarily
//!    higher than the crashed leader's, and the program checks that it is).
//!    A trial that elects nobody within the cap (60 s by default) is *capped*; its time counts as
//!    the cap, so statistics over capped trials are lower bounds (printed with `>=`).

use std::collections::{BTreeMap, VecDeque};

use shared::protocol::{Event, MessageBody, Timing};
use shared::sim::{NetworkSettings, Sim, SimConfig};
use shared::{
    Entry, EntryData, HardState, LogIndex, LogModel, MemStorage, NodeId, Rng, Storage, Term,
};

use crate::Args;

/// Entries on the three current nodes; the lagging ones hold far fewer (see the module docs).
const CURRENT_LOG_LEN: u64 = 100;
/// Virtual time allowed for electing the first leader before a trial is declared broken.
const SETUP_CAP_MS: u64 = 30_000;

fn sim_config(seed: u64, (min, max): (u64, u64), args: &Args) -> SimConfig {
    SimConfig {
        nodes: 5,
        seed,
        log_model: LogModel::Command,
        timing: Timing {
            election_timeout_ms_min: min,
            election_timeout_ms_max: max,
            // "The leader was crashed uniformly randomly within its heartbeat interval, which was
            // half of the minimum election timeout for all tests."
            heartbeat_interval_ms: (min / 2).max(1),
            fsync_ms: args.fsync_ms,
            ..Timing::default()
        },
        network: NetworkSettings {
            latency_ms_min: args.latency_ms.0,
            latency_ms_max: args.latency_ms.1,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
        },
        broken_rules: Default::default(),
    }
}

/// A storage holding `len` synced entries of term 1 and `current_term` 1, as a node that took
/// part in an earlier term would have.
fn prefilled(len: u64) -> MemStorage {
    let mut storage = MemStorage::new();
    let command = "add 1".parse().expect("valid command");
    let entries: Vec<Entry> = (1..=len)
        .map(|index| Entry {
            index: LogIndex(index),
            term: Term(1),
            data: EntryData::Request {
                command,
                client: None,
            },
        })
        .collect();
    let hard_state = HardState {
        current_term: Term(1),
        voted_for: None,
    };
    storage
        .set_hard_state(hard_state)
        .and_then(|_| storage.append(&entries))
        .and_then(|_| storage.sync())
        .expect("MemStorage never fails");
    storage
}

/// Process every queued item up to `time_ms`, draining events as a driver would.
fn advance_to(sim: &mut Sim, time_ms: u64) {
    while sim.next_event_time().is_some_and(|t| t <= time_ms) {
        sim.step();
        sim.take_events();
    }
    sim.run_until(time_ms);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A new leader after this many ms.
    Elected(u64),
    /// Nobody elected within the cap.
    Capped,
}

#[derive(Clone, Debug)]
pub(crate) struct Trial {
    pub(crate) outcome: Outcome,
    /// Survivors that could collect three votes when the leader crashed.
    pub(crate) eligible: usize,
}

/// One trial (see the module docs). `Err` means the setup itself went wrong, which would be a bug
/// in the simulator or the core: it is reported, never silently dropped.
pub(crate) fn run_trial(seed: u64, range: (u64, u64), args: &Args) -> Result<Trial, String> {
    let config = sim_config(seed, range, args);
    let hb = config.timing.heartbeat_interval_ms;
    let mut rng = Rng::new(seed ^ 0xF16_0016_F16F_0016);
    let lagging_a = NodeId(rng.range_inclusive(1, 5));
    let lagging_b = NodeId((lagging_a.get() + rng.range_inclusive(1, 4) - 1) % 5 + 1);
    let lagging = [lagging_a, lagging_b];
    let lengths = [rng.range_inclusive(20, 40), rng.range_inclusive(0, 19)];
    let mut sim = Sim::with_storage(config, |id| {
        if id == lagging_a {
            prefilled(lengths[0])
        } else if id == lagging_b {
            prefilled(lengths[1])
        } else {
            prefilled(CURRENT_LOG_LEN)
        }
    })
    .map_err(|e| format!("bad configuration: {e}"))?;
    // 1: the lagging nodes sit out the first election, so that nobody repairs their logs and no
    // term of theirs outruns the leader's.
    for l in lagging {
        sim.crash(l).map_err(|e| e.to_string())?;
    }
    // Start the first election at once on a current node: with identical timeouts (150–150) the
    // nodes' first timers would otherwise fire in lockstep forever and never elect anyone.
    let first = NodeId::all(5)
        .filter(|id| !lagging.contains(id))
        .nth(rng.range_inclusive(0, 2) as usize)
        .expect("three current nodes");
    sim.force_timeout(first).map_err(|e| e.to_string())?;

    // Until the crash, wait for a leader that has committed its no-op and that every survivor
    // follows in its term; if the leadership changes during the warm-up (possible with the
    // tightest timeouts), wait for the next one.
    let mut lagging_started = false;
    let leader = loop {
        let leader = loop {
            if let Some(l) = sim.leader() {
                let raft = sim.node(l).expect("a leader is up");
                if raft.commit_index() == raft.log().last_index() {
                    break l;
                }
            }
            match sim.next_event_time() {
                Some(t) if t <= SETUP_CAP_MS => {
                    sim.step();
                    sim.take_events();
                }
                _ => return Err(format!("seed {seed}: no leader within {SETUP_CAP_MS} ms")),
            }
        };
        if lagging.contains(&leader) {
            return Err(format!(
                "seed {seed}: S{leader} became leader with a stale log (election restriction)"
            ));
        }
        // 2: the lagging nodes come back with every link *from* them cut: they hear the leader
        // (its heartbeats reset their timers as everyone else's) but nothing they send arrives,
        // so no leader learns that their logs need repair.
        if !lagging_started {
            for l in lagging {
                for other in NodeId::all(5).filter(|o| *o != l) {
                    sim.cut(l, other).map_err(|e| e.to_string())?;
                }
                sim.restart(l).map_err(|e| e.to_string())?;
            }
            lagging_started = true;
        }
        let term = sim.node(leader).expect("up").current_term();
        let (_, max) = range;
        let warm_up_ms = max + rng.range_inclusive(0, max);
        let until = sim.now_ms() + warm_up_ms;
        advance_to(&mut sim, until);
        let settled = sim.leader() == Some(leader)
            && sim.node_ids().all(|id| {
                sim.node(id).is_some_and(|r| {
                    r.current_term() == term && (id == leader || r.leader_id() == Some(leader))
                })
            });
        if !settled || sim.now_ms() > SETUP_CAP_MS {
            if sim.now_ms() > SETUP_CAP_MS {
                return Err(format!(
                    "seed {seed}: the cluster did not settle within {SETUP_CAP_MS} ms"
                ));
            }
            continue;
        }
        // 3: the next regular heartbeat is the synchronized broadcast.
        let heartbeat_at = sim.node(leader).expect("up").next_deadline_ms();
        advance_to(&mut sim, heartbeat_at);
        let crash_at = heartbeat_at + rng.range_inclusive(0, hb - 1);
        advance_to(&mut sim, crash_at);
        if sim.leader() == Some(leader)
            && sim.node(leader).is_some_and(|r| r.current_term() == term)
        {
            break leader;
        }
    };

    // Who could win: a survivor whose log is at least as up-to-date (§5.4.1) as those of two
    // other survivors gets three votes.
    let survivors: Vec<(Term, LogIndex)> = sim
        .node_ids()
        .filter(|id| *id != leader)
        .map(|id| {
            let log = sim.node(id).expect("survivors are up").log();
            (log.last_term(), log.last_index())
        })
        .collect();
    let eligible = survivors
        .iter()
        .enumerate()
        .filter(|(i, me)| {
            let voters = survivors
                .iter()
                .enumerate()
                .filter(|(j, other)| j != i && *me >= *other)
                .count();
            voters + 1 >= 3
        })
        .count();

    // 4: crash, heal, and time the election.
    let crashed_term = sim.node(leader).expect("up").current_term();
    let crash_ms = sim.now_ms();
    sim.crash(leader).map_err(|e| e.to_string())?;
    sim.heal();
    let deadline_ms = crash_ms + args.cap_ms;
    loop {
        if let Some(new_leader) = sim.leader() {
            let term = sim.node(new_leader).expect("up").current_term();
            if term <= crashed_term {
                return Err(format!(
                    "seed {seed}: S{new_leader} leads term {term}, not above the crashed \
                     leader's term {crashed_term}"
                ));
            }
            return Ok(Trial {
                outcome: Outcome::Elected(sim.now_ms() - crash_ms),
                eligible,
            });
        }
        match sim.next_event_time() {
            Some(t) if t <= deadline_ms => {
                sim.step();
                sim.take_events();
            }
            _ => {
                return Ok(Trial {
                    outcome: Outcome::Capped,
                    eligible,
                })
            }
        }
    }
}

/// The paper's broadcast time (§5.6: "the average time it takes a server to send RPCs in parallel
/// to every server in the cluster and receive their responses"), measured on a healthy cluster
/// with this network: for each heartbeat broadcast, the time until the last of the four replies
/// arrives. Heartbeat replies need no fsync, so they leave the follower the moment it receives
/// the heartbeat; that is how each reply is matched to its heartbeat.
pub(crate) fn measure_broadcast_ms(args: &Args) -> Vec<u64> {
    let config = sim_config(args.seed, (150, 300), args);
    let mut sim = Sim::new(config).expect("valid configuration");
    // (follower, arrival time) -> send times of heartbeats arriving then.
    let mut arriving: BTreeMap<(NodeId, u64), VecDeque<u64>> = BTreeMap::new();
    // (leader, send time) -> round trips of that broadcast.
    let mut round_trips: BTreeMap<(NodeId, u64), Vec<u64>> = BTreeMap::new();
    while sim
        .next_event_time()
        .is_some_and(|t| t <= args.calibration_ms)
    {
        sim.step();
        for event in sim.take_events() {
            let Event::MessageSent { message } = event.event else {
                continue;
            };
            match &message.message.body {
                MessageBody::AppendEntries(ae) if ae.entries.is_empty() => {
                    arriving
                        .entry((message.to, message.deliver_at_ms))
                        .or_default()
                        .push_back(message.sent_at_ms);
                }
                MessageBody::AppendEntriesResponse(_) => {
                    let sent = arriving
                        .get_mut(&(message.from, message.sent_at_ms))
                        .and_then(|q| q.pop_front());
                    if let Some(sent_at_ms) = sent {
                        round_trips
                            .entry((message.to, sent_at_ms))
                            .or_default()
                            .push(message.deliver_at_ms - sent_at_ms);
                    }
                }
                _ => {}
            }
        }
    }
    round_trips
        .into_values()
        .filter(|rtts| rtts.len() == 4)
        .map(|rtts| rtts.into_iter().max().expect("four"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::args;

    #[test]
    fn a_trial_elects_a_new_leader_with_two_ineligible_survivors() {
        let a = args(&["--quick"]).unwrap();
        for seed in 1..=5 {
            let t = run_trial(seed, (150, 300), &a).expect("setup works");
            let Outcome::Elected(ms) = t.outcome else {
                panic!("seed {seed}: no leader within the cap");
            };
            // The crash falls within a heartbeat interval (75 ms) after a heartbeat that reset
            // every timer, and no timeout is shorter than 150 ms.
            assert!(ms >= 150 - 75, "seed {seed}: {ms} ms");
            assert!(ms < 5_000, "seed {seed}: {ms} ms");
            assert_eq!(t.eligible, 2, "seed {seed}");
        }
        // Deterministic: the same seed gives the same time.
        let once = run_trial(3, (150, 155), &a).unwrap().outcome;
        assert_eq!(run_trial(3, (150, 155), &a).unwrap().outcome, once);
    }
}
