//! One Raft server's state (Figure 2) and its outer surface: construction, accessors, the inputs
//! `tick`/`step`/`propose`/`campaign`, and the `ready`/`advance` hand-off with the driver. Owns
//! dispatching each message to the handler of the node's current role (etcd-raft's
//! `stepLeader`/`stepCandidate`/`stepFollower`); the rules themselves live in `election.rs`,
//! `replication.rs` and `client.rs`. Never sends, writes or sleeps itself.

use std::collections::{BTreeMap, VecDeque};

use crate::raft::broken::BrokenRules;
use crate::raft::event::RaftEvent;
use crate::raft::log::RaftLog;
use crate::raft::message::{Message, MessageBody};
use crate::raft::progress::Progress;
use crate::raft::ready::{Persisted, Ready};
use crate::rng::Rng;
use crate::state_machine::StateMachine;
use crate::types::{Entry, HardState, LogIndex, LogModel, NodeId, Role, Term};

/// Static configuration of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// This node's id.
    pub id: NodeId,
    /// Every voter in the cluster, this node included.
    pub peers: Vec<NodeId>,
    /// Election timeouts are drawn uniformly from `[min, max]` ms (§5.2, §9.3).
    pub election_timeout_ms_min: u64,
    /// See `election_timeout_ms_min`.
    pub election_timeout_ms_max: u64,
    /// A leader sends AppendEntries at least this often (heartbeats, §5.2).
    pub heartbeat_interval_ms: u64,
    /// Most entries in one AppendEntries (≥ 1).
    pub max_entries_per_append: u64,
    /// How clients use the log.
    pub log_model: LogModel,
    /// Rules switched off on purpose (all off: correct Raft). See [`BrokenRules`].
    pub broken: BrokenRules,
}

/// One Raft server. `Clone` lets a trace's re-execution keep checkpoints of a whole cluster.
#[derive(Clone, Debug)]
pub struct RaftNode {
    pub(super) config: Config,

    // Persistent state on all servers (Figure 2).
    pub(super) current_term: Term,
    pub(super) voted_for: Option<NodeId>,
    pub(super) log: RaftLog,

    // Volatile state on all servers.
    pub(super) role: Role,
    pub(super) leader_id: Option<NodeId>,
    pub(super) commit_index: LogIndex,
    pub(super) last_applied: LogIndex,
    pub(super) state_machine: StateMachine,
    /// Highest index known durable in this node's own storage.
    pub(super) persisted_index: LogIndex,
    /// Log writes not yet known durable: (Ready number, first index it rewrote), oldest first.
    /// An index is durable only once no later write touched it (see `advance`).
    unsynced_writes: VecDeque<(u64, LogIndex)>,

    // Volatile state on candidates: who answered and how.
    pub(super) votes: BTreeMap<NodeId, bool>,
    /// A candidate's own vote counts only once the Ready that persists it (term and `voted_for`)
    /// is durable: (term, Ready number). Until then a power loss could undo the vote.
    pub(super) own_vote_pending: Option<(Term, u64)>,
    // Volatile state on leaders.
    pub(super) progress: BTreeMap<NodeId, Progress>,

    // Timers, as absolute virtual times.
    pub(super) now_ms: u64,
    pub(super) election_deadline_ms: u64,
    pub(super) heartbeat_deadline_ms: u64,
    pub(super) rng: Rng,

    // Output accumulated for the next Ready.
    pub(super) messages: Vec<Message>,
    pub(super) events: Vec<RaftEvent>,
    /// Lowest log index changed since the last Ready.
    pub(super) dirty_from: Option<LogIndex>,
    /// Hard state as of the last Ready (to know whether it changed).
    last_hard_state: HardState,
    ready_number: u64,
}

