//! The run's events read back as serde writes them: every kind built by hand, every event of a
//! few seeded faulty runs, and bad events refused with serde's sentences.

use std::collections::BTreeSet;

use super::*;
use crate::protocol::{InFlight, NetworkView};
use crate::sim::chaos;
use crate::wire::{read, reads_back};
use crate::{ClientSerial, Command, LogIndex, NodeId, Role, Sim, SimConfig, Term};

/// The wire name of an event (its `type`), as serde writes it.
fn type_of(event: &Event) -> String {
    serde_json::to_value(event).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What serde writes for a unit enum's value (its name, without the quotes).
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// A run driven by hand through every fault the simulator has: lossy and duplicating links, a
/// partition, a cut link, a message dropped by hand, a crash, a power loss, an isolation.
fn a_busy_run(seed: u64) -> Vec<SimEvent> {
    let mut sim = Sim::new(SimConfig {
        seed,
        ..SimConfig::default()
    })
    .unwrap();
    sim.run_for(1_000);
    sim.set_network(Some(0.2), Some(0.2), None, None).unwrap();
    for i in 0..15 {
        let _ = sim.propose(None, Command::Add(i));
        let _ = sim.propose(Some(NodeId(2)), Command::Set(i));
        sim.run_for(100);
    }
    sim.partition(vec![vec![NodeId(1), NodeId(2)], vec![NodeId(3)]])
        .unwrap();
    sim.cut(NodeId(2), NodeId(1)).unwrap();
    sim.run_for(500);
    let in_flight = sim.messages_in_flight().next().map(|m| m.id);
    if let Some(id) = in_flight {
        sim.drop_message(id).unwrap();
    }
    sim.heal();
    sim.crash(NodeId(1)).unwrap();
    sim.power_loss(NodeId(2)).unwrap();
    sim.isolate(NodeId(3)).unwrap();
    sim.run_for(1_500);
    sim.restart(NodeId(1)).unwrap();
    sim.restart(NodeId(2)).unwrap();
    sim.heal();
    sim.run_for(1_500);
    sim.take_events()
}

/// The events of the runs: two driven by hand, and a few seeds of the randomized fault schedule
/// (shared's chaos runs: random cluster sizes, log models, crashes and partitions).
fn runs() -> Vec<SimEvent> {
    let mut events = a_busy_run(7);
    events.extend(a_busy_run(11));
    for seed in [1, 2, 3] {
        chaos::run(seed, 3_000, |batch| events.extend_from_slice(batch))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    events
}

/// An event of every kind, with every optional field both set and left out, and the kinds runs
/// rarely emit (a storage failure, a control change, a refused or duplicate request).
fn built_by_hand() -> Vec<Event> {
    let client = ClientSerial {
        client_id: 3,
        serial: 4,
    };
    let network = NetworkView {
        partitions: vec![vec![NodeId(1), NodeId(2)], vec![NodeId(3)]],
        cut_links: vec![[NodeId(1), NodeId(3)]],
        loss_probability: 0.25,
        duplicate_probability: 0.0,
        latency_ms_min: 5,
        latency_ms_max: 20,
    };
    let mut events = vec![
        Event::MessageDelivered {
            id: 4,
            from: NodeId(1),
            to: NodeId(2),
        },
        Event::ElectionTimeout {
            node: NodeId(1),
            term: Term(3),
        },
        Event::RoleChanged {
            node: NodeId(2),
            role: Role::Leader,
            term: Term(3),
            leader_id: Some(NodeId(2)),
        },
        Event::RoleChanged {
            node: NodeId(2),
            role: Role::Candidate,
            term: Term(3),
            leader_id: None,
        },
        Event::VoteGranted {
            voter: NodeId(1),
            candidate: NodeId(2),
            term: Term(3),
        },
        Event::VoteReceived {
            node: NodeId(2),
            from: NodeId(1),
            granted: true,
            votes: vec![NodeId(2), NodeId(1)],
        },
        Event::TimerReset {
            node: NodeId(3),
            election_deadline_ms: 1_234,
        },
        Event::EntriesAppended {
            node: NodeId(1),
            entries: vec![crate::Entry {
                index: LogIndex(1),
                term: Term(1),
                data: crate::EntryData::Request {
                    command: Command::Add(5),
                    client: Some(client),
                },
            }],
        },
        Event::EntriesTruncated {
            node: NodeId(2),
            from_index: LogIndex(4),
        },
        Event::EntriesPersisted {
            node: NodeId(2),
            synced_index: LogIndex(3),
        },
        Event::CommitAdvanced {
            node: NodeId(1),
            commit_index: LogIndex(3),
        },
        Event::EntryApplied {
            node: NodeId(1),
            index: LogIndex(3),
            value: -7,
        },
        Event::DuplicateIgnored {
            node: NodeId(1),
            index: LogIndex(3),
            client,
        },
        Event::ProgressUpdated {
            leader: NodeId(1),
            peer: NodeId(3),
            next_index: LogIndex(5),
            match_index: LogIndex(4),
        },
        Event::ClientRequest {
            node: NodeId(2),
            command: Command::AddRand,
            request_id: 9,
            client: Some(client),
        },
        Event::ClientRequest {
            node: NodeId(2),
            command: Command::Mul(-3),
            request_id: 10,
            client: None,
        },
        Event::NodeCrashed { node: NodeId(3) },
        Event::PowerLost {
            node: NodeId(2),
            synced_index: LogIndex(2),
            lost_entries: 3,
        },
        Event::NodeRestarted {
            node: NodeId(2),
            term: Term(4),
            last_index: LogIndex(2),
        },
        Event::NetworkChanged { network },
        Event::ControlChanged {
            paused: true,
            speed: 0.25,
        },
        Event::ControlChanged {
            paused: false,
            speed: 0.0,
        },
    ];
    for duplicate in [false, true] {
        events.push(Event::ProposalAccepted {
            node: NodeId(1),
            request_id: 9,
            index: LogIndex(4),
            term: Term(2),
            duplicate,
        });
    }
    for (i, kind) in RejectKind::ALL.iter().enumerate() {
        events.push(Event::ProposalRejected {
            node: NodeId(3),
            request_id: 11,
            kind: *kind,
            reason: "S3 is not the leader".into(),
            leader_hint: [None, Some(NodeId(1))][i % 2],
        });
    }
    for (i, reason) in DropReason::ALL.iter().enumerate() {
        events.push(Event::MessageDropped {
            id: i as u64,
            from: NodeId(1),
            to: NodeId(2),
            reason: *reason,
        });
    }
    for kind in STORAGE_FAILURES {
        events.push(Event::StorageFailed {
            node: NodeId(4),
            kind,
            error: "disk full".into(),
        });
    }
    // A message in flight as the simulator sends it, with its whole message.
    let mut sim = Sim::new(SimConfig::default()).unwrap();
    sim.run_for(1_000);
    let sent = sim
        .take_events()
        .into_iter()
        .find(|e| matches!(e.event, Event::MessageSent { .. }))
        .expect("a cluster sends messages");
    events.push(sent.event);
    events
}

#[test]
fn every_kind_built_by_hand_reads_back() {
    for (i, event) in built_by_hand().into_iter().enumerate() {
        reads_back(&event);
        reads_back(&SimEvent {
            seq: i as u64 + 1,
            time_ms: 10 * i as u64,
            event,
        });
    }
}

#[test]
fn every_event_of_faulty_runs_reads_back() {
    let events = runs();
    assert!(events.len() > 1_000, "only {} events", events.len());
    for e in &events {
        reads_back(e);
        reads_back(&e.event);
        match &e.event {
            Event::MessageSent { message } => reads_back::<InFlight>(message),
            Event::NetworkChanged { network } => reads_back::<NetworkView>(network),
            _ => {}
        }
    }
}

#[test]
fn every_kind_is_seen_or_built_and_read_by_its_name() {
    let mut seen: BTreeSet<String> = runs().iter().map(|e| type_of(&e.event)).collect();
    seen.extend(built_by_hand().iter().map(type_of));
    let names: BTreeSet<String> = Event::NAMES.iter().map(|n| n.to_string()).collect();
    assert_eq!(seen, names);
    assert_eq!(names.len(), Event::NAMES.len(), "a name listed twice");
    // Every name in shared's table has a branch here: without its fields, an event is refused
    // for a missing field, never as an unknown kind.
    for name in Event::NAMES {
        let error = read::<Event>(&format!(r#"{{"type":"{name}"}}"#)).unwrap_err();
        assert!(error.starts_with("missing field"), "{name}: {error}");
    }
}

#[test]
fn the_unit_names_are_what_serde_writes() {
    assert_eq!(DropReason::NAMES.len(), DropReason::ALL.len());
    for (name, reason) in DropReason::NAMES.iter().zip(DropReason::ALL) {
        assert_eq!(serde_name(reason), *name);
        reads_back(reason);
    }
    assert_eq!(RejectKind::NAMES.len(), RejectKind::ALL.len());
    for (name, kind) in RejectKind::NAMES.iter().zip(RejectKind::ALL) {
        assert_eq!(serde_name(kind), *name);
        reads_back(kind);
    }
    for (name, kind) in STORAGE_FAILURE_NAMES.iter().zip(STORAGE_FAILURES) {
        assert_eq!(serde_name(&kind), *name);
        reads_back(&kind);
    }
    // Each table lists every value: an exhaustive match, so a new variant fails to compile
    // here until it is counted, and then fails the count until it is in the table.
    let drop_variants = |r: DropReason| match r {
        DropReason::Loss | DropReason::Cut | DropReason::NodeDown | DropReason::Dropped => 4,
    };
    let reject_variants = |k: RejectKind| match k {
        RejectKind::NotLeader | RejectKind::NoLeader | RejectKind::LeaderChanged => 3,
    };
    let storage_variants = |k: StorageFailureKind| match k {
        StorageFailureKind::NotContiguous
        | StorageFailureKind::Io
        | StorageFailureKind::Corrupt => 3,
    };
    assert_eq!(DropReason::ALL.len(), drop_variants(DropReason::Loss));
    assert_eq!(RejectKind::ALL.len(), reject_variants(RejectKind::NoLeader));
    assert_eq!(
        STORAGE_FAILURES.len(),
        storage_variants(StorageFailureKind::Io)
    );
    let distinct: BTreeSet<_> = DropReason::NAMES.iter().collect();
    assert_eq!(distinct.len(), DropReason::NAMES.len());
    let distinct: BTreeSet<_> = RejectKind::NAMES.iter().collect();
    assert_eq!(distinct.len(), RejectKind::NAMES.len());
}

/// serde's sentence for `text` read as a `T`, without serde_json's " at line 1 column n".
fn serdes_error<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> String {
    let error = serde_json::from_str::<T>(text).unwrap_err().to_string();
    match error.find(" at line ") {
        Some(at) => error[..at].to_string(),
        None => error,
    }
}

#[test]
fn bad_events_are_refused_with_serdes_sentences() {
    let unknown = r#"{"seq":1,"time_ms":0,"type":"node_exploded","node":1}"#;
    let ours = read::<SimEvent>(unknown).unwrap_err();
    assert!(
        ours.starts_with(
            "unknown variant `node_exploded`, expected one of `message_sent`, \
             `message_delivered`, `message_dropped`"
        ),
        "{ours}"
    );
    assert!(
        ours.ends_with("`network_changed`, `control_changed`"),
        "{ours}"
    );
    assert_eq!(ours, serdes_error::<SimEvent>(unknown));
    assert_eq!(read::<Event>(unknown).unwrap_err(), ours);

    let untyped = r#"{"seq":1,"time_ms":0,"node":1}"#;
    assert_eq!(
        read::<SimEvent>(untyped).unwrap_err(),
        "missing field `type`"
    );
    assert_eq!(read::<Event>(untyped).unwrap_err(), "missing field `type`");
    assert_eq!(serdes_error::<SimEvent>(untyped), "missing field `type`");

    let no_seq = r#"{"time_ms":0,"type":"node_crashed","node":1}"#;
    assert_eq!(read::<SimEvent>(no_seq).unwrap_err(), "missing field `seq`");
    let no_node = r#"{"seq":1,"time_ms":0,"type":"node_crashed"}"#;
    assert_eq!(
        read::<SimEvent>(no_node).unwrap_err(),
        "missing field `node`"
    );

    let gremlins = r#"{"type":"message_dropped","id":1,"from":1,"to":2,"reason":"gremlins"}"#;
    assert_eq!(
        read::<Event>(gremlins).unwrap_err(),
        "reason: unknown variant `gremlins`, expected one of `loss`, `cut`, `node_down`, \
         `dropped`"
    );
    let div = r#"{"type":"client_request","node":1,"command":"div 2","request_id":1}"#;
    let ours = read::<Event>(div).unwrap_err();
    assert!(ours.contains("unknown operation \"div\""), "{ours}");
    let no_command = r#"{"type":"client_request","node":1,"request_id":1}"#;
    assert_eq!(
        read::<Event>(no_command).unwrap_err(),
        "missing field `command`"
    );
    assert!(read::<Event>(r#"{"type":"node_crashed","node":"one"}"#)
        .unwrap_err()
        .starts_with("node: invalid type"));
    let short_link = r#"{"partitions":[],"cut_links":[[1]],"loss_probability":0,
        "duplicate_probability":0,"latency_ms_min":1,"latency_ms_max":2}"#;
    assert!(serde_json::from_str::<NetworkView>(short_link).is_err());
    assert_eq!(
        read::<NetworkView>(short_link).unwrap_err(),
        "cut_links: [0]: invalid length 1, expected an array of length 2"
    );
}

#[test]
fn optional_fields_left_out_read_as_serde_reads_them() {
    let text =
        r#"{"type":"proposal_accepted","node":1,"request_id":2,"index":3,"term":1,"later":[1]}"#;
    let ours = read::<Event>(text).unwrap();
    assert_eq!(ours, serde_json::from_str::<Event>(text).unwrap());
    assert!(matches!(
        ours,
        Event::ProposalAccepted {
            duplicate: false,
            ..
        }
    ));
    let text = r#"{"type":"role_changed","node":1,"role":"follower","term":2,"leader_id":null}"#;
    assert_eq!(
        read::<Event>(text).unwrap(),
        serde_json::from_str::<Event>(text).unwrap()
    );
}
