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
