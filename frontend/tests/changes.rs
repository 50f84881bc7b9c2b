//! Tests of the change list the page redraws from (`ClusterView::take_changes`): after every
//! event of a real simulated run, every part that differs must be reported, or the page would
//! show stale state; and a small event must not wake the whole page.

mod common;

use shared::Command;
use shared::LogIndex;
use shared::NodeId;

use common::{network, snapshot, Feed};
use logscope_frontend::model::{Changes, ClusterView};
use shared::protocol::Event;
use shared::sim::{Sim, SimConfig};
use shared::types::LogModel;

/// Every part that differs between `before` and `after` is in `changes`.
fn assert_reported(before: &ClusterView, after: &ClusterView, changes: &Changes, context: &str) {
    if changes.everything {
        return;
    }
    for (b, a) in before.nodes.iter().zip(&after.nodes) {
        assert!(
            b == a || changes.node(a.id),
            "{context}: S{} unreported",
            a.id
        );
    }
    assert!(
        before.messages == after.messages || changes.messages,
        "{context}: messages unreported"
    );
    assert!(
        before.ghosts == after.ghosts || changes.ghosts,
        "{context}: ghosts unreported"
    );
    let divergent = |v: &ClusterView| -> Vec<LogIndex> {
        LogIndex(1)
            .through(v.max_index())
            .filter(|i| v.is_divergent(*i))
            .collect()
    };
    assert!(
        (before.committed == after.committed && divergent(before) == divergent(after))
            || changes.committed,
        "{context}: committed log unreported"
    );
    assert!(
        before.narration == after.narration || changes.narration,
        "{context}: narration unreported"
    );
    assert!(
        before.network == after.network || changes.network,
        "{context}: network unreported"
    );
    assert!(
        (before.paused, before.speed) == (after.paused, after.speed) || changes.control,
        "{context}: controls unreported"
    );
    assert!(
        before.leaders_by_term == after.leaders_by_term || changes.leaders,
        "{context}: leaders unreported"
    );
}

fn run_and_check(seed: u64, log_model: LogModel) {
    let config = SimConfig {
        nodes: 5,
        seed,
        log_model,
        ..SimConfig::default()
    };
    let mut sim = Sim::new(config).expect("valid config");
    let mut view = ClusterView::from_snapshot(sim.snapshot());
    assert!(
        view.take_changes().everything,
        "a snapshot changes everything"
    );
    sim.take_events();
    let check = |sim: &mut Sim, view: &mut ClusterView, step: &str| {
        for e in sim.take_events() {
            let before = view.clone();
            view.apply(&e);
            let changes = view.take_changes();
            let context = format!("seed {seed} {step}, event {}", e.seq);
            assert!(!changes.everything, "{context}: an event is not a snapshot");
            assert_reported(&before, view, &changes, &context);
        }
        let before = view.clone();
        let (time, paused, speed) = (view.time_ms + 6_000, !view.paused, 0.5);
        view.on_clock(time, paused, speed);
        let changes = view.take_changes();
        assert_reported(
            &before,
            view,
            &changes,
            &format!("seed {seed} {step}, clock"),
        );
    };
    sim.run_for(1_000);
    check(&mut sim, &mut view, "election");
    for i in 0..6 {
        let _ = sim.propose(
            None,
            if i % 2 == 0 {
                Command::AddRand
            } else {
                Command::Mul(3)
            },
        );
        sim.run_for(7);
    }
    sim.run_for(500);
    check(&mut sim, &mut view, "appends");
    let leader = sim.leader().unwrap_or(NodeId(1));
    sim.crash(leader).unwrap();
    sim.isolate(NodeId(2)).unwrap();
    sim.set_network(Some(0.3), None, None, None).unwrap();
    for _ in 0..5 {
        let _ = sim.propose(None, "add 1".parse().unwrap());
        sim.run_for(40);
    }
    sim.run_for(1_000);
    check(&mut sim, &mut view, "crash, isolation and loss");
    if let Some(l) = sim.leader() {
        sim.power_loss(l).unwrap();
    }
    sim.heal();
    sim.restart(leader).unwrap();
    sim.run_for(1_500);
    check(&mut sim, &mut view, "power loss and heal");
}

#[test]
fn every_change_of_a_simulated_run_is_reported() {
    for seed in 1..=6 {
        run_and_check(seed, LogModel::Command);
        run_and_check(seed, LogModel::State);
    }
}

#[test]
fn a_small_event_reports_only_what_it_touched() {
    let mut f = Feed::new(3);
    f.view.take_changes();
    f.ev(Event::TimerReset {
        node: NodeId(2),
        election_deadline_ms: 400,
    });
    let changes = f.view.take_changes();
    assert_eq!(changes.nodes.into_iter().collect::<Vec<_>>(), vec![2]);
    assert!(!changes.messages && !changes.narration && !changes.committed);
    assert!(f.view.take_changes().is_empty(), "taking starts a new list");

    let mut n = network();
    n.cut_links = vec![[NodeId(1), NodeId(2)]];
    f.ev(Event::NetworkChanged { network: n });
    let changes = f.view.take_changes();
    assert!(changes.network && changes.narration);
    assert!(changes.nodes.is_empty());

    f.view.resync(snapshot(3, 40));
    assert!(
        f.view.take_changes().everything,
        "a resync changes everything"
    );
}
