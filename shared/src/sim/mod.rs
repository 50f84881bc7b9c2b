//! The deterministic cluster simulator: virtual time, one seeded RNG, an event queue ordered by
//! (time, sequence), a faulty network and nodes that crash, lose power and restart. Owns the whole
//! cluster's run; must never read a clock or the OS's randomness — the same seed and the same
//! inputs give the same run, bit for bit.
//!
//! # Time model
//!
//! Virtual time is a `u64` count of milliseconds. Nothing happens between queue items: the
//! simulator jumps from one item to the next (a message delivery, a node's timer, an fsync
//! completing, a lost message vanishing). Items at the same millisecond run in the order they were
//! scheduled. A driver that wants real-time pacing calls [`Sim::run_until`] with the virtual time
//! its wall clock maps to; tests and benchmarks call [`Sim::step`] or `run_until` as fast as the
//! CPU allows.

pub mod chaos;
pub mod checker;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::command::Command;
use crate::protocol::{
    ClusterSnapshot, Event, InFlight, LogEntryView, Message, MessageId, NetworkView, NodeView,
    PeerProgress, SimEvent, Timing,
};
use crate::raft::{Config, ProposeError, ProposeOutcome, RaftNode, Unsynced};
use crate::rng::Rng;
use crate::storage::{MemStorage, Storage};
use crate::types::{Entry, HardState, LogIndex, LogModel, NodeId, Role, Term};

/// Largest cluster the simulator (and the UI) supports.
pub const NODES_MAX: u64 = 9;

/// Everything that defines a run, apart from the inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Cluster size, 1..=9.
    pub nodes: u64,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// How clients use the log.
    pub log_model: LogModel,
    /// Raft and disk timings.
    pub timing: Timing,
    /// Network behaviour.
    pub network: NetworkSettings,
}

/// Loss, duplication and latency of the simulated network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetworkSettings {
    /// One-way latency is uniform in `[min, max]` ms (different latencies reorder messages).
    pub latency_ms_min: u64,
    /// See `latency_ms_min`.
    pub latency_ms_max: u64,
    /// Probability that a message is lost.
    pub loss_probability: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_probability: f64,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        // "Broadcast time" in the paper's sense is a few ms to ~15 ms.
        NetworkSettings {
            latency_ms_min: 5,
            latency_ms_max: 15,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 5,
            seed: 1,
            log_model: LogModel::Command,
            timing: Timing::default(),
            network: NetworkSettings::default(),
        }
    }
}

/// Why the simulator refused an input. Every message is meant to be shown to a person as is.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SimError {
    /// No such node.
    #[error("there is no node {0}: nodes are numbered 1 to {1}")]
    UnknownNode(NodeId, u64),
    /// The node is crashed.
    #[error("S{0} is down: restart it first")]
    NodeDown(NodeId),
    /// The node is already running.
    #[error("S{0} is already running")]
    NodeUp(NodeId),
    /// Bad request text.
    #[error("{0}")]
    BadCommand(#[from] crate::command::CommandError),
    /// The node refused the request.
    #[error("{0}")]
    Refused(#[from] ProposeError),
    /// Nobody can take a request.
    #[error("no node can take the request: {0}")]
    NoNode(String),
    /// A configuration value is out of range.
    #[error("{0}")]
    BadConfig(String),
    /// No such message in flight.
    #[error("message {0} is not in flight (it was delivered or dropped already)")]
    UnknownMessage(MessageId),
    /// Leaders have no election timer.
    #[error("S{0} is the leader: a leader has no election timer to time out")]
    LeaderTimeout(NodeId),
}

/// What an accepted client request became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendAccepted {
    /// The node the request went to.
    pub node: NodeId,
    /// What that node did with it.
    pub outcome: ProposeOutcome,
    /// The id events about it carry.
    pub request_id: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Deliver(MessageId),
    /// A lost message vanishes mid-way (so the UI can fade it out where it was lost).
    Lose(MessageId),
    Timer {
        node: NodeId,
        incarnation: u64,
    },
    SyncDone {
        node: NodeId,
        incarnation: u64,
    },
}

