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

/// A step whose only events are a leader's heartbeat sends (its timer fired) said nothing
/// (lecturer's review, 2026-12-02): one sentence names the round's receivers.
#[test]
fn a_hand_step_that_only_sends_heartbeats_is_told_in_one_sentence() {
    let mut f = Feed::new(5);
    let heartbeat = |id: u64, to: u64| Event::MessageSent {
        message: flight(
            id,
            1,
            to,
            MessageBody::AppendEntries(AppendEntries {
                prev_log_index: LogIndex(3),
                prev_log_term: Term(2),
                entries: vec![],
                leader_commit: LogIndex(3),
            }),
        ),
    };
    f.at(100);
    f.ev(heartbeat(1, 2));
    assert!(!f.said("sent a heartbeat"), "running: quiet");
    paused(&mut f, true);
    f.at(150);
    let before = f.view.narration.len();
    for (id, to) in [(2, 2), (3, 3), (4, 4)] {
        f.ev(heartbeat(id, to));
    }
    assert_eq!(
        f.view.narration.len(),
        before + 1,
        "one sentence for the round"
    );
    assert_eq!(
        f.view.narration[0].text,
        "S1 sent a heartbeat (term 2) to S2, S3 and S4"
    );
    // The next round, later, is a sentence of its own.
    f.at(200);
    f.ev(heartbeat(5, 2));
    assert_eq!(
        f.view.narration[0].text,
        "S1 sent a heartbeat (term 2) to S2"
    );
}
