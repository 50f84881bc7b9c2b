//! Tests of the view-model reducer: every event kind by hand, and the strongest check we have —
//! a real simulated cluster (shared's `Sim`, with crashes, power loss, partitions and client load)
//! whose snapshot at the start plus its events must rebuild exactly the snapshot at the end.

use logscope_frontend::model::{
    flight_fraction, format_speed, Applied, ClusterView, Focus, Tone, REQUESTS_MAX,
};
use shared::protocol::{
    ClusterSnapshot, Event, InFlight, Message, MessageBody, NetworkView, NodeView, PeerProgress,
    SimEvent, Timing,
};
use shared::sim::{Sim, SimConfig};
use shared::types::{Entry, EntryData, LogModel, Role};
use shared::Command;

fn network() -> NetworkView {
    NetworkView {
        partitions: vec![],
        cut_links: vec![],
        loss_probability: 0.0,
        duplicate_probability: 0.0,
        latency_ms_min: 5,
        latency_ms_max: 15,
    }
}

fn node(id: u64) -> NodeView {
    NodeView {
        id,
        up: true,
        role: Role::Follower,
        current_term: 1,
        voted_for: None,
        commit_index: 0,
        last_applied: 0,
        value: 0,
        log: vec![],
        synced_index: 0,
        leader_id: None,
        election_deadline_ms: Some(200),
        progress: Default::default(),
        votes: vec![],
    }
}

fn snapshot(nodes: u64, seq: u64) -> ClusterSnapshot {
    ClusterSnapshot {
        time_ms: 100,
        seq,
        seed: 7,
        log_model: LogModel::Command,
        speed: 0.01,
        paused: false,
        timing: Timing::default(),
        network: network(),
        nodes: (1..=nodes).map(node).collect(),
        messages: vec![],
    }
}

fn entry(index: u64, term: u64, n: i64) -> Entry {
    Entry {
        index,
        term,
        data: EntryData::Request {
            command: Command::Add(n),
        },
    }
}

/// Feeds events with consecutive sequence numbers after the view's.
struct Feed {
    view: ClusterView,
    time_ms: u64,
}

impl Feed {
    fn new(nodes: u64) -> Feed {
        Feed {
            view: ClusterView::from_snapshot(snapshot(nodes, 10)),
            time_ms: 100,
        }
    }
    fn at(&mut self, time_ms: u64) -> &mut Self {
        self.time_ms = time_ms;
        self
    }
    fn ev(&mut self, event: Event) -> &mut Self {
        let seq = self.view.seq + 1;
        let r = self.view.apply(&SimEvent {
            seq,
            time_ms: self.time_ms,
            event,
        });
        assert_eq!(r, Applied::Yes);
        self
    }
    fn said(&self, needle: &str) -> bool {
        self.view.narration.iter().any(|n| n.text.contains(needle))
    }
}

fn flight(id: u64, from: u64, to: u64, body: MessageBody) -> InFlight {
    InFlight {
        id,
        kind: body.kind().to_string(),
        from,
        to,
        sent_at_ms: 100,
        deliver_at_ms: 110,
        message: Message {
            from,
            to,
            term: 2,
            body,
        },
    }
}