struct SimNode<S> {
    id: NodeId,
    raft: Option<RaftNode>,
    storage: S,
    /// Batches written but not yet synced, oldest first (all completed by one fsync: group
    /// commit).
    unsynced: VecDeque<Unsynced>,
    sync_scheduled: bool,
    timer_key: Option<(u64, u64)>,
    /// Bumped on every crash so that timers and syncs of a previous life are ignored.
    incarnation: u64,
    /// Durable state as last recovered while down, for the snapshot.
    down_state: Option<(HardState, Vec<Entry>)>,
}

/// The simulated cluster. `S` is each node's storage ([`MemStorage`] in tests; the backend plugs
/// in files).
pub struct Sim<S: Storage = MemStorage> {
    config: SimConfig,
    now_ms: u64,
    net_rng: Rng,
    node_rng: Rng,
    nodes: Vec<SimNode<S>>,
    queue: BTreeMap<(u64, u64), Item>,
    queue_seq: u64,
    in_flight: BTreeMap<MessageId, (InFlight, (u64, u64))>,
    next_message_id: MessageId,
    next_request_id: u64,
    cut_links: BTreeSet<(NodeId, NodeId)>,
    partitions: Vec<Vec<NodeId>>,
    events: Vec<SimEvent>,
    event_seq: u64,
    stats: SimStats,
}

/// Counters for benchmarks and summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages handed to their receiver.
    pub messages_delivered: u64,
    /// Messages lost for any reason.
    pub messages_dropped: u64,
    /// Queue items processed.
    pub steps: u64,
}

impl Sim<MemStorage> {
    /// A cluster with in-memory storage.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        Sim::with_storage(config, |_| MemStorage::new())
    }
}

impl<S: Storage> Sim<S> {
    /// A cluster whose node `id` keeps its durable state in `make_storage(id)`. Existing state in
    /// the storage is recovered, so a backend restarted on the same data directory goes on.
    pub fn with_storage(
        config: SimConfig,
        mut make_storage: impl FnMut(NodeId) -> S,
    ) -> Result<Self, SimError> {
        validate(&config)?;
        let mut root = Rng::new(config.seed);
        let net_rng = root.fork();
        let node_rng = root.fork();
        let mut sim = Sim {
            now_ms: 0,
            net_rng,
            node_rng,
            nodes: Vec::new(),
            queue: BTreeMap::new(),
            queue_seq: 0,
            in_flight: BTreeMap::new(),
            next_message_id: 1,
            next_request_id: 1,
            cut_links: BTreeSet::new(),
            partitions: Vec::new(),
            events: Vec::new(),
            event_seq: 0,
            stats: SimStats::default(),
            config,
        };
        for id in 1..=sim.config.nodes {
            sim.nodes.push(SimNode {
                id,
                raft: None,
                storage: make_storage(id),
                unsynced: VecDeque::new(),
                sync_scheduled: false,
                timer_key: None,
                incarnation: 0,
                down_state: None,
            });
        }
        for id in 1..=sim.config.nodes {
            sim.start_node(id);
        }
        Ok(sim)
    }

    // ----- Reading -----

