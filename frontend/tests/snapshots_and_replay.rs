//! Tests of the view model as a whole: sequence numbers and resyncs, robustness against odd
//! events, and the strongest check we have — a real simulated cluster (shared's `Sim`, with
//! crashes, power loss, partitions and client load) whose snapshot at the start plus its events
//! must rebuild exactly the snapshot at the end.

mod common;

use shared::Command;
use shared::{LogIndex, NodeId, Term};

use common::{assert_matches, entry, snapshot, Feed};
use logscope_frontend::model::{Applied, ClusterView, REQUESTS_MAX};
use shared::protocol::{Event, SimEvent};
use shared::sim::{Sim, SimConfig};
use shared::types::LogModel;

#[test]
fn events_already_in_the_snapshot_are_ignored_and_gaps_ask_for_a_resync() {
    let mut view = ClusterView::from_snapshot(snapshot(3, 10));
    let crash = |seq| SimEvent {
        seq,
        time_ms: 100,
        event: Event::NodeCrashed { node: NodeId(1) },
    };
    assert_eq!(view.apply(&crash(10)), Applied::Duplicate);
    assert_eq!(view.apply(&crash(3)), Applied::Duplicate);
    assert!(view.node(NodeId(1)).unwrap().up);
    assert!(!view.needs_resync);
    assert_eq!(view.apply(&crash(11)), Applied::Yes);
    assert!(!view.node(NodeId(1)).unwrap().up);
    assert_eq!(view.apply(&crash(11)), Applied::Duplicate);
    assert_eq!(view.apply(&crash(15)), Applied::Yes);
    assert!(view.needs_resync, "seq 12..14 were missed");
}

#[test]
fn unknown_nodes_and_misplaced_entries_never_panic() {
    let mut f = Feed::new(3);
    f.ev(Event::NodeCrashed { node: NodeId(0) });
    f.ev(Event::NodeCrashed { node: NodeId(99) });
    f.ev(Event::CommitAdvanced {
        node: NodeId(42),
        commit_index: LogIndex(7),
    });
    f.ev(Event::EntryApplied {
        node: NodeId(0),
        index: LogIndex(0),
        value: 1,
    });
    f.ev(Event::EntryApplied {
        node: NodeId(1),
        index: LogIndex(0),
        value: 1,
    });
    f.ev(Event::EntryApplied {
        node: NodeId(2),
        index: LogIndex(0),
        value: 2,
    });
    assert!(!f.view.needs_resync);
    f.ev(Event::EntriesAppended {
        node: NodeId(1),
        entries: vec![entry(5, 1, 1)],
    });
    assert!(
        f.view.needs_resync,
        "an entry past the end means we missed something"
    );
    assert_eq!(f.view.node(NodeId(1)).unwrap().last_index(), 0);
    // Commit beyond the log is clamped, not trusted.
    f.ev(Event::CommitAdvanced {
        node: NodeId(1),
        commit_index: LogIndex(9),
    });
    assert_eq!(f.view.node(NodeId(1)).unwrap().commit_index, 0);
}

#[test]
fn a_new_snapshot_replaces_the_state_and_keeps_the_story() {
    let mut f = Feed::new(3);
    f.ev(Event::NodeCrashed { node: NodeId(1) });
    let mut snap = snapshot(3, 50);
    snap.nodes[0].current_term = Term(9);
    f.view.resync(snap.clone());
    assert_eq!(f.view.seq, 50);
    assert!(f.view.node(NodeId(1)).unwrap().up);
    assert_eq!(f.view.node(NodeId(1)).unwrap().current_term, 9);
    assert!(f.said("S1 crashed"), "narration survives a resync");
    assert!(f.said("Resynchronised"));

    // A reset: a new seed and size is a new cluster.
    let mut snap = snapshot(5, 3);
    snap.seed = 99;
    snap.warnings = vec!["election timeouts 150–150 ms spread only 0 ms".to_string()];
    f.view.resync(snap);
    assert_eq!(f.view.nodes.len(), 5);
    assert_eq!(f.view.seq, 3);
    assert!(f.said("A new cluster: 5 servers, seed 99"));
    assert!(
        f.said("Note: election timeouts 150–150 ms"),
        "the server's warnings about the new cluster are said"
    );
    let e = SimEvent {
        seq: 4,
        time_ms: 0,
        event: Event::NodeCrashed { node: NodeId(5) },
    };
    assert_eq!(f.view.apply(&e), Applied::Yes);
}
#[test]
fn a_run_replaced_by_fork_or_undo_keeps_the_story_without_guessing_a_restart() {
    let mut f = Feed::new(3);
    f.ev(Event::NodeCrashed { node: NodeId(1) });
    let mut snap = snapshot(3, 2);
    snap.nodes[0].log = vec![(&entry(1, 1, 0)).into()];
    f.view.replaced(snap, false);
    assert_eq!(f.view.seq, 2, "the new run's seq, lower than before");
    assert!(f.view.node(NodeId(1)).unwrap().up);
    assert!(f.said("S1 crashed"), "the story is kept");
    assert!(!f.said("The server restarted"));
    assert!(!f.said("A new cluster"));
    let ids: Vec<u64> = f.view.narration.iter().map(|n| n.id).collect();
    f.view
        .note("after".to_string(), logscope_frontend::model::Tone::Control);
    assert!(!ids.contains(&f.view.narration[0].id), "ids stay unique");
    let e = SimEvent {
        seq: 3,
        time_ms: 0,
        event: Event::NodeCrashed { node: NodeId(2) },
    };
    assert_eq!(f.view.apply(&e), Applied::Yes);
}