#[test]
fn an_election_from_timeout_to_leader() {
    let mut f = Feed::new(3);
    f.ev(Event::ElectionTimeout { node: 3, term: 1 });
    f.ev(Event::RoleChanged {
        node: 3,
        role: Role::Candidate,
        term: 2,
        leader_id: None,
    });
    f.ev(Event::TimerReset {
        node: 3,
        election_deadline_ms: 400,
    });
    let s3 = f.view.node(3).unwrap();
    assert_eq!(
        (s3.role, s3.current_term, s3.voted_for),
        (Role::Candidate, 2, Some(3))
    );
    assert_eq!(s3.votes, vec![3]);
    assert_eq!(s3.election_deadline_ms, Some(400));
    assert!(f.said("S3 timed out and started an election for term 2"));
    assert_eq!(f.view.narration[0].focus, Focus::Node(3));
    assert_eq!(f.view.narration[0].tone, Tone::Election);

    // S1 grants; its reply travels; the candidate shows it as "coming".
    f.ev(Event::RoleChanged {
        node: 1,
        role: Role::Follower,
        term: 2,
        leader_id: None,
    });
    f.ev(Event::VoteGranted {
        voter: 1,
        candidate: 3,
        term: 2,
    });
    assert_eq!(f.view.node(1).unwrap().voted_for, Some(3));
    assert!(f.said("S1 voted for S3 in term 2"));
    f.ev(Event::MessageSent {
        message: flight(
            40,
            1,
            3,
            MessageBody::RequestVoteResponse { vote_granted: true },
        ),
    });
    assert_eq!(f.view.votes_coming(3), vec![1]);
    f.ev(Event::MessageDelivered {
        id: 40,
        from: 1,
        to: 3,
    });
    assert!(f.view.messages.is_empty());
    f.ev(Event::VoteReceived {
        node: 3,
        from: 2,
        granted: false,
        votes: vec![3],
    });
    assert!(f.said("S2 refused its vote to S3 for term 2"));
    assert_eq!(f.view.node(3).unwrap().votes_refused, vec![2]);
    f.ev(Event::VoteReceived {
        node: 3,
        from: 1,
        granted: true,
        votes: vec![1, 3],
    });
    assert_eq!(f.view.node(3).unwrap().votes, vec![1, 3]);

    f.ev(Event::RoleChanged {
        node: 3,
        role: Role::Leader,
        term: 2,
        leader_id: Some(3),
    });
    let s3 = f.view.node(3).unwrap();
    assert_eq!(s3.role, Role::Leader);
    assert!(s3.votes.is_empty());
    assert_eq!(s3.election_deadline_ms, None);
    // Figure 2: next_index = last log index + 1, match_index = 0, for every other server.
    assert_eq!(
        s3.progress.get(&1),
        Some(&PeerProgress {
            next_index: 1,
            match_index: 0
        })
    );
    assert_eq!(s3.progress.len(), 2);
    assert_eq!(f.view.leader(), Some(3));
    assert_eq!(f.view.leaders_by_term.get(&2), Some(&3));
    assert!(f.said("S3 is leader for term 2 with votes from S1, S3"));
    assert_eq!(f.view.narration[0].tone, Tone::Leader);
}

#[test]
fn a_candidate_that_loses_and_a_leader_that_steps_down_are_narrated() {
    let mut f = Feed::new(3);
    f.ev(Event::RoleChanged {
        node: 2,
        role: Role::Candidate,
        term: 2,
        leader_id: None,
    });
    assert!(f.said("S2 started an election for term 2"));
    f.ev(Event::RoleChanged {
        node: 2,
        role: Role::Follower,
        term: 2,
        leader_id: Some(1),
    });
    assert!(f.said("S2 gave up its candidacy: S1 won term 2"));
    assert!(f.view.node(2).unwrap().votes.is_empty());

    f.ev(Event::RoleChanged {
        node: 1,
        role: Role::Candidate,
        term: 3,
        leader_id: None,
    });
    f.ev(Event::RoleChanged {
        node: 1,
        role: Role::Leader,
        term: 3,
        leader_id: Some(1),
    });
    f.ev(Event::RoleChanged {
        node: 1,
        role: Role::Follower,
        term: 5,
        leader_id: None,
    });
    let s1 = f.view.node(1).unwrap();
    assert!(s1.progress.is_empty());
    assert_eq!(s1.voted_for, None, "a newer term clears the vote");
    assert!(f.said("S1 stepped down: it saw term 5, newer than its 3"));
}

