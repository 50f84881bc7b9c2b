//! Tests of the view-model reducer, event by event: elections (timeouts, votes, leaders, stepping
//! down) and logs (append, truncate, persist, commit, apply, progress and the quorum counter).

mod common;

use common::{entry, flight, Feed};
use logscope_frontend::model::{ClusterView, Focus, Tone};
use shared::protocol::RequestVoteResponse;
use shared::protocol::{Event, MessageBody, PeerProgress};
use shared::types::Role;
use shared::{LogIndex, NodeId, Term};

#[test]
fn an_election_from_timeout_to_leader() {
    let mut f = Feed::new(3);
    f.ev(Event::ElectionTimeout {
        node: NodeId(3),
        term: Term(1),
    });
    f.ev(Event::RoleChanged {
        node: NodeId(3),
        role: Role::Candidate,
        term: Term(2),
        leader_id: None,
    });
    f.ev(Event::TimerReset {
        node: NodeId(3),
        election_deadline_ms: 400,
    });
    let s3 = f.view.node(NodeId(3)).unwrap();
    assert_eq!(
        (s3.role, s3.current_term, s3.voted_for),
        (Role::Candidate, Term(2), Some(NodeId(3)))
    );
    assert_eq!(s3.votes, vec![3]);
    assert_eq!(s3.election_deadline_ms, Some(400));
    assert!(f.said("S3 timed out and started an election for term 2"));
    assert_eq!(f.view.narration[0].focus, Focus::Node(NodeId(3)));
    assert_eq!(f.view.narration[0].tone, Tone::Election);

    // S1 grants; its reply travels; the candidate shows it as "coming".
    f.ev(Event::RoleChanged {
        node: NodeId(1),
        role: Role::Follower,
        term: Term(2),
        leader_id: None,
    });
    f.ev(Event::VoteGranted {
        voter: NodeId(1),
        candidate: NodeId(3),
        term: Term(2),
    });
    assert_eq!(f.view.node(NodeId(1)).unwrap().voted_for, Some(NodeId(3)));
    assert!(f.said("S1 voted for S3 in term 2"));
    f.ev(Event::MessageSent {
        message: flight(
            40,
            1,
            3,
            MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted: true }),
        ),
    });
    assert_eq!(f.view.votes_coming(NodeId(3)), vec![1]);
    f.ev(Event::MessageDelivered {
        id: 40,
        from: NodeId(1),
        to: NodeId(3),
    });
    assert!(f.view.messages.is_empty());
    f.ev(Event::VoteReceived {
        node: NodeId(3),
        from: NodeId(2),
        granted: false,
        votes: vec![NodeId(3)],
    });
    assert!(f.said("S2 refused its vote to S3 for term 2"));
    assert_eq!(f.view.node(NodeId(3)).unwrap().votes_refused, vec![2]);
    f.ev(Event::VoteReceived {
        node: NodeId(3),
        from: NodeId(1),
        granted: true,
        votes: vec![NodeId(1), NodeId(3)],
    });
    assert_eq!(f.view.node(NodeId(3)).unwrap().votes, vec![1, 3]);

    f.ev(Event::RoleChanged {
        node: NodeId(3),
        role: Role::Leader,
        term: Term(2),
        leader_id: Some(NodeId(3)),
    });
    let s3 = f.view.node(NodeId(3)).unwrap();
    assert_eq!(s3.role, Role::Leader);
    assert!(s3.votes.is_empty());
    assert_eq!(s3.election_deadline_ms, None);
    // Figure 2: next_index = last log index + 1, match_index = 0, for every other server.
    assert_eq!(
        s3.progress.get(&NodeId(1)),
        Some(&PeerProgress {
            next_index: LogIndex(1),
            match_index: LogIndex(0)
        })
    );
    assert_eq!(s3.progress.len(), 2);
    assert_eq!(f.view.leader(), Some(NodeId(3)));
    assert_eq!(f.view.leaders_by_term.get(&Term(2)), Some(&NodeId(3)));
    assert!(f.said("S3 is leader for term 2 with votes from S1, S3"));
    assert_eq!(f.view.narration[0].tone, Tone::Leader);
}

