//! Scenario tests on the deterministic simulator: crashes, partitions, stale leaders, catch-up,
//! restarts, power loss, cluster sizes and bad inputs. Every step of every scenario runs under
//! the safety checker (`tests/common::Checked`), so a scenario fails on any broken Raft guarantee
//! even where its own assertions look elsewhere. Owns no production code.
//!
//! One test binary, one module per theme: `crashes` (crashes, restarts, power loss),
//! `network_faults` (partitions, stale leaders, duplicated messages), `cluster_sizes`,
//! `bad_inputs` and `stepping` (what a Step by hand processes). The helpers below are shared by all of them.

#[path = "../common/mod.rs"]
mod common;

mod bad_inputs;
mod cluster_sizes;
mod crashes;
mod network_faults;
mod stepping;

use common::Checked;
use shared::{LogIndex, NodeId, SimConfig};

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
    let mut last = LogIndex(0);
    for i in 0..count {
        last = c.propose_to_leader(text);
        if i % 10 == 9 {
            c.run_for(20);
        }
    }
    last
}
