//! Test support shared by the integration tests: builders for configs and logs, a helper that
//! persists one node's `Ready` the way a driver must, an in-test network of `RaftNode`s in the
//! style of etcd-raft's `network` (send, drop, cut, isolate, deliver until quiet), and a wrapper
//! that runs the simulator with the safety checker after every single step. Owns no production
//! behaviour: it only drives the public API of `shared`.
#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use shared::protocol::{
    AppendEntries, AppendEntriesResponse, Event, Message, MessageBody, RequestVote,
    RequestVoteResponse, SimEvent,
};
use shared::sim::checker::Checker;
use shared::{
    Command, Config, Entry, EntryData, HardState, LogIndex, LogModel, MemStorage, NodeId,
    ProposeError, ProposeOutcome, RaftNode, Rng, Role, Sim, SimConfig, Storage, Term,
};

// ----- Builders -----

/// The configuration every paper test starts from: node `id` of `1..=n`, timeouts as in the
/// paper's example (150–300 ms), heartbeats every 50 ms, generous batches.
pub fn config(id: NodeId, n: u64) -> Config {
    Config {
        id,
        peers: (1..=n).collect(),
        election_timeout_ms_min: 150,
        election_timeout_ms_max: 300,
        heartbeat_interval_ms: 50,
        max_entries_per_append: 100,
        log_model: LogModel::Command,
    }
}

/// An entry whose command names its index (`add <index>`), so that mixed-up entries show.
pub fn entry(index: LogIndex, term: Term) -> Entry {
    Entry {
        index,
        term,
        data: EntryData::Request {
            command: Command::Add(index as i64),
            client: None,
        },
    }
}

/// A log with one entry per term listed: `log_of_terms(&[1, 1, 2])` is indexes 1..=3.
pub fn log_of_terms(terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| entry(i as LogIndex + 1, *t))
        .collect()
}

/// The terms of a log, in order (what the paper's figures draw).
pub fn terms(entries: &[Entry]) -> Vec<Term> {
    entries.iter().map(|e| e.term).collect()
}

/// A node recovered from the given durable state; its RNGs derive from its id.
pub fn node_with(config: Config, hard_state: HardState, entries: Vec<Entry>) -> RaftNode {
    let id = config.id;
    RaftNode::new(
        config,
        hard_state,
        entries,
        Rng::new(0xE1EC_7100 + id),
        Rng::new(0x5EED_0000 + id),
        0,
    )
}

/// A brand-new node `id` of an `n`-node cluster.
pub fn new_node(id: NodeId, n: u64) -> RaftNode {
    node_with(config(id, n), HardState::default(), Vec::new())
}

/// Hard state `term` with no vote.
pub fn hs(current_term: Term) -> HardState {
    HardState {
        current_term,
        voted_for: None,
    }
}

/// A storage holding (durably) the given state, as a restarted node would find it.
pub fn storage_with(hard_state: HardState, entries: &[Entry]) -> MemStorage {
    let mut s = MemStorage::new();
    s.set_hard_state(hard_state).unwrap();
    s.append(entries).unwrap();
    s.sync().unwrap();
    s
}

// ----- Messages -----

/// An AppendEntries from `from` to `to`.
pub fn append(
    from: NodeId,
    to: NodeId,
    term: Term,
    prev_log_index: LogIndex,
    prev_log_term: Term,
    entries: Vec<Entry>,
    leader_commit: LogIndex,
) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::AppendEntries(AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        }),
    }
}

/// A RequestVote from `from` to `to`.
pub fn request_vote(
    from: NodeId,
    to: NodeId,
    term: Term,
    last_log_index: LogIndex,
    last_log_term: Term,
) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::RequestVote(RequestVote {
            last_log_index,
            last_log_term,
        }),
    }
}

/// A RequestVoteResponse from `from` to `to`.
pub fn vote_response(from: NodeId, to: NodeId, term: Term, vote_granted: bool) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted }),
    }
}

/// A successful AppendEntriesResponse.
pub fn append_ok(from: NodeId, to: NodeId, term: Term, match_index: LogIndex) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::AppendEntriesResponse(AppendEntriesResponse::accept(match_index, 0)),
    }
}

/// True for an AppendEntries (heartbeat or not).
pub fn is_append(m: &Message) -> bool {
    matches!(m.body, MessageBody::AppendEntries(_))
}

/// The entries an AppendEntries carries (empty for anything else).
pub fn carried(m: &Message) -> &[Entry] {
    match &m.body {
        MessageBody::AppendEntries(ae) => &ae.entries,
        _ => &[],
    }
}

/// `Some(granted)` for a RequestVoteResponse.
pub fn vote_of(m: &Message) -> Option<bool> {
    match m.body {
        MessageBody::RequestVoteResponse(r) => Some(r.vote_granted),
        _ => None,
    }
}

