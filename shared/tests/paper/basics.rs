//! §5.1 Raft basics: terms act as a logical clock. A higher term makes any role step down and
//! adopt it, a request with a stale term is refused, and a deposed leader learns the new term
//! from the rejection it gets.

use crate::common::*;
use shared::protocol::{Event, Message};
use shared::Role;
use shared::{LogIndex, NodeId, Term};

// ===== §5.1 Raft basics =====

/// §5.1: "If a server receives a request with a stale term number, it rejects the request", and
/// "if one server's current term is smaller than the other's, then it updates its current term
/// to the larger value. If a candidate or leader discovers that its term is out of date, it
/// immediately reverts to follower state." Checked for every role and every RPC kind.
#[test]
fn higher_term_makes_any_role_step_down() {
    type MessageOfTerm = fn(u64) -> Message;
    let bodies: [(&str, MessageOfTerm); 4] = [
        ("RequestVote", |t| {
            request_vote(NodeId(2), NodeId(1), Term(t), LogIndex(0), Term(0))
        }),
        ("RequestVoteResponse", |t| {
            vote_response(NodeId(2), NodeId(1), Term(t), false)
        }),
        ("AppendEntries", |t| {
            append(
                NodeId(2),
                NodeId(1),
                Term(t),
                LogIndex(0),
                Term(0),
                vec![],
                LogIndex(0),
            )
        }),
        ("AppendEntriesResponse", |t| {
            append_ok(NodeId(2), NodeId(1), Term(t), LogIndex(0))
        }),
    ];
    for role in [Role::Follower, Role::Candidate, Role::Leader] {
        for (kind, message) in &bodies {
            let mut node = match role {
                Role::Follower => node_with(config(NodeId(1), 3), hs(Term(4)), vec![]),
                Role::Candidate => {
                    let mut n = node_with(config(NodeId(1), 3), hs(Term(3)), vec![]);
                    n.campaign();
                    n
                }
                Role::Leader => leader_of(3, Term(4), vec![]).0,
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
            let expected_leader = (*kind == "AppendEntries").then_some(NodeId(2));
            assert_eq!(node.leader_id(), expected_leader, "{role}/{kind}");
        }
    }
}

/// §5.1: "If a server receives a request with a stale term number, it rejects the request." The
/// reply carries the receiver's term so the stale sender learns it is out of date.
#[test]
fn stale_term_requests_are_rejected() {
    let mut storage = storage_with(hs(Term(5)), &log_of_terms(&[1, 5]));
    let mut node = node_with(config(NodeId(1), 3), hs(Term(5)), log_of_terms(&[1, 5]));

    node.step(append(
        NodeId(2),
        NodeId(1),
        Term(4),
        LogIndex(2),
        Term(5),
        vec![entry(LogIndex(3), Term(4))],
        LogIndex(3),
    ));
    node.step(request_vote(
        NodeId(3),
        NodeId(1),
        Term(4),
        LogIndex(10),
        Term(4),
    ));
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
    assert!(net.elect(NodeId(1), 1));
    net.isolate(NodeId(1));
    assert!(
        net.elect(NodeId(2), 1),
        "S2 wins with S3 while S1 is cut off"
    );
    assert_eq!(net.node(NodeId(2)).current_term(), 2);
    assert_eq!(
        net.node(NodeId(1)).role(),
        Role::Leader,
        "S1 does not know yet"
    );

    net.recover();
    net.tick(NodeId(1), 1_000); // S1's heartbeat reaches the others, and their reply deposes it
    net.deliver_all();
    assert_eq!(net.node(NodeId(1)).role(), Role::Follower);
    assert_eq!(net.node(NodeId(1)).current_term(), 2);
}
