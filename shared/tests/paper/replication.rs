//! §5.3 Log replication, the normal case and the consistency check: the leader appends and
//! replicates a proposal, commits it once a majority has it, followers learn the commit index
//! and apply in order, a mismatched previous entry is refused, and a conflicting suffix is
//! truncated and replaced.

use crate::common::*;
use shared::protocol::{AppendEntries, AppendEntriesResponse, Event, MessageBody};
use shared::{Command, EntryData, MemStorage, ProposeOutcome};
use shared::{LogIndex, NodeId, Term};

// ===== §5.3 Log replication =====

/// §5.3: "The leader appends the command to its log as a new entry, then issues AppendEntries
/// RPCs in parallel to each of the other servers to replicate the entry." Each entry stores the
/// term in which the leader received it.
#[test]
fn leader_appends_a_proposal_and_replicates_it() {
    let (mut leader, mut storage) = leader_of(3, Term(2), log_of_terms(&[1]));
    // Followers already match the no-op (index 2).
    leader.step(append_ok(NodeId(2), NodeId(1), Term(2), LogIndex(2)));
    leader.step(append_ok(NodeId(3), NodeId(1), Term(2), LogIndex(2)));
    persist(&mut leader, &mut storage);

    let outcome = leader.propose(Command::Add(7), 42).unwrap();
    assert_eq!(
        outcome,
        ProposeOutcome::Appended {
            index: LogIndex(3),
            term: Term(2),
            duplicate: false
        }
    );
    let last = leader.log().get(LogIndex(3)).unwrap().clone();
    assert_eq!(last.term, 2);
    assert_eq!(
        last.data,
        EntryData::Request {
            command: Command::Add(7),
            client: None
        }
    );

    let (out, events) = persist(&mut leader, &mut storage);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ProposalAccepted {
            request_id: 42,
            index: LogIndex(3),
            term: Term(2),
            ..
        }
    )));
    let mut to: Vec<_> = out.iter().map(|m| m.to).collect();
    to.sort_unstable();
    assert_eq!(to, vec![2, 3]);
    for m in &out {
        assert_eq!(
            m.body,
            MessageBody::AppendEntries(AppendEntries {
                prev_log_index: LogIndex(2),
                prev_log_term: Term(2),
                entries: vec![last.clone()],
                leader_commit: leader.commit_index(),
            })
        );
    }
    assert_eq!(
        storage.entries().last(),
        Some(&last),
        "written to the leader's own log"
    );
}

/// §5.3: "A log entry is committed once the leader that created the entry has replicated it on a
/// majority of the servers … This also commits all preceding entries in the leader's log."
/// Table: cluster size and which followers acknowledge.
#[test]
fn leader_commits_once_a_majority_has_the_entry() {
    let cases: &[(u64, &[u64], bool)] = &[
        (1, &[], true),
        (3, &[], false),
        (3, &[2], true),
        (5, &[2], false),
        (5, &[2, 3], true),
        (5, &[2, 3, 4, 5], true),
        (4, &[2], false),
        (4, &[2, 3], true),
    ];
    for (n, acks, committed) in cases {
        // Old entries of term 1 at 1..=2; the leader's no-op of term 2 is index 3.
        let (mut leader, mut storage) = leader_of(*n, Term(2), log_of_terms(&[1, 1]));
        for f in *acks {
            leader.step(append_ok(NodeId(*f), NodeId(1), Term(2), LogIndex(3)));
        }
        persist(&mut leader, &mut storage);
        let expected = if *committed { 3 } else { 0 };
        assert_eq!(leader.commit_index(), expected, "n={n} acks={acks:?}");
        assert_eq!(
            leader.last_applied(),
            expected,
            "applied as soon as committed"
        );
    }
}

