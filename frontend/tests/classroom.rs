//! Tests of what the page tells a room, found by trying it as a lecturer: a stale leader is not
//! "the leader", the quorum counter counts disks, a new cluster starts a new story and a
//! recovered one is not called new.

mod common;

use common::{entry, fresh_snapshot, snapshot, Feed};
use logscope_frontend::model::ClusterView;
use logscope_frontend::present::{announcement, centre_text, is_stale_leader, timeout_countdown};
use shared::protocol::Event;
use shared::types::Role;
use shared::{LogIndex, NodeId, Term};

/// `node` becomes leader of `term` (through candidacy, as the reducer sees it).
fn elect(f: &mut Feed, node: u64, term: u64) {
    for role in [Role::Candidate, Role::Leader] {
        f.ev(Event::RoleChanged {
            node: NodeId(node),
            role,
            term: Term(term),
            leader_id: (role == Role::Leader).then_some(NodeId(node)),
        });
    }
}

fn follow(f: &mut Feed, node: u64, term: u64, leader: Option<u64>) {
    f.ev(Event::RoleChanged {
        node: NodeId(node),
        role: Role::Follower,
        term: Term(term),
        leader_id: leader.map(NodeId),
    });
}

#[test]
fn a_leader_cut_off_at_an_old_term_is_not_the_clusters_leader() {
    let mut f = Feed::new(5);
    elect(&mut f, 3, 3);
    for n in [1, 2, 4, 5] {
        follow(&mut f, n, 3, Some(3));
    }
    assert_eq!(f.view.leader(), Some(NodeId(3)));
    assert_eq!(centre_text(&f.view).title, "S3 leads");
    assert_eq!(centre_text(&f.view).stale, None);

    // S3 and S4 are cut off; S1, S2 and S5 move on to term 4, with no leader yet.
    for n in [1, 2, 5] {
        follow(&mut f, n, 4, None);
    }
    assert_eq!(f.view.majority_term(), 4);
    assert_eq!(f.view.leader(), None, "S3 leads no majority any more");
    assert!(is_stale_leader(&f.view, NodeId(3)));
    let centre = centre_text(&f.view);
    assert_eq!(centre.title, "no leader");
    assert_eq!(
        centre.stale.as_deref(),
        Some("S3 believes it leads term 3; the cluster is at term 4 (no leader yet)")
    );

    // S1 wins term 4.
    elect(&mut f, 1, 4);
    assert_eq!(f.view.leader(), Some(NodeId(1)));
    let centre = centre_text(&f.view);
    assert_eq!(centre.title, "S1 leads");
    assert_eq!(centre.sub, "term 4 · commit 0");
    assert_eq!(
        centre.stale.as_deref(),
        Some("S3 believes it leads term 3; the cluster is at term 4 (S1 leads)")
    );
}

#[test]
fn a_lone_server_running_its_term_up_does_not_depose_the_leader() {
    let mut f = Feed::new(5);
    elect(&mut f, 1, 3);
    for n in [2, 3, 4] {
        follow(&mut f, n, 3, Some(1));
    }
    // S5 is isolated and keeps timing out: term 10 on one server is not the cluster's term.
    f.ev(Event::RoleChanged {
        node: NodeId(5),
        role: Role::Candidate,
        term: Term(10),
        leader_id: None,
    });
    assert_eq!(f.view.majority_term(), 3);
    assert_eq!(f.view.leader(), Some(NodeId(1)));
    assert!(f.view.stale_leaders().is_empty());
}

#[test]
fn the_quorum_counter_counts_the_disks_that_hold_the_entry() {
    let mut f = Feed::new(5);
    elect(&mut f, 1, 2);
    for n in 1..=3 {
        f.ev(Event::EntriesAppended {
            node: NodeId(n),
            entries: vec![entry(1, 2, 1)],
        });
    }
    assert_eq!(
        f.view.replication(LogIndex(1)),
        Some((0, 5)),
        "in memory only"
    );
    // The followers synced it before the leader did, and their replies are still travelling:
    // the leader has heard from nobody, but two disks hold the entry.
    for n in [2, 3] {
        f.ev(Event::EntriesPersisted {
            node: NodeId(n),
            synced_index: LogIndex(1),
        });
    }
    assert_eq!(f.view.replication(LogIndex(1)), Some((2, 5)));
    f.ev(Event::EntriesPersisted {
        node: NodeId(1),
        synced_index: LogIndex(1),
    });
    assert_eq!(
        f.view.on_disks(LogIndex(1)),
        Some(vec![NodeId(1), NodeId(2), NodeId(3)])
    );
    // A different entry at the same index on some disk is not a copy.
    f.ev(Event::EntriesAppended {
        node: NodeId(4),
        entries: vec![entry(1, 1, 9)],
    });
    f.ev(Event::EntriesPersisted {
        node: NodeId(4),
        synced_index: LogIndex(1),
    });
    assert_eq!(f.view.replication(LogIndex(1)), Some((3, 5)));
}