/// `Some(success)` for an AppendEntriesResponse.
pub fn append_success(m: &Message) -> Option<bool> {
    match m.body {
        MessageBody::AppendEntriesResponse(r) => Some(r.success),
        _ => None,
    }
}

// ----- Persisting one node -----

/// What a driver does with one node until it has nothing left: take each `Ready`, write it,
/// sync it, and only then take its messages and advance. Returns the messages and events.
pub fn persist(node: &mut RaftNode, storage: &mut MemStorage) -> (Vec<Message>, Vec<Event>) {
    let mut messages = Vec::new();
    let mut events = Vec::new();
    while node.has_ready() {
        let mut ready = node.ready();
        events.extend(ready.events.drain(..).map(Event::from));
        let unsynced = ready.write(storage).expect("MemStorage never fails");
        let (mut sent, persisted) = unsynced.sync(storage).expect("MemStorage never fails");
        messages.append(&mut sent);
        node.advance(persisted);
    }
    (messages, events)
}

/// A node made leader of `term` in an `n`-node cluster, starting from `entries`: it campaigns
/// from `term - 1` and receives votes from a majority. Its first `Ready`s (votes, the no-op and
/// the first AppendEntries) are already persisted and their messages discarded.
pub fn leader_of(n: u64, term: Term, entries: Vec<Entry>) -> (RaftNode, MemStorage) {
    let hard_state = hs(term - 1);
    let mut storage = storage_with(hard_state, &entries);
    let mut node = node_with(config(1, n), hard_state, entries);
    node.campaign();
    persist(&mut node, &mut storage); // the vote for itself counts once durable
    for voter in 2..=n / 2 + 1 {
        node.step(vote_response(voter, 1, term, true));
    }
    assert_eq!(node.role(), Role::Leader, "setup: S1 must have won");
    assert_eq!(node.current_term(), term);
    persist(&mut node, &mut storage);
    (node, storage)
}

// ----- An in-test network (etcd's `network`) -----

struct Peer {
    raft: Option<RaftNode>,
    config: Config,
    storage: MemStorage,
    /// Bumped at each restart so the node's timeouts are freshly drawn.
    incarnation: u64,
}

/// A predicate that returns true for messages the network must lose.
pub type DropHook = Box<dyn FnMut(&Message) -> bool>;

/// Nodes joined by a FIFO network that the test drives by hand: nothing happens until the test
/// calls `deliver_all`, `campaign`, `tick`, …, and time moves only when the test says so.
pub struct Network {
    peers: BTreeMap<NodeId, Peer>,
    /// Virtual time given to `tick` and to restarted nodes.
    pub now_ms: u64,
    cut: BTreeSet<(NodeId, NodeId)>,
    queue: VecDeque<Message>,
    hook: Option<DropHook>,
    /// Every message handed to its receiver, in order.
    pub delivered: Vec<Message>,
    /// Every message lost (cut link, crashed receiver, or the drop hook).
    pub dropped: Vec<Message>,
    /// Every event the nodes reported, in order.
    pub events: Vec<Event>,
}

impl Network {
    /// `n` brand-new nodes with [`config`].
    pub fn new(n: u64) -> Self {
        Self::with_states(n, |_| (HardState::default(), Vec::new()), |_| {})
    }

    /// `n` nodes, node `id` recovered from `state(id)` (already durable), each config passed
    /// through `tweak`.
    pub fn with_states(
        n: u64,
        mut state: impl FnMut(NodeId) -> (HardState, Vec<Entry>),
        mut tweak: impl FnMut(&mut Config),
    ) -> Self {
        let mut peers = BTreeMap::new();
        for id in 1..=n {
            let mut cfg = config(id, n);
            tweak(&mut cfg);
            let (hard_state, entries) = state(id);
            peers.insert(
                id,
                Peer {
                    raft: None,
                    config: cfg,
                    storage: storage_with(hard_state, &entries),
                    incarnation: 0,
                },
            );
        }
        let mut net = Network {
            peers,
            now_ms: 0,
            cut: BTreeSet::new(),
            queue: VecDeque::new(),
            hook: None,
            delivered: Vec::new(),
            dropped: Vec::new(),
            events: Vec::new(),
        };
        for id in 1..=n {
            net.start(id);
        }
        net
    }

    fn start(&mut self, id: NodeId) {
        let p = self.peers.get_mut(&id).expect("known node");
        let (hard_state, entries) = p.storage.load().expect("MemStorage never fails");
        p.incarnation += 1;
        let seed = id * 1_000 + p.incarnation;
        p.raft = Some(RaftNode::new(
            p.config.clone(),
            hard_state,
            entries,
            Rng::new(0xE1EC_7100 + seed),
            Rng::new(0x5EED_0000 + seed),
            self.now_ms,
        ));
        self.flush(id);
    }

