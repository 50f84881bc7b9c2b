//! The two ways a cluster can use its log. *command* mode logs the request: any node accepts it
//! (followers forward it to the leader), every replica executes it, and so a non-deterministic
//! request (`add rand`) makes replicas diverge. *state* mode logs the leader's result: only the
//! leader takes requests, executes once, and replicas install the value, so they always agree.
//! Every run is under the safety checker. Owns no production code.

mod common;

use common::Checked;
use shared::protocol::{Event, MessageKind};
use shared::sim::SimError;
use shared::{
    Command, EntryData, LogIndex, LogModel, NodeId, ProposeError, ProposeOutcome, SimConfig,
};

fn cluster(log_model: LogModel, seed: u64) -> Checked {
    Checked::new(SimConfig {
        nodes: 5,
        seed,
        log_model,
        ..SimConfig::default()
    })
}

/// A leader that every follower already knows (heartbeats went round).
fn settled_leader(c: &mut Checked) -> NodeId {
    let leader = c.await_leader(3_000);
    let known = c.wait_for(1_000, |s| {
        s.node_ids()
            .all(|id| s.node(id).unwrap().leader_id() == Some(leader))
    });
    assert!(known, "followers never learned the leader");
    leader
}

fn follower_of(leader: NodeId) -> NodeId {
    if leader == 1 {
        NodeId(2)
    } else {
        NodeId(1)
    }
}

/// The values every node's state machine holds.
fn values(c: &Checked) -> Vec<i64> {
    c.sim
        .node_ids()
        .map(|id| c.sim.node(id).unwrap().value())
        .collect()
}

// ----- command mode -----

/// *command* mode: a follower takes the request and forwards it to the leader as a
/// `ClientRequest` message; the leader logs the request itself, and every node executes it.
#[test]
fn command_mode_any_node_accepts_and_every_node_executes() {
    let mut c = cluster(LogModel::Command, 5);
    let leader = settled_leader(&mut c);
    let follower = follower_of(leader);

    let accepted = c
        .with(|s| s.propose(Some(follower), "add 5".parse().unwrap()))
        .unwrap();
    assert_eq!(accepted.outcome, ProposeOutcome::Forwarded { leader });
    let forwarded = c.log.iter().any(|e| {
        matches!(&e.event, Event::MessageSent { message }
            if message.kind == MessageKind::ClientRequest && message.from == follower && message.to == leader)
    });
    assert!(
        forwarded,
        "no ClientRequest message from S{follower} to S{leader}"
    );

    let request_id = accepted.request_id;
    let index = {
        let found = c.wait_for(500, |s| {
            s.node(leader).unwrap().log().entries().iter().any(|e| {
                matches!(
                    e.data,
                    EntryData::Request {
                        command: Command::Add(5),
                        ..
                    }
                )
            })
        });
        assert!(found, "the leader never logged the forwarded request");
        c.log
            .iter()
            .find_map(|e| match e.event {
                Event::ProposalAccepted {
                    node,
                    request_id: r,
                    index,
                    ..
                } if node == leader && r == request_id => Some(index),
                _ => None,
            })
            .expect("the leader reports the request id it accepted")
    };
    c.await_applied_everywhere(index, 2_000);
    for id in 1..=5 {
        let executed = c.log.iter().any(|e| {
            matches!(e.event, Event::EntryApplied { node, index: i, value: 5 } if node == id && i == index)
        });
        assert!(executed, "S{id} did not execute the request itself");
    }
    assert_eq!(values(&c), vec![5; 5]);
    // A request sent straight to the leader is appended, not forwarded.
    let direct = c
        .with(|s| s.propose(Some(leader), "mul 3".parse().unwrap()))
        .unwrap();
    assert!(matches!(
        direct.outcome,
        ProposeOutcome::Appended { term, .. } if term == c.sim.node(leader).unwrap().current_term()
    ));
}

/// *command* mode: with no leader known there is nobody to forward to.
#[test]
fn command_mode_without_a_leader_refuses_with_no_leader() {
    let mut c = cluster(LogModel::Command, 6);
    // At time 0 nobody has timed out yet.
    let err = c
        .with(|s| s.propose(Some(NodeId(3)), "add 1".parse().unwrap()))
        .unwrap_err();
    assert_eq!(
        err,
        SimError::Refused(ProposeError::NoLeader { node: NodeId(3) })
    );
    let err = c
        .with(|s| s.propose(None, "add 1".parse().unwrap()))
        .unwrap_err();
    assert!(matches!(err, SimError::NoNode(_)), "{err:?}");
}

