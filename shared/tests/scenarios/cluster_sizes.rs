//! Cluster sizes at both ends of the range: one node is its own majority, and nine nodes keep
//! committing with four down but not with five.

use super::{config, propose_many};
use crate::common::Checked;
use shared::protocol::Event;
use shared::NodeId;

/// A cluster of one is its own majority: it elects itself and commits alone, sending nothing.
#[test]
fn a_one_node_cluster_commits_alone() {
    let mut c = Checked::new(config(1, 61));
    assert_eq!(c.await_leader(1_000), 1);
    let index = c.propose_to_leader("add 5");
    c.await_applied_everywhere(index, 100);
    assert_eq!(c.sim.node(NodeId(1)).unwrap().value(), 5);
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
        assert_eq!(c.sim.node(NodeId(id)).unwrap().value(), 10, "S{id}");
    }

    let others: Vec<NodeId> = NodeId::all(9).filter(|id| *id != leader).collect();
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
