//! An in-test network of `RaftNode`s in the style of etcd-raft's `network`: a FIFO queue the
//! test drives by hand (deliver one, deliver until quiet), with cut links, isolated nodes, a
//! drop hook, crashes and restarts from each node's `MemStorage`. Time moves only when the test
//! says so. Owns no production behaviour.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use shared::protocol::{Event, Message};
use shared::{
    Command, Config, Entry, HardState, MemStorage, NodeId, ProposeError, ProposeOutcome, RaftNode,
    Rng, Role, Storage,
};

use super::builders::{config, persist, storage_with};

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
        for id in NodeId::all(n) {
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
        for id in NodeId::all(n) {
            net.start(id);
        }
        net
    }

    fn start(&mut self, id: NodeId) {
        let p = self.peers.get_mut(&id).expect("known node");
        let (hard_state, entries) = p.storage.load().expect("MemStorage never fails");
        p.incarnation += 1;
        let seed = id.get() * 1_000 + p.incarnation;
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