#[test]
fn entries_are_appended_truncated_persisted_committed_and_applied() {
    let mut f = Feed::new(3);
    f.ev(Event::EntriesAppended {
        node: 1,
        entries: vec![entry(1, 1, 5), entry(2, 1, 3)],
    });
    f.ev(Event::EntriesAppended {
        node: 2,
        entries: vec![entry(1, 1, 5), entry(2, 1, 3), entry(3, 1, 9)],
    });
    assert_eq!(f.view.node(1).unwrap().last_index(), 2);
    assert_eq!(f.view.node(2).unwrap().log[2].command, "add 9");
    assert_eq!(f.view.max_index(), 3);

    f.ev(Event::EntriesPersisted {
        node: 2,
        synced_index: 3,
    });
    assert_eq!(f.view.node(2).unwrap().synced_index, 3);

    // §5.3: a conflicting suffix goes; what was synced of it is no longer on disk either.
    f.ev(Event::EntriesTruncated {
        node: 2,
        from_index: 3,
    });
    let s2 = f.view.node(2).unwrap();
    assert_eq!(s2.last_index(), 2);
    assert_eq!(s2.synced_index, 2);
    assert!(f.said("S2 removed 1 conflicting entry from index 3 on"));
    f.ev(Event::EntriesAppended {
        node: 2,
        entries: vec![entry(3, 2, 4)],
    });
    assert_eq!(f.view.node(2).unwrap().term_at(3), Some(2));

    f.ev(Event::CommitAdvanced {
        node: 2,
        commit_index: 2,
    });
    assert_eq!(f.view.node(2).unwrap().commit_index, 2);
    assert_eq!(f.view.commit_index(), 2);
    assert_eq!(f.view.committed[1].command, "add 3");
    assert!(f.said("Entries 1–2 are committed"));
    assert_eq!(f.view.narration[0].focus, Focus::Entry(2));
    // Another node catching up does not commit anything new globally.
    let before = f.view.narration.len();
    f.ev(Event::CommitAdvanced {
        node: 1,
        commit_index: 2,
    });
    assert_eq!(f.view.narration.len(), before);
    f.ev(Event::CommitAdvanced {
        node: 2,
        commit_index: 3,
    });
    assert!(f.said("Entry 3 (add 4) is committed"));

    f.ev(Event::EntryApplied {
        node: 2,
        index: 1,
        value: 5,
    });
    let s2 = f.view.node(2).unwrap();
    assert_eq!((s2.last_applied, s2.value), (1, 5));
}

#[test]
fn replicas_that_compute_different_values_are_called_out() {
    let mut f = Feed::new(3);
    f.ev(Event::EntryApplied {
        node: 1,
        index: 1,
        value: 17,
    });
    f.ev(Event::EntryApplied {
        node: 2,
        index: 1,
        value: 17,
    });
    assert!(!f.view.is_divergent(1));
    f.ev(Event::EntryApplied {
        node: 3,
        index: 1,
        value: 42,
    });
    assert!(f.view.is_divergent(1));
    assert!(f.said("Replicas disagree! After entry 1 S3 holds 42 but S1 holds 17"));
    assert_eq!(f.view.narration[0].tone, Tone::Warning);
}

#[test]
fn leader_progress_and_quorum_counter() {
    let mut f = Feed::new(5);
    f.ev(Event::RoleChanged {
        node: 1,
        role: Role::Candidate,
        term: 2,
        leader_id: None,
    });
    f.ev(Event::RoleChanged {
        node: 1,
        role: Role::Leader,
        term: 2,
        leader_id: Some(1),
    });
    f.ev(Event::EntriesAppended {
        node: 1,
        entries: vec![entry(1, 2, 1)],
    });
    // Not yet on the leader's own disk: nobody counts.
    assert_eq!(f.view.replication(1), Some((0, 5)));
    f.ev(Event::EntriesPersisted {
        node: 1,
        synced_index: 1,
    });
    assert_eq!(f.view.replication(1), Some((1, 5)));
    f.ev(Event::ProgressUpdated {
        leader: 1,
        peer: 3,
        next_index: 2,
        match_index: 1,
    });
    f.ev(Event::ProgressUpdated {
        leader: 1,
        peer: 4,
        next_index: 2,
        match_index: 1,
    });
    assert_eq!(
        f.view.node(1).unwrap().progress[&3],
        PeerProgress {
            next_index: 2,
            match_index: 1
        }
    );
    assert_eq!(f.view.replication(1), Some((3, 5)));
    f.ev(Event::CommitAdvanced {
        node: 1,
        commit_index: 1,
    });
    assert_eq!(f.view.replication(1), None, "committed: no counter");
    assert_eq!(f.view.replication(2), None, "no such entry");
}