    /// Virtual time now (ms).
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
    /// The run's configuration (network settings as currently set).
    pub fn config(&self) -> &SimConfig {
        &self.config
    }
    /// Counters.
    pub fn stats(&self) -> SimStats {
        self.stats
    }
    /// Node ids, 1..=n.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        1..=self.config.nodes
    }
    /// A running node's Raft state (`None` while crashed or for an unknown id).
    pub fn node(&self, id: NodeId) -> Option<&RaftNode> {
        self.nodes.get(id.wrapping_sub(1) as usize)?.raft.as_ref()
    }
    /// A node's storage.
    pub fn storage(&self, id: NodeId) -> Option<&S> {
        self.nodes
            .get(id.wrapping_sub(1) as usize)
            .map(|n| &n.storage)
    }
    /// True while the node runs.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }
    /// The node's log: in memory while up, as recovered from disk while down.
    pub fn node_log(&self, id: NodeId) -> Vec<Entry> {
        let Some(n) = self.nodes.get(id.wrapping_sub(1) as usize) else {
            return Vec::new();
        };
        match (&n.raft, &n.down_state) {
            (Some(raft), _) => raft.log().entries().to_vec(),
            (None, Some((_, log))) => log.clone(),
            (None, None) => Vec::new(),
        }
    }
    /// The leader with the highest term among running nodes, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter_map(|n| n.raft.as_ref())
            .filter(|r| r.role() == Role::Leader)
            .max_by_key(|r| r.current_term())
            .map(|r| r.id())
    }
    /// Messages in flight, by id.
    pub fn messages_in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.in_flight.values().map(|(m, _)| m)
    }
    /// Virtual time of the next queued item.
    pub fn next_event_time(&self) -> Option<u64> {
        self.queue.keys().next().map(|(t, _)| *t)
    }
    /// Events since the last call, in order.
    pub fn take_events(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.events)
    }
    /// Sequence number of the last event emitted.
    pub fn last_seq(&self) -> u64 {
        self.event_seq
    }
    /// Add a driver's own observation (e.g. [`Event::ControlChanged`]) to the run's numbered
    /// event stream, stamped with the current virtual time, so viewers see it in order with the
    /// rest. Changes nothing else in the run.
    pub fn record_event(&mut self, event: Event) {
        self.emit(event);
    }

    /// The network as shown to people.
    pub fn network_view(&self) -> NetworkView {
        NetworkView {
            partitions: self.partitions.clone(),
            cut_links: self.cut_links.iter().map(|(a, b)| [*a, *b]).collect(),
            loss_probability: self.config.network.loss_probability,
            duplicate_probability: self.config.network.duplicate_probability,
            latency_ms_min: self.config.network.latency_ms_min,
            latency_ms_max: self.config.network.latency_ms_max,
        }
    }

    /// Everything needed to draw the cluster (speed and paused are the driver's to fill in).
    pub fn snapshot(&self) -> ClusterSnapshot {
        let nodes = self
            .nodes
            .iter()
            .map(|n| match &n.raft {
                Some(r) => NodeView {
                    id: n.id,
                    up: true,
                    role: r.role(),
                    current_term: r.current_term(),
                    voted_for: r.voted_for(),
                    commit_index: r.commit_index(),
                    last_applied: r.last_applied(),
                    value: r.value(),
                    log: r.log().entries().iter().map(LogEntryView::from).collect(),
                    synced_index: n.storage.synced_index(),
                    leader_id: r.leader_id(),
                    election_deadline_ms: (r.role() != Role::Leader)
                        .then(|| r.election_deadline_ms()),
                    progress: r
                        .progress()
                        .iter()
                        .map(|(id, p)| {
                            (
                                *id,
                                PeerProgress {
                                    next_index: p.next_index,
                                    match_index: p.match_index,
                                },
                            )
                        })
                        .collect(),
                    votes: r.votes_granted(),
                },
                None => {
                    let (hs, log) = n.down_state.clone().unwrap_or_default();
                    NodeView {
                        id: n.id,
                        up: false,
                        role: Role::Follower,
                        current_term: hs.current_term,
                        voted_for: hs.voted_for,
                        commit_index: 0,
                        last_applied: 0,
                        value: 0,
                        log: log.iter().map(LogEntryView::from).collect(),
                        synced_index: n.storage.synced_index(),
                        leader_id: None,
                        election_deadline_ms: None,
                        progress: BTreeMap::new(),
                        votes: Vec::new(),
                    }
                }
            })
            .collect();
        ClusterSnapshot {
            time_ms: self.now_ms,
            seq: self.event_seq,
            seed: self.config.seed,
            log_model: self.config.log_model,
            speed: 0.0,
            paused: false,
            timing: self.config.timing,
            network: self.network_view(),
            nodes,
            messages: self.messages_in_flight().cloned().collect(),
        }
    }

    // ----- Running -----

    /// Process the next queued item (advancing time to it). False when nothing is queued.
    pub fn step(&mut self) -> bool {
        let Some((&(time, seq), _)) = self.queue.iter().next() else {
            return false;
        };
        let item = self.queue.remove(&(time, seq)).expect("key just seen");
        self.now_ms = self.now_ms.max(time);
        self.stats.steps += 1;
        match item {
            Item::Deliver(id) => self.deliver(id),
            Item::Lose(id) => {
                if let Some((m, _)) = self.in_flight.remove(&id) {
                    self.drop_in_flight(&m, "loss");
                }
            }
            Item::Timer { node, incarnation } => {
                let n = &mut self.nodes[node as usize - 1];
                if n.incarnation == incarnation {
                    n.timer_key = None;
                    if let Some(raft) = n.raft.as_mut() {
                        raft.tick(self.now_ms);
                        self.flush(node);
                    }
                }
            }
            Item::SyncDone { node, incarnation } => {
                if self.nodes[node as usize - 1].incarnation == incarnation {
                    self.complete_sync(node);
                }
            }
        }
        true
    }

    /// Process every item due at or before `time_ms`, then set the clock to `time_ms`.
    pub fn run_until(&mut self, time_ms: u64) {
        while self.next_event_time().is_some_and(|t| t <= time_ms) {
            self.step();
        }
        self.now_ms = self.now_ms.max(time_ms);
    }

    /// Run for `duration_ms` of virtual time.
    pub fn run_for(&mut self, duration_ms: u64) {
        self.run_until(self.now_ms + duration_ms);
    }

    // ----- Client requests -----

    /// A client request, to `node` or (when `None`) to the leader with the highest term. With no
    /// node named and no leader running, the request is refused with [`SimError::NoNode`].
    pub fn propose(
        &mut self,
        node: Option<NodeId>,
        text: &str,
    ) -> Result<AppendAccepted, SimError> {
        let command: Command = text.parse()?;
        let target =
            match node {
                Some(id) => {
                    self.check_node(id)?;
                    if !self.is_up(id) {
                        return Err(SimError::NodeDown(id));
                    }
                    id
                }
                None => match self.leader() {
                    Some(l) => l,
                    None => return Err(SimError::NoNode(
                        "there is no leader right now (an election is probably under way); try \
                         again in a moment"
                            .to_string(),
                    )),
                },
            };
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        self.propose_with_id(target, command, request_id)
    }

    /// Like [`Sim::propose`] to a given node, with the caller's request id (the driver's).
    pub fn propose_with_id(
        &mut self,
        node: NodeId,
        command: Command,
        request_id: u64,
    ) -> Result<AppendAccepted, SimError> {
        self.check_node(node)?;
        // Refuse before emitting anything: a request to a down node never reached it, and a
        // refused input must leave the event stream untouched.
        if !self.is_up(node) {
            return Err(SimError::NodeDown(node));
        }
        self.emit(Event::ClientRequest {
            node,
            command: command.to_string(),
            request_id,
        });
        let raft = self.nodes[node as usize - 1]
            .raft
            .as_mut()
            .expect("checked up");
        raft.advance_clock(self.now_ms);
        let result = raft.propose(command, request_id);
        self.flush(node);
        Ok(AppendAccepted {
            node,
            outcome: result?,
            request_id,
        })
    }

    // ----- Faults and controls -----

    /// Crash a node: its volatile state is gone; its storage keeps everything written.
    pub fn crash(&mut self, id: NodeId) -> Result<(), SimError> {
        self.check_node(id)?;
        if !self.is_up(id) {
            return Err(SimError::NodeDown(id));
        }
        self.stop_node(id);
        self.emit(Event::NodeCrashed { node: id });
        Ok(())
    }

    /// Cut a node's power: a crash that also loses every write not yet synced.
    pub fn power_loss(&mut self, id: NodeId) -> Result<(), SimError> {
        self.check_node(id)?;
        if !self.is_up(id) {
            return Err(SimError::NodeDown(id));
        }
        self.stop_node(id);
        let n = &mut self.nodes[id as usize - 1];
        let before = n.storage.last_index();
        if let Err(e) = n.storage.power_loss() {
            let error = e.to_string();
            self.emit(Event::StorageFailed { node: id, error });
        }
        let n = &mut self.nodes[id as usize - 1];
        let synced_index = n.storage.synced_index();
        n.down_state = n.storage.load().ok();
        self.emit(Event::PowerLost {
            node: id,
            synced_index,
            lost_entries: before.saturating_sub(synced_index),
        });
        Ok(())
    }

    /// Give a crashed node a new storage object (the backend reopens the node's files, so that a
    /// restart really reads them back from disk). Returns the old one. Refused while the node
    /// runs: a running node's storage must never change under it.
    pub fn replace_storage(&mut self, id: NodeId, storage: S) -> Result<S, SimError> {
        self.check_node(id)?;
        if self.is_up(id) {
            return Err(SimError::NodeUp(id));
        }
        let n = &mut self.nodes[id as usize - 1];
        Ok(std::mem::replace(&mut n.storage, storage))
    }

    /// Restart a crashed node from its durable state.
    pub fn restart(&mut self, id: NodeId) -> Result<(), SimError> {
        self.check_node(id)?;
        if self.is_up(id) {
            return Err(SimError::NodeUp(id));
        }
        self.start_node(id);
        Ok(())
    }

    /// Make a node's election timer fire now.
    pub fn force_timeout(&mut self, id: NodeId) -> Result<(), SimError> {
        self.check_node(id)?;
        let raft = self.nodes[id as usize - 1]
            .raft
            .as_mut()
            .ok_or(SimError::NodeDown(id))?;
        raft.advance_clock(self.now_ms);
        if !raft.force_election_timeout() {
            return Err(SimError::LeaderTimeout(id));
        }
        self.flush(id);
        Ok(())
    }

    /// Split the cluster into groups that cannot talk to each other; unlisted nodes form one more
    /// group. Replaces any earlier partition (link cuts stay).
    pub fn partition(&mut self, groups: Vec<Vec<NodeId>>) -> Result<(), SimError> {
        let mut seen = BTreeSet::new();
        let mut clean = Vec::new();
        for group in groups {
            let mut g = Vec::new();
            for id in group {
                self.check_node(id)?;
                if !seen.insert(id) {
                    return Err(SimError::BadConfig(format!(
                        "S{id} appears in two partition groups"
                    )));
                }
                g.push(id);
            }
            if !g.is_empty() {
                g.sort_unstable();
                clean.push(g);
            }
        }
        let rest: Vec<NodeId> = self.node_ids().filter(|id| !seen.contains(id)).collect();
        if !rest.is_empty() && !clean.is_empty() {
            clean.push(rest);
        }
        if clean.len() == 1 {
            clean.clear(); // One group is no partition at all.
        }
        self.partitions = clean;
        self.network_changed();
        Ok(())
    }

    /// Cut the directed link `from → to`.
    pub fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), SimError> {
        self.check_link(from, to)?;
        self.cut_links.insert((from, to));
        self.network_changed();
        Ok(())
    }

    /// Restore the directed link `from → to`.
    pub fn uncut(&mut self, from: NodeId, to: NodeId) -> Result<(), SimError> {
        self.check_link(from, to)?;
        self.cut_links.remove(&(from, to));
        self.network_changed();
        Ok(())
    }

    /// Cut every link to and from `id`.
    pub fn isolate(&mut self, id: NodeId) -> Result<(), SimError> {
        self.check_node(id)?;
        for other in self.node_ids().filter(|o| *o != id).collect::<Vec<_>>() {
            self.cut_links.insert((id, other));
            self.cut_links.insert((other, id));
        }
        self.network_changed();
        Ok(())
    }

    /// Remove every partition and cut link.
    pub fn heal(&mut self) {
        self.cut_links.clear();
        self.partitions.clear();
        self.network_changed();
    }

    /// Change loss, duplication and latency (each `None` keeps its value).
    pub fn set_network(
        &mut self,
        loss_probability: Option<f64>,
        duplicate_probability: Option<f64>,
        latency_ms_min: Option<u64>,
        latency_ms_max: Option<u64>,
    ) -> Result<(), SimError> {
        let mut n = self.config.network;
        if let Some(p) = loss_probability {
            n.loss_probability = p;
        }
        if let Some(p) = duplicate_probability {
            n.duplicate_probability = p;
        }
        if let Some(v) = latency_ms_min {
            n.latency_ms_min = v;
        }
        if let Some(v) = latency_ms_max {
            n.latency_ms_max = v;
        }
        // Setting only one end of the range moves the other along, rather than refusing.
        if latency_ms_min.is_some() && latency_ms_max.is_none() {
            n.latency_ms_max = n.latency_ms_max.max(n.latency_ms_min);
        }
        if latency_ms_max.is_some() && latency_ms_min.is_none() {
            n.latency_ms_min = n.latency_ms_min.min(n.latency_ms_max);
        }
        validate_network(&n)?;
        self.config.network = n;
        self.network_changed();
        Ok(())
    }

    /// Lose one message in flight (a person clicked "drop").
    pub fn drop_message(&mut self, id: MessageId) -> Result<(), SimError> {
        let (m, key) = self
            .in_flight
            .remove(&id)
            .ok_or(SimError::UnknownMessage(id))?;
        self.queue.remove(&key);
        self.drop_in_flight(&m, "dropped");
        Ok(())
    }

    // ----- Internals -----

    fn check_node(&self, id: NodeId) -> Result<(), SimError> {
        if id == 0 || id > self.config.nodes {
            return Err(SimError::UnknownNode(id, self.config.nodes));
        }
        Ok(())
    }

    fn check_link(&self, from: NodeId, to: NodeId) -> Result<(), SimError> {
        self.check_node(from)?;
        self.check_node(to)?;
        if from == to {
            return Err(SimError::BadConfig(format!(
                "S{from} to S{to} is not a link: pick two different nodes"
            )));
        }
        Ok(())
    }

    fn network_changed(&mut self) {
        let network = self.network_view();
        self.emit(Event::NetworkChanged { network });
    }

    fn emit(&mut self, event: Event) {
        self.event_seq += 1;
        self.events.push(SimEvent {
            seq: self.event_seq,
            time_ms: self.now_ms,
            event,
        });
    }

    fn schedule(&mut self, time_ms: u64, item: Item) -> (u64, u64) {
        self.queue_seq += 1;
        let key = (time_ms, self.queue_seq);
        self.queue.insert(key, item);
        key
    }

    fn link_open(&self, from: NodeId, to: NodeId) -> bool {
        if self.cut_links.contains(&(from, to)) {
            return false;
        }
        if self.partitions.is_empty() {
            return true;
        }
        self.partitions
            .iter()
            .any(|g| g.contains(&from) && g.contains(&to))
    }

    fn start_node(&mut self, id: NodeId) {
        let timing = self.config.timing;
        let config = Config {
            id,
            peers: self.node_ids().collect(),
            election_timeout_ms_min: timing.election_timeout_ms_min,
            election_timeout_ms_max: timing.election_timeout_ms_max,
            heartbeat_interval_ms: timing.heartbeat_interval_ms,
            max_entries_per_append: timing.max_entries_per_append,
            log_model: self.config.log_model,
        };
        let rng = self.node_rng.fork();
        let sm_rng = self.node_rng.fork();
        let n = &mut self.nodes[id as usize - 1];
        // Recovery makes what it read durable before trusting it (a crash can leave writes that
        // reached the OS but not the disk).
        let recovered = n.storage.sync().and_then(|_| n.storage.load());
        let (hard_state, entries) = match recovered {
            Ok(state) => state,
            Err(e) => {
                let error = e.to_string();
                self.emit(Event::StorageFailed { node: id, error });
                return;
            }
        };
        let (term, last_index) = (hard_state.current_term, entries.len() as LogIndex);
        n.down_state = None;
        n.raft = Some(RaftNode::new(
            config,
            hard_state,
            entries,
            rng,
            sm_rng,
            self.now_ms,
        ));
        self.emit(Event::NodeRestarted {
            node: id,
            term,
            last_index,
        });
        self.flush(id);
    }

    fn stop_node(&mut self, id: NodeId) {
        let n = &mut self.nodes[id as usize - 1];
        n.raft = None;
        n.incarnation += 1;
        // Messages waiting on an fsync die with the process; the writes stay with the OS.
        n.unsynced.clear();
        n.sync_scheduled = false;
        if let Some(key) = n.timer_key.take() {
            self.queue.remove(&key);
        }
        let n = &mut self.nodes[id as usize - 1];
        n.down_state = n.storage.load().ok();
    }

    /// Drain a node's Ready batches: show events, write to storage, and either sync at once or
    /// after the configured fsync time. Then re-arm its timer.
    fn flush(&mut self, id: NodeId) {
        loop {
            let n = &mut self.nodes[id as usize - 1];
            let Some(raft) = n.raft.as_mut() else { return };
            if !raft.has_ready() {
                break;
            }
            let mut ready = raft.ready();
            let events = std::mem::take(&mut ready.events);
            let written = ready.write(&mut n.storage);
            for e in events {
                self.emit(e);
            }
            let unsynced = match written {
                Ok(u) => u,
                Err(e) => return self.storage_failed(id, e.to_string()),
            };
            let fsync_ms = self.config.timing.fsync_ms;
            let n = &mut self.nodes[id as usize - 1];
            if n.unsynced.is_empty() && (fsync_ms == 0 || !unsynced.needs_sync()) {
                // Nothing to wait for: complete now (keeps the order, since nothing is queued).
                match unsynced.sync(&mut n.storage) {
                    Ok((messages, persisted)) => {
                        n.raft.as_mut().expect("up").advance(persisted);
                        self.send_all(messages);
                    }
                    Err(e) => return self.storage_failed(id, e.to_string()),
                }
            } else {
                n.unsynced.push_back(unsynced);
                if !n.sync_scheduled {
                    n.sync_scheduled = true;
                    let incarnation = n.incarnation;
                    self.schedule(
                        self.now_ms + fsync_ms,
                        Item::SyncDone {
                            node: id,
                            incarnation,
                        },
                    );
                }
            }
        }
        self.arm_timer(id);
    }

    /// An fsync finished: everything written so far is durable (group commit), so every waiting
    /// batch releases its messages, in order.
    fn complete_sync(&mut self, id: NodeId) {
        let n = &mut self.nodes[id as usize - 1];
        n.sync_scheduled = false;
        let batches: Vec<Unsynced> = n.unsynced.drain(..).collect();
        for batch in batches {
            let n = &mut self.nodes[id as usize - 1];
            match batch.sync(&mut n.storage) {
                Ok((messages, persisted)) => {
                    if let Some(raft) = n.raft.as_mut() {
                        raft.advance_clock(self.now_ms);
                        raft.advance(persisted);
                    }
                    self.send_all(messages);
                }
                Err(e) => return self.storage_failed(id, e.to_string()),
            }
        }
        self.flush(id);
    }

    fn storage_failed(&mut self, id: NodeId, error: String) {
        self.stop_node(id);
        self.emit(Event::StorageFailed { node: id, error });
    }

    fn arm_timer(&mut self, id: NodeId) {
        let n = &self.nodes[id as usize - 1];
        let Some(raft) = n.raft.as_ref() else { return };
        let deadline = raft.next_deadline_ms().max(self.now_ms);
        if n.timer_key.is_some_and(|(t, _)| t == deadline) {
            return;
        }
        let incarnation = n.incarnation;
        if let Some(old) = self.nodes[id as usize - 1].timer_key.take() {
            self.queue.remove(&old);
        }
        let key = self.schedule(
            deadline,
            Item::Timer {
                node: id,
                incarnation,
            },
        );
        self.nodes[id as usize - 1].timer_key = Some(key);
    }

    fn send_all(&mut self, messages: Vec<Message>) {
        for m in messages {
            self.send(m);
        }
    }

    fn send(&mut self, message: Message) {
        let net = self.config.network;
        let copies = if self.net_rng.chance(net.duplicate_probability) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let latency = self
                .net_rng
                .range_inclusive(net.latency_ms_min, net.latency_ms_max);
            let id = self.next_message_id;
            self.next_message_id += 1;
            let flight = InFlight {
                id,
                kind: message.body.kind().to_string(),
                from: message.from,
                to: message.to,
                sent_at_ms: self.now_ms,
                deliver_at_ms: self.now_ms + latency,
                message: message.clone(),
            };
            let key = if self.net_rng.chance(net.loss_probability) {
                // Lost somewhere along the way: it vanishes part-way through its flight.
                let lost_after = (latency as f64 * self.net_rng.unit()) as u64;
                self.schedule(self.now_ms + lost_after, Item::Lose(id))
            } else {
                self.schedule(self.now_ms + latency, Item::Deliver(id))
            };
            self.emit(Event::MessageSent {
                message: flight.clone(),
            });
            self.in_flight.insert(id, (flight, key));
        }
    }

    fn drop_in_flight(&mut self, m: &InFlight, reason: &str) {
        self.stats.messages_dropped += 1;
        self.emit(Event::MessageDropped {
            id: m.id,
            from: m.from,
            to: m.to,
            reason: reason.to_string(),
        });
    }

    fn deliver(&mut self, id: MessageId) {
        let Some((m, _)) = self.in_flight.remove(&id) else {
            return;
        };
        if !self.link_open(m.from, m.to) {
            return self.drop_in_flight(&m, "cut");
        }
        if !self.is_up(m.to) {
            return self.drop_in_flight(&m, "node_down");
        }
        self.stats.messages_delivered += 1;
        self.emit(Event::MessageDelivered {
            id,
            from: m.from,
            to: m.to,
        });
        let to = m.to;
        let raft = self.nodes[to as usize - 1]
            .raft
            .as_mut()
            .expect("checked up");
        raft.advance_clock(self.now_ms);
        raft.step(m.message);
        self.flush(to);
    }
}

