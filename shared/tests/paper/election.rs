//! §5.2 Leader election: an election timeout starts an election, a candidate wins only with a
//! majority of the full cluster, split votes are resolved by a new term, each server gives one
//! vote per term (kept across restarts), timeouts are randomized, and heartbeats keep followers
//! from starting elections.

use crate::common::*;
use shared::protocol::{Event, MessageBody, MessageKind, RequestVote};
use shared::{HardState, MemStorage, RaftNode, Role};
use shared::{LogIndex, NodeId, Term};

// ===== §5.2 Leader election =====

/// §5.2: "If a follower receives no communication over a period of time called the election
/// timeout, then it … begins an election … increments its current term and transitions to
/// candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each of
/// the other servers."
#[test]
fn follower_election_timeout_starts_an_election_and_votes_for_itself() {
    let mut storage = storage_with(hs(Term(2)), &log_of_terms(&[1, 2]));
    let mut node = node_with(config(NodeId(1), 5), hs(Term(2)), log_of_terms(&[1, 2]));
    let deadline = node.election_deadline_ms();
    assert!(
        (150..=300).contains(&deadline),
        "timeout {deadline} outside 150..=300"
    );

    node.tick(deadline - 1);
    assert_eq!(
        node.role(),
        Role::Follower,
        "nothing happens before the timeout"
    );
    node.tick(deadline);

    assert_eq!(node.role(), Role::Candidate);
    assert_eq!(node.current_term(), 3);
    assert_eq!(node.voted_for(), Some(NodeId(1)));
    assert_eq!(
        node.votes_granted(),
        Vec::<u64>::new(),
        "its own vote counts only once it is on disk"
    );
    let (out, events) = persist(&mut node, &mut storage);
    assert_eq!(node.votes_granted(), vec![1]);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ElectionTimeout {
            node: NodeId(1),
            term: Term(2)
        }
    )));
    let mut to: Vec<_> = out.iter().map(|m| m.to).collect();
    to.sort_unstable();
    assert_eq!(to, vec![2, 3, 4, 5], "one RequestVote to each other server");
    for m in &out {
        assert_eq!(m.term, 3);
        assert_eq!(
            m.body,
            MessageBody::RequestVote(RequestVote {
                last_log_index: LogIndex(2),
                last_log_term: Term(2)
            })
        );
    }
}

/// §5.2: a candidate that neither wins nor loses "will time out and start a new election by
/// incrementing its term and initiating another round of RequestVote RPCs".
#[test]
fn candidate_times_out_and_starts_a_new_election() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(1), 3);
    node.campaign();
    persist(&mut node, &mut storage);
    assert_eq!(
        (node.role(), node.current_term()),
        (Role::Candidate, Term(1))
    );

    let deadline = node.election_deadline_ms();
    node.tick(deadline);
    assert_eq!(
        (node.role(), node.current_term()),
        (Role::Candidate, Term(2))
    );
    let (out, _) = persist(&mut node, &mut storage);
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|m| m.term == 2 && m.body.kind() == MessageKind::RequestVote));
}

