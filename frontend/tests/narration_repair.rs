//! Log repair is told as it happens: a refused AppendEntries reaching its leader becomes one
//! sentence naming the follower, why it refused and where the leader backs up to — event by
//! event, and over a real run (the `log-repair` lesson, re-executed).

mod common;

use common::{flight, Feed};
use logscope_frontend::model::ClusterView;
use shared::lesson;
use shared::protocol::{AppendEntriesResponse, Event, MessageBody};
use shared::trace::{Position, Replay};
use shared::{LogIndex, NodeId, Term};

fn refusal(f: &mut Feed, id: u64, response: AppendEntriesResponse, next: u64) {
    let body = MessageBody::AppendEntriesResponse(response);
    f.ev(Event::MessageSent {
        message: flight(id, 4, 1, body),
    });
    f.at(110).ev(Event::MessageDelivered {
        id,
        from: NodeId(4),
        to: NodeId(1),
    });
    f.ev(Event::ProgressUpdated {
        leader: NodeId(1),
        peer: NodeId(4),
        next_index: LogIndex(next),
        match_index: LogIndex(0),
    });
}

#[test]
fn a_refusal_is_told_with_its_reason_and_the_back_up() {
    let mut f = Feed::new(5);
    let conflict = AppendEntriesResponse::reject(LogIndex(6), LogIndex(5), Some(Term(2)));
    refusal(&mut f, 1, conflict, 5);
    assert!(
        f.said(
            "S4 refused AppendEntries at 7: its entry 6 is from term 2; the leader backs up to 5"
        ),
        "{:?}",
        f.view.narration.front()
    );
    let short = AppendEntriesResponse::reject(LogIndex(6), LogIndex(4), None);
    refusal(&mut f, 2, short, 4);
    assert!(
        f.said("S4 refused AppendEntries at 7: its log ends at entry 3; the leader backs up to 4")
    );
}

#[test]
fn an_accepted_append_or_a_lone_progress_update_says_nothing_about_repair() {
    let mut f = Feed::new(5);
    let before = f.view.narration.len();
    refusal(
        &mut f,
        1,
        AppendEntriesResponse::accept(LogIndex(3), LogIndex(2)),
        4,
    );
    f.ev(Event::ProgressUpdated {
        leader: NodeId(1),
        peer: NodeId(4),
        next_index: LogIndex(2),
        match_index: LogIndex(0),
    });
    assert_eq!(f.view.narration.len(), before);
    assert!(!f.said("refused AppendEntries"));
}

#[test]
fn the_log_repair_lesson_narrates_its_repairs() {
    let text = lesson::builtin("log-repair").unwrap();
    let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
    // The page's view of the cluster at time 0, then every event of the run.
    let mut view =
        ClusterView::from_snapshot(Replay::new(staged.trace.clone()).unwrap().sim().snapshot());
    let mut replay = Replay::new(staged.trace).unwrap().keeping_events();
    replay.run_to(Position::End).unwrap();
    for e in replay.events() {
        view.apply(e);
    }
    let told: Vec<&str> = view
        .narration
        .iter()
        .map(|n| n.text.as_str())
        .filter(|t| t.contains("refused AppendEntries"))
        .collect();
    assert!(
        told.iter()
            .any(|t| t.starts_with("S5 refused AppendEntries")),
        "S5 lagged: {told:?}"
    );
    // S2's extra term-1 entries are not refused: the new leader's first AppendEntries starts
    // after entry 3, which matches, and S2 deletes its conflicting tail.
    assert!(
        view.narration
            .iter()
            .any(|n| n.text.starts_with("S2 ") && n.text.contains("4") && n.text.contains("remov")),
        "S2's truncation is told"
    );
}
