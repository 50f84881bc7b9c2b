//! Tests of the hand-written event reader (event_read.rs): everything the derived writer writes
//! reads back equal, through each path the page and the server read events by, and bad events
//! are refused with the derived reader's sentences.

use std::collections::BTreeSet;

use crate::command::Command;
use crate::protocol::{DropReason, Event, ServerMessage, SimEvent};
use crate::raft::RejectKind;
use crate::sim::{Sim, SimConfig};
use crate::storage::StorageFailureKind;
use crate::types::{ClientSerial, LogIndex, NodeId, Term};

/// The events of a run with crashes, a power loss, an isolation and lossy, duplicating links.
fn a_busy_run() -> Vec<SimEvent> {
    let mut sim = Sim::new(SimConfig {
        seed: 7,
        ..SimConfig::default()
    })
    .unwrap();
    sim.run_for(2_000);
    sim.set_network(Some(0.2), Some(0.2), None, None).unwrap();
    for i in 0..20 {
        let _ = sim.propose(None, Command::Add(i));
        let _ = sim.propose(Some(NodeId(2)), Command::Set(i));
        sim.run_for(150);
    }
    sim.crash(NodeId(1)).unwrap();
    sim.power_loss(NodeId(2)).unwrap();
    sim.isolate(NodeId(3)).unwrap();
    sim.run_for(3_000);
    sim.restart(NodeId(1)).unwrap();
    sim.restart(NodeId(2)).unwrap();
    sim.run_for(3_000);
    sim.take_events()
}

/// Events a run rarely emits, with every optional field both set and left out.
fn rare_events() -> Vec<Event> {
    vec![
        Event::ClientRequest {
            node: NodeId(2),
            command: Command::AddRand,
            request_id: 9,
            client: Some(ClientSerial {
                client_id: 3,
                serial: 4,
            }),
        },
        Event::ClientRequest {
            node: NodeId(2),
            command: Command::Mul(-3),
            request_id: 10,
            client: None,
        },
        Event::ProposalAccepted {
            node: NodeId(1),
            request_id: 9,
            index: LogIndex(4),
            term: Term(2),
            duplicate: true,
        },
        Event::ProposalRejected {
            node: NodeId(3),
            request_id: 11,
            kind: RejectKind::NotLeader,
            reason: "S3 is not the leader".into(),
            leader_hint: Some(NodeId(1)),
        },
        Event::MessageDropped {
            id: 5,
            from: NodeId(1),
            to: NodeId(2),
            reason: DropReason::Dropped,
        },
        Event::StorageFailed {
            node: NodeId(4),
            kind: StorageFailureKind::Io,
            error: "disk full".into(),
        },
        Event::ControlChanged {
            paused: true,
            speed: 0.25,
        },
        Event::DuplicateIgnored {
            node: NodeId(1),
            index: LogIndex(3),
            client: ClientSerial {
                client_id: 3,
                serial: 4,
            },
        },
    ]
}

/// The wire name of an event (its `type`).
fn type_of(e: &Event) -> String {
    serde_json::to_value(e).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_event_reads_back_equal_by_every_path() {
    let mut events = a_busy_run();
    let last = events.last().map_or(0, |e| e.seq);
    events.extend(
        rare_events()
            .into_iter()
            .enumerate()
            .map(|(i, event)| SimEvent {
                seq: last + 1 + i as u64,
                time_ms: 99_000,
                event,
            }),
    );
    let kinds: BTreeSet<String> = events.iter().map(|e| type_of(&e.event)).collect();
    // The run and the list between them cover every kind of event but a network change.
    assert!(kinds.len() >= 22, "{kinds:?}");
    for e in &events {
        // Its `type` names the kind the reader builds (a new event added to both lists).
        let kind: super::Kind = serde_json::from_value(type_of(&e.event).into()).unwrap();
        assert_eq!(kind, super::kind_of(&e.event));
        let text = serde_json::to_string(e).unwrap();
        // From text (the server's own reads), from a Value, and alone as an Event.
        assert_eq!(
            &serde_json::from_str::<SimEvent>(&text).unwrap(),
            e,
            "{text}"
        );
        let value = serde_json::to_value(e).unwrap();
        assert_eq!(&serde_json::from_value::<SimEvent>(value).unwrap(), e);
        let alone = serde_json::to_string(&e.event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&alone).unwrap(), e.event);
    }
    // Inside a ServerMessage, as the page reads them (through serde's buffer).
    let message = ServerMessage::Events {
        events: events.clone(),
    };
    let text = serde_json::to_string(&message).unwrap();
    assert_eq!(
        serde_json::from_str::<ServerMessage>(&text).unwrap(),
        message
    );
}

