use shared::sim::chaos;
use shared::{Sim, SimConfig};

#[test]
fn five_nodes_elect_a_leader_and_commit() {
    let mut sim = Sim::new(SimConfig::default()).unwrap();
    sim.run_for(2000);
    let leader = sim.leader().expect("a leader");
    let acc = sim.propose(None, "add 5").unwrap();
    sim.run_for(500);
    for id in 1..=5 {
        let n = sim.node(id).unwrap();
        assert!(n.commit_index() >= 2, "S{id} commit {}", n.commit_index());
        assert_eq!(n.value(), 5);
    }
    let _ = (leader, acc);
}

#[test]
fn chaos_few_seeds() {
    for seed in 0..200 {
        if let Err(f) = chaos::run(seed, 5_000, |_| {}) {
            panic!("{f}");
        }
    }
}