/// Drive a real cluster through a scripted set of faults, then check that the first snapshot
/// plus every event rebuilds the last snapshot exactly.
fn replay_matches_simulator(seed: u64, log_model: LogModel, nodes: u64) {
    let config = SimConfig {
        nodes,
        seed,
        log_model,
        ..SimConfig::default()
    };
    let mut sim = Sim::new(config).expect("valid config");
    sim.run_for(50);
    sim.take_events();
    let mut view = ClusterView::from_snapshot(sim.snapshot());
    let feed = |sim: &mut Sim, view: &mut ClusterView, step: &str| {
        for e in sim.take_events() {
            view.apply(&e);
        }
        assert!(!view.needs_resync, "seed {seed} {step}: resync needed");
        assert_matches(view, &sim.snapshot(), &format!("seed {seed} after {step}"));
    };
    sim.run_for(1_000);
    feed(&mut sim, &mut view, "election");
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
    feed(&mut sim, &mut view, "appends");
    let leader = sim.leader().unwrap_or(NodeId(1));
    sim.crash(leader).unwrap();
    sim.run_for(1_000);
    feed(&mut sim, &mut view, "leader crash");
    let _ = sim.propose(None, "add 2".parse().unwrap());
    let other = NodeId(sim.leader().unwrap_or(NodeId(1)).get() % nodes + 1);
    if sim.is_up(other) && nodes > 1 {
        let _ = sim.propose(Some(other), "add 4".parse().unwrap());
    }
    sim.run_for(3);
    if let Some(l) = sim.leader() {
        sim.power_loss(l).unwrap();
    }
    sim.run_for(800);
    feed(&mut sim, &mut view, "power loss");
    sim.restart(leader).unwrap();
    sim.isolate(NodeId(nodes)).unwrap();
    sim.set_network(Some(0.2), None, Some(3), Some(30)).unwrap();
    for _ in 0..5 {
        let _ = sim.propose(None, "add 1".parse().unwrap());
        sim.run_for(40);
    }
    sim.run_for(1_000);
    feed(&mut sim, &mut view, "isolation and loss");
    sim.heal();
    sim.set_network(Some(0.0), None, None, None).unwrap();
    for id in 1..=nodes {
        if !sim.is_up(NodeId(id)) {
            sim.restart(NodeId(id)).unwrap();
        }
    }
    sim.run_for(2_000);
    feed(&mut sim, &mut view, "heal");
    let leader_term = view.leader().map(|l| view.node(l).unwrap().current_term);
    assert!(leader_term.is_some(), "seed {seed}: a leader after healing");
}

#[test]
fn snapshot_plus_events_rebuilds_the_simulator_state() {
    // LOGSCOPE_FE_SEEDS=300 runs a deeper sweep (the default keeps `cargo test` quick).
    let seeds: u64 = std::env::var("LOGSCOPE_FE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    for seed in 1..=seeds {
        replay_matches_simulator(seed, LogModel::Command, 5);
        replay_matches_simulator(seed, LogModel::State, 3);
    }
    replay_matches_simulator(3, LogModel::Command, 1);
    replay_matches_simulator(4, LogModel::Command, 9);
}

#[test]
fn a_snapshot_taken_mid_run_resumes_where_the_events_left_off() {
    let mut sim = Sim::new(SimConfig::default()).unwrap();
    sim.run_for(600);
    let _ = sim.propose(None, "add 5".parse().unwrap());
    sim.run_for(5);
    let mut early = ClusterView::from_snapshot(sim.snapshot());
    sim.take_events();
    sim.run_for(300);
    let events = sim.take_events();
    let late_snapshot = sim.snapshot();
    // A viewer that joined late gets the late snapshot; replaying old events changes nothing.
    let mut late = ClusterView::from_snapshot(late_snapshot.clone());
    for e in &events {
        assert_eq!(late.apply(e), Applied::Duplicate);
    }
    for e in &events {
        early.apply(e);
    }
    assert_matches(&early, &late_snapshot, "early viewer");
    assert_matches(&late, &late_snapshot, "late viewer");
    assert_eq!(early.committed, late.committed);
}

#[test]
fn old_client_requests_are_forgotten_but_recent_ones_named() {
    let mut f = Feed::new(3);
    for id in 1..=(REQUESTS_MAX as u64 + 10) {
        f.ev(Event::ClientRequest {
            node: NodeId(1),
            command: Command::Add(id as i64),
            request_id: id,
            client: None,
        });
    }
    assert_eq!(f.view.requests.len(), REQUESTS_MAX);
    assert!(!f.view.requests.contains_key(&1));
    f.ev(Event::ProposalAccepted {
        node: NodeId(1),
        request_id: REQUESTS_MAX as u64 + 10,
        index: LogIndex(3),
        term: Term(1),
        duplicate: false,
    });
    assert!(f.said(&format!(
        "appended \"add {}\" as entry 3",
        REQUESTS_MAX + 10
    )));
    f.ev(Event::ProposalAccepted {
        node: NodeId(1),
        request_id: 1,
        index: LogIndex(4),
        term: Term(1),
        duplicate: false,
    });
    assert!(f.said("appended a request as entry 4"));
}
