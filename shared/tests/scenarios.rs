//! Scenario tests on the deterministic simulator: crashes, partitions, stale leaders, catch-up,
//! restarts, power loss, cluster sizes and bad inputs. Every step of every scenario runs under
//! the safety checker (`tests/common::Checked`), so a scenario fails on any broken Raft guarantee
//! even where its own assertions look elsewhere. Owns no production code.

mod common;

use common::Checked;
use shared::protocol::{Event, Timing};
use shared::sim::{NetworkSettings, SimError};
use shared::{
    ClientSerial, Command, LogIndex, NodeId, ProposeOutcome, Role, Sim, SimConfig, Storage,
};

fn config(nodes: u64, seed: u64) -> SimConfig {
    SimConfig {
        nodes,
        seed,
        ..SimConfig::default()
    }
}

/// A follower of the current leader (the lowest-numbered running one).
fn a_follower(c: &Checked, leader: NodeId) -> NodeId {
    c.sim
        .node_ids()
        .find(|id| *id != leader && c.sim.is_up(*id))
        .expect("a running follower")
}

/// Propose `count` requests to the leader, letting the cluster run a little between batches, and
/// return the index of the last one.
fn propose_many(c: &mut Checked, text: &str, count: usize) -> LogIndex {
    let mut last = 0;
    for i in 0..count {
        last = c.propose_to_leader(text);
        if i % 10 == 9 {
            c.run_for(20);
        }
    }
    last
}

/// §5.2: when the leader crashes, the followers' election timers fire and a new leader is
/// elected in a higher term; it holds every committed entry, and the old leader rejoins as a
/// follower of the new term.
#[test]
fn leader_crash_elects_a_new_leader_in_a_higher_term() {
    let mut c = Checked::new(config(5, 11));
    let old = c.await_leader(3_000);
    let old_term = c.sim.node(old).unwrap().current_term();
    let index = c.propose_to_leader("add 5");
    c.await_applied_everywhere(index, 2_000);

    c.with(|s| s.crash(old)).unwrap();
    assert!(
        c.wait_for(3_000, |s| s.leader().is_some_and(|l| l != old)),
        "no new leader after S{old} crashed"
    );
    let new = c.sim.leader().unwrap();
    let new_term = c.sim.node(new).unwrap().current_term();
    assert!(
        new_term > old_term,
        "new term {new_term} must exceed {old_term}"
    );
    let entry = c.sim.node(new).unwrap().log().get(index).cloned();
    assert_eq!(
        entry.and_then(|e| e.data.command()),
        Some(Command::Add(5)),
        "the new leader holds the committed entry"
    );

    c.with(|s| s.restart(old)).unwrap();
    let rejoined = c.wait_for(2_000, |s| {
        let r = s.node(old).unwrap();
        r.role() == Role::Follower && r.current_term() >= new_term && r.leader_id().is_some()
    });
    assert!(rejoined, "S{old} must come back as a follower");
    let index = c.propose_to_leader("add 1");
    c.await_applied_everywhere(index, 2_000);
    for id in 1..=5 {
        assert_eq!(c.sim.node(id).unwrap().value(), 6, "S{id}");
    }
}

/// Five servers; the leader and one follower are cut off from the other three. The leader takes
/// a request it can never commit.
fn minority_leader() -> (Checked, NodeId, NodeId, LogIndex) {
    let mut c = Checked::new(config(5, 23));
    let leader = c.await_leader(3_000);
    let index = c.propose_to_leader("set 10");
    c.await_applied_everywhere(index, 2_000);
    let buddy = a_follower(&c, leader);
    c.with(|s| s.partition(vec![vec![leader, buddy]])).unwrap();
    let stranded = c.propose_to_leader("add 100");
    (c, leader, buddy, stranded)
}

/// §5.3/§5.2: a leader in a minority partition cannot get its entries onto a majority, so they
/// never commit; the majority side elects its own leader and keeps committing.
#[test]
fn a_minority_partition_makes_no_progress_while_the_majority_does() {
    let (mut c, old, buddy, stranded) = minority_leader();
    let committed_in_minority = c.wait_for(3_000, |s| {
        s.node(old).unwrap().commit_index() >= stranded
            || s.node(buddy).unwrap().commit_index() >= stranded
    });
    assert!(!committed_in_minority, "the minority committed an entry");
    assert_eq!(
        c.sim.node(old).unwrap().role(),
        Role::Leader,
        "it still believes it leads"
    );

    let new = c.sim.leader().unwrap();
    assert!(
        ![old, buddy].contains(&new),
        "the majority elected S{new}, which should be in the majority"
    );
    let majority: Vec<NodeId> = (1..=5).filter(|id| ![old, buddy].contains(id)).collect();
    let index = c.propose_to_leader("add 1");
    let applied = c.wait_for(2_000, |s| {
        majority
            .iter()
            .all(|id| s.node(*id).unwrap().last_applied() >= index)
    });
    assert!(applied, "the majority must commit without the minority");
    for id in &majority {
        assert_eq!(c.sim.node(*id).unwrap().value(), 11, "S{id}");
    }
    // Proposals to the stranded leader are still accepted, and still never commit.
    let more = c
        .with(|s| s.propose(Some(old), "add 1000".parse().unwrap()))
        .unwrap();
    assert!(matches!(more.outcome, ProposeOutcome::Appended { .. }));
    let progressed = c.wait_for(1_000, |s| s.node(old).unwrap().commit_index() >= stranded);
    assert!(!progressed);
}