#[test]
fn a_candidate_that_loses_and_a_leader_that_steps_down_are_narrated() {
    let mut f = Feed::new(3);
    f.ev(Event::RoleChanged {
        node: NodeId(2),
        role: Role::Candidate,
        term: Term(2),
        leader_id: None,
    });
    assert!(f.said("S2 started an election for term 2"));
    f.ev(Event::RoleChanged {
        node: NodeId(2),
        role: Role::Follower,
        term: Term(2),
        leader_id: Some(NodeId(1)),
    });
    assert!(f.said("S2 gave up its candidacy: S1 won term 2"));
    assert!(f.view.node(NodeId(2)).unwrap().votes.is_empty());

    f.ev(Event::RoleChanged {
        node: NodeId(1),
        role: Role::Candidate,
        term: Term(3),
        leader_id: None,
    });
    f.ev(Event::RoleChanged {
        node: NodeId(1),
        role: Role::Leader,
        term: Term(3),
        leader_id: Some(NodeId(1)),
    });
    f.ev(Event::RoleChanged {
        node: NodeId(1),
        role: Role::Follower,
        term: Term(5),
        leader_id: None,
    });
    let s1 = f.view.node(NodeId(1)).unwrap();
    assert!(s1.progress.is_empty());
    assert_eq!(s1.voted_for, None, "a newer term clears the vote");
    assert!(f.said("S1 stepped down: it saw term 5, newer than its 3"));
}

#[test]
fn entries_are_appended_truncated_persisted_committed_and_applied() {
    let mut f = Feed::new(3);
    f.ev(Event::EntriesAppended {
        node: NodeId(1),
        entries: vec![entry(1, 1, 5), entry(2, 1, 3)],
    });
    f.ev(Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![entry(1, 1, 5), entry(2, 1, 3), entry(3, 1, 9)],
    });
    assert_eq!(f.view.node(NodeId(1)).unwrap().last_index(), 2);
    assert_eq!(f.view.node(NodeId(2)).unwrap().log[2].command, "add 9");
    assert_eq!(f.view.max_index(), 3);

    f.ev(Event::EntriesPersisted {
        node: NodeId(2),
        synced_index: LogIndex(3),
    });
    assert_eq!(f.view.node(NodeId(2)).unwrap().synced_index, 3);

    // §5.3: a conflicting suffix goes; what was synced of it is no longer on disk either.
    f.ev(Event::EntriesTruncated {
        node: NodeId(2),
        from_index: LogIndex(3),
    });
    let s2 = f.view.node(NodeId(2)).unwrap();
    assert_eq!(s2.last_index(), 2);
    assert_eq!(s2.synced_index, 2);
    assert!(f.said("S2 removed 1 conflicting entry from index 3 on"));
    f.ev(Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![entry(3, 2, 4)],
    });
    assert_eq!(
        f.view.node(NodeId(2)).unwrap().term_at(LogIndex(3)),
        Some(Term(2))
    );

    f.ev(Event::CommitAdvanced {
        node: NodeId(2),
        commit_index: LogIndex(2),
    });
    assert_eq!(f.view.node(NodeId(2)).unwrap().commit_index, 2);
    assert_eq!(f.view.commit_index(), 2);
    assert_eq!(f.view.committed[1].command, "add 3");
    assert!(f.said("Entries 1–2 are committed"));
    assert_eq!(f.view.narration[0].focus, Focus::Entry(LogIndex(2)));
    // Another node catching up does not commit anything new globally.
    let before = f.view.narration.len();
    f.ev(Event::CommitAdvanced {
        node: NodeId(1),
        commit_index: LogIndex(2),
    });
    assert_eq!(f.view.narration.len(), before);
    f.ev(Event::CommitAdvanced {
        node: NodeId(2),
        commit_index: LogIndex(3),
    });
    assert!(f.said("Entry 3 (add 4) is committed"));

    f.ev(Event::EntryApplied {
        node: NodeId(2),
        index: LogIndex(1),
        value: 5,
    });
    let s2 = f.view.node(NodeId(2)).unwrap();
    assert_eq!((s2.last_applied, s2.value), (LogIndex(1), 5));
}

