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
//!
//! # Modules
//!
//! This file holds the [`Sim`] itself, its construction, the run loop ([`Sim::step`],
//! [`Sim::run_until`], [`Sim::run_for`]), client requests ([`Sim::propose`]) and the numbered
//! event stream. The rest of `Sim`'s methods live with the state they change:
//! - `config`: [`SimConfig`], [`NetworkSettings`], [`validate`] and the patch types
//!   ([`NetworkPatch`], [`ConfigPatch`], [`TimingPatch`]);
//! - `queue`: the `(time, seq)` event queue;
//! - `network`: partitions, cut links, loss, duplication, latency and messages in flight
//!   ([`Sim::partition`], [`Sim::cut`], [`Sim::uncut`], [`Sim::isolate`], [`Sim::heal`],
//!   [`Sim::set_network`], [`Sim::apply_network`], [`Sim::drop_message`]);
//! - `lifecycle`: nodes starting, crashing, losing power and restarting, their disk writes and
//!   fsyncs, and their timers ([`Sim::crash`], [`Sim::power_loss`], [`Sim::restart`],
//!   [`Sim::replace_storage`], [`Sim::force_timeout`]);
//! - `view`: reading the run ([`Sim::node`], [`Sim::leader`], [`Sim::snapshot`],
//!   [`Sim::network_view`], ...).

pub mod chaos;
pub mod checker;
mod config;
mod lifecycle;
mod network;
mod queue;
mod view;

use std::collections::{BTreeMap, BTreeSet};

use crate::command::Command;
use crate::protocol::{Event, InFlight, MessageId, SimEvent};
use crate::raft::{Proposal, ProposeError, ProposeOutcome};
use crate::rng::Rng;
use crate::storage::{MemStorage, Storage};
use crate::types::{ClientSerial, Entry, NodeId, Term};

pub use config::{
    validate, ConfigPatch, NetworkPatch, NetworkSettings, SimConfig, TimingPatch, NODES_MAX,
};

use lifecycle::SimNode;
use queue::{Item, Queue, QueueKey};

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
    /// A client id the simulator keeps for itself.
    #[error(
        "client_id {ANONYMOUS_CLIENT} is reserved for requests sent without one: use 1 or more"
    )]
    ReservedClient,
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

/// The client id the simulator gives requests sent without one (each gets the next serial), so
/// that even those are appended and applied once when the network duplicates a forward.
pub const ANONYMOUS_CLIENT: u64 = 0;

/// The most queue items one Step processes looking for an event ([`Sim::step_to_event`]).
const STEP_TO_EVENT_ITEMS_MAX: usize = 1_000;

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