/// §5.3: "The leader keeps track of the highest index it knows to be committed, and it includes
/// that index in future AppendEntries RPCs … Once a follower learns that a log entry is
/// committed, it applies the entry to its local state machine (in log order)." Figure 2, rule 5:
/// `commitIndex = min(leaderCommit, index of last new entry)`.
#[test]
fn followers_learn_commit_from_leader_commit_and_apply_in_order() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(2), 3);
    let cmds = [Command::Add(1), Command::Mul(3), Command::Add(2)];
    let entries: Vec<_> = cmds
        .iter()
        .enumerate()
        .map(|(i, c)| shared::Entry {
            index: LogIndex::of_slot(i),
            term: Term(1),
            data: EntryData::Request {
                command: *c,
                client: None,
            },
        })
        .collect();

    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
        entries.clone(),
        LogIndex(0),
    ));
    persist(&mut node, &mut storage);
    assert_eq!(node.commit_index(), 0, "nothing committed yet");

    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(3),
        Term(1),
        vec![],
        LogIndex(2),
    ));
    let (_, events) = persist(&mut node, &mut storage);
    assert_eq!(node.commit_index(), 2);
    let applied: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::EntryApplied { index, value, .. } => Some((*index, *value)),
            _ => None,
        })
        .collect();
    assert_eq!(
        applied,
        vec![(LogIndex(1), 1), (LogIndex(2), 3)],
        "applied in log order: (0+1)*3"
    );

    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(3),
        Term(1),
        vec![],
        LogIndex(3),
    ));
    persist(&mut node, &mut storage);
    assert_eq!(
        (node.commit_index(), node.last_applied(), node.value()),
        (LogIndex(3), LogIndex(3), 5)
    );

    // A leader_commit beyond the last new entry is capped at it: this follower's index 2 might
    // still be a stale entry the leader has not confirmed.
    let mut stale = node_with(config(NodeId(2), 3), hs(Term(1)), log_of_terms(&[1, 1]));
    stale.step(append(
        NodeId(1),
        NodeId(2),
        Term(2),
        LogIndex(1),
        Term(1),
        vec![],
        LogIndex(5),
    ));
    assert_eq!(
        stale.commit_index(),
        1,
        "min(leader_commit, index of last new entry)"
    );
}

/// §5.3: "When sending an AppendEntries RPC, the leader includes the index and term of the entry
/// in its log that immediately precedes the new entries. If the follower does not find an entry
/// in its log with the same index and term, then it refuses the new entries."
#[test]
fn consistency_check_rejects_a_mismatched_prev_entry() {
    // Follower log: terms [1, 1, 2]. (prev_log_index, prev_log_term, accepted,
    // conflict_index, conflict_term)
    let cases = [
        (0, 0, true, 0, None),
        (2, 1, true, 0, None),
        (3, 2, true, 0, None),
        (3, 3, false, 3, Some(2)), // term mismatch at the last entry
        (2, 2, false, 1, Some(1)), // term mismatch: hint is the first index of term 1
        (4, 2, false, 4, None),    // missing entry: hint is last index + 1
        (9, 3, false, 4, None),
    ];
    for (prev, prev_term, accepted, c_index, c_term) in cases {
        let mut storage = storage_with(hs(Term(3)), &log_of_terms(&[1, 1, 2]));
        let mut node = node_with(config(NodeId(2), 3), hs(Term(3)), log_of_terms(&[1, 1, 2]));
        node.step(append(
            NodeId(1),
            NodeId(2),
            Term(3),
            LogIndex(prev),
            Term(prev_term),
            vec![entry(LogIndex(prev + 1), Term(3))],
            LogIndex(0),
        ));
        let (out, _) = persist(&mut node, &mut storage);
        let MessageBody::AppendEntriesResponse(AppendEntriesResponse {
            success,
            match_index,
            rejected_index,
            conflict_index,
            conflict_term,
        }) = out[0].body
        else {
            panic!("expected a response, got {:?}", out[0]);
        };
        assert_eq!(success, accepted, "prev=({prev},{prev_term})");
        if accepted {
            assert_eq!(match_index, prev + 1);
            let appended = LogIndex(prev + 1);
            assert_eq!(node.log().get(appended), Some(&entry(appended, Term(3))));
        } else {
            assert_eq!(
                terms(node.log().entries()),
                vec![1, 1, 2],
                "log untouched on reject"
            );
            assert_eq!(rejected_index, prev);
            assert_eq!(
                (conflict_index, conflict_term),
                (LogIndex(c_index), c_term.map(Term)),
                "prev=({prev},{prev_term})"
            );
        }
    }
}

