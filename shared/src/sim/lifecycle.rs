//! Each node's life and disk: start (recovering from storage), crash, power loss, restart, the
//! Ready batches written to storage and released only after their fsync, storage failures and the
//! node's timer. Owns [`SimNode`]; must not decide what goes over the network (it hands the
//! messages a synced batch releases to the network module).

use std::collections::VecDeque;

use crate::protocol::Event;
use crate::raft::{BrokenRules, Config, RaftNode, Unsynced};
use crate::storage::{Storage, StorageError, StorageFailureKind};
use crate::types::{Entry, HardState, LogIndex, NodeId, Role};

use super::queue::{Item, QueueKey};
use super::{Sim, SimError};

/// One simulated server: its Raft state while it runs, and its storage, which outlives crashes.
#[derive(Clone)]
pub(super) struct SimNode<S> {
    pub(super) id: NodeId,
    pub(super) raft: Option<RaftNode>,
    pub(super) storage: S,
    /// Batches written but not yet synced, oldest first (all completed by one fsync: group
    /// commit).
    unsynced: VecDeque<Unsynced>,
    sync_scheduled: bool,
    timer_key: Option<QueueKey>,
    /// Bumped on every crash so that timers and syncs of a previous life are ignored.
    incarnation: u64,
    /// Durable state as last recovered while down, for the snapshot. When the storage cannot be
    /// read (it failed), the state the node last had in memory stands in for it.
    pub(super) down_state: Option<(HardState, Vec<Entry>)>,
    /// The last storage failure, until the node starts again: why it is down.
    pub(super) failure: Option<(StorageFailureKind, String)>,
}

impl<S> SimNode<S> {
    /// A node that has not started yet.
    pub(super) fn new(id: NodeId, storage: S) -> Self {
        SimNode {
            id,
            raft: None,
            storage,
            unsynced: VecDeque::new(),
            sync_scheduled: false,
            timer_key: None,
            incarnation: 0,
            down_state: None,
            failure: None,
        }
    }

    /// The same node on another storage (see [`Sim::map_storage`]).
    pub(super) fn map_storage<T>(self, convert: &mut impl FnMut(NodeId, S) -> T) -> SimNode<T> {
        SimNode {
            id: self.id,
            raft: self.raft,
            storage: convert(self.id, self.storage),
            unsynced: self.unsynced,
            sync_scheduled: self.sync_scheduled,
            timer_key: self.timer_key,
            incarnation: self.incarnation,
            down_state: self.down_state,
            failure: self.failure,
        }
    }
}

