//! Tests of `Changes::between`, what the page redraws when the timeline shows another instant
//! in place of the one on screen: every part that differs is reported (or the page would show
//! stale state), and what two instants share is not (or the page would redraw everything).

use logscope_frontend::model::{Changes, ClusterView};
use shared::sim::{Sim, SimConfig};
use shared::NodeId;

fn view_at(sim: &Sim) -> ClusterView {
    ClusterView::from_snapshot(sim.snapshot_window(200))
}

/// Every part that differs between `a` and `b` is in `between(a, b)`, and nothing else.
fn assert_exact(a: &ClusterView, b: &ClusterView, context: &str) {
    let c = Changes::between(a, b);
    assert!(!c.everything, "{context}: the same cluster");
    for (x, y) in a.nodes.iter().zip(&b.nodes) {
        assert_eq!(c.node(y.id), x != y, "{context}: S{}", y.id);
    }
    assert_eq!(c.messages, a.messages != b.messages, "{context}: messages");
    assert_eq!(c.network, a.network != b.network, "{context}: network");
    assert_eq!(c.narration, a.narration != b.narration, "{context}: story");
    assert_eq!(
        c.leaders,
        a.leaders_by_term != b.leaders_by_term,
        "{context}: leaders"
    );
    assert!(
        c.committed || (a.committed == b.committed),
        "{context}: committed"
    );
}

#[test]
fn instants_of_a_run_report_what_differs_and_only_that() {
    for seed in 1..=4 {
        let config = SimConfig {
            nodes: 5,
            seed,
            ..SimConfig::default()
        };
        let mut sim = Sim::new(config).expect("valid config");
        let mut views = Vec::new();
        sim.run_for(1_000);
        views.push(view_at(&sim));
        let _ = sim.propose(None, "add 2".parse().unwrap());
        sim.run_for(300);
        views.push(view_at(&sim));
        // A crashed server does not change while it is down: the next instant leaves it alone.
        sim.crash(NodeId(5)).unwrap();
        sim.run_for(1);
        views.push(view_at(&sim));
        sim.run_for(400);
        views.push(view_at(&sim));
        for (i, pair) in views.windows(2).enumerate() {
            assert_exact(&pair[0], &pair[1], &format!("seed {seed}, instant {i}"));
            assert_exact(
                &pair[1],
                &pair[0],
                &format!("seed {seed}, instant {i} back"),
            );
        }
        let (a, b) = (&views[2], &views[3]);
        assert!(!Changes::between(a, b).node(NodeId(5)), "S5 stayed down");
        assert!(
            Changes::between(a, a).is_empty(),
            "the same instant redraws nothing"
        );
        let shown = b.clone().replacing(a).take_changes();
        assert_eq!(
            shown,
            Changes::between(a, b),
            "replacing marks the difference"
        );
    }
}

#[test]
fn another_cluster_is_everything() {
    let a = view_at(&Sim::new(SimConfig::default()).unwrap());
    let b = view_at(
        &Sim::new(SimConfig {
            nodes: 3,
            ..SimConfig::default()
        })
        .unwrap(),
    );
    assert!(Changes::between(&a, &b).everything);
}