/// §5.2: "A candidate wins an election if it receives votes from a majority of the servers in
/// the full cluster for the same term"; otherwise it stays a candidate (a split vote or missing
/// answers). Table-driven like etcd's TestLeaderElectionInOneRoundRPC.
#[test]
fn candidate_wins_only_with_a_majority_of_the_full_cluster() {
    // (cluster size, answers from the others, expected role)
    type Case = (u64, &'static [(u64, bool)], Role);
    let cases: &[Case] = &[
        (1, &[], Role::Leader),
        (3, &[(2, true), (3, true)], Role::Leader),
        (3, &[(2, true)], Role::Leader),
        (3, &[(2, false), (3, false)], Role::Candidate),
        (3, &[], Role::Candidate),
        (
            5,
            &[(2, true), (3, true), (4, true), (5, true)],
            Role::Leader,
        ),
        (5, &[(2, true), (3, true)], Role::Leader),
        (5, &[(2, true)], Role::Candidate),
        (5, &[(2, true), (3, false), (4, false)], Role::Candidate),
        (
            5,
            &[(2, true), (3, false), (4, false), (5, true)],
            Role::Leader,
        ),
        (4, &[(2, true), (3, false), (4, false)], Role::Candidate),
        (4, &[(2, true), (3, true)], Role::Leader),
        (4, &[(2, true), (2, true)], Role::Candidate), // the same voter counts once
    ];
    for (n, answers, expected) in cases {
        let mut node = new_node(NodeId(1), *n);
        node.campaign();
        persist(&mut node, &mut MemStorage::new());
        for (voter, granted) in *answers {
            node.step(vote_response(NodeId(*voter), NodeId(1), Term(1), *granted));
        }
        assert_eq!(node.role(), *expected, "n={n} answers={answers:?}");
        assert_eq!(node.current_term(), 1);
    }
}

/// §5.2: "if many followers become candidates at the same time, votes could be split so that no
/// candidate obtains a majority. When this happens, each candidate will time out and start a new
/// election." Four servers, two simultaneous candidates, each gets one other vote.
#[test]
fn split_vote_leaves_both_candidates_then_a_new_term_resolves_it() {
    let mut net = Network::new(4);
    net.campaign(NodeId(1));
    net.campaign(NodeId(2));
    // S3 hears S1 first, S4 hears S2 first.
    net.set_hook(|m| {
        m.body.kind() == MessageKind::RequestVote
            && matches!(
                (m.from, m.to),
                (NodeId(1), NodeId(4)) | (NodeId(2), NodeId(3))
            )
    });
    net.deliver_all();
    net.clear_hook();
    for id in [1, 2] {
        assert_eq!(net.node(NodeId(id)).role(), Role::Candidate, "S{id}");
        assert_eq!(
            net.node(NodeId(id)).votes_granted().len(),
            2,
            "S{id} has 2 of 4"
        );
    }
    assert_eq!(net.node(NodeId(3)).voted_for(), Some(NodeId(1)));
    assert_eq!(net.node(NodeId(4)).voted_for(), Some(NodeId(2)));

    // The first to time out starts term 2 and wins it.
    let first = if net.node(NodeId(1)).election_deadline_ms()
        <= net.node(NodeId(2)).election_deadline_ms()
    {
        1
    } else {
        2
    };
    let at = net.node(NodeId(first)).election_deadline_ms();
    net.tick(NodeId(first), at);
    net.deliver_all();
    assert_eq!(net.node(NodeId(first)).role(), Role::Leader);
    assert_eq!(net.node(NodeId(first)).current_term(), 2);
}

/// §5.2: "While waiting for votes, a candidate may receive an AppendEntries RPC from another
/// server claiming to be leader. If the leader's term … is at least as large as the candidate's
/// current term, then the candidate recognizes the leader as legitimate and returns to follower
/// state. If the term in the RPC is smaller … the candidate rejects the RPC and continues in
/// candidate state."
#[test]
fn candidate_steps_down_on_append_entries_of_its_term_but_not_of_an_older_one() {
    for (term, role, leader) in [
        (2, Role::Candidate, None),
        (3, Role::Follower, Some(NodeId(2))),
        (4, Role::Follower, Some(NodeId(2))),
    ] {
        let mut node = node_with(config(NodeId(1), 3), hs(Term(2)), vec![]);
        node.campaign(); // term 3
        node.step(append(
            NodeId(2),
            NodeId(1),
            Term(term),
            LogIndex(0),
            Term(0),
            vec![],
            LogIndex(0),
        ));
        assert_eq!(node.role(), role, "AppendEntries of term {term}");
        assert_eq!(node.leader_id(), leader, "AppendEntries of term {term}");
        assert_eq!(node.current_term(), term.max(3));
    }
}

/// §5.2: "Each server will vote for at most one candidate in a given term, on a
/// first-come-first-served basis." A repeated request from the chosen candidate (a retry) is
/// granted again; another candidate of the same term is refused, and a new term frees the vote.
#[test]
fn one_vote_per_term_first_come_first_served() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(1), 5);
    let mut vote = |node: &mut RaftNode, from, term| {
        node.step(request_vote(from, NodeId(1), term, LogIndex(0), Term(0)));
        let (out, _) = persist(node, &mut storage);
        assert_eq!(out.len(), 1);
        vote_of(&out[0]).expect("a vote reply")
    };
    assert!(
        vote(&mut node, NodeId(2), Term(1)),
        "first candidate of term 1 gets the vote"
    );
    assert!(
        !vote(&mut node, NodeId(3), Term(1)),
        "second candidate of term 1 is refused"
    );
    assert!(
        vote(&mut node, NodeId(2), Term(1)),
        "the same candidate asking again is granted again"
    );
    assert_eq!(node.voted_for(), Some(NodeId(2)));
    assert!(
        vote(&mut node, NodeId(3), Term(2)),
        "a new term frees the vote"
    );
    assert_eq!(
        node.hard_state(),
        HardState {
            current_term: Term(2),
            voted_for: Some(NodeId(3))
        }
    );
}