    /// Node `id` (panics when crashed: the test asked for something that is not there).
    pub fn node(&self, id: NodeId) -> &RaftNode {
        self.peers[&id]
            .raft
            .as_ref()
            .unwrap_or_else(|| panic!("S{id} is down"))
    }

    /// Node `id`, mutable. Call [`Network::flush`] after changing it.
    pub fn node_mut(&mut self, id: NodeId) -> &mut RaftNode {
        self.peers
            .get_mut(&id)
            .expect("known node")
            .raft
            .as_mut()
            .unwrap_or_else(|| panic!("S{id} is down"))
    }

    /// Node `id`'s storage.
    pub fn storage(&self, id: NodeId) -> &MemStorage {
        &self.peers[&id].storage
    }

    /// The log of node `id`: in memory while up, on disk while down.
    pub fn log(&self, id: NodeId) -> Vec<Entry> {
        match &self.peers[&id].raft {
            Some(r) => r.log().entries().to_vec(),
            None => self.peers[&id].storage.entries().to_vec(),
        }
    }

    /// True while node `id` runs.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.peers[&id].raft.is_some()
    }

    /// Persist whatever node `id` produced and queue its messages (a driver with instant fsync).
    pub fn flush(&mut self, id: NodeId) {
        let p = self.peers.get_mut(&id).expect("known node");
        let Some(raft) = p.raft.as_mut() else { return };
        let (messages, mut events) = persist(raft, &mut p.storage);
        self.events.append(&mut events);
        self.queue.extend(messages);
    }

    /// Node `id` starts an election now.
    pub fn campaign(&mut self, id: NodeId) {
        self.node_mut(id).campaign();
        self.flush(id);
    }

    /// A client request to node `id`.
    pub fn propose(
        &mut self,
        id: NodeId,
        command: Command,
    ) -> Result<ProposeOutcome, ProposeError> {
        let result = self.node_mut(id).propose(command, 0);
        self.flush(id);
        result
    }

    /// Move time to `now_ms` and tick every running node.
    pub fn tick_all(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let ids: Vec<NodeId> = self.peers.keys().copied().collect();
        for id in ids {
            if self.is_up(id) {
                let now = self.now_ms;
                self.node_mut(id).tick(now);
                self.flush(id);
            }
        }
    }

    /// Move time to `now_ms` and tick only node `id`.
    pub fn tick(&mut self, id: NodeId, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        self.node_mut(id).tick(now);
        self.flush(id);
    }

    /// Messages waiting to be delivered, oldest first.
    pub fn in_flight(&self) -> impl Iterator<Item = &Message> {
        self.queue.iter()
    }

    /// Forget every queued message (a burst of loss).
    pub fn drop_in_flight(&mut self) {
        self.dropped.extend(self.queue.drain(..));
    }

    /// Put a message on the wire by hand (a duplicate, a stale one, a forged one).
    pub fn inject(&mut self, message: Message) {
        self.queue.push_back(message);
    }

    /// Deliver the oldest queued message (or lose it, if its link is cut, its receiver is down
    /// or the drop hook says so). Returns it, or `None` when the network is quiet.
    pub fn deliver_one(&mut self) -> Option<Message> {
        let m = self.queue.pop_front()?;
        let lost = self.cut.contains(&(m.from, m.to))
            || !self.is_up(m.to)
            || self.hook.as_mut().is_some_and(|drop| drop(&m));
        if lost {
            self.dropped.push(m.clone());
            return Some(m);
        }
        self.delivered.push(m.clone());
        let to = m.to;
        let now = self.now_ms;
        let raft = self.node_mut(to);
        raft.advance_clock(now);
        raft.step(m.clone());
        self.flush(to);
        Some(m)
    }

    /// Deliver until no message is left (etcd's `send`). Returns how many were handled; panics
    /// if the nodes never go quiet, which would be a livelock in the core.
    pub fn deliver_all(&mut self) -> usize {
        let mut handled = 0;
        while self.deliver_one().is_some() {
            handled += 1;
            assert!(handled < 100_000, "the network never went quiet");
        }
        handled
    }

    /// Lose every message for which `drop` returns true, until [`Network::clear_hook`].
    pub fn set_hook(&mut self, drop: impl FnMut(&Message) -> bool + 'static) {
        self.hook = Some(Box::new(drop));
    }

    /// Stop losing messages by predicate.
    pub fn clear_hook(&mut self) {
        self.hook = None;
    }

    /// Cut the link between `a` and `b`, both ways.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    /// Cut every link of node `id`.
    pub fn isolate(&mut self, id: NodeId) {
        let others: Vec<NodeId> = self.peers.keys().copied().filter(|o| *o != id).collect();
        for o in others {
            self.cut(id, o);
        }
    }

    /// Restore every link (the drop hook stays).
    pub fn recover(&mut self) {
        self.cut.clear();
    }

    /// Crash node `id`: its volatile state is gone, its storage stays.
    pub fn crash(&mut self, id: NodeId) {
        let p = self.peers.get_mut(&id).expect("known node");
        assert!(p.raft.take().is_some(), "S{id} was already down");
    }

    /// Restart node `id` from its storage.
    pub fn restart(&mut self, id: NodeId) {
        assert!(!self.is_up(id), "S{id} is already up");
        self.start(id);
    }

    /// Campaign node `id` (delivering everything after each attempt) until it leads or
    /// `attempts` elections have failed. Returns whether it leads.
    pub fn elect(&mut self, id: NodeId, attempts: usize) -> bool {
        for _ in 0..attempts {
            self.campaign(id);
            self.deliver_all();
            if self.is_up(id) && self.node(id).role() == Role::Leader {
                return true;
            }
        }
        false
    }

    /// Delivered messages from `from` to `to` that match `pred`.
    pub fn count_delivered(
        &self,
        from: NodeId,
        to: NodeId,
        pred: impl Fn(&Message) -> bool,
    ) -> usize {
        self.delivered
            .iter()
            .filter(|m| m.from == from && m.to == to && pred(m))
            .count()
    }
}

