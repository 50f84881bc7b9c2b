//! Paper tests, in the style of etcd-raft's `raft_paper_test.go`: each test checks one rule of
//! the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm",
//! extended version) and cites its section. Each is init / act / check, driving `RaftNode`
//! directly or through the small FIFO network of `tests/common`. Owns no production code.

mod common;

use common::*;
use shared::protocol::{
    AppendEntries, AppendEntriesResponse, Event, Message, MessageBody, MessageKind, RequestVote,
};
use shared::{Command, EntryData, HardState, MemStorage, ProposeOutcome, RaftNode, Role, Storage};

// ===== §5.1 Raft basics =====

/// §5.1: "If a server receives a request with a stale term number, it rejects the request", and
/// "if one server's current term is smaller than the other's, then it updates its current term
/// to the larger value. If a candidate or leader discovers that its term is out of date, it
/// immediately reverts to follower state." Checked for every role and every RPC kind.
#[test]
fn higher_term_makes_any_role_step_down() {
    type MessageOfTerm = fn(u64) -> Message;
    let bodies: [(&str, MessageOfTerm); 4] = [
        ("RequestVote", |t| request_vote(2, 1, t, 0, 0)),
        ("RequestVoteResponse", |t| vote_response(2, 1, t, false)),
        ("AppendEntries", |t| append(2, 1, t, 0, 0, vec![], 0)),
        ("AppendEntriesResponse", |t| append_ok(2, 1, t, 0)),
    ];
    for role in [Role::Follower, Role::Candidate, Role::Leader] {
        for (kind, message) in &bodies {
            let mut node = match role {
                Role::Follower => node_with(config(1, 3), hs(4), vec![]),
                Role::Candidate => {
                    let mut n = node_with(config(1, 3), hs(3), vec![]);
                    n.campaign();
                    n
                }
                Role::Leader => leader_of(3, 4, vec![]).0,
            };
            assert_eq!(node.role(), role, "setup");
            assert_eq!(node.current_term(), 4, "setup");
            node.step(message(9));
            assert_eq!(node.role(), Role::Follower, "{role} got a {kind} of term 9");
            assert_eq!(
                node.current_term(),
                9,
                "{role} must adopt term 9 from a {kind}"
            );
            // A vote in the new term is still free, unless this very message was a vote request
            // from an up-to-date candidate.
            if *kind != "RequestVote" {
                assert_eq!(
                    node.voted_for(),
                    None,
                    "{role}/{kind}: no vote in term 9 yet"
                );
            }
            let expected_leader = (*kind == "AppendEntries").then_some(2);
            assert_eq!(node.leader_id(), expected_leader, "{role}/{kind}");
        }
    }
}

/// §5.1: "If a server receives a request with a stale term number, it rejects the request." The
/// reply carries the receiver's term so the stale sender learns it is out of date.
#[test]
fn stale_term_requests_are_rejected() {
    let mut storage = storage_with(hs(5), &log_of_terms(&[1, 5]));
    let mut node = node_with(config(1, 3), hs(5), log_of_terms(&[1, 5]));

    node.step(append(2, 1, 4, 2, 5, vec![entry(3, 4)], 3));
    node.step(request_vote(3, 1, 4, 10, 4));
    let (out, events) = persist(&mut node, &mut storage);

    assert_eq!(node.current_term(), 5);
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.voted_for(), None, "no vote for a stale candidate");
    assert_eq!(node.leader_id(), None, "a stale leader is not recognised");
    assert_eq!(terms(node.log().entries()), vec![1, 5], "log untouched");
    assert_eq!(node.commit_index(), 0, "a stale leader's commit is ignored");
    assert_eq!(out.len(), 2);
    assert!(
        out.iter().all(|m| m.term == 5),
        "replies carry the current term"
    );
    assert_eq!(append_success(&out[0]), Some(false));
    assert_eq!(vote_of(&out[1]), Some(false));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::RoleChanged { .. })),
        "a stale request changes nothing: {events:?}"
    );
}

/// §5.1: "If a candidate or leader discovers that its term is out of date, it immediately
/// reverts to follower state." A deposed leader learns it from the rejection of its own
/// AppendEntries, through the network.
#[test]
fn deposed_leader_learns_new_term_from_a_rejection() {
    let mut net = Network::new(3);
    assert!(net.elect(1, 1));
    net.isolate(1);
    assert!(net.elect(2, 1), "S2 wins with S3 while S1 is cut off");
    assert_eq!(net.node(2).current_term(), 2);
    assert_eq!(net.node(1).role(), Role::Leader, "S1 does not know yet");

    net.recover();
    net.tick(1, 1_000); // S1's heartbeat reaches the others, and their reply deposes it
    net.deliver_all();
    assert_eq!(net.node(1).role(), Role::Follower);
    assert_eq!(net.node(1).current_term(), 2);
}