#[test]
fn messages_fly_arrive_and_leave_ghosts_where_they_were_lost() {
    let mut f = Feed::new(3);
    let ae = MessageBody::AppendEntries {
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
    };
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
        from: 1,
        to: 3,
        reason: "loss".into(),
    });
    assert_eq!(f.view.messages.len(), 1);
    assert_eq!(f.view.ghosts.len(), 1);
    assert!((f.view.ghosts[0].position() - 0.4).abs() < 1e-9);
    assert_eq!(f.view.ghosts[0].reason, "loss");
    assert!(!f.said("dropped by hand"), "random loss is not narrated");

    f.at(106).ev(Event::MessageDropped {
        id: 1,
        from: 1,
        to: 2,
        reason: "dropped".into(),
    });
    assert!(f.said("The heartbeat (empty AppendEntries) from S1 to S2 was dropped by hand"));
    assert_eq!(f.view.narration[0].focus, Focus::Message(1));

    // Ghosts are forgotten after a while.
    f.at(100_000).ev(Event::TimerReset {
        node: 1,
        election_deadline_ms: 100_200,
    });
    assert!(f.view.ghosts.is_empty());
}

#[test]
fn forwarded_client_requests_and_proposals() {
    let mut f = Feed::new(3);
    f.ev(Event::ClientRequest {
        node: 2,
        command: "add 5".into(),
        request_id: 9,
    });
    assert!(f.said("A client sent \"add 5\" to S2"));
    f.ev(Event::MessageSent {
        message: flight(
            3,
            2,
            1,
            MessageBody::ClientRequest {
                command: Command::Add(5),
                request_id: 9,
            },
        ),
    });
    assert!(f.said("S2 forwarded \"add 5\" to the leader, S1"));
    f.ev(Event::ProposalAccepted {
        node: 1,
        request_id: 9,
        index: 4,
        term: 2,
    });
    assert!(f.said("S1, the leader, appended \"add 5\" as entry 4 in term 2"));
    assert_eq!(f.view.requests[&9].index, Some(4));
    assert_eq!(f.view.narration[0].focus, Focus::NodeEntry(1, 4));
    f.ev(Event::ProposalRejected {
        node: 3,
        request_id: 9,
        reason: "S3 is not the leader".into(),
        leader_hint: Some(1),
    });
    assert!(f.said("S3 refused \"add 5\": S3 is not the leader"));
}

#[test]
fn crash_power_loss_restart_and_storage_failure() {
    let mut f = Feed::new(3);
    f.ev(Event::EntriesAppended {
        node: 2,
        entries: vec![entry(1, 1, 1), entry(2, 1, 2), entry(3, 1, 3)],
    });
    f.ev(Event::EntriesPersisted {
        node: 2,
        synced_index: 2,
    });
    f.ev(Event::CommitAdvanced {
        node: 2,
        commit_index: 2,
    });
    f.ev(Event::EntryApplied {
        node: 2,
        index: 2,
        value: 3,
    });

    f.ev(Event::NodeCrashed { node: 2 });
    let s2 = f.view.node(2).unwrap();
    assert!(!s2.up);
    assert_eq!((s2.commit_index, s2.last_applied, s2.value), (0, 0, 0));
    assert_eq!(s2.last_index(), 3, "a crash keeps what the OS has");
    assert_eq!(s2.election_deadline_ms, None);
    assert!(f.said("S2 crashed"));
    assert_eq!(f.view.commit_index(), 2, "the global committed log stays");

    f.ev(Event::NodeRestarted {
        node: 2,
        term: 1,
        last_index: 3,
    });
    let s2 = f.view.node(2).unwrap();
    assert!(s2.up);
    assert_eq!(s2.synced_index, 3, "recovery syncs what it read");
    assert!(f.said("S2 restarted from its disk: term 1, 3 entries"));

    f.ev(Event::EntriesAppended {
        node: 2,
        entries: vec![entry(4, 1, 4), entry(5, 1, 5)],
    });
    f.ev(Event::PowerLost {
        node: 2,
        synced_index: 3,
        lost_entries: 2,
    });
    let s2 = f.view.node(2).unwrap();
    assert!(!s2.up);
    assert_eq!(s2.last_index(), 3, "unsynced entries are gone");
    assert!(f.said("S2 lost power: 2 entries not yet synced to disk are gone"));

    f.ev(Event::StorageFailed {
        node: 3,
        error: "disk full".into(),
    });
    let s3 = f.view.node(3).unwrap();
    assert!(!s3.up);
    assert_eq!(s3.storage_error.as_deref(), Some("disk full"));
    assert!(f.said("S3's disk failed and it stopped: disk full"));
    assert!(!f.view.needs_resync);
}