/// §5.3: "If an existing entry conflicts with a new one (same index but different terms), delete
/// the existing entry and all that follow it" (Figure 2, AppendEntries receiver rule 3), and the
/// deletion reaches storage.
#[test]
fn a_conflicting_suffix_is_truncated_and_replaced() {
    // (follower log terms, prev index, prev term, new entries' terms, expected log terms)
    type Case = (&'static [u64], u64, u64, &'static [u64], &'static [u64]);
    let cases: &[Case] = &[
        (&[1, 1, 1, 2, 2], 2, 1, &[3], &[1, 1, 3]),
        (&[1, 1, 1, 2, 2], 2, 1, &[1, 3], &[1, 1, 1, 3]),
        (&[1, 2, 2, 2], 0, 0, &[3, 3], &[3, 3]),
        (&[1, 1], 2, 1, &[3, 3], &[1, 1, 3, 3]),
        (&[1, 1, 2], 1, 1, &[1, 2], &[1, 1, 2]), // all match: nothing removed
    ];
    for (have, prev, prev_term, new_terms, want) in cases {
        let have_log = log_of_terms(have);
        let mut storage = storage_with(hs(Term(3)), &have_log);
        let mut node = node_with(config(NodeId(2), 3), hs(Term(3)), have_log);
        let new: Vec<_> = new_terms
            .iter()
            .enumerate()
            .map(|(i, t)| entry(LogIndex(prev + 1 + i as u64), Term(*t)))
            .collect();
        node.step(append(
            NodeId(1),
            NodeId(2),
            Term(3),
            LogIndex(*prev),
            Term(*prev_term),
            new,
            LogIndex(0),
        ));
        let (out, events) = persist(&mut node, &mut storage);
        assert_eq!(append_success(&out[0]), Some(true));
        assert_eq!(terms(node.log().entries()), *want, "have {have:?}");
        assert_eq!(
            terms(storage.entries()),
            *want,
            "storage follows, have {have:?}"
        );
        assert_eq!(terms(storage.synced_entries()), *want, "and it is durable");
        let truncated = events
            .iter()
            .any(|e| matches!(e, Event::EntriesTruncated { .. }));
        assert_eq!(truncated, !want.starts_with(have), "have {have:?}");
    }
}

/// Figure 2, AppendEntries receiver rule 5: commitIndex = min(leaderCommit, index of last new
/// entry). A heartbeat whose last new entry is the follower's commit index leaves it where it is,
/// even when the leader has committed further.
#[test]
fn a_heartbeat_behind_the_leaders_commit_leaves_commit_index_alone() {
    let mut storage = MemStorage::new();
    let mut follower = new_node(NodeId(2), 3);
    follower.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
        log_of_terms(&[1, 1, 1, 1, 1]),
        LogIndex(3),
    ));
    persist(&mut follower, &mut storage);
    assert_eq!(follower.commit_index(), 3);
    follower.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(3),
        Term(1),
        Vec::new(),
        LogIndex(5),
    ));
    persist(&mut follower, &mut storage);
    assert_eq!(
        follower.commit_index(),
        3,
        "nothing new proved past index 3"
    );
    follower.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(5),
        Term(1),
        Vec::new(),
        LogIndex(5),
    ));
    persist(&mut follower, &mut storage);
    assert_eq!(follower.commit_index(), 5);
}
