//! The page fed a windowed snapshot (only the newest entries of each log, as the server sends
//! since logs can hold a million entries): the reducer must put every entry at its true index,
//! keep following events, and take older entries fetched by index range when the user scrolls
//! back. Checked against a real simulated cluster.

mod common;

use logscope_frontend::model::ClusterView;
use shared::protocol::{LogEntryView, LOG_WINDOW};
use shared::sim::{Sim, SimConfig};
use shared::types::LogIndex;
use shared::Command;
use shared::NodeId;

/// A 3-node cluster with `entries` client entries, replicated.
fn cluster_with(entries: usize, seed: u64) -> Sim {
    let mut sim = Sim::new(SimConfig {
        nodes: 3,
        seed,
        ..SimConfig::default()
    })
    .unwrap();
    sim.run_for(1_000);
    for _ in 0..entries {
        sim.propose(None, Command::Add(1)).expect("a leader");
    }
    sim.run_for(3_000);
    sim.take_events();
    sim
}

/// Everything the view holds of each server's log is the simulator's entry at that index, and
/// the last indexes and commit indexes agree.
fn assert_consistent(view: &ClusterView, sim: &Sim, context: &str) {
    for n in &view.nodes {
        let log = sim.node_log(n.id);
        assert_eq!(
            n.last_index(),
            LogIndex::of_len(log.len()),
            "{context}: S{} last",
            n.id
        );
        for i in n.log_first_index.through(n.last_index()) {
            let want = LogEntryView::from(&log[i.slot()]);
            assert_eq!(n.entry(i), Some(&want), "{context}: S{} entry {i}", n.id);
        }
        assert!(n
            .entry(LogIndex(n.log_first_index.get().wrapping_sub(1)))
            .is_none());
    }
    let leader = sim.leader().expect("a leader");
    let log = sim.node_log(leader);
    for i in view.committed_first_index.through(view.commit_index()) {
        let want = LogEntryView::from(&log[i.slot()]);
        assert_eq!(
            view.committed_entry(i),
            Some(&want),
            "{context}: committed {i}"
        );
    }
}

#[test]
fn a_windowed_snapshot_puts_entries_at_their_true_indexes() {
    let sim = cluster_with(500, 3);
    let view = ClusterView::from_snapshot(sim.snapshot_window(LOG_WINDOW));
    for n in &view.nodes {
        assert!(n.last_index() > LOG_WINDOW, "S{} has a long log", n.id);
        assert_eq!(LogIndex::of_len(n.log.len()), LOG_WINDOW);
        assert_eq!(n.log_first_index, n.last_index() - LOG_WINDOW + 1);
        assert_eq!(n.missing_before(), LogIndex(1)..=n.log_first_index - 1);
    }
    assert!(
        view.commit_index() > LOG_WINDOW,
        "the global commit index is the true one"
    );
    assert_eq!(
        view.max_index(),
        LogIndex::of_len(sim.node_log(NodeId(1)).len())
    );
    assert_consistent(&view, &sim, "snapshot");
}

#[test]
fn events_after_a_windowed_snapshot_keep_every_log_right() {
    let mut sim = cluster_with(300, 4);
    let mut view = ClusterView::from_snapshot(sim.snapshot_window(20));
    let feed = |sim: &mut Sim, view: &mut ClusterView, step: &str| {
        for e in sim.take_events() {
            view.apply(&e);
        }
        assert!(!view.needs_resync, "{step}: resync needed");
        assert_consistent(view, sim, step);
    };
    for _ in 0..30 {
        sim.propose(None, Command::Add(2)).unwrap();
    }
    sim.run_for(1_000);
    feed(&mut sim, &mut view, "appends");

    // A follower misses entries, the leader crashes, the follower's log is repaired.
    let leader = sim.leader().unwrap();
    let follower = NodeId(leader.get() % 3 + 1);
    sim.crash(follower).unwrap();
    for _ in 0..40 {
        sim.propose(None, Command::Add(3)).unwrap();
    }
    sim.run_for(500);
    feed(&mut sim, &mut view, "follower down");
    sim.restart(follower).unwrap();
    sim.power_loss(leader).unwrap();
    sim.run_for(3_000);
    sim.restart(leader).unwrap();
    sim.run_for(3_000);
    feed(&mut sim, &mut view, "repair");
}

#[test]
fn older_entries_fetched_by_range_fill_the_rows_and_the_committed_log() {
    let sim = cluster_with(120, 5);
    let mut view = ClusterView::from_snapshot(sim.snapshot_window(50));
    let first = view.node(NodeId(2)).unwrap().log_first_index;
    assert!(first > 50);
    let pages = view.pages_to_fetch(LogIndex(1)..=first + 10);
    assert_eq!(pages.len(), 3, "every server lacks its oldest entries");
    assert!(pages
        .iter()
        .all(|(_, r)| *r.end() < first && *r.start() == 1));
    assert!(
        view.pages_to_fetch(first + 5..=first + 10)
            .iter()
            .all(|(id, _)| *id != 2),
        "S2 holds those"
    );

    let page = |from, to| -> Vec<LogEntryView> {
        let (entries, _) = sim.node_log_range(NodeId(2), from, to).unwrap();
        entries.iter().map(LogEntryView::from).collect()
    };
    // A page that does not end right before the loaded part is ignored (a stale answer).
    assert_eq!(
        view.older_entries(NodeId(2), &page(LogIndex(1), first - 5)),
        0
    );
    assert_eq!(view.node(NodeId(2)).unwrap().log_first_index, first);

    let committed_first = view.committed_first_index;
    assert_eq!(
        view.older_entries(NodeId(2), &page(first - 30, first - 1)),
        30
    );
    assert_eq!(
        view.older_entries(NodeId(2), &page(LogIndex(1), first - 31)),
        (first - 31).get() as usize
    );
    let n = view.node(NodeId(2)).unwrap();
    assert_eq!(n.log_first_index, 1);
    assert!(n.missing_before().is_empty());
    assert!(view.committed_first_index < committed_first);
    assert_eq!(view.committed_first_index, 1, "S2 had them all committed");
    assert_consistent(&view, &sim, "after fetching");
}

#[test]
fn a_far_scroll_fetches_bounded_pages_that_end_before_the_loaded_part() {
    let mut snap = common::snapshot(2, 1);
    let n = &mut snap.nodes[0];
    n.log_len = LogIndex(5_100);
    n.log_first_index = LogIndex(5_001);
    n.log = (5_001..=5_100)
        .map(|i| LogEntryView::from(&common::entry(i, 1, 1)))
        .collect();
    let view = ClusterView::from_snapshot(snap);
    assert_eq!(
        view.node(NodeId(1))
            .unwrap()
            .entry(LogIndex(5_001))
            .unwrap()
            .index,
        5_001
    );
    assert_eq!(view.node(NodeId(1)).unwrap().last_index(), 5_100);
    let pages = view.pages_to_fetch(LogIndex(10)..=LogIndex(40));
    assert_eq!(
        pages,
        vec![(NodeId(1), LogIndex(4_001)..=LogIndex(5_000))],
        "one page of LOG_PAGE_MAX, then the next"
    );
    assert_eq!(
        view.pages_to_fetch(LogIndex(4_990)..=LogIndex(5_020)),
        vec![(NodeId(1), LogIndex(4_990)..=LogIndex(5_000))]
    );
}