#[test]
fn network_changes_are_described_in_one_sentence_each() {
    let mut f = Feed::new(3);
    let mut n = network();
    n.cut_links = vec![[1, 2], [1, 3], [2, 1], [3, 1]];
    f.ev(Event::NetworkChanged { network: n.clone() });
    assert!(f.said("S1 is isolated"));
    assert_eq!(f.view.narration[0].focus, Focus::Node(1));
    assert!(f.view.link_blocked(2, 1));
    assert!(!f.view.link_blocked(2, 3));

    f.ev(Event::NetworkChanged { network: network() });
    assert!(f.said("The network is healed"));

    let mut n = network();
    n.cut_links = vec![[2, 3]];
    f.ev(Event::NetworkChanged { network: n });
    assert!(f.said("Link S2 → S3 cut"));
    assert!(f.view.link_blocked(2, 3));
    assert!(!f.view.link_blocked(3, 2));

    let mut n = network();
    n.partitions = vec![vec![1], vec![2, 3]];
    n.loss_probability = 0.25;
    n.latency_ms_min = 20;
    n.latency_ms_max = 40;
    f.ev(Event::NetworkChanged { network: n });
    assert!(f.said("The network is partitioned: S1 | S2 S3"));
    assert!(f.said("Message loss set to 25%"));
    assert!(f.said("Latency set to 20–40 ms"));
    assert!(f.said("Link S2 → S3 restored"));
    assert!(f.view.link_blocked(1, 2));
    assert!(!f.view.link_blocked(2, 3));
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

#[test]
fn events_already_in_the_snapshot_are_ignored_and_gaps_ask_for_a_resync() {
    let mut view = ClusterView::from_snapshot(snapshot(3, 10));
    let crash = |seq| SimEvent {
        seq,
        time_ms: 100,
        event: Event::NodeCrashed { node: 1 },
    };
    assert_eq!(view.apply(&crash(10)), Applied::Duplicate);
    assert_eq!(view.apply(&crash(3)), Applied::Duplicate);
    assert!(view.node(1).unwrap().up);
    assert!(!view.needs_resync);
    assert_eq!(view.apply(&crash(11)), Applied::Yes);
    assert!(!view.node(1).unwrap().up);
    assert_eq!(view.apply(&crash(11)), Applied::Duplicate);
    assert_eq!(view.apply(&crash(15)), Applied::Yes);
    assert!(view.needs_resync, "seq 12..14 were missed");
}

#[test]
fn unknown_nodes_and_misplaced_entries_never_panic() {
    let mut f = Feed::new(3);
    f.ev(Event::NodeCrashed { node: 0 });
    f.ev(Event::NodeCrashed { node: 99 });
    f.ev(Event::CommitAdvanced {
        node: 42,
        commit_index: 7,
    });
    f.ev(Event::EntryApplied {
        node: 0,
        index: 0,
        value: 1,
    });
    f.ev(Event::EntryApplied {
        node: 1,
        index: 0,
        value: 1,
    });
    f.ev(Event::EntryApplied {
        node: 2,
        index: 0,
        value: 2,
    });
    assert!(!f.view.needs_resync);
    f.ev(Event::EntriesAppended {
        node: 1,
        entries: vec![entry(5, 1, 1)],
    });
    assert!(
        f.view.needs_resync,
        "an entry past the end means we missed something"
    );
    assert_eq!(f.view.node(1).unwrap().last_index(), 0);
    // Commit beyond the log is clamped, not trusted.
    f.ev(Event::CommitAdvanced {
        node: 1,
        commit_index: 9,
    });
    assert_eq!(f.view.node(1).unwrap().commit_index, 0);
}

#[test]
fn a_new_snapshot_replaces_the_state_and_keeps_the_story() {
    let mut f = Feed::new(3);
    f.ev(Event::NodeCrashed { node: 1 });
    let mut snap = snapshot(3, 50);
    snap.nodes[0].current_term = 9;
    f.view.resync(snap.clone());
    assert_eq!(f.view.seq, 50);
    assert!(f.view.node(1).unwrap().up);
    assert_eq!(f.view.node(1).unwrap().current_term, 9);
    assert!(f.said("S1 crashed"), "narration survives a resync");
    assert!(f.said("Resynchronised"));

    // A reset: a new seed and size is a new cluster.
    let mut snap = snapshot(5, 3);
    snap.seed = 99;
    f.view.resync(snap);
    assert_eq!(f.view.nodes.len(), 5);
    assert_eq!(f.view.seq, 3);
    assert!(f.said("A new cluster: 5 servers, seed 99"));
    let e = SimEvent {
        seq: 4,
        time_ms: 0,
        event: Event::NodeCrashed { node: 5 },
    };
    assert_eq!(f.view.apply(&e), Applied::Yes);
}

/// Compare what the reducer built with the simulator's own snapshot, field by field.
fn assert_matches(view: &ClusterView, snap: &ClusterSnapshot, context: &str) {
    assert_eq!(view.seq, snap.seq, "{context}: seq");
    assert_eq!(view.network, snap.network, "{context}: network");
    let ids: Vec<u64> = view.messages.keys().copied().collect();
    let want: Vec<u64> = snap.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, want, "{context}: messages in flight");
    for (mine, theirs) in view.nodes.iter().zip(&snap.nodes) {
        let c = format!("{context}: S{}", theirs.id);
        assert_eq!(mine.up, theirs.up, "{c} up");
        assert_eq!(mine.role, theirs.role, "{c} role");
        assert_eq!(mine.current_term, theirs.current_term, "{c} term");
        assert_eq!(mine.voted_for, theirs.voted_for, "{c} voted_for");
        assert_eq!(mine.commit_index, theirs.commit_index, "{c} commit_index");
        assert_eq!(mine.last_applied, theirs.last_applied, "{c} last_applied");
        assert_eq!(mine.value, theirs.value, "{c} value");
        assert_eq!(mine.log, theirs.log, "{c} log");
        assert_eq!(mine.synced_index, theirs.synced_index, "{c} synced_index");
        assert_eq!(mine.leader_id, theirs.leader_id, "{c} leader_id");
        assert_eq!(
            mine.election_deadline_ms, theirs.election_deadline_ms,
            "{c} election deadline"
        );
        assert_eq!(mine.progress, theirs.progress, "{c} progress");
        assert_eq!(mine.votes, theirs.votes, "{c} votes");
    }
    // Every committed entry is the same on every node that has it committed.
    for n in &snap.nodes {
        for e in &n.log[..n.commit_index as usize] {
            assert_eq!(
                view.committed.get(e.index as usize - 1),
                Some(e),
                "{context}: global committed log at {}",
                e.index
            );
        }
    }
}

