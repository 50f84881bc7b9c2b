//! Ghost entries: what log repair overwrote and what a power loss took back stay in that
//! server's row for a while, saying why — event by event, and over real runs (the `figure-8`
//! and `crash-vs-power-loss` lessons, re-executed).

mod common;

use common::{entry, Feed};
use logscope_frontend::model::{ClusterView, GhostCause, LOG_GHOST_KEEP_MS};
use shared::lesson;
use shared::protocol::Event;
use shared::trace::{Position, Replay};
use shared::types::Role;
use shared::{LogIndex, NodeId, Term};

fn reasons(view: &ClusterView, node: u64) -> Vec<(u64, u64, String)> {
    view.log_ghosts_of(NodeId(node), LogIndex(1)..=LogIndex(100))
        .iter()
        .map(|g| (g.entry.index.get(), g.entry.term.get(), g.reason()))
        .collect()
}

#[test]
fn a_truncated_entry_becomes_a_ghost_named_by_what_replaced_it() {
    let mut f = Feed::new(3);
    f.ev(Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![entry(1, 1, 1), entry(2, 1, 2), entry(3, 1, 3)],
    });
    assert!(reasons(&f.view, 2).is_empty(), "nothing lost yet");
    f.at(200).ev(Event::RoleChanged {
        node: NodeId(2),
        role: Role::Follower,
        term: Term(2),
        leader_id: Some(NodeId(1)),
    });
    f.ev(Event::EntriesTruncated {
        node: NodeId(2),
        from_index: LogIndex(2),
    });
    let repair = "deleted by log repair: it conflicted with the leader's log";
    assert_eq!(
        reasons(&f.view, 2),
        vec![(2, 1, repair.to_string()), (3, 1, repair.to_string())]
    );
    f.ev(Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![entry(2, 2, 9)],
    });
    assert_eq!(
        reasons(&f.view, 2),
        vec![
            (2, 1, "overwritten by S1's entry from term 2".to_string()),
            (3, 1, repair.to_string())
        ]
    );
    assert!(reasons(&f.view, 1).is_empty(), "only S2's row has ghosts");
    // They fade with virtual time, not before.
    f.at(200 + LOG_GHOST_KEEP_MS).ev(Event::EntriesPersisted {
        node: NodeId(2),
        synced_index: LogIndex(2),
    });
    assert_eq!(reasons(&f.view, 2).len(), 2);
    f.at(201 + LOG_GHOST_KEEP_MS).ev(Event::EntriesPersisted {
        node: NodeId(2),
        synced_index: LogIndex(2),
    });
    assert!(reasons(&f.view, 2).is_empty(), "faded");
}

#[test]
fn a_power_loss_leaves_its_unsynced_tail_as_ghosts() {
    let mut f = Feed::new(3);
    f.ev(Event::EntriesAppended {
        node: NodeId(3),
        entries: vec![entry(1, 1, 1), entry(2, 1, 2), entry(3, 1, 3)],
    });
    f.ev(Event::EntriesPersisted {
        node: NodeId(3),
        synced_index: LogIndex(1),
    });
    f.ev(Event::PowerLost {
        node: NodeId(3),
        synced_index: LogIndex(1),
        lost_entries: 2,
    });
    let lost = "lost in power loss: never synced".to_string();
    assert_eq!(
        reasons(&f.view, 3),
        vec![(2, 1, lost.clone()), (3, 1, lost)]
    );
    assert_eq!(f.view.node(NodeId(3)).unwrap().last_index(), LogIndex(1));
    // A crash keeps the disk's writes: no ghost.
    f.ev(Event::NodeCrashed { node: NodeId(2) });
    assert!(reasons(&f.view, 2).is_empty());
}

/// The page's view after every event of a built-in lesson.
fn lesson_view(name: &str) -> ClusterView {
    let text = lesson::builtin(name).unwrap();
    let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
    let mut view =
        ClusterView::from_snapshot(Replay::new(staged.trace.clone()).unwrap().sim().snapshot());
    let mut replay = Replay::new(staged.trace).unwrap().keeping_events();
    replay.run_to(Position::End).unwrap();
    for e in replay.events() {
        view.apply(e);
    }
    view
}

#[test]
fn real_runs_leave_the_ghosts_their_lessons_describe() {
    // Figure 8 (d): S5, leader of term 5, replaces S3's entry 1 (term 1) with its own of term 2.
    let view = lesson_view("figure-8");
    assert!(
        reasons(&view, 3).contains(&(1, 1, "overwritten by S5's entry from term 2".into())),
        "{:?}",
        reasons(&view, 3)
    );
    // S2 lost power before its fsync of entry 2; S3 only crashed.
    let view = lesson_view("crash-vs-power-loss");
    assert_eq!(
        reasons(&view, 2),
        vec![(2, 1, "lost in power loss: never synced".into())]
    );
    assert!(reasons(&view, 3).is_empty());
    assert!(view
        .log_ghosts
        .iter()
        .all(|g| g.cause == GhostCause::PowerLoss));
}

/// Every ghost reason the page shows when it only gets each pause point's snapshot of a
/// built-in lesson (as a lesson's Next does: no events in between).
fn reasons_by_stops(name: &str, node: u64) -> Vec<(u64, u64, String)> {
    let text = lesson::builtin(name).unwrap();
    let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
    let at = |seq| {
        let mut replay = Replay::new(staged.trace.clone()).unwrap();
        replay.run_to(Position::Seq(seq)).unwrap();
        replay.sim().snapshot()
    };
    let mut view = ClusterView::from_snapshot(at(staged.stops[0].seq));
    let mut seen = Vec::new();
    for stop in &staged.stops[1..] {
        view.resync(at(stop.seq));
        for r in reasons(&view, node) {
            if !seen.contains(&r) {
                seen.push(r);
            }
        }
    }
    seen
}

#[test]
fn jumping_from_pause_point_to_pause_point_still_leaves_the_ghosts() {
    // Figure 8 (d), reached by Next: S3's entry 1 of term 1 was overwritten in between.
    let s3 = reasons_by_stops("figure-8", 3);
    assert!(
        s3.contains(&(1, 1, "overwritten by S5's entry from term 2".into())),
        "{s3:?}"
    );
    // The power loss between two pause points: S2's unsynced entry 2; S3 only crashed.
    assert_eq!(
        reasons_by_stops("crash-vs-power-loss", 2),
        vec![(2, 1, "lost in power loss: never synced".into())]
    );
    assert!(reasons_by_stops("crash-vs-power-loss", 3).is_empty());
    let text = lesson::builtin("crash-vs-power-loss").unwrap();
    let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
    let at = |seq| {
        let mut replay = Replay::new(staged.trace.clone()).unwrap();
        replay.run_to(Position::Seq(seq)).unwrap();
        replay.sim().snapshot()
    };
    // Going back is no loss: a snapshot from before is a new run, not a vanished entry.
    let last = staged.stops.last().unwrap().seq;
    let mut view = ClusterView::from_snapshot(at(last));
    view.resync(at(staged.stops[0].seq));
    assert!(view.log_ghosts.is_empty());
}
