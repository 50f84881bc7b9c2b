//! §5.4 Safety: the election restriction (§5.4.1, a vote only for an up-to-date candidate) and
//! committing entries from previous terms (§5.4.2): only current-term entries commit by
//! counting, a new leader appends a no-op, the Figure 8 scenario, and a leader counts only its
//! durable entries toward a commit.

use crate::common::*;
use shared::protocol::Event;
use shared::{Command, EntryData, Role, Storage};
use shared::{LogIndex, NodeId, Term};

// ===== §5.4.1 Election restriction =====

/// §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
/// candidate … If the logs have last entries with different terms, then the log with the later
/// term is more up-to-date. If the logs end with the same term, then whichever log is longer is
/// more up-to-date."
#[test]
fn vote_is_denied_to_a_less_up_to_date_candidate() {
    // The voter's log is terms [1, 1, 2]: last index 3, last term 2.
    let cases = [
        // lower last term, whatever the length
        (2, 1, false),
        (3, 1, false),
        (9, 1, false),
        // same last term: longer or equal wins
        (2, 2, false),
        (3, 2, true),
        (4, 2, true),
        // higher last term, even if shorter
        (1, 3, true),
    ];
    for (last_index, last_term, granted) in cases {
        let mut storage = storage_with(hs(Term(2)), &log_of_terms(&[1, 1, 2]));
        let mut voter = node_with(config(NodeId(1), 3), hs(Term(2)), log_of_terms(&[1, 1, 2]));
        voter.step(request_vote(
            NodeId(2),
            NodeId(1),
            Term(3),
            LogIndex(last_index),
            Term(last_term),
        ));
        let (out, _) = persist(&mut voter, &mut storage);
        assert_eq!(
            vote_of(&out[0]),
            Some(granted),
            "candidate log ({last_index}, {last_term})"
        );
        assert_eq!(voter.current_term(), 3, "the term is adopted either way");
        assert_eq!(voter.voted_for(), granted.then_some(NodeId(2)));
    }
}

// ===== §5.4.2 Committing entries from previous terms =====

/// §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only log
/// entries from the leader's current term are committed by counting replicas; once an entry from
/// the current term has been committed in this way, then all prior entries are committed
/// indirectly because of the Log Matching Property."
#[test]
fn leader_commits_only_current_term_entries_by_counting() {
    // Leader of term 3 with [1, 2] from earlier terms; its no-op is index 3.
    let (mut leader, mut storage) = leader_of(3, Term(3), log_of_terms(&[1, 2]));
    leader.step(append_ok(NodeId(2), NodeId(1), Term(3), LogIndex(2))); // a majority (S1, S2) has index 2 of term 2…
    persist(&mut leader, &mut storage);
    assert_eq!(
        leader.commit_index(),
        0,
        "…but an old-term entry is never committed by counting"
    );

    leader.step(append_ok(NodeId(2), NodeId(1), Term(3), LogIndex(3))); // …and now the no-op of term 3 too
    persist(&mut leader, &mut storage);
    assert_eq!(
        leader.commit_index(),
        3,
        "committing the no-op commits 1 and 2 indirectly"
    );
    assert_eq!(leader.last_applied(), 3);
}

/// §8 (relied on by §5.4.2): "each leader commit[s] a blank no-op entry into the log at the start
/// of its term", and sends it right away.
#[test]
fn a_new_leader_appends_a_noop_of_its_term_and_sends_it() {
    let mut storage = storage_with(hs(Term(4)), &log_of_terms(&[1, 4]));
    let mut node = node_with(config(NodeId(1), 3), hs(Term(4)), log_of_terms(&[1, 4]));
    node.campaign();
    persist(&mut node, &mut storage);
    node.step(vote_response(NodeId(2), NodeId(1), Term(5), true));
    assert_eq!(node.role(), Role::Leader);
    let noop = node
        .log()
        .get(LogIndex(3))
        .cloned()
        .expect("a no-op at index 3");
    assert_eq!((noop.term, &noop.data), (Term(5), &EntryData::Noop));
    let (out, _) = persist(&mut node, &mut storage);
    let appends: Vec<_> = out.iter().filter(|m| is_append(m)).collect();
    assert_eq!(appends.len(), 2, "one AppendEntries per follower");
    for m in appends {
        assert_eq!(carried(m), std::slice::from_ref(&noop));
    }
}