/// The simulated cluster. `S` is each node's storage ([`MemStorage`] in tests; the backend plugs
/// in files). A clone (with in-memory storage) is an independent copy of the whole run: trace
/// replay keeps them as checkpoints.
#[derive(Clone)]
pub struct Sim<S: Storage = MemStorage> {
    config: SimConfig,
    now_ms: u64,
    net_rng: Rng,
    node_rng: Rng,
    nodes: Vec<SimNode<S>>,
    queue: Queue,
    in_flight: BTreeMap<MessageId, (InFlight, QueueKey)>,
    next_message_id: MessageId,
    next_request_id: u64,
    /// Next serial for requests without a client id: one past the highest found in any log, so
    /// a cluster recovered from disk never reuses a serial its logs already hold.
    next_anonymous_serial: u64,
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
            queue: Queue::default(),
            in_flight: BTreeMap::new(),
            next_message_id: 1,
            next_request_id: 1,
            next_anonymous_serial: 1,
            cut_links: BTreeSet::new(),
            partitions: Vec::new(),
            events: Vec::new(),
            event_seq: 0,
            stats: SimStats::default(),
            config,
        };
        for id in NodeId::all(sim.config.nodes) {
            sim.nodes.push(SimNode::new(id, make_storage(id)));
        }
        for id in NodeId::all(sim.config.nodes) {
            sim.start_node(id);
        }
        let highest = NodeId::all(sim.config.nodes)
            .flat_map(|id| sim.node_log(id))
            .filter_map(|e| e.data.client())
            .filter(|c| c.client_id == ANONYMOUS_CLIENT)
            .map(|c| c.serial)
            .max();
        sim.next_anonymous_serial = highest.map_or(1, |s| s + 1);
        Ok(sim)
    }

    // ----- Reading (more in `view`) -----

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
        NodeId::all(self.config.nodes)
    }
    /// Virtual time of the next queued item.
    pub fn next_event_time(&self) -> Option<u64> {
        self.queue.next_time()
    }
    /// Events since the last call, in order.
    pub fn take_events(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.events)
    }
    /// Events emitted but not yet taken, in order (a live checker reads them step by step).
    pub fn pending_events(&self) -> &[SimEvent] {
        &self.events
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

    // ----- Running -----

    /// Process the next queued item (advancing time to it). False when nothing is queued.
    pub fn step(&mut self) -> bool {
        let Some((time, item)) = self.queue.pop() else {
            return false;
        };
        self.now_ms = self.now_ms.max(time);
        self.stats.steps += 1;
        match item {
            Item::Deliver(id) => self.deliver(id),
            Item::Lose(id) => self.lose(id),
            Item::Timer { node, incarnation } => self.timer_fired(node, incarnation),
            Item::SyncDone { node, incarnation } => self.sync_done(node, incarnation),
        }
        true
    }

    /// What a person's Step does: process queue items until one of them emits an event, so that
    /// every press shows something. Some items show nothing on their own: a leader's heartbeat
    /// due while its log is still being synced waits behind the fsync (its messages leave, in
    /// order, when the sync completes). False when nothing is queued.
    pub fn step_to_event(&mut self) -> bool {
        let before = self.event_seq;
        // Bounded, although a silent item is always followed by one that speaks (the fsync it
        // waited for, a timer): a bug here must stop a Step, not hang the driver.
        let mut stepped = false;
        for _ in 0..STEP_TO_EVENT_ITEMS_MAX {
            if !self.step() {
                break;
            }
            stepped = true;
            if self.event_seq != before {
                break;
            }
        }
        stepped
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

    /// Move the clock forward to `time_ms` without processing anything: what a paced driver's
    /// clock does between two queue items, so that an input lands at the very virtual time it
    /// did in the live run (trace replay). Refused (false, nothing changed) when an item is due
    /// before `time_ms`: jumping over it would break the queue's time order.
    pub fn skip_to(&mut self, time_ms: u64) -> bool {
        if self.next_event_time().is_some_and(|t| t < time_ms) {
            return false;
        }
        self.now_ms = self.now_ms.max(time_ms);
        true
    }

    /// The same cluster, mid-run, with every node's storage exchanged for `convert(id, old)`.
    /// Fork uses it: a run re-executed in memory becomes the live run on files. The caller must
    /// give storage holding what the old one held (`load` returning the same), or the nodes'
    /// view of their disk and the disk disagree.
    pub fn map_storage<T: Storage>(self, mut convert: impl FnMut(NodeId, S) -> T) -> Sim<T> {
        Sim {
            config: self.config,
            now_ms: self.now_ms,
            net_rng: self.net_rng,
            node_rng: self.node_rng,
            nodes: self
                .nodes
                .into_iter()
                .map(|n| n.map_storage(&mut convert))
                .collect(),
            queue: self.queue,
            in_flight: self.in_flight,
            next_message_id: self.next_message_id,
            next_request_id: self.next_request_id,
            next_anonymous_serial: self.next_anonymous_serial,
            cut_links: self.cut_links,
            partitions: self.partitions,
            events: self.events,
            event_seq: self.event_seq,
            stats: self.stats,
        }
    }

    // ----- Client requests -----

    /// A client request, to `node` or (when `None`) to the leader with the highest term. With no
    /// node named and no leader running, the request is refused with [`SimError::NoNode`].
    pub fn propose(
        &mut self,
        node: Option<NodeId>,
        command: Command,
    ) -> Result<AppendAccepted, SimError> {
        self.propose_from(node, command, None)
    }

    /// Like [`Sim::propose`], from `client` (its id and this request's serial, Raft §8).
    pub fn propose_from(
        &mut self,
        node: Option<NodeId>,
        command: Command,
        client: Option<ClientSerial>,
    ) -> Result<AppendAccepted, SimError> {
        let target = match node {
            Some(id) => id,
            None => match self.leader() {
                Some(l) => l,
                None => return Err(SimError::NoNode(self.why_no_leader())),
            },
        };
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        self.propose_as(target, command, request_id, client)
    }

    /// Why there is no leader, said truthfully: an election can only be under way while a
    /// majority of the nodes runs.
    fn why_no_leader(&self) -> String {
        let total = self.nodes.len();
        let down: Vec<String> = self
            .node_ids()
            .filter(|id| !self.is_up(*id))
            .map(|id| format!("S{id}"))
            .collect();
        let majority = total / 2 + 1;
        let up = total - down.len();
        if up == 0 {
            format!(
                "there is no leader: every node is down ({}); restart a majority ({majority} of \
                 {total}) to elect one",
                down.join(", ")
            )
        } else if up < majority {
            format!(
                "there is no leader and none can be elected: only {up} of {total} nodes run and \
                 a leader needs {majority}; restart one of {} first",
                down.join(", ")
            )
        } else if let Some((id, term)) = self.candidate() {
            format!(
                "there is no leader right now: S{id} stands for election in term {term}; try \
                 again in a moment"
            )
        } else {
            // No candidate: the followers wait for an election timer to run out (the first
            // election, or the next after a leader was lost).
            "there is no leader right now: the servers wait for an election timer to run out, \
             then one stands for election; try again in a moment"
                .to_string()
        }
    }

    /// Like [`Sim::propose`] to a given node, with the caller's request id (the driver's).
    pub fn propose_with_id(
        &mut self,
        node: NodeId,
        command: Command,
        request_id: u64,
    ) -> Result<AppendAccepted, SimError> {
        self.propose_as(node, command, request_id, None)
    }

    /// A client request to `node` from `client` (§8: its id and this request's serial; a retry
    /// reuses them and is executed once). Without one, the request gets the next serial of
    /// [`ANONYMOUS_CLIENT`].
    pub fn propose_as(
        &mut self,
        node: NodeId,
        command: Command,
        request_id: u64,
        client: Option<ClientSerial>,
    ) -> Result<AppendAccepted, SimError> {
        self.check_node(node)?;
        if client.is_some_and(|c| c.client_id == ANONYMOUS_CLIENT) {
            return Err(SimError::ReservedClient);
        }
        // Refuse before emitting anything: a request to a down node never reached it, and a
        // refused input must leave the event stream untouched.
        if !self.is_up(node) {
            return Err(SimError::NodeDown(node));
        }
        let client = client.unwrap_or_else(|| {
            let serial = self.next_anonymous_serial;
            self.next_anonymous_serial += 1;
            ClientSerial {
                client_id: ANONYMOUS_CLIENT,
                serial,
            }
        });
        self.emit(Event::ClientRequest {
            node,
            command,
            request_id,
            client: Some(client),
        });
        let raft = self.nodes[node.slot()].raft.as_mut().expect("checked up");
        raft.advance_clock(self.now_ms);
        let result = raft.propose_request(Proposal {
            command,
            request_id,
            client: Some(client),
        });
        self.flush(node);
        Ok(AppendAccepted {
            node,
            outcome: result?,
            request_id,
        })
    }

    // ----- Internals shared by the other modules -----

    fn check_node(&self, id: NodeId) -> Result<(), SimError> {
        if id == 0 || id > self.config.nodes {
            return Err(SimError::UnknownNode(id, self.config.nodes));
        }
        Ok(())
    }

    fn emit(&mut self, event: Event) {
        self.event_seq += 1;
        self.events.push(SimEvent {
            seq: self.event_seq,
            time_ms: self.now_ms,
            event,
        });
    }
}

/// The term of the newest entry in a log (helper for checkers).
pub fn last_term(log: &[Entry]) -> Term {
    log.last().map_or(Term(0), |e| e.term)
}