// ----- The simulator with the checker on every step -----

/// A simulator whose every step is checked by [`Checker`]; any violation fails the test with the
/// seed that reproduces it.
pub struct Checked {
    /// The simulator (read it freely; change it through [`Checked::with`]).
    pub sim: Sim,
    /// The checker that has seen every event so far.
    pub checker: Checker,
    /// Every event so far, in order.
    pub log: Vec<SimEvent>,
}

impl Checked {
    /// A checked simulator for `config` (panics on a bad config: tests pass good ones).
    pub fn new(config: SimConfig) -> Self {
        let mut c = Checked {
            sim: Sim::new(config).expect("valid test config"),
            checker: Checker::new(),
            log: Vec::new(),
        };
        c.drain();
        c
    }

    /// Check the events emitted since the last check.
    pub fn drain(&mut self) {
        let events = self.sim.take_events();
        if let Err(v) = self.checker.observe(&self.sim, &events) {
            panic!("seed {}: {v}", self.sim.config().seed);
        }
        self.log.extend(events);
    }

    /// Do something to the simulator (a fault, a request), then check what it emitted.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let r = f(&mut self.sim);
        self.drain();
        r
    }

    /// Run to virtual time `until_ms`, checking after every step.
    pub fn run_until(&mut self, until_ms: u64) {
        while self.sim.next_event_time().is_some_and(|t| t <= until_ms) {
            self.sim.step();
            self.drain();
        }
        self.sim.run_until(until_ms);
    }

    /// Run for `duration_ms`, checking after every step.
    pub fn run_for(&mut self, duration_ms: u64) {
        let until = self.sim.now_ms() + duration_ms;
        self.run_until(until);
    }

    /// Step (checked) until `cond` holds or `within_ms` of virtual time pass. Returns whether
    /// it holds.
    pub fn wait_for(&mut self, within_ms: u64, mut cond: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.sim.now_ms() + within_ms;
        loop {
            if cond(&self.sim) {
                return true;
            }
            match self.sim.next_event_time() {
                Some(t) if t <= deadline => {
                    self.sim.step();
                    self.drain();
                }
                _ => {
                    self.sim.run_until(deadline);
                    return cond(&self.sim);
                }
            }
        }
    }

    /// Wait (at most `within_ms`) for a leader and return it.
    pub fn await_leader(&mut self, within_ms: u64) -> NodeId {
        assert!(
            self.wait_for(within_ms, |s| s.leader().is_some()),
            "seed {}: no leader within {within_ms} ms",
            self.sim.config().seed
        );
        self.sim.leader().expect("just seen")
    }

    /// Wait (at most `within_ms`) until every running node has applied `index`.
    pub fn await_applied_everywhere(&mut self, index: LogIndex, within_ms: u64) {
        let ok = self.wait_for(within_ms, |s| {
            s.node_ids()
                .filter_map(|id| s.node(id))
                .all(|r| r.last_applied() >= index)
        });
        assert!(
            ok,
            "seed {}: index {index} not applied everywhere within {within_ms} ms",
            self.sim.config().seed
        );
    }

    /// Propose `text` to the leader and return the index it got (panics if not appended).
    pub fn propose_to_leader(&mut self, text: &str) -> LogIndex {
        let accepted = self
            .with(|s| s.propose(None, text.parse().expect("test commands parse")))
            .unwrap_or_else(|e| panic!("propose {text:?}: {e}"));
        match accepted.outcome {
            ProposeOutcome::Appended { index, .. } => index,
            other => panic!("the leader should append, got {other:?}"),
        }
    }
}