/// §5.1/§5.3: when the partition heals, the stale leader sees the higher term and steps down,
/// and its uncommitted entries are replaced by the new leader's log.
#[test]
fn a_rejoining_stale_leader_steps_down_and_loses_its_uncommitted_entries() {
    let (mut c, old, buddy, stranded) = minority_leader();
    assert!(c.wait_for(3_000, |s| s.leader().is_some_and(|l| l != old)));
    let new = c.sim.leader().unwrap();
    let index = c.propose_to_leader("add 1");
    c.run_for(500);

    c.with(|s| s.heal());
    let stepped_down = c.wait_for(2_000, |s| {
        let r = s.node(old).unwrap();
        r.role() == Role::Follower && r.leader_id() == Some(new)
    });
    assert!(stepped_down, "S{old} must step down for S{new}");
    c.await_applied_everywhere(index, 2_000);

    let leader_log = c.sim.node_log(new);
    for id in [old, buddy] {
        let log = c.sim.node_log(id);
        assert_eq!(
            log[..index as usize],
            leader_log[..index as usize],
            "S{id}'s log must match the leader's"
        );
        assert_ne!(
            log[stranded as usize - 1].data.command(),
            Some(Command::Add(100)),
            "S{id} kept the uncommitted entry"
        );
        assert_eq!(c.sim.node(id).unwrap().value(), 11, "S{id}");
    }
    assert!(
        c.log.iter().any(
            |e| matches!(&e.event, Event::EntriesTruncated { node, from_index } if *node == old && *from_index <= stranded)
        ),
        "the stale leader, now a follower, truncated its suffix"
    );
    assert!(
        c.checker
            .committed()
            .iter()
            .all(|e| e.data.describe() != "add 100"),
        "the stranded request was never committed"
    );
}

/// §5.3: "the leader … forces the followers' logs to duplicate its own": a follower that was down
/// while more than a hundred entries were committed catches up after its restart, in batches.
#[test]
fn a_follower_far_behind_catches_up_after_restart() {
    let mut c = Checked::new(config(5, 31));
    let leader = c.await_leader(3_000);
    let laggard = a_follower(&c, leader);
    c.with(|s| s.crash(laggard)).unwrap();
    let last = propose_many(&mut c, "add 1", 120);
    let running: Vec<NodeId> = (1..=5).filter(|id| *id != laggard).collect();
    let applied = c.wait_for(3_000, |s| {
        running
            .iter()
            .all(|id| s.node(*id).unwrap().last_applied() >= last)
    });
    assert!(
        applied,
        "the four running servers commit without S{laggard}"
    );
    let behind = c.sim.node_log(laggard).len() as LogIndex;
    assert!(
        last - behind >= 100,
        "S{laggard} should be 100+ entries behind"
    );

    c.with(|s| s.restart(laggard)).unwrap();
    c.await_applied_everywhere(last, 5_000);
    assert_eq!(c.sim.node_log(laggard), c.sim.node_log(leader));
    assert_eq!(c.sim.node(laggard).unwrap().value(), 120);
    assert_eq!(
        c.sim.storage(laggard).unwrap().synced_entries(),
        &c.sim.node_log(leader)[..]
    );
}