/// Drive a real cluster through a scripted set of faults, then check that the first snapshot
/// plus every event rebuilds the last snapshot exactly.
fn replay_matches_simulator(seed: u64, log_model: LogModel, nodes: u64) {
    let config = SimConfig {
        nodes,
        seed,
        log_model,
        ..SimConfig::default()
    };
    let mut sim = Sim::new(config).expect("valid config");
    sim.run_for(50);
    sim.take_events();
    let mut view = ClusterView::from_snapshot(sim.snapshot());
    let feed = |sim: &mut Sim, view: &mut ClusterView, step: &str| {
        for e in sim.take_events() {
            view.apply(&e);
        }
        assert!(!view.needs_resync, "seed {seed} {step}: resync needed");
        assert_matches(view, &sim.snapshot(), &format!("seed {seed} after {step}"));
    };
    sim.run_for(1_000);
    feed(&mut sim, &mut view, "election");
    for i in 0..6 {
        let _ = sim.propose(None, if i % 2 == 0 { "add rand" } else { "mul 3" });
        sim.run_for(7);
    }
    sim.run_for(500);
    feed(&mut sim, &mut view, "appends");
    let leader = sim.leader().unwrap_or(1);
    sim.crash(leader).unwrap();
    sim.run_for(1_000);
    feed(&mut sim, &mut view, "leader crash");
    let _ = sim.propose(None, "add 2");
    let other = sim.leader().unwrap_or(1) % nodes + 1;
    if sim.is_up(other) && nodes > 1 {
        let _ = sim.propose(Some(other), "add 4");
    }
    sim.run_for(3);
    if let Some(l) = sim.leader() {
        sim.power_loss(l).unwrap();
    }
    sim.run_for(800);
    feed(&mut sim, &mut view, "power loss");
    sim.restart(leader).unwrap();
    sim.isolate(nodes).unwrap();
    sim.set_network(Some(0.2), None, Some(3), Some(30)).unwrap();
    for _ in 0..5 {
        let _ = sim.propose(None, "add 1");
        sim.run_for(40);
    }
    sim.run_for(1_000);
    feed(&mut sim, &mut view, "isolation and loss");
    sim.heal();
    sim.set_network(Some(0.0), None, None, None).unwrap();
    for id in 1..=nodes {
        if !sim.is_up(id) {
            sim.restart(id).unwrap();
        }
    }
    sim.run_for(2_000);
    feed(&mut sim, &mut view, "heal");
    let leader_term = view.leader().map(|l| view.node(l).unwrap().current_term);
    assert!(leader_term.is_some(), "seed {seed}: a leader after healing");
}

