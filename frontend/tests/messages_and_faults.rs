//! Tests of the view-model reducer, event by event: messages and their ghosts, client requests,
//! crashes and power loss, network changes and the playback controls.

mod common;

use shared::protocol::DropReason;
use shared::{LogIndex, NodeId, Term};

use common::{entry, flight, network, Feed};
use logscope_frontend::model::{flight_fraction, format_speed, Focus};
use shared::protocol::{AppendEntries, ForwardedRequest};
use shared::protocol::{Event, MessageBody};
use shared::Command;

#[test]
fn messages_fly_arrive_and_leave_ghosts_where_they_were_lost() {
    let mut f = Feed::new(3);
    let ae = MessageBody::AppendEntries(AppendEntries {
        prev_log_index: LogIndex(0),
        prev_log_term: Term(0),
        entries: vec![],
        leader_commit: LogIndex(0),
    });
    f.ev(Event::MessageSent {
        message: flight(1, 1, 2, ae.clone()),
    });
    f.ev(Event::MessageSent {
        message: flight(2, 1, 3, ae),
    });
    assert_eq!(f.view.messages.len(), 2);
    assert!((flight_fraction(&f.view.messages[&1], 105.0) - 0.5).abs() < 1e-9);
    assert_eq!(flight_fraction(&f.view.messages[&1], 90.0), 0.0);
    assert_eq!(flight_fraction(&f.view.messages[&1], 500.0), 1.0);

    f.at(104).ev(Event::MessageDropped {
        id: 2,
        from: NodeId(1),
        to: NodeId(3),
        reason: DropReason::Loss,
    });
    assert_eq!(f.view.messages.len(), 1);
    assert_eq!(f.view.ghosts.len(), 1);
    assert!((f.view.ghosts[0].position() - 0.4).abs() < 1e-9);
    assert_eq!(f.view.ghosts[0].reason, DropReason::Loss);
    assert!(!f.said("dropped by hand"), "random loss is not narrated");

    f.at(106).ev(Event::MessageDropped {
        id: 1,
        from: NodeId(1),
        to: NodeId(2),
        reason: DropReason::Dropped,
    });
    assert!(f.said("The heartbeat (empty AppendEntries) from S1 to S2 was dropped by hand"));
    assert_eq!(f.view.narration[0].focus, Focus::Message(1));

    // Ghosts are forgotten after a while.
    f.at(100_000).ev(Event::TimerReset {
        node: NodeId(1),
        election_deadline_ms: 100_200,
    });
    assert!(f.view.ghosts.is_empty());
}

#[test]
fn forwarded_client_requests_and_proposals() {
    let mut f = Feed::new(3);
    f.ev(Event::ClientRequest {
        node: NodeId(2),
        command: "add 5".parse().unwrap(),
        request_id: 9,
        client: None,
    });
    assert!(f.said("A client sent \"add 5\" to S2"));
    f.ev(Event::MessageSent {
        message: flight(
            3,
            2,
            1,
            MessageBody::ClientRequest(ForwardedRequest {
                command: Command::Add(5),
                request_id: 9,
                client: None,
            }),
        ),
    });
    assert!(f.said("S2 forwarded \"add 5\" to the leader, S1"));
    f.ev(Event::ProposalAccepted {
        node: NodeId(1),
        request_id: 9,
        index: LogIndex(4),
        term: Term(2),
        duplicate: false,
    });
    assert!(f.said("S1, the leader, appended \"add 5\" as entry 4 in term 2"));
    assert_eq!(f.view.requests[&9].index, Some(LogIndex(4)));
    assert_eq!(
        f.view.narration[0].focus,
        Focus::NodeEntry(NodeId(1), LogIndex(4))
    );
    f.ev(Event::ProposalRejected {
        node: NodeId(3),
        request_id: 9,
        kind: shared::protocol::RejectKind::NotLeader,
        reason: "S3 is not the leader".into(),
        leader_hint: Some(NodeId(1)),
    });
    assert!(f.said("S3 refused \"add 5\": S3 is not the leader"));
}

