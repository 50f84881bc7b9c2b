//! Helpers shared by the reducer's tests: small snapshots and entries, a `Feed` that numbers
//! events, and `assert_matches`, which holds a view against the simulator's own snapshot. Each
//! test file uses some of them.
#![allow(dead_code)]

use logscope_frontend::model::{Applied, ClusterView};
use shared::protocol::{
    ClusterSnapshot, Event, InFlight, Message, MessageBody, NetworkView, NodeView, SimEvent, Timing,
};
use shared::types::{Entry, EntryData, LogModel, Role};
use shared::Command;
use shared::NodeId;
use shared::{LogIndex, Term};

pub fn network() -> NetworkView {
    NetworkView {
        partitions: vec![],
        cut_links: vec![],
        loss_probability: 0.0,
        duplicate_probability: 0.0,
        latency_ms_min: 5,
        latency_ms_max: 15,
    }
}

pub fn node(id: u64) -> NodeView {
    NodeView {
        id: NodeId(id),
        up: true,
        role: Role::Follower,
        current_term: Term(1),
        voted_for: None,
        commit_index: LogIndex(0),
        last_applied: LogIndex(0),
        value: 0,
        log: vec![],
        log_first_index: LogIndex(1),
        log_len: LogIndex(0),
        synced_index: LogIndex(0),
        leader_id: None,
        election_deadline_ms: Some(200),
        progress: Default::default(),
        votes: vec![],
        storage_failure: None,
    }
}

pub fn snapshot(nodes: u64, seq: u64) -> ClusterSnapshot {
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
        warnings: vec![],
        safety: None,
        log_window: None,
    }
}

/// A cluster on fresh disks ("New cluster…"): nothing logged, nobody has seen a term.
pub fn fresh_snapshot(nodes: u64, seq: u64) -> ClusterSnapshot {
    let mut snap = snapshot(nodes, seq);
    snap.nodes.iter_mut().for_each(|n| n.current_term = Term(0));
    snap
}

pub fn entry(index: u64, term: u64, n: i64) -> Entry {
    Entry {
        index: LogIndex(index),
        term: Term(term),
        data: EntryData::Request {
            command: Command::Add(n),
            client: None,
        },
    }
}

/// Feeds events with consecutive sequence numbers after the view's.
pub struct Feed {
    pub view: ClusterView,
    pub time_ms: u64,
}

impl Feed {
    pub fn new(nodes: u64) -> Feed {
        Feed {
            view: ClusterView::from_snapshot(snapshot(nodes, 10)),
            time_ms: 100,
        }
    }
    pub fn at(&mut self, time_ms: u64) -> &mut Self {
        self.time_ms = time_ms;
        self
    }
    pub fn ev(&mut self, event: Event) -> &mut Self {
        let seq = self.view.seq + 1;
        let r = self.view.apply(&SimEvent {
            seq,
            time_ms: self.time_ms,
            event,
        });
        assert_eq!(r, Applied::Yes);
        self
    }
    pub fn said(&self, needle: &str) -> bool {
        self.view.narration.iter().any(|n| n.text.contains(needle))
    }
}

pub fn flight(id: u64, from: u64, to: u64, body: MessageBody) -> InFlight {
    InFlight {
        id,
        kind: body.kind(),
        from: NodeId(from),
        to: NodeId(to),
        sent_at_ms: 100,
        deliver_at_ms: 110,
        message: Message {
            from: NodeId(from),
            to: NodeId(to),
            term: Term(2),
            body,
        },
    }
}

/// Compare what the reducer built with the simulator's own snapshot, field by field.
pub fn assert_matches(view: &ClusterView, snap: &ClusterSnapshot, context: &str) {
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
        for e in &n.log[..n.commit_index.get() as usize] {
            assert_eq!(
                view.committed_entry(e.index),
                Some(e),
                "{context}: global committed log at {}",
                e.index
            );
        }
    }
}
