//! Tests of the story when the run is replaced under the page: a lesson's next or earlier pause
//! point, or another page's fork, arrives as a `Snapshot` on an open connection
//! (`ClusterView::moved`); this page's own fork or undo (`ClusterView::replaced`). Found by
//! trying the lessons as a lecturer: the story said "Resynchronised with the server" at every
//! step (also with no server at all), called a step back a server restart, and kept telling what
//! an abandoned future did.

mod common;

use common::{entry, fresh_snapshot, snapshot, Feed};
use logscope_frontend::model::Resync;
use shared::protocol::{ClusterSnapshot, Event, LogEntryView};
use shared::types::Role;
use shared::{LogIndex, NodeId, Term};

/// A lesson's pause point: `seq`, at `time_ms`, S1 down, S3 leading term 2, and every log
/// holding `entries` entries, all committed.
fn later(seq: u64, time_ms: u64, entries: u64) -> ClusterSnapshot {
    let mut snap = snapshot(3, seq);
    snap.time_ms = time_ms;
    for n in &mut snap.nodes {
        n.current_term = Term(2);
        n.log = (1..=entries)
            .map(|i| LogEntryView::from(&entry(i, 2, i as i64)))
            .collect();
        n.log_len = LogIndex(entries);
        n.synced_index = LogIndex(entries);
        n.commit_index = LogIndex(entries);
        n.leader_id = Some(NodeId(3));
    }
    snap.nodes[0].up = false;
    snap.nodes[2].role = Role::Leader;
    snap
}

#[test]
fn a_lesson_step_forward_says_what_differs_not_resynchronised() {
    let mut f = Feed::new(3);
    f.ev(Event::RoleChanged {
        node: NodeId(1),
        role: Role::Leader,
        term: Term(1),
        leader_id: Some(NodeId(1)),
    });
    let kind = f.view.moved(later(500, 2415, 5), None);
    assert_eq!(kind, Resync::Same);
    let newest = &f.view.narration[0].text;
    assert_eq!(
        newest,
        "Jumped ahead to t=2.415 s: S1 is down; S3 leads term 2; 5 committed entries"
    );
    assert!(!f.said("Resynchronised"));
    assert!(!f.said("with the server"));
    assert!(
        f.said("S1 is leader for term 1"),
        "the story so far is kept"
    );
}

#[test]
fn a_lesson_step_back_is_not_a_server_restart_and_forgets_the_future() {
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    f.at(2500).ev(Event::NodeCrashed { node: NodeId(2) });
    assert!(f.said("S2 crashed"));
    // Back to an earlier pause point: same cluster, earlier instant, logs not empty.
    let mut earlier = later(200, 900, 2);
    earlier.nodes[0].up = true;
    let kind = f.view.moved(earlier, None);
    assert_eq!(kind, Resync::Same);
    assert!(!f.said("The server restarted"), "no server restarted");
    assert!(!f.said("S2 crashed"), "that has not happened at t=0.9 s");
    assert_eq!(
        f.view.narration[0].text,
        "Back to t=0.900 s: S1 and S2 are running again; 2 committed entries"
    );
}

#[test]
fn a_snapshot_of_another_seed_or_of_empty_disks_is_still_a_new_cluster() {
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    let mut other = snapshot(3, 900);
    other.seed = 8;
    assert_eq!(f.view.moved(other, None), Resync::NewCluster);
    assert!(f.said("A new cluster: 3 servers, seed 8"));
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    assert_eq!(f.view.moved(fresh_snapshot(3, 0), None), Resync::NewCluster);
}

#[test]
fn back_to_a_pause_point_before_the_first_request_is_a_step_back() {
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    // The lesson's first stop: S3 was elected in term 2, nobody has asked anything yet.
    let first = later(40, 310, 0);
    assert_eq!(f.view.moved(first, None), Resync::Same);
    assert!(!f.said("A new cluster"), "the same run, earlier");
    assert!(
        f.view.narration[0].text.starts_with("Back to t=0.310 s"),
        "{}",
        f.view.narration[0].text
    );
}

#[test]
fn a_fork_forgets_what_the_abandoned_future_did() {
    let mut f = Feed::new(3);
    f.at(150).ev(Event::NodeCrashed { node: NodeId(1) });
    let fork_seq = f.view.seq;
    f.at(700).ev(Event::NodeCrashed { node: NodeId(2) });
    assert!(f.said("S2 crashed"));
    let mut at_fork = snapshot(3, fork_seq);
    at_fork.time_ms = 150;
    at_fork.nodes[0].up = false;
    f.view.replaced(at_fork, true);
    assert!(f.said("S1 crashed"), "before the fork: still true");
    assert!(
        !f.said("S2 crashed"),
        "after it: never happened in this run"
    );
}

#[test]
fn the_first_line_counts_committed_entries_in_words() {
    let mut snap = snapshot(3, 10);
    for n in &mut snap.nodes {
        n.commit_index = LogIndex(1);
        n.log = vec![LogEntryView::from(&entry(1, 1, 1))];
        n.log_len = LogIndex(1);
    }
    let view = logscope_frontend::model::ClusterView::from_snapshot(snap);
    let text = logscope_frontend::model::watching(3, 7, view.leader(), view.commit_index());
    assert_eq!(
        text,
        "Watching 3 servers (seed 7): no leader yet, 1 committed entry"
    );
}