impl RaftNode {
    /// A node starting from durable state (empty for a brand-new node). `rng` drives its election
    /// timeouts and `sm_rng` its state machine's `add rand`; both come from the simulation seed.
    /// Everything recovered is taken as durable (recovery syncs what it read).
    pub fn new(
        config: Config,
        hard_state: HardState,
        entries: Vec<Entry>,
        rng: Rng,
        sm_rng: Rng,
        now_ms: u64,
    ) -> Self {
        assert!(
            config.peers.contains(&config.id),
            "peers must include the node itself"
        );
        assert!(
            config.election_timeout_ms_min >= 1
                && config.election_timeout_ms_min <= config.election_timeout_ms_max,
            "election timeout range must be 1 <= min <= max"
        );
        assert!(config.heartbeat_interval_ms >= 1 && config.max_entries_per_append >= 1);
        let log = RaftLog::from_entries(entries);
        let recovered = hard_state;
        let mut hard_state = hard_state;
        if config.broken.forget_vote_on_restart {
            // BROKEN ON PURPOSE (see `BrokenRules`): Figure 2 makes `votedFor` persistent so that
            // a server never votes twice in one term; forgetting it lets it do exactly that.
            hard_state.voted_for = None;
        }
        let persisted_index = log.last_index();
        let mut node = RaftNode {
            config,
            current_term: hard_state.current_term,
            voted_for: hard_state.voted_for,
            log,
            role: Role::Follower,
            leader_id: None,
            commit_index: LogIndex(0),
            last_applied: LogIndex(0),
            state_machine: StateMachine::new(sm_rng),
            persisted_index,
            unsynced_writes: VecDeque::new(),
            votes: BTreeMap::new(),
            own_vote_pending: None,
            progress: BTreeMap::new(),
            now_ms,
            election_deadline_ms: now_ms,
            heartbeat_deadline_ms: now_ms,
            rng,
            messages: Vec::new(),
            events: Vec::new(),
            dirty_from: None,
            // What storage holds (so a forgotten vote is written back as forgotten).
            last_hard_state: recovered,
            ready_number: 0,
        };
        node.reset_election_timer();
        node
    }

    // ----- Accessors (for the simulator, the UI snapshot and the checker) -----

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Switch rules off (or back on) while running: the simulator's `break_rules` input.
    pub fn set_broken_rules(&mut self, broken: BrokenRules) {
        self.config.broken = broken;
    }
    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// `current_term`.
    pub fn current_term(&self) -> Term {
        self.current_term
    }
    /// `voted_for`.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The log.
    pub fn log(&self) -> &RaftLog {
        &self.log
    }
    /// `commit_index`.
    pub fn commit_index(&self) -> LogIndex {
        self.commit_index
    }
    /// `last_applied`.
    pub fn last_applied(&self) -> LogIndex {
        self.last_applied
    }
    /// The state machine's register.
    pub fn value(&self) -> i64 {
        self.state_machine.value
    }
    /// The leader this node believes in.
    pub fn leader_id(&self) -> Option<NodeId> {
        self.leader_id
    }
    /// Highest index durable in this node's storage.
    pub fn persisted_index(&self) -> LogIndex {
        self.persisted_index
    }
    /// When the election timer fires (meaningless for a leader).
    pub fn election_deadline_ms(&self) -> u64 {
        self.election_deadline_ms
    }
    /// Leader's per-follower progress (empty unless leader).
    pub fn progress(&self) -> &BTreeMap<NodeId, Progress> {
        &self.progress
    }
    /// Candidate's granted votes, its own included once durable (empty unless candidate).
    pub fn votes_granted(&self) -> Vec<NodeId> {
        self.votes
            .iter()
            .filter(|(_, granted)| **granted)
            .map(|(id, _)| *id)
            .collect()
    }
    /// Hard state as it is now in memory.
    pub fn hard_state(&self) -> HardState {
        HardState {
            current_term: self.current_term,
            voted_for: self.voted_for,
        }
    }
    /// The next virtual time at which `tick` has something to do.
    pub fn next_deadline_ms(&self) -> u64 {
        match self.role {
            Role::Leader => self.heartbeat_deadline_ms,
            _ => self.election_deadline_ms,
        }
    }
    /// Test support: a peer's `(next_index, match_index)`.
    pub fn peer_progress(&self, peer: NodeId) -> Option<(LogIndex, LogIndex)> {
        self.progress
            .get(&peer)
            .map(|p| (p.next_index, p.match_index))
    }