#[test]
fn replicas_that_compute_different_values_are_called_out() {
    let mut f = Feed::new(3);
    f.ev(Event::EntryApplied {
        node: NodeId(1),
        index: LogIndex(1),
        value: 17,
    });
    f.ev(Event::EntryApplied {
        node: NodeId(2),
        index: LogIndex(1),
        value: 17,
    });
    assert!(!f.view.is_divergent(LogIndex(1)));
    assert_eq!(f.view.first_divergent(), None);
    f.ev(Event::EntryApplied {
        node: NodeId(3),
        index: LogIndex(1),
        value: 42,
    });
    assert!(f.view.is_divergent(LogIndex(1)));
    // What the safety panel's note names.
    assert_eq!(f.view.first_divergent(), Some(LogIndex(1)));
    // After a jump (a lesson's stop) the page has no events, only each server's value: two
    // servers that applied as many entries and hold different values.
    let mut snap = common::snapshot(3, 9);
    for (n, (applied, value)) in snap.nodes.iter_mut().zip([(3, 10), (3, 41), (2, 7)]) {
        n.last_applied = LogIndex(applied);
        n.value = value;
    }
    assert_eq!(
        ClusterView::from_snapshot(snap.clone()).first_divergent(),
        Some(LogIndex(3))
    );
    snap.nodes[1].value = 10;
    assert_eq!(ClusterView::from_snapshot(snap).first_divergent(), None);
    assert!(f.said("Replicas disagree! After entry 1 S3 holds 42 but S1 holds 17"));
    assert_eq!(f.view.narration[0].tone, Tone::Warning);
    // Entry 2 is computed from different values: told as the same disagreement going on, not
    // as if entry 2 caused it.
    for (node, value) in [(1, 34), (3, 84)] {
        f.ev(Event::EntryApplied {
            node: NodeId(node),
            index: LogIndex(2),
            value,
        });
    }
    assert!(f.view.is_divergent(LogIndex(2)));
    assert_eq!(
        f.view.narration[0].text,
        "Replicas still disagree after entry 2: S3 holds 84, S1 34, as they have since entry 1"
    );
}

#[test]
fn leader_progress_and_quorum_counter() {
    let mut f = Feed::new(5);
    f.ev(Event::RoleChanged {
        node: NodeId(1),
        role: Role::Candidate,
        term: Term(2),
        leader_id: None,
    });
    f.ev(Event::RoleChanged {
        node: NodeId(1),
        role: Role::Leader,
        term: Term(2),
        leader_id: Some(NodeId(1)),
    });
    f.ev(Event::EntriesAppended {
        node: NodeId(1),
        entries: vec![entry(1, 2, 1)],
    });
    // Not yet on the leader's own disk: nobody counts.
    assert_eq!(f.view.replication(LogIndex(1)), Some((0, 5)));
    f.ev(Event::EntriesPersisted {
        node: NodeId(1),
        synced_index: LogIndex(1),
    });
    assert_eq!(f.view.replication(LogIndex(1)), Some((1, 5)));
    // S3 and S4 have it on disk: the counter counts disks, not what the leader has heard.
    for peer in [3, 4] {
        f.ev(Event::EntriesAppended {
            node: NodeId(peer),
            entries: vec![entry(1, 2, 1)],
        });
        f.ev(Event::EntriesPersisted {
            node: NodeId(peer),
            synced_index: LogIndex(1),
        });
    }
    f.ev(Event::ProgressUpdated {
        leader: NodeId(1),
        peer: NodeId(3),
        next_index: LogIndex(2),
        match_index: LogIndex(1),
    });
    f.ev(Event::ProgressUpdated {
        leader: NodeId(1),
        peer: NodeId(4),
        next_index: LogIndex(2),
        match_index: LogIndex(1),
    });
    assert_eq!(
        f.view.node(NodeId(1)).unwrap().progress[&NodeId(3)],
        PeerProgress {
            next_index: LogIndex(2),
            match_index: LogIndex(1)
        }
    );
    assert_eq!(f.view.replication(LogIndex(1)), Some((3, 5)));
    f.ev(Event::CommitAdvanced {
        node: NodeId(1),
        commit_index: LogIndex(1),
    });
    assert_eq!(
        f.view.replication(LogIndex(1)),
        None,
        "committed: no counter"
    );
    assert_eq!(f.view.replication(LogIndex(2)), None, "no such entry");
}