/// §5.2 (and Figure 2, votedFor is persistent): the one vote per term survives a crash, so a
/// restarted server cannot vote twice in the same term.
#[test]
fn the_vote_survives_a_restart() {
    let mut net = Network::new(3);
    net.set_hook(|m| m.from == 2 || m.to == 2); // S2 hears nothing: it stays a plain voter
    net.campaign(NodeId(1));
    net.deliver_all();
    net.clear_hook();
    net.node_mut(NodeId(2)).step(request_vote(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
    ));
    net.flush(NodeId(2));
    assert_eq!(net.node(NodeId(2)).voted_for(), Some(NodeId(1)));

    net.crash(NodeId(2));
    net.restart(NodeId(2));
    assert_eq!(
        net.node(NodeId(2)).hard_state(),
        HardState {
            current_term: Term(1),
            voted_for: Some(NodeId(1))
        }
    );
    net.node_mut(NodeId(2)).step(request_vote(
        NodeId(3),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
    ));
    net.flush(NodeId(2));
    let reply = net.in_flight().last().expect("a reply").clone();
    assert_eq!((reply.to, vote_of(&reply)), (NodeId(3), Some(false)));
}

/// §5.2, Figure 2 (Rules for Servers, Followers): "If election timeout elapses without
/// receiving AppendEntries RPC from current leader or granting vote to candidate: convert to
/// candidate." Granting a vote re-arms the timer; refusing one does not.
#[test]
fn granting_a_vote_resets_the_election_timer_refusing_does_not() {
    let mut node = node_with(config(NodeId(1), 3), hs(Term(2)), log_of_terms(&[1, 2]));
    let deadline = node.election_deadline_ms();
    let now = deadline - 1;
    node.advance_clock(now);

    // Same term, less up-to-date candidate: refused, the timer keeps running.
    node.step(request_vote(
        NodeId(2),
        NodeId(1),
        Term(2),
        LogIndex(1),
        Term(1),
    ));
    assert_eq!(node.voted_for(), None);
    assert_eq!(
        node.election_deadline_ms(),
        deadline,
        "a refusal must not re-arm the timer"
    );

    // Same term, up-to-date candidate: granted, the timer starts over from now.
    node.step(request_vote(
        NodeId(3),
        NodeId(1),
        Term(2),
        LogIndex(2),
        Term(2),
    ));
    assert_eq!(node.voted_for(), Some(NodeId(3)));
    let rearmed = node.election_deadline_ms();
    assert!(
        (now + 150..=now + 300).contains(&rearmed),
        "deadline {rearmed} must be a fresh timeout from {now}"
    );
    node.tick(deadline);
    assert_eq!(
        node.role(),
        Role::Follower,
        "the old deadline no longer fires"
    );
}