/// Builds Figure 8 up to (c): five servers; S1 led term 2 and got index 2 to S2; S5 led term 3
/// with its own index 2; now S1 leads term 4 and has copied its index 2 (term 2) to S3, so that
/// entry is on a majority (S1, S2, S3) while S1's term-4 entry (index 3) is only on S1. S5 is
/// down. `max_entries_per_append = 1` lets the test deliver exactly one entry at a time.
fn figure8_c() -> Network {
    let mut net = Network::with_states(
        5,
        |_| (hs(Term(1)), log_of_terms(&[1])),
        |c| c.max_entries_per_append = 1,
    );

    // (a) S1 leads term 2; its entry at index 2 reaches S2 only.
    net.set_hook(|m| is_append(m) && m.from == 1 && m.to != 2);
    assert!(net.elect(NodeId(1), 1));
    net.clear_hook();
    assert_eq!(net.node(NodeId(1)).current_term(), 2);
    assert_eq!(terms(&net.log(NodeId(1))), vec![1, 2]);
    assert_eq!(terms(&net.log(NodeId(2))), vec![1, 2]);
    assert_eq!(net.node(NodeId(1)).commit_index(), 0);

    // (b) S1 crashes; S5 leads term 3 with votes from S3, S4 (S2's log is newer than S5's) and
    // takes a different entry at index 2, which reaches nobody.
    net.crash(NodeId(1));
    net.set_hook(|m| is_append(m) && m.from == 5);
    assert!(net.elect(NodeId(5), 1));
    net.clear_hook();
    assert_eq!(net.node(NodeId(5)).current_term(), 3);
    assert_eq!(terms(&net.log(NodeId(5))), vec![1, 3]);
    assert_eq!(net.node(NodeId(2)).voted_for(), None, "S2 refused S5");

    // (c) S5 crashes, S1 restarts and wins term 4 (term 3's votes are spent), then copies index
    // 2 to S3. Its term-4 entry and anything to S4 are lost.
    net.crash(NodeId(5));
    net.restart(NodeId(1));
    // S3's first term-4 AppendEntries goes through: S3 lacks index 2, so it refuses it, and
    // the leader backs up and sends index 2 alone. Every later term-4 entry is lost.
    let mut s3_probe_passed = false;
    net.set_hook(move |m| {
        if m.from != 1 || !is_append(m) {
            return false;
        }
        if m.to == 4 {
            return true;
        }
        if !carried(m).iter().any(|e| e.term == 4) {
            return false;
        }
        if m.to == 3 && !s3_probe_passed {
            s3_probe_passed = true;
            return false;
        }
        true
    });
    assert!(net.elect(NodeId(1), 3));
    net.clear_hook();
    assert_eq!(net.node(NodeId(1)).current_term(), 4);
    assert_eq!(terms(&net.log(NodeId(1))), vec![1, 2, 4]);
    assert_eq!(terms(&net.log(NodeId(2))), vec![1, 2]);
    assert_eq!(terms(&net.log(NodeId(3))), vec![1, 2]);
    assert_eq!(terms(&net.log(NodeId(4))), vec![1]);
    assert_eq!(terms(&net.log(NodeId(5))), vec![1, 3]);
    net
}