/// *command* mode replicates the request, and `add rand` draws on each replica: the replicas'
/// values diverge (the point of the comparison with *state* mode). Deterministic: the same seed
/// diverges the same way every time.
#[test]
fn command_mode_add_rand_makes_replicas_diverge() {
    let run = |seed| {
        let mut c = cluster(LogModel::Command, seed);
        settled_leader(&mut c);
        let index = c.propose_to_leader("add rand");
        c.await_applied_everywhere(index, 2_000);
        values(&c)
    };
    let first = run(7);
    let mut distinct = first.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() > 1,
        "five independent draws from 1..=100 should differ: {first:?}"
    );
    assert!(first.iter().all(|v| (1..=100).contains(v)), "{first:?}");
    assert_eq!(run(7), first, "the same seed must diverge identically");
}

// ----- state mode -----

/// *state* mode: only the leader executes requests, so a follower refuses with `NotLeader`
/// carrying the leader it knows of, and reports the refusal as an event.
#[test]
fn state_mode_non_leader_refuses_with_a_leader_hint() {
    let mut c = cluster(LogModel::State, 8);
    let leader = settled_leader(&mut c);
    let follower = follower_of(leader);
    let logs: Vec<_> = c.sim.node_ids().map(|id| c.sim.node_log(id)).collect();

    let err = c
        .with(|s| s.propose(Some(follower), "add 1".parse().unwrap()))
        .unwrap_err();
    assert_eq!(
        err,
        SimError::Refused(ProposeError::NotLeader {
            node: follower,
            leader_hint: Some(leader)
        })
    );
    assert!(err.to_string().contains(&format!("S{leader}")), "{err}");
    let reported = c.log.iter().any(|e| {
        matches!(&e.event, Event::ProposalRejected { node, leader_hint, .. }
            if *node == follower && *leader_hint == Some(leader))
    });
    assert!(reported, "the refusal is an event with the hint");
    assert!(
        !c.log.iter().any(|e| matches!(&e.event, Event::MessageSent { message } if message.kind == MessageKind::ClientRequest)),
        "state mode never forwards"
    );
    c.run_for(500);
    let after: Vec<_> = c.sim.node_ids().map(|id| c.sim.node_log(id)).collect();
    assert_eq!(logs, after, "a refused request touches no log");
}

/// *state* mode: the leader executes against the latest value and logs the result as
/// `value = N` (`EntryData::Value`); followers install it.
#[test]
fn state_mode_leader_logs_values() {
    let mut c = cluster(LogModel::State, 9);
    let leader = settled_leader(&mut c);
    let mut indexes: Vec<LogIndex> = Vec::new();
    for text in ["set 7", "add 5", "mul 2"] {
        indexes.push(c.propose_to_leader(text));
    }
    c.await_applied_everywhere(*indexes.last().unwrap(), 2_000);

    let log = c.sim.node_log(leader);
    let logged: Vec<_> = indexes
        .iter()
        .map(|i| match &log[i.slot()].data {
            EntryData::Value { value, command, .. } => (*value, *command),
            other => panic!("state model logs values, got {other:?}"),
        })
        .collect();
    assert_eq!(
        logged,
        vec![
            (7, Command::Set(7)),
            (12, Command::Add(5)),
            (24, Command::Mul(2)),
        ]
    );
    assert_eq!(log[indexes[2].slot()].data.describe(), "value = 24");
    for id in 1..=5 {
        assert_eq!(
            c.sim.node_log(NodeId(id)),
            log,
            "S{id} holds the same values"
        );
    }
    assert_eq!(values(&c), vec![24; 5]);
}

/// *state* mode: `add rand` is drawn once, by the leader, and the drawn value is what gets
/// replicated: every replica agrees.
#[test]
fn state_mode_add_rand_is_drawn_once_and_replicas_agree() {
    // The same seed that makes command mode diverge.
    let mut c = cluster(LogModel::State, 7);
    let leader = settled_leader(&mut c);
    let index = c.propose_to_leader("add rand");
    c.await_applied_everywhere(index, 2_000);

    let entry = c.sim.node_log(leader)[index.slot()].clone();
    let EntryData::Value { value, command, .. } = entry.data else {
        panic!("expected a value entry, got {entry:?}");
    };
    assert_eq!(command, Command::AddRand);
    assert!((1..=100).contains(&value), "{value}");
    assert_eq!(
        values(&c),
        vec![value; 5],
        "every replica installs the one draw"
    );

    // Twice more, on top of the latest value.
    let index = c.propose_to_leader("add rand");
    let index = index.max(c.propose_to_leader("add rand"));
    c.await_applied_everywhere(index, 2_000);
    let v = values(&c);
    assert!(v.iter().all(|x| *x == v[0]), "{v:?}");
    assert!((value + 2..=value + 200).contains(&v[0]));
}