// ===== §5.2 Leader election =====

/// §5.2: "If a follower receives no communication over a period of time called the election
/// timeout, then it … begins an election … increments its current term and transitions to
/// candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each of
/// the other servers."
#[test]
fn follower_election_timeout_starts_an_election_and_votes_for_itself() {
    let mut storage = storage_with(hs(2), &log_of_terms(&[1, 2]));
    let mut node = node_with(config(1, 5), hs(2), log_of_terms(&[1, 2]));
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
    assert_eq!(node.voted_for(), Some(1));
    assert_eq!(
        node.votes_granted(),
        Vec::<u64>::new(),
        "its own vote counts only once it is on disk"
    );
    let (out, events) = persist(&mut node, &mut storage);
    assert_eq!(node.votes_granted(), vec![1]);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::ElectionTimeout { node: 1, term: 2 })));
    let mut to: Vec<_> = out.iter().map(|m| m.to).collect();
    to.sort_unstable();
    assert_eq!(to, vec![2, 3, 4, 5], "one RequestVote to each other server");
    for m in &out {
        assert_eq!(m.term, 3);
        assert_eq!(
            m.body,
            MessageBody::RequestVote(RequestVote {
                last_log_index: 2,
                last_log_term: 2
            })
        );
    }
}

/// §5.2: a candidate that neither wins nor loses "will time out and start a new election by
/// incrementing its term and initiating another round of RequestVote RPCs".
#[test]
fn candidate_times_out_and_starts_a_new_election() {
    let mut storage = MemStorage::new();
    let mut node = new_node(1, 3);
    node.campaign();
    persist(&mut node, &mut storage);
    assert_eq!((node.role(), node.current_term()), (Role::Candidate, 1));

    let deadline = node.election_deadline_ms();
    node.tick(deadline);
    assert_eq!((node.role(), node.current_term()), (Role::Candidate, 2));
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
        let mut node = new_node(1, *n);
        node.campaign();
        persist(&mut node, &mut MemStorage::new());
        for (voter, granted) in *answers {
            node.step(vote_response(*voter, 1, 1, *granted));
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
    net.campaign(1);
    net.campaign(2);
    // S3 hears S1 first, S4 hears S2 first.
    net.set_hook(|m| {
        m.body.kind() == MessageKind::RequestVote && matches!((m.from, m.to), (1, 4) | (2, 3))
    });
    net.deliver_all();
    net.clear_hook();
    for id in [1, 2] {
        assert_eq!(net.node(id).role(), Role::Candidate, "S{id}");
        assert_eq!(net.node(id).votes_granted().len(), 2, "S{id} has 2 of 4");
    }
    assert_eq!(net.node(3).voted_for(), Some(1));
    assert_eq!(net.node(4).voted_for(), Some(2));

    // The first to time out starts term 2 and wins it.
    let first = if net.node(1).election_deadline_ms() <= net.node(2).election_deadline_ms() {
        1
    } else {
        2
    };
    let at = net.node(first).election_deadline_ms();
    net.tick(first, at);
    net.deliver_all();
    assert_eq!(net.node(first).role(), Role::Leader);
    assert_eq!(net.node(first).current_term(), 2);
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
        (3, Role::Follower, Some(2)),
        (4, Role::Follower, Some(2)),
    ] {
        let mut node = node_with(config(1, 3), hs(2), vec![]);
        node.campaign(); // term 3
        node.step(append(2, 1, term, 0, 0, vec![], 0));
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
    let mut node = new_node(1, 5);
    let mut vote = |node: &mut RaftNode, from, term| {
        node.step(request_vote(from, 1, term, 0, 0));
        let (out, _) = persist(node, &mut storage);
        assert_eq!(out.len(), 1);
        vote_of(&out[0]).expect("a vote reply")
    };
    assert!(
        vote(&mut node, 2, 1),
        "first candidate of term 1 gets the vote"
    );
    assert!(
        !vote(&mut node, 3, 1),
        "second candidate of term 1 is refused"
    );
    assert!(
        vote(&mut node, 2, 1),
        "the same candidate asking again is granted again"
    );
    assert_eq!(node.voted_for(), Some(2));
    assert!(vote(&mut node, 3, 2), "a new term frees the vote");
    assert_eq!(
        node.hard_state(),
        HardState {
            current_term: 2,
            voted_for: Some(3)
        }
    );
}

/// §5.2 (and Figure 2, votedFor is persistent): the one vote per term survives a crash, so a
/// restarted server cannot vote twice in the same term.
#[test]
fn the_vote_survives_a_restart() {
    let mut net = Network::new(3);
    net.set_hook(|m| m.from == 2 || m.to == 2); // S2 hears nothing: it stays a plain voter
    net.campaign(1);
    net.deliver_all();
    net.clear_hook();
    net.node_mut(2).step(request_vote(1, 2, 1, 0, 0));
    net.flush(2);
    assert_eq!(net.node(2).voted_for(), Some(1));

    net.crash(2);
    net.restart(2);
    assert_eq!(
        net.node(2).hard_state(),
        HardState {
            current_term: 1,
            voted_for: Some(1)
        }
    );
    net.node_mut(2).step(request_vote(3, 2, 1, 0, 0));
    net.flush(2);
    let reply = net.in_flight().last().expect("a reply").clone();
    assert_eq!((reply.to, vote_of(&reply)), (3, Some(false)));
}

/// §5.2, Figure 2 (Rules for Servers, Followers): "If election timeout elapses without
/// receiving AppendEntries RPC from current leader or granting vote to candidate: convert to
/// candidate." Granting a vote re-arms the timer; refusing one does not.
#[test]
fn granting_a_vote_resets_the_election_timer_refusing_does_not() {
    let mut node = node_with(config(1, 3), hs(2), log_of_terms(&[1, 2]));
    let deadline = node.election_deadline_ms();
    let now = deadline - 1;
    node.advance_clock(now);

    // Same term, less up-to-date candidate: refused, the timer keeps running.
    node.step(request_vote(2, 1, 2, 1, 1));
    assert_eq!(node.voted_for(), None);
    assert_eq!(
        node.election_deadline_ms(),
        deadline,
        "a refusal must not re-arm the timer"
    );

    // Same term, up-to-date candidate: granted, the timer starts over from now.
    node.step(request_vote(3, 1, 2, 2, 2));
    assert_eq!(node.voted_for(), Some(3));
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
    let mut node = node_with(config(1, 3), hs(2), log_of_terms(&[1, 2]));
    let deadline = node.election_deadline_ms();
    let now = deadline - 1;
    node.advance_clock(now);

    // Term 5 candidate with a stale log: the node adopts term 5 but refuses the vote.
    node.step(request_vote(2, 1, 5, 1, 1));
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
        .map(|id| new_node(id, 5).election_deadline_ms())
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

    let mut node = new_node(1, 5);
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
    let (mut leader, mut storage) = leader_of(3, 1, vec![]);
    // Bring the followers up to date so heartbeats are empty.
    leader.step(append_ok(2, 1, 1, 1));
    leader.step(append_ok(3, 1, 1, 1));
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
    assert!(net.elect(1, 1));
    for step in 1..=100 {
        net.tick_all(step * 50);
        net.deliver_all();
    }
    assert_eq!(net.node(1).role(), Role::Leader);
    for id in 1..=3 {
        assert_eq!(net.node(id).current_term(), 1, "S{id}: nobody campaigned");
    }
    // Without heartbeats a follower does time out.
    net.isolate(1);
    net.tick_all(5_000 + 50);
    net.tick_all(5_000 + 400);
    assert!(net.node(2).current_term() > 1 || net.node(3).current_term() > 1);
}

// ===== §5.3 Log replication =====

/// §5.3: "The leader appends the command to its log as a new entry, then issues AppendEntries
/// RPCs in parallel to each of the other servers to replicate the entry." Each entry stores the
/// term in which the leader received it.
#[test]
fn leader_appends_a_proposal_and_replicates_it() {
    let (mut leader, mut storage) = leader_of(3, 2, log_of_terms(&[1]));
    // Followers already match the no-op (index 2).
    leader.step(append_ok(2, 1, 2, 2));
    leader.step(append_ok(3, 1, 2, 2));
    persist(&mut leader, &mut storage);

    let outcome = leader.propose(Command::Add(7), 42).unwrap();
    assert_eq!(outcome, ProposeOutcome::Appended { index: 3, term: 2 });
    let last = leader.log().get(3).unwrap().clone();
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
            index: 3,
            term: 2,
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
                prev_log_index: 2,
                prev_log_term: 2,
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
        let (mut leader, mut storage) = leader_of(*n, 2, log_of_terms(&[1, 1]));
        for f in *acks {
            leader.step(append_ok(*f, 1, 2, 3));
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
    let mut node = new_node(2, 3);
    let cmds = [Command::Add(1), Command::Mul(3), Command::Add(2)];
    let entries: Vec<_> = cmds
        .iter()
        .enumerate()
        .map(|(i, c)| shared::Entry {
            index: i as u64 + 1,
            term: 1,
            data: EntryData::Request {
                command: *c,
                client: None,
            },
        })
        .collect();

    node.step(append(1, 2, 1, 0, 0, entries.clone(), 0));
    persist(&mut node, &mut storage);
    assert_eq!(node.commit_index(), 0, "nothing committed yet");

    node.step(append(1, 2, 1, 3, 1, vec![], 2));
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
        vec![(1, 1), (2, 3)],
        "applied in log order: (0+1)*3"
    );

    node.step(append(1, 2, 1, 3, 1, vec![], 3));
    persist(&mut node, &mut storage);
    assert_eq!(
        (node.commit_index(), node.last_applied(), node.value()),
        (3, 3, 5)
    );

    // A leader_commit beyond the last new entry is capped at it: this follower's index 2 might
    // still be a stale entry the leader has not confirmed.
    let mut stale = node_with(config(2, 3), hs(1), log_of_terms(&[1, 1]));
    stale.step(append(1, 2, 2, 1, 1, vec![], 5));
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
        let mut storage = storage_with(hs(3), &log_of_terms(&[1, 1, 2]));
        let mut node = node_with(config(2, 3), hs(3), log_of_terms(&[1, 1, 2]));
        node.step(append(
            1,
            2,
            3,
            prev,
            prev_term,
            vec![entry(prev + 1, 3)],
            0,
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
            assert_eq!(node.log().get(prev + 1), Some(&entry(prev + 1, 3)));
        } else {
            assert_eq!(
                terms(node.log().entries()),
                vec![1, 1, 2],
                "log untouched on reject"
            );
            assert_eq!(rejected_index, prev);
            assert_eq!(
                (conflict_index, conflict_term),
                (c_index, c_term),
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
        let mut storage = storage_with(hs(3), &have_log);
        let mut node = node_with(config(2, 3), hs(3), have_log);
        let new: Vec<_> = new_terms
            .iter()
            .enumerate()
            .map(|(i, t)| entry(prev + 1 + i as u64, *t))
            .collect();
        node.step(append(1, 2, 3, *prev, *prev_term, new, 0));
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

/// §5.3, Figure 7: a new leader (term 8) meets six followers whose logs are missing entries
/// (a, b), have extra uncommitted entries (c, d), or both (e, f). "The leader handles
/// inconsistencies by forcing the followers' logs to duplicate its own", and with the
/// optimisation of §5.3 ("the follower can include the term of the conflicting entry and the
/// first index it stores for that term … one AppendEntries RPC will be required for each term
/// with conflicting entries, rather than one RPC per entry") each repair takes O(terms) round
/// trips, not O(entries).
#[test]
fn figure7_every_follower_log_converges_in_o_terms_round_trips() {
    let leader_terms: &[u64] = &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    let followers: [(&str, &[u64]); 6] = [
        ("a", &[1, 1, 1, 4, 4, 5, 5, 6, 6]),
        ("b", &[1, 1, 1, 4]),
        ("c", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
        ("d", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
        ("e", &[1, 1, 1, 4, 4, 4, 4]),
        ("f", &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
    ];
    // S1 is the leader; S2..S7 are followers (a)..(f).
    let log_for = |id: u64| -> &[u64] {
        if id == 1 {
            leader_terms
        } else {
            followers[id as usize - 2].1
        }
    };
    // Each follower is in the term of its last entry; the leader was around in term 7 too.
    let mut net = Network::with_states(
        7,
        |id| {
            let t = log_for(id);
            let current_term = if id == 1 { 7 } else { *t.last().unwrap() };
            (hs(current_term), log_of_terms(t))
        },
        |_| {},
    );
    net.campaign(1);
    net.deliver_all();
    assert_eq!(net.node(1).role(), Role::Leader);
    assert_eq!(
        net.node(1).current_term(),
        8,
        "the leader of term 8, as in the figure"
    );
    // It won without (c) and (d), whose logs are more up-to-date (§5.4.1).
    assert_eq!(net.node(4).voted_for(), None);
    assert_eq!(net.node(5).voted_for(), None);

    let leader_log = net.log(1);
    let mut want_terms = leader_terms.to_vec();
    want_terms.push(8); // the leader's no-op
    assert_eq!(terms(&leader_log), want_terms);
    for (i, (name, have)) in followers.iter().enumerate() {
        let id = i as u64 + 2;
        assert_eq!(
            net.log(id),
            leader_log,
            "follower ({name}) must end with the leader's log"
        );
        assert_eq!(
            net.storage(id).synced_entries(),
            &leader_log[..],
            "({name}) durably"
        );
        assert_eq!(
            net.node(id).commit_index(),
            11,
            "({name}) learns the commit"
        );

        // A round trip is one probe position: the prev_log_index of an AppendEntries carrying
        // entries. (A heartbeat may resend the same probe while it is unanswered; that is a
        // retry, not another round trip.)
        let probes = distinct_positions(&net.delivered, 1, id, |m| match &m.body {
            MessageBody::AppendEntries(AppendEntries {
                prev_log_index,
                entries,
                ..
            }) if !entries.is_empty() => Some(*prev_log_index),
            _ => None,
        });
        let rejected = distinct_positions(&net.delivered, id, 1, |m| match m.body {
            MessageBody::AppendEntriesResponse(AppendEntriesResponse {
                success: false,
                rejected_index,
                ..
            }) => Some(rejected_index),
            _ => None,
        });
        assert_eq!(
            probes,
            rejected + 1,
            "({name}) each refused probe costs one more round trip"
        );
        let mut distinct_terms = have.to_vec();
        distinct_terms.dedup();
        let bound = distinct_terms.len() + 1;
        assert!(
            probes <= bound,
            "({name}) took {probes} round trips, bound {bound}"
        );
        // Backing up one entry per round trip needs one per index from the leader's end down to
        // the last matching entry: more than the bound for (b), (e) and (f).
        let matching = have
            .iter()
            .zip(leader_terms)
            .take_while(|(a, b)| a == b)
            .count();
        let naive = leader_terms.len() + 1 - matching;
        if ["b", "e", "f"].contains(name) {
            assert!(
                naive > bound,
                "({name}) the bound must tell fast from naive backup"
            );
        }
    }
}

/// How many different values `key` takes over the delivered messages `from → to`.
fn distinct_positions(
    delivered: &[Message],
    from: u64,
    to: u64,
    key: impl Fn(&Message) -> Option<u64>,
) -> usize {
    let mut seen: Vec<u64> = delivered
        .iter()
        .filter(|m| m.from == from && m.to == to)
        .filter_map(key)
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// §5.3: "the leader must find the latest log entry where the two logs agree, delete any entries
/// in the follower's log after that point, and send the follower all of the leader's entries
/// after that point" — and it batches them, never more than `max_entries_per_append` per RPC.
#[test]
fn catch_up_is_batched_by_max_entries_per_append() {
    let long: Vec<u64> = vec![1; 23];
    let mut net = Network::with_states(
        3,
        |id| {
            if id == 1 {
                (hs(1), log_of_terms(&long))
            } else {
                (hs(1), vec![])
            }
        },
        |c| c.max_entries_per_append = 4,
    );
    assert!(net.elect(1, 1));
    for m in &net.delivered {
        assert!(
            carried(m).len() <= 4,
            "an AppendEntries carried {} entries",
            carried(m).len()
        );
    }
    for id in [2, 3] {
        assert_eq!(net.log(id), net.log(1));
        let batches = net.count_delivered(1, id, |m| !carried(m).is_empty());
        assert!(
            batches >= 24usize.div_ceil(4),
            "S{id}: {batches} batches for 24 entries"
        );
    }
    assert_eq!(net.node(1).commit_index(), 24);
}

/// §5.3: Raft RPCs are idempotent and the network may duplicate and reorder them; "if a follower
/// receives an AppendEntries request that includes log entries already present in its log, it
/// ignores those entries in the new request" (§5.5). A late or duplicated AppendEntries must not
/// truncate entries that match, and a leader never moves a follower's match_index back.
#[test]
fn duplicate_or_reordered_append_entries_never_truncate_matching_entries() {
    let mut storage = MemStorage::new();
    let mut node = new_node(2, 3);
    let three = log_of_terms(&[1, 1, 1]);
    node.step(append(1, 2, 1, 0, 0, three.clone(), 0));
    // The same request again, then an older one that carried only index 1, then one carrying
    // index 2 alone.
    node.step(append(1, 2, 1, 0, 0, three.clone(), 0));
    node.step(append(1, 2, 1, 0, 0, three[..1].to_vec(), 0));
    node.step(append(1, 2, 1, 1, 1, three[1..2].to_vec(), 0));
    let (out, events) = persist(&mut node, &mut storage);
    assert_eq!(node.log().entries(), &three[..], "nothing lost");
    assert_eq!(storage.entries(), &three[..]);
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::EntriesTruncated { .. })));
    let matched: Vec<_> = out
        .iter()
        .map(|m| match m.body {
            MessageBody::AppendEntriesResponse(AppendEntriesResponse {
                success: true,
                match_index,
                ..
            }) => match_index,
            _ => panic!("unexpected {m:?}"),
        })
        .collect();
    // Each reply vouches only for what its own request covered.
    assert_eq!(matched, vec![3, 3, 1, 2]);

    // Leader side: replies arriving out of order never move match_index backwards.
    let (mut leader, mut lstorage) = leader_of(3, 2, log_of_terms(&[1, 1]));
    leader.step(append_ok(2, 1, 2, 3));
    leader.step(append_ok(2, 1, 2, 1));
    persist(&mut leader, &mut lstorage);
    assert_eq!(leader.peer_progress(2), Some((4, 3)));
    assert_eq!(leader.commit_index(), 3);
}

/// §5.3 with a leader's own log (Figure 3, Leader Append-Only): replicating through rejections,
/// a leader only ever appends; every truncation happens on followers.
#[test]
fn only_followers_truncate_never_the_leader() {
    let mut net = Network::with_states(
        3,
        |id| match id {
            1 => (hs(3), log_of_terms(&[1, 3])),
            _ => (hs(2), log_of_terms(&[1, 2, 2, 2])),
        },
        |_| {},
    );
    // S1 (last term 3) wins over the longer but older logs.
    assert!(net.elect(1, 1));
    assert_eq!(net.log(2), net.log(1));
    assert_eq!(net.log(3), net.log(1));
    for e in &net.events {
        if let Event::EntriesTruncated { node, .. } = e {
            assert_ne!(*node, 1, "the leader truncated its own log");
        }
    }
    assert!(net.events.iter().any(|e| matches!(
        e,
        Event::EntriesTruncated {
            node: 2,
            from_index: 2
        }
    )));
}

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
        let mut storage = storage_with(hs(2), &log_of_terms(&[1, 1, 2]));
        let mut voter = node_with(config(1, 3), hs(2), log_of_terms(&[1, 1, 2]));
        voter.step(request_vote(2, 1, 3, last_index, last_term));
        let (out, _) = persist(&mut voter, &mut storage);
        assert_eq!(
            vote_of(&out[0]),
            Some(granted),
            "candidate log ({last_index}, {last_term})"
        );
        assert_eq!(voter.current_term(), 3, "the term is adopted either way");
        assert_eq!(voter.voted_for(), granted.then_some(2));
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
    let (mut leader, mut storage) = leader_of(3, 3, log_of_terms(&[1, 2]));
    leader.step(append_ok(2, 1, 3, 2)); // a majority (S1, S2) has index 2 of term 2…
    persist(&mut leader, &mut storage);
    assert_eq!(
        leader.commit_index(),
        0,
        "…but an old-term entry is never committed by counting"
    );

    leader.step(append_ok(2, 1, 3, 3)); // …and now the no-op of term 3 too
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
    let mut storage = storage_with(hs(4), &log_of_terms(&[1, 4]));
    let mut node = node_with(config(1, 3), hs(4), log_of_terms(&[1, 4]));
    node.campaign();
    persist(&mut node, &mut storage);
    node.step(vote_response(2, 1, 5, true));
    assert_eq!(node.role(), Role::Leader);
    let noop = node.log().get(3).cloned().expect("a no-op at index 3");
    assert_eq!((noop.term, &noop.data), (5, &EntryData::Noop));
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
        |_| (hs(1), log_of_terms(&[1])),
        |c| c.max_entries_per_append = 1,
    );

    // (a) S1 leads term 2; its entry at index 2 reaches S2 only.
    net.set_hook(|m| is_append(m) && m.from == 1 && m.to != 2);
    assert!(net.elect(1, 1));
    net.clear_hook();
    assert_eq!(net.node(1).current_term(), 2);
    assert_eq!(terms(&net.log(1)), vec![1, 2]);
    assert_eq!(terms(&net.log(2)), vec![1, 2]);
    assert_eq!(net.node(1).commit_index(), 0);

    // (b) S1 crashes; S5 leads term 3 with votes from S3, S4 (S2's log is newer than S5's) and
    // takes a different entry at index 2, which reaches nobody.
    net.crash(1);
    net.set_hook(|m| is_append(m) && m.from == 5);
    assert!(net.elect(5, 1));
    net.clear_hook();
    assert_eq!(net.node(5).current_term(), 3);
    assert_eq!(terms(&net.log(5)), vec![1, 3]);
    assert_eq!(net.node(2).voted_for(), None, "S2 refused S5");

    // (c) S5 crashes, S1 restarts and wins term 4 (term 3's votes are spent), then copies index
    // 2 to S3. Its term-4 entry and anything to S4 are lost.
    net.crash(5);
    net.restart(1);
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
    assert!(net.elect(1, 3));
    net.clear_hook();
    assert_eq!(net.node(1).current_term(), 4);
    assert_eq!(terms(&net.log(1)), vec![1, 2, 4]);
    assert_eq!(terms(&net.log(2)), vec![1, 2]);
    assert_eq!(terms(&net.log(3)), vec![1, 2]);
    assert_eq!(terms(&net.log(4)), vec![1]);
    assert_eq!(terms(&net.log(5)), vec![1, 3]);
    net
}

/// §5.4.2, Figure 8 (a)–(d): "a log entry is stored on a majority of servers, yet can still be
/// overwritten by a future leader." Index 2 of term 2 is on S1, S2 and S3, S1 does not count it
/// as committed, and once S1 crashes S5 is elected and overwrites it everywhere.
#[test]
fn figure8_an_old_term_entry_on_a_majority_is_not_committed_and_can_be_overwritten() {
    let mut net = figure8_c();
    assert_eq!(
        net.node(1).commit_index(),
        0,
        "(c) index 2 is on a majority yet not committed"
    );

    // (d) S1 crashes; S5 restarts and is elected with S2, S3 and S4 (its last term 3 beats 2).
    net.crash(1);
    net.restart(5);
    assert!(
        net.elect(5, 3),
        "S5 can win: nothing of term > 3 is committed"
    );
    assert_eq!(net.node(5).current_term(), 5);
    for id in 2..=5 {
        assert_eq!(
            terms(&net.log(id)),
            vec![1, 3, 5],
            "S{id}: index 2 overwritten by term 3"
        );
        assert_eq!(net.node(id).commit_index(), 3);
    }
    for id in [2, 3] {
        assert!(
            net.events.iter().any(
                |e| matches!(e, Event::EntriesTruncated { node, from_index: 2 } if *node == id)
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
    net.tick(1, net.node(1).next_deadline_ms());
    net.deliver_all();
    net.clear_hook();
    assert_eq!(terms(&net.log(2)), vec![1, 2, 4]);
    assert_eq!(terms(&net.log(3)), vec![1, 2, 4]);
    assert_eq!(
        net.node(1).commit_index(),
        3,
        "index 3 (term 4) commits, and index 2 with it"
    );
    assert_eq!(net.node(1).last_applied(), 3);

    // S1 crashes; S5 restarts and tries again and again: S2 and S3 refuse it.
    net.crash(1);
    net.restart(5);
    assert!(!net.elect(5, 5), "S5 must never win now");
    assert!(net.events.iter().all(
        |e| !matches!(e, Event::RoleChanged { node: 5, role: Role::Leader, term, .. } if *term > 3)
    ));

    // Someone holding the committed entries wins and S5's index 2 is replaced.
    assert!(net.elect(2, 3));
    for id in 2..=5 {
        let log = net.log(id);
        assert_eq!(log[1].term, 2, "S{id}: committed index 2 (term 2) survives");
        assert_eq!(log[2].term, 4, "S{id}: committed index 3 (term 4) survives");
        assert!(net.node(id).commit_index() >= 3);
    }
}

/// §5.3 with Figure 2's persistence rule: the leader's own copy counts toward a majority only
/// once it is durable. Readys may be taken before earlier ones are synced; an entry that is only
/// in memory must not be committed, even by a cluster of one.
#[test]
fn a_leader_counts_only_its_durable_entries_toward_a_commit() {
    let (mut leader, mut storage) = leader_of(1, 1, vec![]);
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
    assert_eq!((leader.commit_index(), leader.last_applied()), (3, 3));
    assert_eq!(leader.value(), 3);
}

// ===== Persistence (Figure 2: "updated on stable storage before responding to RPCs") =====

/// Figure 2: persistent state is "updated on stable storage before responding to RPCs". The
/// Ready API makes this structural: a vote reply is visible in `pending_messages`, but the only
/// way to take it is `Unsynced::sync`, after `write`.
#[test]
fn replies_leave_only_after_their_batch_is_synced() {
    let mut storage = MemStorage::new();
    let mut node = new_node(1, 3);
    // S1 votes for S2, S2 wins and sends its first entry.
    node.step(request_vote(2, 1, 1, 0, 0));
    node.step(append(2, 1, 1, 0, 0, log_of_terms(&[1]), 0));
    let ready = node.ready();
    let pending: Vec<Message> = ready.pending_messages().to_vec();
    assert_eq!(pending.len(), 2, "a vote reply and an append reply wait");
    assert!(ready.hard_state.is_some() && !ready.entries.is_empty());

    let unsynced = ready.write(&mut storage).unwrap();
    assert!(unsynced.needs_sync());
    assert_eq!(
        unsynced.pending_messages(),
        &pending[..],
        "still held back after write"
    );
    assert_eq!(storage.synced_index(), 0, "written, not durable");

    let (sent, persisted) = unsynced.sync(&mut storage).unwrap();
    assert_eq!(sent, pending, "sync hands back exactly the held messages");
    assert_eq!(storage.synced_index(), 1);
    node.advance(persisted);
    assert_eq!(node.persisted_index(), 1);
}

/// Figure 2: currentTerm and votedFor must be durable before the vote is sent, so a power loss
/// between write and sync loses both the vote and its reply, never only one of them.
#[test]
fn hard_state_is_durable_before_the_vote_is_sent() {
    let mut storage = MemStorage::new();
    let mut node = new_node(1, 3);
    node.step(request_vote(2, 1, 7, 0, 0));
    let ready = node.ready();
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            current_term: 7,
            voted_for: Some(2)
        })
    );
    let unsynced = ready.write(&mut storage).unwrap();

    // Power lost before sync: the vote was never durable and its reply was never sent.
    let mut crashed = storage.clone();
    crashed.power_loss().unwrap();
    assert_eq!(crashed.load().unwrap().0, HardState::default());

    let (sent, _) = unsynced.sync(&mut storage).unwrap();
    assert_eq!(vote_of(&sent[0]), Some(true));
    let mut crashed = storage.clone();
    crashed.power_loss().unwrap();
    assert_eq!(
        crashed.load().unwrap().0,
        HardState {
            current_term: 7,
            voted_for: Some(2)
        },
        "once the vote is out, it survives a power loss"
    );
}

/// Figure 2: commitIndex and lastApplied are "volatile state on all servers … (initialized to
/// 0)". A restarted server recovers term, vote and log from storage, starts with nothing
/// committed or applied, and re-applies its durable log once the leader tells it the commit.
#[test]
fn volatile_state_resets_on_restart_and_the_durable_log_is_replayed() {
    let mut net = Network::new(3);
    assert!(net.elect(1, 1));
    for n in [5, 7] {
        net.propose(1, Command::Add(n)).unwrap();
        net.deliver_all();
    }
    net.tick_all(net.node(1).next_deadline_ms());
    net.deliver_all();
    let before = (net.node(2).hard_state(), net.log(2), net.node(2).value());
    assert_eq!(net.node(2).commit_index(), 3);
    assert_eq!(before.2, 12);

    net.crash(2);
    net.restart(2);
    let s2 = net.node(2);
    assert_eq!(
        (s2.hard_state(), s2.log().entries().to_vec()),
        (before.0, before.1.clone())
    );
    assert_eq!(
        (s2.commit_index(), s2.last_applied(), s2.value()),
        (0, 0, 0)
    );
    assert_eq!(s2.role(), Role::Follower);
    assert_eq!(s2.leader_id(), None);

    net.tick(1, net.node(1).next_deadline_ms());
    net.deliver_all();
    let s2 = net.node(2);
    assert_eq!(
        (s2.commit_index(), s2.last_applied(), s2.value()),
        (3, 3, 12)
    );
}

/// §5.3 with Figure 2's persistence rule: a follower applies only entries it has durably
/// stored, so a power loss can never take back an entry it already executed.
#[test]
fn a_follower_applies_committed_entries_only_once_they_are_durable() {
    let mut storage = MemStorage::new();
    let mut node = new_node(2, 3);
    node.step(append(1, 2, 1, 0, 0, log_of_terms(&[1, 1]), 2));
    assert_eq!(node.commit_index(), 2, "the leader says both are committed");
    assert_eq!(node.last_applied(), 0, "but nothing is on disk yet");
    let unsynced = node.ready().write(&mut storage).unwrap();
    let (_, persisted) = unsynced.sync(&mut storage).unwrap();
    node.advance(persisted);
    assert_eq!(node.last_applied(), 2);
}