/// Figure 2: the log is persistent and commitIndex/lastApplied are volatile. A restarted server
/// comes back with its whole durable log, nothing applied, and — once the leader tells it what is
/// committed — replays the log to the same value as everyone else. Also for a whole-cluster
/// restart.
#[test]
fn restart_replays_the_durable_log_to_the_same_value() {
    let mut c = Checked::new(config(3, 41));
    let leader = c.await_leader(3_000);
    let mut last = 0;
    for text in ["set 3", "mul 4", "add 5"] {
        last = c.propose_to_leader(text);
    }
    c.await_applied_everywhere(last, 2_000);
    let follower = a_follower(&c, leader);
    let before = c.sim.node_log(follower);

    c.with(|s| s.crash(follower)).unwrap();
    c.with(|s| s.restart(follower)).unwrap();
    let r = c.sim.node(follower).unwrap();
    assert_eq!(
        r.log().entries(),
        &before[..],
        "the log comes back from storage"
    );
    assert_eq!((r.commit_index(), r.last_applied(), r.value()), (0, 0, 0));
    c.await_applied_everywhere(last, 2_000);
    assert_eq!(c.sim.node(follower).unwrap().value(), 17);

    // Everyone at once: the cluster comes back with the same committed history.
    for id in 1..=3 {
        c.with(|s| s.crash(id)).unwrap();
    }
    for id in 1..=3 {
        c.with(|s| s.restart(id)).unwrap();
    }
    c.await_leader(3_000);
    let last = c.propose_to_leader("add 1");
    c.await_applied_everywhere(last, 2_000);
    for id in 1..=3 {
        assert_eq!(c.sim.node(id).unwrap().value(), 18, "S{id}");
    }
}

/// What survives a power loss: exactly the synced prefix of the log. With a slow fsync (50 ms)
/// there are written-but-unsynced entries to lose; none of them can be committed, because a
/// leader counts only durable copies (its own and its followers' acknowledgements, which leave
/// only after their fsync).
#[test]
fn power_loss_loses_only_unsynced_entries_never_committed_ones() {
    let mut cfg = config(5, 53);
    cfg.timing = Timing {
        fsync_ms: 50,
        ..Timing::default()
    };
    let mut c = Checked::new(cfg);
    let leader = c.await_leader(3_000);
    let index = c.propose_to_leader("set 1");
    c.await_applied_everywhere(index, 3_000);

    // One follower loses power while it has unsynced entries.
    propose_many(&mut c, "add 1", 5);
    let victim = a_follower(&c, leader);
    let caught = c.wait_for(1_000, |s| {
        let st = s.storage(victim).unwrap();
        st.last_index() > st.synced_index()
    });
    assert!(caught, "S{victim} never had unsynced entries");
    let synced = c.sim.storage(victim).unwrap().synced_entries().to_vec();
    let written = c.sim.storage(victim).unwrap().last_index();
    c.with(|s| s.power_loss(victim)).unwrap();
    assert_eq!(
        c.sim.node_log(victim),
        synced,
        "exactly the synced prefix survives"
    );
    let lost = c.log.iter().rev().find_map(|e| match e.event {
        Event::PowerLost {
            node, lost_entries, ..
        } if node == victim => Some(lost_entries),
        _ => None,
    });
    assert_eq!(lost, Some(written - synced.len() as LogIndex));
    assert!(lost.unwrap() > 0);

    // Now the whole cluster loses power at once, mid-replication.
    c.with(|s| s.restart(victim)).unwrap();
    propose_many(&mut c, "add 1", 5);
    let caught = c.wait_for(1_000, |s| {
        s.node_ids().any(|id| {
            let st = s.storage(id).unwrap();
            st.last_index() > st.synced_index()
        })
    });
    assert!(caught, "someone should have unsynced entries");
    for id in 1..=5 {
        c.with(|s| s.power_loss(id)).unwrap();
    }
    let committed = c.checker.committed().to_vec();
    assert!(committed.len() as LogIndex >= index);
    for e in &committed {
        let holders = (1..=5)
            .filter(|id| c.sim.node_log(*id).get(e.index as usize - 1) == Some(e))
            .count();
        assert!(
            holders >= 3,
            "committed entry {} survives on only {holders} servers",
            e.index
        );
    }
    for id in 1..=5 {
        c.with(|s| s.restart(id)).unwrap();
    }
    let leader = c.await_leader(3_000);
    let last = c.propose_to_leader("add 0");
    c.await_applied_everywhere(last, 3_000);
    let log = c.sim.node_log(leader);
    for e in &committed {
        assert_eq!(
            log.get(e.index as usize - 1),
            Some(e),
            "committed entry {} lost",
            e.index
        );
    }
}

/// A cluster of one is its own majority: it elects itself and commits alone, sending nothing.
#[test]
fn a_one_node_cluster_commits_alone() {
    let mut c = Checked::new(config(1, 61));
    assert_eq!(c.await_leader(1_000), 1);
    let index = c.propose_to_leader("add 5");
    c.await_applied_everywhere(index, 100);
    assert_eq!(c.sim.node(1).unwrap().value(), 5);
    assert!(
        !c.log
            .iter()
            .any(|e| matches!(e.event, Event::MessageSent { .. })),
        "a single server has nobody to talk to"
    );
}