#[test]
fn crash_power_loss_restart_and_storage_failure() {
    let mut f = Feed::new(3);
    f.ev(Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![entry(1, 1, 1), entry(2, 1, 2), entry(3, 1, 3)],
    });
    f.ev(Event::EntriesPersisted {
        node: NodeId(2),
        synced_index: LogIndex(2),
    });
    f.ev(Event::CommitAdvanced {
        node: NodeId(2),
        commit_index: LogIndex(2),
    });
    f.ev(Event::EntryApplied {
        node: NodeId(2),
        index: LogIndex(2),
        value: 3,
    });

    f.ev(Event::NodeCrashed { node: NodeId(2) });
    let s2 = f.view.node(NodeId(2)).unwrap();
    assert!(!s2.up);
    assert_eq!(
        (s2.commit_index, s2.last_applied, s2.value),
        (LogIndex(0), LogIndex(0), 0)
    );
    assert_eq!(s2.last_index(), 3, "a crash keeps what the OS has");
    assert_eq!(s2.election_deadline_ms, None);
    assert!(f.said("S2 crashed"));
    assert_eq!(f.view.commit_index(), 2, "the global committed log stays");

    f.ev(Event::NodeRestarted {
        node: NodeId(2),
        term: Term(1),
        last_index: LogIndex(3),
    });
    let s2 = f.view.node(NodeId(2)).unwrap();
    assert!(s2.up);
    assert_eq!(s2.synced_index, 3, "recovery syncs what it read");
    assert!(f.said("S2 restarted from its disk: term 1, 3 entries"));

    f.ev(Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![entry(4, 1, 4), entry(5, 1, 5)],
    });
    f.ev(Event::PowerLost {
        node: NodeId(2),
        synced_index: LogIndex(3),
        lost_entries: 2,
    });
    let s2 = f.view.node(NodeId(2)).unwrap();
    assert!(!s2.up);
    assert_eq!(s2.last_index(), 3, "unsynced entries are gone");
    assert!(f.said("S2 lost power: 2 entries not yet synced to disk are gone"));

    f.ev(Event::StorageFailed {
        node: NodeId(3),
        kind: shared::protocol::StorageFailureKind::Io,
        error: "disk full".into(),
    });
    let s3 = f.view.node(NodeId(3)).unwrap();
    assert!(!s3.up);
    assert_eq!(s3.storage_error.as_deref(), Some("disk full"));
    assert!(f.said("S3's disk failed and it stopped: disk full"));
    assert!(!f.view.needs_resync);
}

#[test]
fn network_changes_are_described_in_one_sentence_each() {
    let mut f = Feed::new(3);
    let mut n = network();
    n.cut_links = vec![
        [NodeId(1), NodeId(2)],
        [NodeId(1), NodeId(3)],
        [NodeId(2), NodeId(1)],
        [NodeId(3), NodeId(1)],
    ];
    f.ev(Event::NetworkChanged { network: n.clone() });
    assert!(f.said("S1 is isolated"));
    assert_eq!(f.view.narration[0].focus, Focus::Node(NodeId(1)));
    assert!(f.view.link_blocked(NodeId(2), NodeId(1)));
    assert!(!f.view.link_blocked(NodeId(2), NodeId(3)));

    f.ev(Event::NetworkChanged { network: network() });
    assert!(f.said("The network is healed"));

    let mut n = network();
    n.cut_links = vec![[NodeId(2), NodeId(3)]];
    f.ev(Event::NetworkChanged { network: n });
    assert!(f.said("Link S2 → S3 cut"));
    assert!(f.view.link_blocked(NodeId(2), NodeId(3)));
    assert!(!f.view.link_blocked(NodeId(3), NodeId(2)));

    let mut n = network();
    n.partitions = vec![vec![NodeId(1)], vec![NodeId(2), NodeId(3)]];
    n.loss_probability = 0.25;
    n.latency_ms_min = 20;
    n.latency_ms_max = 40;
    f.ev(Event::NetworkChanged { network: n });
    assert!(f.said("The network is partitioned: S1 | S2 S3"));
    assert!(f.said("Message loss set to 25%"));
    assert!(f.said("Latency set to 20–40 ms"));
    assert!(f.said("Link S2 → S3 restored"));
    assert!(f.view.link_blocked(NodeId(1), NodeId(2)));
    assert!(!f.view.link_blocked(NodeId(2), NodeId(3)));
}

#[test]
fn control_changes_and_clock() {
    let mut f = Feed::new(3);
    f.ev(Event::ControlChanged {
        paused: true,
        speed: 0.01,
    });
    assert!(f.view.paused);
    assert!(f.said("Paused"));
    f.ev(Event::ControlChanged {
        paused: false,
        speed: 0.001,
    });
    assert!(f.said("Resumed"));
    assert!(f.said("Speed set to 1/1000×"));
    f.view.on_clock(5_000, true, 1.0);
    assert_eq!(f.view.time_ms, 5_000);
    assert!(f.view.paused);
    f.view.on_clock(4_000, true, 1.0);
    assert_eq!(
        f.view.time_ms, 5_000,
        "time never runs backwards within a run"
    );
    assert_eq!(format_speed(1.0), "1×");
    assert_eq!(format_speed(0.0), "max");
    assert_eq!(format_speed(0.01), "1/100×");
}