/// Figure 2 (Followers): "If election timeout elapses without receiving AppendEntries RPC from
/// current leader or granting vote to candidate: convert to candidate." Merely learning a higher
/// term from a candidate whose log is stale does not re-arm the timer — otherwise stale candidates
/// could keep postponing the servers that can win (§9.3's unequal logs).
#[test]
fn a_refused_higher_term_candidate_does_not_postpone_the_election_timer() {
    let mut node = node_with(config(NodeId(1), 3), hs(Term(2)), log_of_terms(&[1, 2]));
    let deadline = node.election_deadline_ms();
    let now = deadline - 1;
    node.advance_clock(now);

    // Term 5 candidate with a stale log: the node adopts term 5 but refuses the vote.
    node.step(request_vote(
        NodeId(2),
        NodeId(1),
        Term(5),
        LogIndex(1),
        Term(1),
    ));
    assert_eq!(node.current_term(), 5);
    assert_eq!(node.voted_for(), None);
    assert_eq!(
        node.election_deadline_ms(),
        deadline,
        "stepping up to a higher term must not re-arm the timer"
    );
    node.tick(deadline);
    assert_eq!(
        node.role(),
        Role::Candidate,
        "the original deadline still fires"
    );
    assert_eq!(node.current_term(), 6);
}

/// §5.2: "Raft uses randomized election timeouts … chosen randomly from a fixed interval (e.g.,
/// 150–300ms). This spreads out the servers so that in most cases only a single server will time
/// out." Every timeout is in range, servers differ, and one server's successive timeouts differ.
#[test]
fn election_timeouts_are_randomized_within_the_interval() {
    let deadlines: Vec<u64> = (1..=5)
        .map(|id| new_node(NodeId(id), 5).election_deadline_ms())
        .collect();
    assert!(
        deadlines.iter().all(|d| (150..=300).contains(d)),
        "{deadlines:?}"
    );
    let mut distinct = deadlines.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() >= 4,
        "servers should time out at different moments: {deadlines:?}"
    );

    let mut node = new_node(NodeId(1), 5);
    let mut timeouts = Vec::new();
    for _ in 0..50 {
        let start = node.election_deadline_ms();
        node.tick(start);
        // Each campaign re-arms the timer from "now".
        timeouts.push(node.election_deadline_ms() - start);
    }
    assert!(
        timeouts.iter().all(|t| (150..=300).contains(t)),
        "{timeouts:?}"
    );
    let (lo, hi) = (
        timeouts.iter().min().unwrap(),
        timeouts.iter().max().unwrap(),
    );
    assert!(
        hi - lo >= 75,
        "draws should spread over the interval, got {lo}..{hi}"
    );
}

/// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
/// followers in order to maintain their authority."
#[test]
fn leader_sends_heartbeats_to_every_follower_on_tick() {
    let (mut leader, mut storage) = leader_of(3, Term(1), vec![]);
    // Bring the followers up to date so heartbeats are empty.
    leader.step(append_ok(NodeId(2), NodeId(1), Term(1), LogIndex(1)));
    leader.step(append_ok(NodeId(3), NodeId(1), Term(1), LogIndex(1)));
    persist(&mut leader, &mut storage);

    let interval = leader.config().heartbeat_interval_ms;
    let due = leader.next_deadline_ms();
    leader.tick(due - 1);
    let (out, _) = persist(&mut leader, &mut storage);
    assert!(out.is_empty(), "no heartbeat before the interval: {out:?}");

    for round in 0..3 {
        let due = leader.next_deadline_ms();
        leader.tick(due);
        let (out, _) = persist(&mut leader, &mut storage);
        let mut to: Vec<_> = out.iter().map(|m| m.to).collect();
        to.sort_unstable();
        assert_eq!(to, vec![2, 3], "round {round}");
        for m in &out {
            assert!(
                is_append(m) && carried(m).is_empty(),
                "heartbeat carries no entries"
            );
            assert_eq!(m.term, 1);
        }
        assert_eq!(
            leader.next_deadline_ms(),
            due + interval,
            "next heartbeat one interval on"
        );
    }
}