    pub(super) fn quorum(&self) -> usize {
        self.config.peers.len() / 2 + 1
    }

    pub(super) fn others(&self) -> Vec<NodeId> {
        self.config
            .peers
            .iter()
            .copied()
            .filter(|p| *p != self.config.id)
            .collect()
    }

    // ----- Inputs -----

    /// Tell the node what time it is without firing timers. Call before `step`/`propose` so that
    /// timers it re-arms start from now (time never goes backwards).
    pub fn advance_clock(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Advance virtual time to `now_ms` and fire whichever timer is due.
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        match self.role {
            Role::Leader => {
                if self.now_ms >= self.heartbeat_deadline_ms {
                    // §5.2: "Leaders send periodic heartbeats … to maintain their authority."
                    self.broadcast_append(true);
                }
            }
            Role::Follower | Role::Candidate => {
                if self.now_ms >= self.election_deadline_ms {
                    self.events.push(RaftEvent::ElectionTimeout {
                        node: self.id(),
                        term: self.current_term,
                    });
                    self.campaign();
                }
            }
        }
    }

    /// A person forced this node's election timer to fire (RaftScope's "time out"). Returns false
    /// for a leader, which has no election timer.
    pub fn force_election_timeout(&mut self) -> bool {
        if self.role == Role::Leader {
            return false;
        }
        self.events.push(RaftEvent::ElectionTimeout {
            node: self.id(),
            term: self.current_term,
        });
        self.campaign();
        true
    }

    /// A person set this node's election timer to fire at `deadline_ms` (RaftScope's "align
    /// timers" and "spread timers"). Returns false for a leader, which has no election timer.
    pub fn set_election_deadline(&mut self, deadline_ms: u64) -> bool {
        if self.role == Role::Leader {
            return false;
        }
        self.election_deadline_ms = deadline_ms.max(self.now_ms);
        self.events.push(RaftEvent::TimerReset {
            node: self.id(),
            election_deadline_ms: self.election_deadline_ms,
        });
        true
    }

    /// Handle one message from the network.
    pub fn step(&mut self, msg: Message) {
        assert_eq!(msg.to, self.id(), "message delivered to the wrong node");
        if let MessageBody::ClientRequest(request) = msg.body {
            // A forwarded client request is not a Raft RPC: its term says nothing about
            // leadership, so it is handled whatever its term.
            self.handle_forwarded(msg.from, request);
            return;
        }
        // All servers: "If RPC request or response contains term T > currentTerm: set
        // currentTerm = T, convert to follower (§5.1)."
        if msg.term > self.current_term {
            let leader = matches!(msg.body, MessageBody::AppendEntries(_)).then_some(msg.from);
            self.become_follower(msg.term, leader);
        }
        match self.role {
            Role::Follower => self.step_follower(msg),
            Role::Candidate => self.step_candidate(msg),
            Role::Leader => self.step_leader(msg),
        }
    }

    /// A follower answers leaders and candidates; replies to calls it no longer makes are stale.
    fn step_follower(&mut self, msg: Message) {
        match msg.body {
            MessageBody::RequestVote(rv) => self.handle_request_vote(msg.from, msg.term, rv),
            MessageBody::AppendEntries(ae) => self.handle_append_entries(msg.from, msg.term, ae),
            MessageBody::RequestVoteResponse(_)
            | MessageBody::AppendEntriesResponse(_)
            | MessageBody::ClientRequest(_) => {}
        }
    }

    /// A candidate counts votes; an AppendEntries of its own term means someone else won (§5.2).
    fn step_candidate(&mut self, msg: Message) {
        match msg.body {
            MessageBody::RequestVote(rv) => self.handle_request_vote(msg.from, msg.term, rv),
            MessageBody::RequestVoteResponse(r) => {
                self.handle_vote_response(msg.from, msg.term, r.vote_granted)
            }
            MessageBody::AppendEntries(ae) => self.handle_append_entries(msg.from, msg.term, ae),
            MessageBody::AppendEntriesResponse(_) | MessageBody::ClientRequest(_) => {}
        }
    }

