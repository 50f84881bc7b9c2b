//! Key moments for the teacher's auto-slow and auto-pause: the reducer notices an election won,
//! entries truncated and the first commit of a new term, keeps the first until the page takes
//! it, and words it for "Paused: …" — event by event, and over a real run (the `log-repair`
//! lesson). What the setting does with a moment is in `auto_pause.rs`.

mod common;

use common::{entry, Feed};
use logscope_frontend::model::ClusterView;
use shared::lesson;
use shared::protocol::Event;
use shared::trace::{Position, Replay};
use shared::types::Role;
use shared::{LogIndex, NodeId, Term};

fn elected(f: &mut Feed, node: u64, term: u64) {
    f.ev(Event::RoleChanged {
        node: NodeId(node),
        role: Role::Leader,
        term: Term(term),
        leader_id: Some(NodeId(node)),
    });
}

#[test]
fn an_election_a_truncation_and_a_new_terms_first_commit_are_key_moments() {
    let mut f = Feed::new(3);
    assert_eq!(f.view.take_key_moment(), None);
    elected(&mut f, 2, 3);
    // The first moment waits until taken; a later one does not replace it.
    f.ev(Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![entry(1, 3, 1), entry(2, 3, 2)],
    });
    elected(&mut f, 1, 4);
    let m = f.view.take_key_moment().expect("a moment");
    assert_eq!(m.why, "S2 won the election for term 3");
    assert_eq!(m.seq, 11);
    assert_eq!(f.view.take_key_moment(), None, "taken once");

    f.ev(Event::CommitAdvanced {
        node: NodeId(2),
        commit_index: LogIndex(1),
    });
    assert_eq!(
        f.view.take_key_moment().map(|m| m.why).as_deref(),
        Some("the first entry of term 3 committed: entry 1")
    );
    // A second entry of the same term committing is not a moment.
    f.ev(Event::CommitAdvanced {
        node: NodeId(2),
        commit_index: LogIndex(2),
    });
    assert_eq!(f.view.take_key_moment(), None);

    f.ev(Event::EntriesTruncated {
        node: NodeId(2),
        from_index: LogIndex(2),
    });
    assert_eq!(
        f.view.take_key_moment().map(|m| m.why).as_deref(),
        Some("S2 deleted its entry 2: it conflicted with the leader's log")
    );
    // Other events are not moments.
    f.ev(Event::NodeCrashed { node: NodeId(3) });
    assert_eq!(f.view.take_key_moment(), None);
}

#[test]
fn the_log_repair_lesson_pauses_at_its_elections_repairs_and_new_terms() {
    let text = lesson::builtin("log-repair").unwrap();
    let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
    let mut view =
        ClusterView::from_snapshot(Replay::new(staged.trace.clone()).unwrap().sim().snapshot());
    let mut replay = Replay::new(staged.trace).unwrap().keeping_events();
    replay.run_to(Position::End).unwrap();
    let mut moments = Vec::new();
    for e in replay.events() {
        view.apply(e);
        moments.extend(view.take_key_moment().map(|m| m.why));
    }
    let has = |s: &str| moments.iter().any(|m| m.contains(s));
    assert!(has("won the election for term 1"), "{moments:?}");
    assert!(has("the first entry of term 1 committed"), "{moments:?}");
    assert!(
        has("S2 deleted its entries") || has("S2 deleted its entry"),
        "{moments:?}"
    );
    // Every moment is one of the three kinds.
    assert!(
        moments.iter().all(|m| m.contains("won the election")
            || m.contains("deleted its entr")
            || m.contains("committed: entry")),
        "{moments:?}"
    );
}
