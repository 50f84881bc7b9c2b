//! Exact client semantics (Raft §8) and the durability rules they rest on, each test written
//! against a bug found from outside: a one-node leader handing out `(index, term)` before its term
//! was durable, a duplicated forward applied twice, and `advance()` trusting an entry that went
//! old term → new term → old term while the newer write was still unsynced. Owns no production
//! code.

mod common;

use common::*;
use shared::protocol::Event;
use shared::sim::SimError;
use shared::NodeId;
use shared::{
    ClientSerial, Command, Entry, EntryData, LogIndex, LogModel, MemStorage, ProposeOutcome, Role,
    SimConfig, Term,
};

fn accepted(log: &[shared::protocol::SimEvent]) -> Vec<(LogIndex, Term, bool)> {
    log.iter()
        .filter_map(|e| match e.event {
            Event::ProposalAccepted {
                index,
                term,
                duplicate,
                ..
            } => Some((index, term, duplicate)),
            _ => None,
        })
        .collect()
}

/// Finding 1: a one-node cluster became leader — and handed out `(index, term)` — before its new
/// term was synced. A power loss in that window brought it back in the old term; it won the same
/// term again and gave the same `(index, term)` to a different request, so `?wait=commit` (which
/// names an entry by that pair) could tell the first client its request committed.
#[test]
fn a_one_node_leader_hands_out_nothing_before_its_term_is_durable() {
    let mut c = Checked::new(SimConfig {
        nodes: 1,
        timing: shared::protocol::Timing {
            fsync_ms: 10,
            ..Default::default()
        },
        ..SimConfig::default()
    });
    // Run up to the election timeout, and stop right after it: the vote is written, not synced.
    while !c
        .log
        .iter()
        .any(|e| matches!(e.event, Event::ElectionTimeout { .. }))
    {
        assert!(c.sim.step(), "the lone node times out");
        c.drain();
    }
    assert_ne!(
        c.sim.node(NodeId(1)).unwrap().role(),
        Role::Leader,
        "not leader while its term is not on disk"
    );
    let early = c.with(|s| s.propose(None, Command::Add(1)));
    assert!(
        matches!(early, Err(SimError::NoNode(_))),
        "no leader may take a request yet: {early:?}"
    );
    // Power loss in the window, then a normal life.
    c.with(|s| s.power_loss(NodeId(1))).unwrap();
    c.with(|s| s.restart(NodeId(1))).unwrap();
    c.await_leader(2_000);
    c.with(|s| s.propose(None, Command::Add(2))).unwrap();
    c.run_for(100);
    let pairs = accepted(&c.log);
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    // And across many seeds and crash points, no (index, term) is ever handed out twice.
    for seed in 1..=40 {
        let mut c = Checked::new(SimConfig {
            nodes: 1,
            seed,
            timing: shared::protocol::Timing {
                fsync_ms: 1 + seed % 7,
                ..Default::default()
            },
            ..SimConfig::default()
        });
        for round in 0..6 {
            c.run_for(40 + seed * 13 % 200);
            let _ = c.with(|s| s.propose(None, Command::Add(round)));
            c.run_for(seed % 5);
            if c.sim.is_up(NodeId(1)) {
                c.with(|s| s.power_loss(NodeId(1))).unwrap();
                c.with(|s| s.restart(NodeId(1))).unwrap();
            }
        }
        let mut pairs: Vec<_> = accepted(&c.log).iter().map(|(i, t, _)| (*i, *t)).collect();
        let n = pairs.len();
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(
            pairs.len(),
            n,
            "seed {seed}: an (index, term) was given twice"
        );
    }
}