#[test]
fn snapshot_plus_events_rebuilds_the_simulator_state() {
    // LOGSCOPE_FE_SEEDS=300 runs a deeper sweep (the default keeps `cargo test` quick).
    let seeds: u64 = std::env::var("LOGSCOPE_FE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    for seed in 1..=seeds {
        replay_matches_simulator(seed, LogModel::Command, 5);
        replay_matches_simulator(seed, LogModel::State, 3);
    }
    replay_matches_simulator(3, LogModel::Command, 1);
    replay_matches_simulator(4, LogModel::Command, 9);
}

#[test]
fn a_snapshot_taken_mid_run_resumes_where_the_events_left_off() {
    let mut sim = Sim::new(SimConfig::default()).unwrap();
    sim.run_for(600);
    let _ = sim.propose(None, "add 5");
    sim.run_for(5);
    let mut early = ClusterView::from_snapshot(sim.snapshot());
    sim.take_events();
    sim.run_for(300);
    let events = sim.take_events();
    let late_snapshot = sim.snapshot();
    // A viewer that joined late gets the late snapshot; replaying old events changes nothing.
    let mut late = ClusterView::from_snapshot(late_snapshot.clone());
    for e in &events {
        assert_eq!(late.apply(e), Applied::Duplicate);
    }
    for e in &events {
        early.apply(e);
    }
    assert_matches(&early, &late_snapshot, "early viewer");
    assert_matches(&late, &late_snapshot, "late viewer");
    assert_eq!(early.committed, late.committed);
}

#[test]
fn old_client_requests_are_forgotten_but_recent_ones_named() {
    let mut f = Feed::new(3);
    for id in 1..=(REQUESTS_MAX as u64 + 10) {
        f.ev(Event::ClientRequest {
            node: 1,
            command: format!("add {id}"),
            request_id: id,
        });
    }
    assert_eq!(f.view.requests.len(), REQUESTS_MAX);
    assert!(!f.view.requests.contains_key(&1));
    f.ev(Event::ProposalAccepted {
        node: 1,
        request_id: REQUESTS_MAX as u64 + 10,
        index: 3,
        term: 1,
    });
    assert!(f.said(&format!(
        "appended \"add {}\" as entry 3",
        REQUESTS_MAX + 10
    )));
    f.ev(Event::ProposalAccepted {
        node: 1,
        request_id: 1,
        index: 4,
        term: 1,
    });
    assert!(f.said("appended a request as entry 4"));
}
