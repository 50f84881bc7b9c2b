//! Every hand step is told: with the run paused, a delivered message or a finished disk sync
//! gets its own sentence; running, they stay quiet.

mod common;

use common::{entry, flight, Feed};
use shared::protocol::{AppendEntries, Event, MessageBody, RequestVote};
use shared::{LogIndex, NodeId, Term};

fn append(f: &mut Feed, id: u64, entries: Vec<shared::types::Entry>) {
    let body = MessageBody::AppendEntries(AppendEntries {
        prev_log_index: LogIndex(3),
        prev_log_term: Term(2),
        entries,
        leader_commit: LogIndex(3),
    });
    f.ev(Event::MessageSent {
        message: flight(id, 1, 3, body),
    });
    f.ev(Event::MessageDelivered {
        id,
        from: NodeId(1),
        to: NodeId(3),
    });
}

fn paused(f: &mut Feed, paused: bool) {
    f.ev(Event::ControlChanged { paused, speed: 1.0 });
}

#[test]
fn a_hand_step_tells_what_arrived_and_what_was_synced() {
    let mut f = Feed::new(3);
    append(&mut f, 1, vec![entry(4, 2, 1), entry(5, 2, 2)]);
    assert!(!f.said("received"), "running: quiet");
    paused(&mut f, true);
    append(&mut f, 2, vec![entry(4, 2, 1), entry(5, 2, 2)]);
    assert!(f.said(
        "S3 received S1's AppendEntries with entries 4–5, after entry 3 of term 2 (leader's commit index 3)"
    ));
    append(&mut f, 3, vec![]);
    assert!(f.said("S3 received S1's heartbeat (term 2, leader's commit index 3)"));
    let vote = MessageBody::RequestVote(RequestVote {
        last_log_index: LogIndex(5),
        last_log_term: Term(2),
    });
    f.ev(Event::MessageSent {
        message: flight(4, 2, 3, vote),
    });
    f.ev(Event::MessageDelivered {
        id: 4,
        from: NodeId(2),
        to: NodeId(3),
    });
    assert!(f.said("S3 received S2's RequestVote for term 2 (its log ends at entry 5 of term 2)"));
    f.ev(Event::EntriesPersisted {
        node: NodeId(3),
        synced_index: LogIndex(0),
    });
    assert!(f.said("S3's disk synced its log up to entry 0"));
    paused(&mut f, false);
    let before = f.view.narration.len();
    append(&mut f, 5, vec![]);
    assert_eq!(f.view.narration.len(), before, "running again: quiet");
}