#[test]
fn the_network_change_reads_back_too() {
    let mut sim = Sim::new(SimConfig::default()).unwrap();
    sim.isolate(NodeId(2)).unwrap();
    let changed = sim
        .take_events()
        .into_iter()
        .find(|e| matches!(e.event, Event::NetworkChanged { .. }))
        .expect("isolating a server changes the network");
    let text = serde_json::to_string(&changed).unwrap();
    assert_eq!(serde_json::from_str::<SimEvent>(&text).unwrap(), changed);
}

#[test]
fn optional_fields_may_be_left_out_and_unknown_ones_are_ignored() {
    let e: Event = serde_json::from_str(
        r#"{"type":"proposal_accepted","node":1,"request_id":2,"index":3,"term":1,"later":[1]}"#,
    )
    .unwrap();
    assert_eq!(
        e,
        Event::ProposalAccepted {
            node: NodeId(1),
            request_id: 2,
            index: LogIndex(3),
            term: Term(1),
            duplicate: false,
        }
    );
    let e: Event = serde_json::from_str(
        r#"{"type":"role_changed","node":1,"role":"follower","term":2,"leader_id":null}"#,
    )
    .unwrap();
    assert!(matches!(
        e,
        Event::RoleChanged {
            leader_id: None,
            ..
        }
    ));
}

#[test]
fn bad_events_are_refused_with_the_derived_readers_sentences() {
    let err = |text: &str| {
        serde_json::from_str::<SimEvent>(text)
            .unwrap_err()
            .to_string()
    };
    assert!(
        err(r#"{"seq":1,"time_ms":0,"type":"node_crashed"}"#).starts_with("missing field `node`")
    );
    assert!(
        err(r#"{"time_ms":0,"type":"node_crashed","node":1}"#).starts_with("missing field `seq`")
    );
    assert!(err(r#"{"seq":1,"time_ms":0,"node":1}"#).starts_with("missing field `type`"));
    let unknown = err(r#"{"seq":1,"time_ms":0,"type":"node_exploded","node":1}"#);
    assert!(
        unknown.starts_with("unknown variant `node_exploded`, expected one of `message_sent`"),
        "{unknown}"
    );
    let reason = err(
        r#"{"seq":1,"time_ms":0,"type":"message_dropped","id":1,"from":1,"to":2,"reason":"gremlins"}"#,
    );
    assert!(
        reason.starts_with("unknown variant `gremlins`, expected one of `loss`, `cut`"),
        "{reason}"
    );
    let command = err(
        r#"{"seq":1,"time_ms":0,"type":"client_request","node":1,"command":"div 2","request_id":1}"#,
    );
    assert!(command.contains("unknown operation \"div\""), "{command}");
    assert!(
        err(r#"{"seq":1,"time_ms":0,"type":"node_crashed","node":"one"}"#)
            .starts_with("invalid type")
    );
}

#[test]
fn the_kind_table_names_every_kind_once_as_events_write_it() {
    use super::{kind_of, KINDS, KIND_NAMES};
    for i in 0..KINDS.len() {
        for j in i + 1..KINDS.len() {
            assert_ne!(KIND_NAMES[i], KIND_NAMES[j]);
            assert_ne!(KINDS[i], KINDS[j]);
        }
    }
    // An event of every kind: the run's, the rare ones, a network change and a truncation.
    let mut events: Vec<Event> = a_busy_run().into_iter().map(|e| e.event).collect();
    events.extend(rare_events());
    let network = Sim::new(SimConfig::default()).unwrap().snapshot().network;
    events.push(Event::NetworkChanged { network });
    events.push(Event::EntriesTruncated {
        node: NodeId(2),
        from_index: LogIndex(4),
    });
    for (name, kind) in KIND_NAMES.iter().zip(KINDS) {
        let event = events
            .iter()
            .find(|e| kind_of(e) == kind)
            .unwrap_or_else(|| panic!("no {name} event in the lists"));
        assert_eq!(type_of(event), *name, "the table's name for {kind:?}");
    }
}