#[test]
fn a_new_cluster_starts_a_new_story() {
    let mut f = Feed::new(3);
    f.ev(Event::NodeCrashed { node: NodeId(1) });
    assert!(f.said("S1 crashed"));
    // "New cluster…" with the same seed and size: the run starts again with empty disks.
    let kind = f.view.resync(fresh_snapshot(3, 0));
    assert_eq!(kind, logscope_frontend::model::Resync::NewCluster);
    assert!(!f.said("S1 crashed"), "the old run's story is gone");
    assert_eq!(f.view.narration.len(), 1);
    assert!(f.said("A new cluster: 3 servers, seed 7"));
}

#[test]
fn a_cluster_recovered_from_disk_is_not_announced_as_new() {
    let mut f = Feed::new(3);
    f.ev(Event::NodeCrashed { node: NodeId(1) });
    // The server restarted: a new run (seq starts again) of the cluster on its disks.
    let mut snap = snapshot(3, 2);
    for n in &mut snap.nodes {
        n.current_term = Term(4);
        n.log = vec![shared::protocol::LogEntryView::from(&entry(1, 4, 1))];
        n.synced_index = LogIndex(1);
    }
    let kind = f.view.resync(snap);
    assert_eq!(kind, logscope_frontend::model::Resync::Recovered);
    assert!(!f.said("A new cluster"));
    assert!(f.said(
        "The server restarted and recovered the cluster from its disks: 3 servers, seed 7, up to term 4, 1 entry. \
         Every server started again from what it had synced, crashed ones too, and the network is \
         whole again; commit indexes are volatile, so entries show as committed again once a leader \
         commits"
    ));
    assert!(f.said("S1 crashed"), "the story goes on");

    // Restarted before any request: only terms and votes on the disks, which is still them.
    let mut snap = snapshot(3, 1);
    snap.nodes.iter_mut().for_each(|n| n.current_term = Term(2));
    assert_eq!(
        f.view.resync(snap),
        logscope_frontend::model::Resync::Recovered
    );
    assert!(f.said("up to term 2, 0 entries"));

    // Another seed with entries on its disks (reset while this page was away) is a new cluster.
    let mut snap = snapshot(3, 1);
    snap.seed = 8;
    snap.nodes[0].log = vec![shared::protocol::LogEntryView::from(&entry(1, 1, 1))];
    assert_eq!(
        f.view.resync(snap),
        logscope_frontend::model::Resync::NewCluster
    );
}

/// The break-Raft lab elects two leaders in one term: both are leaders on the page, neither an
/// "old leader", and the centre names both (it called one "old leader" and said the other led).
#[test]
fn two_leaders_of_one_term_are_both_leaders() {
    let mut f = Feed::new(3);
    elect(&mut f, 1, 1);
    follow(&mut f, 3, 1, Some(1));
    elect(&mut f, 2, 1);
    assert_eq!(f.view.leaders_now(), vec![NodeId(1), NodeId(2)]);
    assert!(!is_stale_leader(&f.view, NodeId(1)));
    assert!(!is_stale_leader(&f.view, NodeId(2)));
    let centre = centre_text(&f.view);
    assert_eq!(centre.title, "S1 and S2 both lead");
    assert_eq!(centre.sub, "term 1 · commit 0");
    // One of them learns of a later term: one leader again, the other is behind.
    follow(&mut f, 1, 2, None);
    follow(&mut f, 3, 2, None);
    elect(&mut f, 3, 2);
    assert_eq!(f.view.leaders_now(), vec![NodeId(3)]);
    assert!(is_stale_leader(&f.view, NodeId(2)));
    assert_eq!(centre_text(&f.view).title, "S3 leads");
}