impl<S: Storage> Sim<S> {
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
        let n = &mut self.nodes[id.slot()];
        let before = n.storage.last_index();
        if let Err(e) = n.storage.power_loss() {
            self.note_failure(id, &e);
        }
        let n = &mut self.nodes[id.slot()];
        let synced_index = n.storage.synced_index();
        if let Ok(state) = n.storage.load() {
            n.down_state = Some(state);
        }
        self.emit(Event::PowerLost {
            node: id,
            synced_index,
            lost_entries: before.get().saturating_sub(synced_index.get()),
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
        let n = &mut self.nodes[id.slot()];
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
        let raft = self.nodes[id.slot()]
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

    /// RaftScope's "align timers": every running node without a leader's role gets the same
    /// election deadline (one full `election_timeout_ms_max` from now), so they time out together
    /// and split the vote — the situation §5.2's randomized timeouts exist to make rare.
    pub fn align_timers(&mut self) {
        let deadline = self.now_ms + self.config.timing.election_timeout_ms_max;
        self.set_election_deadlines(|_| deadline);
    }

    /// RaftScope's "spread timers": the running non-leaders' deadlines spread evenly over the
    /// election timeout range, in id order, so the first to time out usually wins alone.
    pub fn spread_timers(&mut self) {
        let t = self.config.timing;
        let ids: Vec<NodeId> = self
            .node_ids()
            .filter(|id| self.node(*id).is_some_and(|r| r.role() != Role::Leader))
            .collect();
        let gaps = (ids.len() as u64).saturating_sub(1).max(1);
        let spread = t.election_timeout_ms_max - t.election_timeout_ms_min;
        let now = self.now_ms;
        self.set_election_deadlines(|id| {
            let rank = ids.iter().position(|i| *i == id).unwrap_or(0) as u64;
            now + t.election_timeout_ms_min + spread * rank / gaps
        });
    }

    /// Switch Raft rules off (or back on) from now on, for every node (see `BrokenRules`).
    pub fn set_broken_rules(&mut self, rules: BrokenRules) {
        self.config.broken_rules = rules;
        for n in &mut self.nodes {
            if let Some(raft) = n.raft.as_mut() {
                raft.set_broken_rules(rules);
            }
        }
    }

    fn set_election_deadlines(&mut self, deadline: impl Fn(NodeId) -> u64) {
        let ids: Vec<NodeId> = self.node_ids().collect();
        for id in ids {
            let now = self.now_ms;
            let Some(raft) = self.nodes[id.slot()].raft.as_mut() else {
                continue;
            };
            raft.advance_clock(now);
            if raft.set_election_deadline(deadline(id)) {
                self.flush(id);
            }
        }
    }

    // ----- Internals -----

    pub(super) fn start_node(&mut self, id: NodeId) {
        let timing = self.config.timing;
        let config = Config {
            id,
            peers: self.node_ids().collect(),
            election_timeout_ms_min: timing.election_timeout_ms_min,
            election_timeout_ms_max: timing.election_timeout_ms_max,
            heartbeat_interval_ms: timing.heartbeat_interval_ms,
            max_entries_per_append: timing.max_entries_per_append,
            log_model: self.config.log_model,
            broken: self.config.broken_rules,
        };
        let rng = self.node_rng.fork();
        let sm_rng = self.node_rng.fork();
        let n = &mut self.nodes[id.slot()];
        // Recovery makes what it read durable before trusting it (a crash can leave writes that
        // reached the OS but not the disk).
        let recovered = n.storage.sync().and_then(|_| n.storage.load());
        let (hard_state, entries) = match recovered {
            Ok(state) => state,
            Err(e) => {
                self.note_failure(id, &e);
                return;
            }
        };
        let (term, last_index) = (hard_state.current_term, LogIndex::of_len(entries.len()));
        n.down_state = None;
        n.failure = None;
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
        let n = &mut self.nodes[id.slot()];
        let last_life = n.raft.take();
        n.incarnation += 1;
        // Messages waiting on an fsync die with the process; the writes stay with the OS.
        n.unsynced.clear();
        n.sync_scheduled = false;
        if let Some(key) = n.timer_key.take() {
            self.queue.cancel(&key);
        }
        let n = &mut self.nodes[id.slot()];
        n.down_state = match n.storage.load() {
            Ok(state) => Some(state),
            // Unreadable storage (it failed): show what the node last had in memory rather than
            // term 0 and an empty log, which it never had. Copied only on this rare path.
            Err(_) => last_life.map(|r| {
                let hs = HardState {
                    current_term: r.current_term(),
                    voted_for: r.voted_for(),
                };
                (hs, r.log().entries().to_vec())
            }),
        };
    }

    /// Record and announce a storage failure of node `id`.
    fn note_failure(&mut self, id: NodeId, error: &StorageError) {
        self.nodes[id.slot()].failure = Some((error.kind(), error.to_string()));
        self.emit(Event::StorageFailed {
            node: id,
            kind: error.kind(),
            error: error.to_string(),
        });
    }

    /// A node's timer went off; one armed in an earlier life is ignored.
    pub(super) fn timer_fired(&mut self, node: NodeId, incarnation: u64) {
        let n = &mut self.nodes[node.slot()];
        if n.incarnation == incarnation {
            n.timer_key = None;
            if let Some(raft) = n.raft.as_mut() {
                raft.tick(self.now_ms);
                self.flush(node);
            }
        }
    }

    /// A node's fsync finished; one started in an earlier life is ignored.
    pub(super) fn sync_done(&mut self, node: NodeId, incarnation: u64) {
        if self.nodes[node.slot()].incarnation == incarnation {
            self.complete_sync(node);
        }
    }

    /// Drain a node's Ready batches: show events, write to storage, and either sync at once or
    /// after the configured fsync time. Then re-arm its timer.
    pub(super) fn flush(&mut self, id: NodeId) {
        loop {
            let n = &mut self.nodes[id.slot()];
            let Some(raft) = n.raft.as_mut() else { return };
            if !raft.has_ready() {
                break;
            }
            let mut ready = raft.ready();
            let events = std::mem::take(&mut ready.events);
            let written = ready.write(&mut n.storage);
            for e in events {
                self.emit(e.into());
            }
            let unsynced = match written {
                Ok(u) => u,
                Err(e) => return self.storage_failed(id, e),
            };
            let mut unsynced = unsynced;
            if self.config.broken_rules.ack_before_fsync {
                // BROKEN ON PURPOSE (see `BrokenRules`): AppendEntries replies leave before the
                // entries they acknowledge are on disk.
                let early = unsynced.release_acks_before_sync();
                self.send_all(early);
            }
            let fsync_ms = self.config.timing.fsync_ms;
            let n = &mut self.nodes[id.slot()];
            if n.unsynced.is_empty() && (fsync_ms == 0 || !unsynced.needs_sync()) {
                // Nothing to wait for: complete now (keeps the order, since nothing is queued).
                match unsynced.sync(&mut n.storage) {
                    Ok((messages, persisted)) => {
                        n.raft.as_mut().expect("up").advance(persisted);
                        self.send_all(messages);
                    }
                    Err(e) => return self.storage_failed(id, e),
                }
            } else {
                n.unsynced.push_back(unsynced);
                if !n.sync_scheduled {
                    n.sync_scheduled = true;
                    let incarnation = n.incarnation;
                    self.queue.schedule(
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
        let n = &mut self.nodes[id.slot()];
        n.sync_scheduled = false;
        let batches: Vec<Unsynced> = n.unsynced.drain(..).collect();
        for batch in batches {
            let n = &mut self.nodes[id.slot()];
            match batch.sync(&mut n.storage) {
                Ok((messages, persisted)) => {
                    if let Some(raft) = n.raft.as_mut() {
                        raft.advance_clock(self.now_ms);
                        raft.advance(persisted);
                    }
                    self.send_all(messages);
                }
                Err(e) => return self.storage_failed(id, e),
            }
        }
        self.flush(id);
    }

    fn storage_failed(&mut self, id: NodeId, error: StorageError) {
        self.stop_node(id);
        self.note_failure(id, &error);
    }

    fn arm_timer(&mut self, id: NodeId) {
        let n = &self.nodes[id.slot()];
        let Some(raft) = n.raft.as_ref() else { return };
        let deadline = raft.next_deadline_ms().max(self.now_ms);
        if n.timer_key.is_some_and(|(t, _)| t == deadline) {
            return;
        }
        let incarnation = n.incarnation;
        if let Some(old) = self.nodes[id.slot()].timer_key.take() {
            self.queue.cancel(&old);
        }
        let key = self.queue.schedule(
            deadline,
            Item::Timer {
                node: id,
                incarnation,
            },
        );
        self.nodes[id.slot()].timer_key = Some(key);
    }
}