/// The largest cluster (nine servers) elects a leader, commits everywhere, and keeps committing
/// with four servers down (five is still a majority) but not with five down.
#[test]
fn a_nine_node_cluster_works_and_needs_five() {
    let mut c = Checked::new(config(9, 71));
    let leader = c.await_leader(3_000);
    let index = propose_many(&mut c, "add 2", 5);
    c.await_applied_everywhere(index, 2_000);
    for id in 1..=9 {
        assert_eq!(c.sim.node(id).unwrap().value(), 10, "S{id}");
    }

    let others: Vec<NodeId> = (1..=9).filter(|id| *id != leader).collect();
    for id in &others[..4] {
        c.with(|s| s.crash(*id)).unwrap();
    }
    let index = c.propose_to_leader("add 1");
    c.await_applied_everywhere(index, 2_000);

    c.with(|s| s.crash(others[4])).unwrap();
    let stuck = c.propose_to_leader("add 1");
    let committed = c.wait_for(2_000, |s| s.node(leader).unwrap().commit_index() >= stuck);
    assert!(!committed, "four of nine cannot commit");
}

/// Bad inputs get the right error and change nothing: same snapshot, no events.
#[test]
fn bad_inputs_are_refused_and_change_nothing() {
    let mut c = Checked::new(config(5, 81));
    let leader = c.await_leader(3_000);
    let down = (1..=5).find(|id| *id != leader).unwrap();
    c.with(|s| s.crash(down)).unwrap();
    let up = (1..=5).find(|id| *id != leader && *id != down).unwrap();

    type Case = (
        &'static str,
        Box<dyn Fn(&mut Sim) -> Result<(), SimError>>,
        SimError,
    );
    let unknown = |id| SimError::UnknownNode(id, 5);
    let bad_config = || SimError::BadConfig(String::new()); // message compared by kind below
    let cases: Vec<Case> = vec![
        ("crash 0", Box::new(|s| s.crash(0)), unknown(0)),
        ("crash 99", Box::new(|s| s.crash(99)), unknown(99)),
        ("restart 0", Box::new(|s| s.restart(0)), unknown(0)),
        ("power loss 99", Box::new(|s| s.power_loss(99)), unknown(99)),
        ("timeout 99", Box::new(|s| s.force_timeout(99)), unknown(99)),
        ("isolate 0", Box::new(|s| s.isolate(0)), unknown(0)),
        ("cut to 99", Box::new(|s| s.cut(1, 99)), unknown(99)),
        (
            "propose to 0",
            Box::new(|s| s.propose(Some(0), "add 1".parse().unwrap()).map(|_| ())),
            unknown(0),
        ),
        (
            "propose to 99",
            Box::new(|s| s.propose(Some(99), "add 1".parse().unwrap()).map(|_| ())),
            unknown(99),
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
            Box::new(|s| s.partition(vec![vec![1, 2], vec![2, 3]])),
            bad_config(),
        ),
        (
            "node twice in one partition group",
            Box::new(|s| s.partition(vec![vec![1, 1], vec![2]])),
            bad_config(),
        ),
        (
            "unknown node in a partition",
            Box::new(|s| s.partition(vec![vec![1, 99]])),
            unknown(99),
        ),
        (
            "cut a node from itself",
            Box::new(|s| s.cut(2, 2)),
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

/// Replication stays proportionate under steady load on a network that duplicates messages: a
/// reply to an old or duplicated batch must not start another stream of batches to a follower.
/// (A core that cleared its "batch outstanding" flag on any successful reply sent hundreds of
/// messages per request here, growing with the length of the run.)
#[test]
fn duplicated_replies_do_not_multiply_replication_traffic() {
    let mut sim = Sim::new(SimConfig {
        network: NetworkSettings {
            duplicate_probability: 0.2,
            ..NetworkSettings::default()
        },
        ..config(5, 3)
    })
    .unwrap();
    sim.run_for(2_000);
    let start = sim.stats().messages_delivered;
    let mut accepted = 0u64;
    for _ in 0..1_000 {
        if sim.propose(None, "add 1".parse().unwrap()).is_ok() {
            accepted += 1;
        }
        sim.run_for(10);
        sim.take_events();
        // Fail fast: a multiplying core would otherwise make this test run for minutes.
        assert!(
            sim.stats().messages_delivered - start < 30 * 1_000,
            "over 30,000 messages for at most 1,000 requests: replication traffic multiplied"
        );
    }
    assert!(accepted > 900, "only {accepted} of 1000 requests accepted");
    let per_request = (sim.stats().messages_delivered - start) as f64 / accepted as f64;
    assert!(
        per_request < 30.0,
        "{per_request:.1} messages delivered per request: replication traffic multiplied"
    );
}