fn validate_network(n: &NetworkSettings) -> Result<(), SimError> {
    let prob = |name: &str, p: f64| {
        if (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            Err(SimError::BadConfig(format!(
                "{name} must be between 0 and 1, got {p}"
            )))
        }
    };
    prob("loss_probability", n.loss_probability)?;
    prob("duplicate_probability", n.duplicate_probability)?;
    if n.latency_ms_min > n.latency_ms_max {
        return Err(SimError::BadConfig(format!(
            "latency_ms_min ({}) is above latency_ms_max ({})",
            n.latency_ms_min, n.latency_ms_max
        )));
    }
    if n.latency_ms_max > 10_000 {
        return Err(SimError::BadConfig(format!(
            "latency_ms_max must be at most 10000 ms, got {}",
            n.latency_ms_max
        )));
    }
    Ok(())
}

/// Check a configuration, with a message a person can act on.
pub fn validate(config: &SimConfig) -> Result<(), SimError> {
    if config.nodes == 0 || config.nodes > NODES_MAX {
        return Err(SimError::BadConfig(format!(
            "a cluster has 1 to {NODES_MAX} nodes, not {}",
            config.nodes
        )));
    }
    let t = &config.timing;
    if t.election_timeout_ms_min == 0 || t.election_timeout_ms_min > t.election_timeout_ms_max {
        return Err(SimError::BadConfig(format!(
            "election timeout range must satisfy 1 <= min <= max, got {}..{} ms",
            t.election_timeout_ms_min, t.election_timeout_ms_max
        )));
    }
    if t.election_timeout_ms_max > 60_000 {
        return Err(SimError::BadConfig(
            "election_timeout_ms_max must be at most 60000 ms".to_string(),
        ));
    }
    if t.heartbeat_interval_ms == 0 || t.heartbeat_interval_ms > 60_000 {
        return Err(SimError::BadConfig(format!(
            "heartbeat_interval_ms must be between 1 and 60000, got {}",
            t.heartbeat_interval_ms
        )));
    }
    if t.max_entries_per_append == 0 || t.max_entries_per_append > 1000 {
        return Err(SimError::BadConfig(format!(
            "max_entries_per_append must be between 1 and 1000, got {}",
            t.max_entries_per_append
        )));
    }
    if t.fsync_ms > 10_000 {
        return Err(SimError::BadConfig("fsync_ms must be at most 10000".into()));
    }
    validate_network(&config.network)
}

/// The term of the newest entry in a log (helper for checkers).
pub fn last_term(log: &[Entry]) -> Term {
    log.last().map_or(0, |e| e.term)
}