#[test]
fn a_new_cluster_says_what_it_waits_for_until_someone_stands() {
    let mut f = Feed::new(5);
    let mut fresh = snapshot(5, 10);
    for n in &mut fresh.nodes {
        n.current_term = Term(0);
    }
    f.view = ClusterView::from_snapshot(fresh);
    let centre = centre_text(&f.view);
    assert_eq!(centre.title, "no leader");
    assert_eq!(centre.sub, "election timers running");
    f.view.paused = true;
    assert_eq!(
        centre_text(&f.view).sub,
        "no election yet",
        "paused, no timer runs"
    );
    f.view.paused = false;
    // S2's timer ran out: it stands for term 1, which the other four have not seen yet.
    f.ev(Event::RoleChanged {
        node: NodeId(2),
        role: Role::Candidate,
        term: Term(1),
        leader_id: None,
    });
    let centre = centre_text(&f.view);
    assert_eq!(centre.title, "no leader");
    assert_eq!(centre.sub, "term 0 · commit 0");
}

#[test]
fn the_wait_for_an_election_timer_is_counted_down_in_wall_seconds() {
    let mut fresh = snapshot(3, 10);
    for (n, due_ms) in fresh.nodes.iter_mut().zip([420, 260, 390]) {
        n.current_term = Term(0);
        n.election_deadline_ms = Some(due_ms);
    }
    let mut f = Feed::new(3);
    f.view = ClusterView::from_snapshot(fresh);
    // At 1/100×, S2's timer (due at 260 ms, 160 ms from now) runs out in 16 s of wall time.
    assert_eq!(
        timeout_countdown(&f.view, 100.0).as_deref(),
        Some("first timeout in 16 s")
    );
    // Partway through a second, it is rounded up: never "in 0 s" while it still runs.
    assert_eq!(
        timeout_countdown(&f.view, 255.5).as_deref(),
        Some("first timeout in 1 s")
    );
    f.view.speed = 0.1;
    assert_eq!(
        timeout_countdown(&f.view, 100.0).as_deref(),
        Some("first timeout in 2 s")
    );
    // A crashed server's timer does not run.
    f.ev(Event::NodeCrashed { node: NodeId(2) });
    assert_eq!(
        timeout_countdown(&f.view, 100.0).as_deref(),
        Some("first timeout in 3 s"),
        "S3's, due at 390 ms"
    );
    // Paused, at full speed, or overdue (its event is on its way): the usual line.
    f.view.paused = true;
    assert_eq!(timeout_countdown(&f.view, 100.0), None);
    f.view.paused = false;
    f.view.speed = 0.0;
    assert_eq!(timeout_countdown(&f.view, 100.0), None);
    f.view.speed = 0.01;
    assert_eq!(timeout_countdown(&f.view, 500.0), None);
    // Someone stands: the class watches the votes, not a timer.
    f.ev(Event::RoleChanged {
        node: NodeId(3),
        role: Role::Candidate,
        term: Term(1),
        leader_id: None,
    });
    assert_eq!(timeout_countdown(&f.view, 100.0), None);
    // S3 wins; later the leader is gone and the others wait again, in term 1.
    f.ev(Event::RoleChanged {
        node: NodeId(3),
        role: Role::Leader,
        term: Term(1),
        leader_id: Some(NodeId(3)),
    });
    follow(&mut f, 1, 1, Some(3));
    assert_eq!(timeout_countdown(&f.view, 100.0), None, "a leader leads");
    f.ev(Event::NodeCrashed { node: NodeId(3) });
    f.ev(Event::TimerReset {
        node: NodeId(1),
        election_deadline_ms: 600,
    });
    assert_eq!(
        timeout_countdown(&f.view, 300.0).as_deref(),
        Some("term 1 · next timeout in 30 s")
    );
}

#[test]
fn a_screen_reader_hears_who_leads_and_who_is_down() {
    let mut f = Feed::new(3);
    assert_eq!(announcement(&f.view), "No leader in term 1.");
    elect(&mut f, 2, 1);
    for n in [1, 3] {
        follow(&mut f, n, 1, Some(2));
    }
    assert_eq!(announcement(&f.view), "S2 leads term 1.");
    f.ev(Event::NodeCrashed { node: NodeId(3) });
    assert_eq!(announcement(&f.view), "S2 leads term 1. S3 is down.");
    f.ev(Event::NodeCrashed { node: NodeId(2) });
    assert_eq!(
        announcement(&f.view),
        "No leader in term 1. S2, S3 are down."
    );
}