/// §5.2: "A server remains in follower state as long as it receives valid RPCs from a leader or
/// candidate." Heartbeats arriving faster than the timeout keep a follower from campaigning.
#[test]
fn heartbeats_keep_followers_from_starting_elections() {
    let mut net = Network::new(3);
    assert!(net.elect(NodeId(1), 1));
    for step in 1..=100 {
        net.tick_all(step * 50);
        net.deliver_all();
    }
    assert_eq!(net.node(NodeId(1)).role(), Role::Leader);
    for id in 1..=3 {
        assert_eq!(
            net.node(NodeId(id)).current_term(),
            1,
            "S{id}: nobody campaigned"
        );
    }
    // Without heartbeats a follower does time out.
    net.isolate(NodeId(1));
    net.tick_all(5_000 + 50);
    net.tick_all(5_000 + 400);
    assert!(net.node(NodeId(2)).current_term() > 1 || net.node(NodeId(3)).current_term() > 1);
}

// ===== Edges found by mutation testing (docs/mutation.md) =====

/// Figure 2 (persistence): a candidate's vote for itself counts once the `Ready` that carries it
/// is durable — not when an older batch, taken before the election, syncs; and it does when a
/// later batch's proof covers it.
#[test]
fn own_vote_counts_exactly_when_its_batch_is_durable() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(1), 1);
    let older = node.ready().write(&mut storage).unwrap();
    node.campaign();
    let (_, persisted) = older.sync(&mut storage).unwrap();
    node.advance(persisted);
    assert_eq!(
        node.role(),
        Role::Candidate,
        "an older batch does not carry the vote"
    );

    let vote = node.ready().write(&mut storage).unwrap();
    let later = node.ready().write(&mut storage).unwrap();
    vote.sync(&mut storage).unwrap();
    let (_, persisted) = later.sync(&mut storage).unwrap();
    node.advance(persisted);
    assert_eq!(
        node.role(),
        Role::Leader,
        "a later batch's proof covers the vote"
    );
}

/// §5.2: a candidate can win on the other servers' votes alone while its own is still being
/// written; when that write then lands, the election is over and the vote changes nothing.
#[test]
fn own_vote_landing_after_the_win_changes_nothing() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(1), 3);
    node.campaign();
    let vote = node.ready().write(&mut storage).unwrap();
    node.step(vote_response(NodeId(2), NodeId(1), Term(1), true));
    node.step(vote_response(NodeId(3), NodeId(1), Term(1), true));
    assert_eq!(node.role(), Role::Leader, "two of three votes win");
    let (_, persisted) = vote.sync(&mut storage).unwrap();
    node.advance(persisted);
    let (_, events) = persist(&mut node, &mut storage);
    assert_eq!((node.role(), node.current_term()), (Role::Leader, Term(1)));
    assert!(
        !events.iter().any(|e| matches!(
            e,
            Event::VoteReceived {
                from: NodeId(1),
                ..
            }
        )),
        "the late own vote is not counted: {events:?}"
    );
}

/// The role-change event a page draws from: a follower that learns of a newer term reports its
/// new term, and one that learns who leads its term reports the leader.
#[test]
fn a_follower_reports_a_new_term_and_a_new_leader() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(1), 3);
    persist(&mut node, &mut storage);

    node.step(request_vote(
        NodeId(2),
        NodeId(1),
        Term(2),
        LogIndex(0),
        Term(0),
    ));
    let (_, events) = persist(&mut node, &mut storage);
    assert!(
        events.contains(&Event::RoleChanged {
            node: NodeId(1),
            role: Role::Follower,
            term: Term(2),
            leader_id: None
        }),
        "a newer term is reported: {events:?}"
    );

    node.step(append(
        NodeId(3),
        NodeId(1),
        Term(2),
        LogIndex(0),
        Term(0),
        Vec::new(),
        LogIndex(0),
    ));
    let (_, events) = persist(&mut node, &mut storage);
    assert!(
        events.contains(&Event::RoleChanged {
            node: NodeId(1),
            role: Role::Follower,
            term: Term(2),
            leader_id: Some(NodeId(3))
        }),
        "the term's leader is reported: {events:?}"
    );
}
