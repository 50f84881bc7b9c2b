//! Network faults: a leader stranded in a minority partition makes no progress while the
//! majority does, and steps down and loses its uncommitted entries when it rejoins; a network
//! that duplicates messages does not multiply replication traffic.

use super::{a_follower, config};
use crate::common::Checked;
use shared::protocol::Event;
use shared::sim::NetworkSettings;
use shared::{Command, LogIndex, NodeId, ProposeOutcome, Role, Sim, SimConfig};

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
    let majority: Vec<NodeId> = NodeId::all(5)
        .filter(|id| ![old, buddy].contains(id))
        .collect();
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
            log[..index.get() as usize],
            leader_log[..index.get() as usize],
            "S{id}'s log must match the leader's"
        );
        assert_ne!(
            log[stranded.slot()].data.command(),
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