/// §5.4.2, Figure 8 (a)–(d): "a log entry is stored on a majority of servers, yet can still be
/// overwritten by a future leader." Index 2 of term 2 is on S1, S2 and S3, S1 does not count it
/// as committed, and once S1 crashes S5 is elected and overwrites it everywhere.
#[test]
fn figure8_an_old_term_entry_on_a_majority_is_not_committed_and_can_be_overwritten() {
    let mut net = figure8_c();
    assert_eq!(
        net.node(NodeId(1)).commit_index(),
        0,
        "(c) index 2 is on a majority yet not committed"
    );

    // (d) S1 crashes; S5 restarts and is elected with S2, S3 and S4 (its last term 3 beats 2).
    net.crash(NodeId(1));
    net.restart(NodeId(5));
    assert!(
        net.elect(NodeId(5), 3),
        "S5 can win: nothing of term > 3 is committed"
    );
    assert_eq!(net.node(NodeId(5)).current_term(), 5);
    for id in 2..=5 {
        assert_eq!(
            terms(&net.log(NodeId(id))),
            vec![1, 3, 5],
            "S{id}: index 2 overwritten by term 3"
        );
        assert_eq!(net.node(NodeId(id)).commit_index(), 3);
    }
    for id in [2, 3] {
        assert!(
            net.events.iter().any(
                |e| matches!(e, Event::EntriesTruncated { node, from_index: LogIndex(2) } if *node == id)
            ),
            "S{id} must have truncated index 2"
        );
    }
}

/// §5.4.2, Figure 8 (e): "if S1 replicates an entry from its current term on a majority of the
/// servers before crashing … then this entry is committed (S5 cannot win an election). At this
/// point all preceding entries in the log are committed as well."
#[test]
fn figure8_once_a_current_term_entry_commits_the_old_one_is_committed_and_safe() {
    let mut net = figure8_c();
    // (e) S1 gets its term-4 entry to S2 and S3 (S4 still unreachable).
    net.set_hook(|m| m.from == 1 && m.to == 4);
    net.tick(NodeId(1), net.node(NodeId(1)).next_deadline_ms());
    net.deliver_all();
    net.clear_hook();
    assert_eq!(terms(&net.log(NodeId(2))), vec![1, 2, 4]);
    assert_eq!(terms(&net.log(NodeId(3))), vec![1, 2, 4]);
    assert_eq!(
        net.node(NodeId(1)).commit_index(),
        3,
        "index 3 (term 4) commits, and index 2 with it"
    );
    assert_eq!(net.node(NodeId(1)).last_applied(), 3);

    // S1 crashes; S5 restarts and tries again and again: S2 and S3 refuse it.
    net.crash(NodeId(1));
    net.restart(NodeId(5));
    assert!(!net.elect(NodeId(5), 5), "S5 must never win now");
    assert!(net.events.iter().all(
        |e| !matches!(e, Event::RoleChanged { node: NodeId(5), role: Role::Leader, term, .. } if *term > 3)
    ));

    // Someone holding the committed entries wins and S5's index 2 is replaced.
    assert!(net.elect(NodeId(2), 3));
    for id in 2..=5 {
        let log = net.log(NodeId(id));
        assert_eq!(log[1].term, 2, "S{id}: committed index 2 (term 2) survives");
        assert_eq!(log[2].term, 4, "S{id}: committed index 3 (term 4) survives");
        assert!(net.node(NodeId(id)).commit_index() >= 3);
    }
}

/// §5.3 with Figure 2's persistence rule: the leader's own copy counts toward a majority only
/// once it is durable. Readys may be taken before earlier ones are synced; an entry that is only
/// in memory must not be committed, even by a cluster of one.
#[test]
fn a_leader_counts_only_its_durable_entries_toward_a_commit() {
    let (mut leader, mut storage) = leader_of(1, Term(1), vec![]);
    assert_eq!(
        leader.commit_index(),
        1,
        "the no-op of a single server commits once synced"
    );

    leader.propose(Command::Add(1), 1).unwrap();
    let first = leader.ready().write(&mut storage).unwrap();
    leader.propose(Command::Add(2), 2).unwrap();
    let second = leader.ready(); // taken, not yet written
    let (_, persisted) = first.sync(&mut storage).unwrap();
    leader.advance(persisted);
    assert_eq!(storage.synced_index(), 2);
    assert_eq!(
        leader.commit_index(),
        2,
        "index 3 is only in memory: not committed"
    );

    let (_, persisted) = second
        .write(&mut storage)
        .unwrap()
        .sync(&mut storage)
        .unwrap();
    leader.advance(persisted);
    assert_eq!(
        (leader.commit_index(), leader.last_applied()),
        (LogIndex(3), LogIndex(3))
    );
    assert_eq!(leader.value(), 3);
}