    /// A leader tracks its followers; it refuses votes in its own term (it voted for itself).
    fn step_leader(&mut self, msg: Message) {
        match msg.body {
            MessageBody::RequestVote(rv) => self.handle_request_vote(msg.from, msg.term, rv),
            MessageBody::AppendEntries(ae) => self.handle_append_entries(msg.from, msg.term, ae),
            MessageBody::AppendEntriesResponse(r) => {
                self.handle_append_response(msg.from, msg.term, r)
            }
            MessageBody::RequestVoteResponse(_) | MessageBody::ClientRequest(_) => {}
        }
    }

    // ----- Output -----

    /// True when there is something to persist, send or report.
    pub fn has_ready(&self) -> bool {
        !self.messages.is_empty()
            || !self.events.is_empty()
            || self.dirty_from.is_some()
            || self.hard_state() != self.last_hard_state
    }

    /// Take everything produced since the last call. See [`Ready`] for what to do with it.
    pub fn ready(&mut self) -> Ready {
        self.ready_number += 1;
        let hard_state = self.hard_state();
        let hard_state = (hard_state != self.last_hard_state).then(|| {
            self.last_hard_state = hard_state;
            hard_state
        });
        let dirty_from = self.dirty_from.take();
        if let Some(from) = dirty_from {
            self.unsynced_writes.push_back((self.ready_number, from));
        }
        let (entries, truncate_from) = match dirty_from {
            Some(from) if from <= self.log.last_index() => {
                (self.log.slice(from, self.log.last_index()).to_vec(), None)
            }
            Some(from) => (Vec::new(), Some(from)),
            None => (Vec::new(), None),
        };
        Ready {
            number: self.ready_number,
            hard_state,
            entries,
            truncate_from,
            events: std::mem::take(&mut self.events),
            messages: std::mem::take(&mut self.messages),
            last_index: self.log.last_index(),
            commit_index: self.commit_index,
        }
    }

    /// A batch is durable: remember how much of the log is on disk, then count the node's own
    /// vote and commit/apply what that allows. Batches must be advanced in the order taken.
    pub fn advance(&mut self, persisted: Persisted) {
        debug_assert!(persisted.number <= self.ready_number);
        while self
            .unsynced_writes
            .front()
            .is_some_and(|(number, _)| *number <= persisted.number)
        {
            self.unsynced_writes.pop_front();
        }
        // Everything the batch covered is durable, except what a later batch (taken but not yet
        // synced) or a change not yet taken rewrote: those indexes now hold something that is
        // not on disk. Matching (index, term) instead would be fooled by an entry that went old
        // term → new term → old term while the newer write is still unsynced.
        let rewritten_from = self
            .unsynced_writes
            .iter()
            .map(|(_, from)| *from)
            .chain(self.dirty_from)
            .min();
        let durable = match rewritten_from {
            Some(from) => persisted.last_index.min(from - 1),
            None => persisted.last_index,
        }
        .min(self.log.last_index());
        if durable > self.persisted_index {
            self.persisted_index = durable;
            self.events.push(RaftEvent::EntriesPersisted {
                node: self.id(),
                synced_index: self.persisted_index,
            });
        }
        self.count_own_vote(persisted.number);
        if self.role == Role::Leader {
            self.maybe_commit();
        }
        self.apply_committed();
    }

    /// The number the next [`Ready`] will carry (so a rule can wait for that batch to be durable).
    pub(super) fn next_ready_number(&self) -> u64 {
        self.ready_number + 1
    }

    pub(super) fn send(&mut self, to: NodeId, body: MessageBody) {
        self.messages.push(Message {
            from: self.id(),
            to,
            term: self.current_term,
            body,
        });
    }
}