/// A reload of the static site: the page's engine restarts every server from this browser's
/// storage, with commit indexes at 0 (volatile). The story says so, rather than look like data
/// loss; a cluster with nothing stored says nothing.
#[test]
fn a_cluster_recovered_in_the_browser_is_announced() {
    let mut view = logscope_frontend::model::ClusterView::from_snapshot(later(40, 300, 4));
    let before = view.narration.len();
    view.note_recovered_in_browser();
    assert_eq!(view.narration.len(), before + 1);
    assert_eq!(
        view.narration[0].text,
        "Recovered from this browser's storage: every server restarted from what its disk had \
         synced (up to term 2, 4 entries). Commit indexes are not stored: entries show as \
         committed again once a leader commits"
    );
    let mut empty = logscope_frontend::model::ClusterView::from_snapshot(snapshot(3, 1));
    empty.note_recovered_in_browser();
    assert!(empty.narration.is_empty());
}

/// The same instant sent again (a lesson's question revealed, a page that fell behind) with
/// nothing changed adds no sentence.
#[test]
fn the_same_instant_sent_again_adds_nothing() {
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    let before = f.view.narration.len();
    f.view.moved(later(500, 2415, 5), None);
    assert_eq!(f.view.narration.len(), before);
}

/// Another page undid an input made at the instant this page shows: the run went back (a lower
/// event number) without moving the clock. It is told as going back, since the story after
/// that event was dropped.
#[test]
fn going_back_at_the_same_instant_is_told_as_going_back() {
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    f.at(2415).ev(Event::NodeCrashed { node: NodeId(2) });
    let mut undone = later(500, 2415, 5);
    undone.seq = 500;
    f.view.moved(undone, None);
    assert!(!f.said("S2 crashed"));
    assert_eq!(
        f.view.narration[0].text,
        "Back to t=2.415 s: S2 is running again"
    );
}

/// The same server re-elected in a later term is a change worth a word.
#[test]
fn the_same_leader_in_a_later_term_is_told() {
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    let mut again = later(700, 3000, 5);
    for n in &mut again.nodes {
        n.current_term = Term(4);
    }
    f.view.moved(again, None);
    assert_eq!(
        f.view.narration[0].text,
        "Jumped ahead to t=3.000 s: S3 leads term 4"
    );
}

#[test]
fn another_page_s_loaded_trace_is_told_as_another_run_and_keeps_the_story() {
    use shared::trace::answers::Reason;
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    f.at(2500).ev(Event::NodeCrashed { node: NodeId(2) });
    // Another page loads a trace of the same cluster that ends earlier: not a step back.
    let mut loaded = later(200, 900, 2);
    loaded.nodes[0].up = true;
    assert_eq!(f.view.moved(loaded, Some(Reason::Loaded)), Resync::Same);
    assert!(
        f.said("S2 crashed"),
        "what this page saw stays in its story"
    );
    assert_eq!(
        f.view.narration[0].text,
        "A trace was loaded, at t=0.900 s: S1 and S2 are running again; 2 committed entries"
    );
    // The same snapshot without a reason (a lesson's stop, an old server) is a step back.
    let mut f = Feed::new(3);
    f.view.moved(later(500, 2415, 5), None);
    f.at(2500).ev(Event::NodeCrashed { node: NodeId(2) });
    let mut back = later(200, 900, 2);
    back.nodes[0].up = true;
    f.view.moved(back, Some(Reason::Fork));
    assert!(!f.said("S2 crashed"));
    assert!(f.view.narration[0].text.starts_with("Back to t=0.900 s"));
}

#[test]
fn an_undone_fork_and_a_branch_brought_back_say_so() {
    use shared::trace::answers::Reason;
    let mut f = Feed::new(3);
    f.view.moved(later(200, 900, 2), Some(Reason::Fork));
    f.view.moved(later(500, 2415, 5), Some(Reason::Undo));
    assert!(
        f.view.narration[0]
            .text
            .starts_with("An undo brought back the run left, at t=2.415 s"),
        "{}",
        f.view.narration[0].text
    );
    f.view.moved(later(300, 1200, 3), Some(Reason::Restored));
    assert!(f.view.narration[0]
        .text
        .starts_with("A branch was brought back, at t=1.200 s"));
    // A reset to the same seed and size is a new cluster, whatever its disks hold.
    assert_eq!(
        f.view.moved(later(2, 10, 0), Some(Reason::Reset)),
        Resync::NewCluster
    );
}

/// QA: a lesson's steps often told only "Jumped ahead to t=0.351 s": a split network, an
/// election with no winner yet and entries not committed are told too.
#[test]
fn a_jump_tells_a_split_network_an_unfinished_election_and_uncommitted_entries() {
    let mut f = Feed::new(3);
    let mut split = snapshot(3, 300);
    split.time_ms = 351;
    split.network.partitions = vec![vec![NodeId(1)], vec![NodeId(2), NodeId(3)]];
    for n in &mut split.nodes {
        n.current_term = Term(3);
    }
    split.nodes[1].role = Role::Candidate;
    split.nodes[0].log = vec![LogEntryView::from(&entry(1, 1, 7))];
    split.nodes[0].log_len = LogIndex(1);
    f.view.moved(split, None);
    assert_eq!(
        f.view.narration[0].text,
        "Jumped ahead to t=0.351 s: the network is split into S1 | S2 and S3; no leader yet: \
         S2 stands for term 3; S1's log reaches entry 1, not committed"
    );
    let mut healed = later(400, 900, 1);
    healed.network.partitions = vec![];
    f.view.moved(healed, None);
    assert!(
        f.view.narration[0]
            .text
            .contains("the network is whole again"),
        "{}",
        f.view.narration[0].text
    );
}