/// Finding 2: in the command model a forwarded request that the network duplicated was appended
/// twice, so one `add 5` from one click was applied twice on every replica.
#[test]
fn a_duplicated_forward_is_appended_and_applied_once() {
    let mut c = Checked::new(SimConfig {
        nodes: 5,
        seed: 3,
        log_model: LogModel::Command,
        ..SimConfig::default()
    });
    let leader = c.await_leader(3_000);
    c.run_for(200);
    let follower = if leader == 1 { 2 } else { 1 };
    c.with(|s| s.set_network(None, Some(1.0), None, None))
        .unwrap();
    c.with(|s| s.propose(Some(NodeId(follower)), Command::Add(5)))
        .unwrap();
    c.run_for(1_000);
    for id in 1..=5 {
        assert_eq!(
            c.sim.node(NodeId(id)).unwrap().value(),
            5,
            "S{id} applied add 5 once"
        );
    }
    let leader_log = c.sim.node_log(leader);
    let copies = leader_log
        .iter()
        .filter(|e| e.data.command() == Some(Command::Add(5)))
        .count();
    assert_eq!(copies, 1, "appended once");
    assert!(
        accepted(&c.log).iter().any(|(_, _, duplicate)| *duplicate),
        "the second copy is reported as a duplicate"
    );
}

/// §8: a client that retries (same client id and serial) after not hearing back gets the entry
/// it already has, and the state machine executes it once.
#[test]
fn a_retry_with_the_same_serial_is_executed_once() {
    let mut c = Checked::new(SimConfig {
        nodes: 3,
        seed: 5,
        ..SimConfig::default()
    });
    let leader = c.await_leader(3_000);
    let client = Some(ClientSerial {
        client_id: 42,
        serial: 1,
    });
    let first = c
        .with(|s| s.propose_as(leader, Command::Add(5), 1, client))
        .unwrap();
    let again = c
        .with(|s| s.propose_as(leader, Command::Add(5), 2, client))
        .unwrap();
    // The retry names the same entry, and says it is a copy (the first did not).
    let (
        ProposeOutcome::Appended {
            index: i1,
            term: t1,
            duplicate: d1,
        },
        ProposeOutcome::Appended {
            index: i2,
            term: t2,
            duplicate: d2,
        },
    ) = (first.outcome, again.outcome)
    else {
        panic!(
            "the leader appends both: {:?} / {:?}",
            first.outcome, again.outcome
        );
    };
    assert_eq!((i1, t1), (i2, t2), "the retry names the same entry");
    assert!(!d1 && d2, "only the retry is reported as a duplicate");
    let next = Some(ClientSerial {
        client_id: 42,
        serial: 2,
    });
    c.with(|s| s.propose_as(leader, Command::Add(5), 3, next))
        .unwrap();
    c.run_for(500);
    for id in 1..=3 {
        assert_eq!(c.sim.node(NodeId(id)).unwrap().value(), 10, "S{id}");
    }
}

/// §8 at the state machine: should a log ever hold the same request twice (a log written
/// before serials were checked at the leader), the second is not executed, and that is said.
#[test]
fn the_state_machine_skips_a_request_it_executed_before() {
    let client = Some(ClientSerial {
        client_id: 9,
        serial: 4,
    });
    let add5 = |index| Entry {
        index,
        term: Term(1),
        data: EntryData::Request {
            command: Command::Add(5),
            client,
        },
    };
    let log = vec![add5(LogIndex(1)), add5(LogIndex(2))];
    let mut storage = storage_with(hs(Term(1)), &log);
    let mut node = node_with(config(NodeId(1), 1), hs(Term(1)), log);
    node.campaign();
    let (_, events) = persist(&mut node, &mut storage);
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(node.last_applied(), 3, "both entries and the no-op applied");
    assert_eq!(node.value(), 5, "add 5 executed once");
    assert!(events.iter().any(|e| matches!(
        e,
        Event::DuplicateIgnored {
            index: LogIndex(2),
            ..
        }
    )));
}

/// Finding 3: `advance()` took a synced batch's last `(index, term)` matching the in-memory log
/// as proof of durability. A follower's entry can go old term → new term → old term while the
/// newer write is still unsynced; the old proof then matched, and a non-durable entry was
/// treated as durable and applied.
#[test]
fn a_rewritten_entry_is_durable_only_once_its_latest_write_is() {
    let mut storage = storage_with(hs(Term(1)), &log_of_terms(&[1]));
    let mut node = node_with(config(NodeId(2), 3), hs(Term(1)), log_of_terms(&[1]));
    let take = |node: &mut shared::RaftNode, storage: &mut MemStorage| {
        let ready = node.ready();
        ready.write(storage).expect("MemStorage never fails")
    };
    // Term 2's leader sends entry 2 of term 2: written, not synced.
    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(2),
        LogIndex(1),
        Term(1),
        vec![entry(LogIndex(2), Term(2))],
        LogIndex(0),
    ));
    let first = take(&mut node, &mut storage);
    // Term 3's leader overwrites it with its own entry 2.
    node.step(append(
        NodeId(3),
        NodeId(2),
        Term(3),
        LogIndex(1),
        Term(1),
        vec![entry(LogIndex(2), Term(3))],
        LogIndex(0),
    ));
    let second = take(&mut node, &mut storage);
    // Term 4's leader holds term 2's entry 2 and puts it back, saying it is committed.
    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(4),
        LogIndex(1),
        Term(1),
        vec![entry(LogIndex(2), Term(2))],
        LogIndex(2),
    ));
    let third = take(&mut node, &mut storage);
    assert_eq!(node.log().term(LogIndex(2)), Some(Term(2)));

    let (_, proof) = first.sync(&mut storage).unwrap();
    node.advance(proof);
    assert!(
        node.persisted_index() < 2,
        "only the first write of index 2 is proven durable, not the latest"
    );
    assert!(node.last_applied() < 2, "nothing non-durable is applied");

    for batch in [second, third] {
        let (_, proof) = batch.sync(&mut storage).unwrap();
        node.advance(proof);
    }
    assert_eq!(node.persisted_index(), 2);
    assert_eq!(
        node.last_applied(),
        2,
        "applied once its latest write is durable"
    );
}

/// §8 dedup rests on the log's index of client requests: a request removed by a truncation must
/// leave that index too, or a retry of it would be answered with whatever entry now sits at its
/// old place (and never be executed).
#[test]
fn a_truncated_request_is_no_longer_found_in_the_log() {
    let client = ClientSerial {
        client_id: 42,
        serial: 1,
    };
    let request = Entry {
        index: LogIndex(1),
        term: Term(1),
        data: EntryData::Request {
            command: Command::Add(5),
            client: Some(client),
        },
    };
    let mut log = shared::raft::RaftLog::from_entries(vec![request]);
    assert_eq!(
        log.find_client_after(LogIndex(0), client).map(|e| e.index),
        Some(LogIndex(1))
    );
    log.truncate_from(LogIndex(1));
    log.push(Entry {
        index: LogIndex(1),
        term: Term(2),
        data: EntryData::Noop,
    });
    assert_eq!(
        log.find_client_after(LogIndex(0), client),
        None,
        "the no-op now at index 1 is not the request"
    );
}

/// §8 in the *state* model: a retry that arrives after the first try was executed is answered with
/// the entry it has. Appending it again would log a value computed from a state no replica holds
/// (the state machines skip the copy), so the leader must recognise requests its state machine
/// executed, not only those in its unapplied tail.
#[test]
fn a_retry_after_the_request_was_applied_is_not_appended_again() {
    let mut c = Checked::new(SimConfig {
        nodes: 3,
        seed: 8,
        log_model: LogModel::State,
        ..SimConfig::default()
    });
    let leader = c.await_leader(3_000);
    let client = Some(ClientSerial {
        client_id: 5,
        serial: 1,
    });
    let first = c
        .with(|s| s.propose_as(leader, Command::Add(5), 1, client))
        .unwrap();
    let ProposeOutcome::Appended { index, term, .. } = first.outcome else {
        panic!("the leader appends: {first:?}");
    };
    c.await_applied_everywhere(index, 2_000);
    let last_before = c.sim.node(leader).unwrap().log().last_index();
    let again = c
        .with(|s| s.propose_as(leader, Command::Add(5), 2, client))
        .unwrap();
    assert_eq!(
        again.outcome,
        ProposeOutcome::Appended {
            index,
            term,
            duplicate: true
        }
    );
    assert_eq!(
        c.sim.node(leader).unwrap().log().last_index(),
        last_before,
        "nothing appended"
    );
}
