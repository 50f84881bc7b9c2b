//! One Raft server's state machine: Figure 2 of the paper, rule by rule. Owns roles, terms, votes,
//! the log's in-memory copy, commit and apply, and the leader's per-follower progress. Produces
//! messages and events into a [`Ready`]; never sends, writes or sleeps itself.

use std::collections::BTreeMap;

use crate::command::{Command, StateMachine};
use crate::protocol::{Event, Message, MessageBody};
use crate::raft::log::RaftLog;
use crate::raft::ready::{Persisted, Ready};
use crate::rng::Rng;
use crate::types::{Entry, EntryData, HardState, LogIndex, LogModel, NodeId, Role, Term};

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
}

/// The leader's view of one follower (Figure 2, "volatile state on leaders").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Index of the next entry to send to that server.
    pub next_index: LogIndex,
    /// Index of the highest entry known to be replicated on that server.
    pub match_index: LogIndex,
    /// An AppendEntries carrying entries is outstanding; don't send another until it is answered
    /// or the next heartbeat (which doubles as the retry).
    inflight: bool,
    /// Last index carried by the outstanding batch: only a reply covering it ends the wait. (A
    /// reply to an older or duplicated batch must not, or every such reply would start one more
    /// concurrent stream of batches to this follower.)
    inflight_last: LogIndex,
}

/// What `propose` did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposeOutcome {
    /// This node is the leader and appended the entry.
    Appended {
        /// Index given.
        index: LogIndex,
        /// Term given.
        term: Term,
    },
    /// *command* model: forwarded to the leader as a `ClientRequest` message.
    Forwarded {
        /// Where it went.
        leader: NodeId,
    },
}

/// Why `propose` refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// *state* model: only the leader executes requests.
    #[error("S{node} is not the leader{}", leader_hint.map(|l| format!(": try S{l}")).unwrap_or_default())]
    NotLeader {
        /// The node asked.
        node: NodeId,
        /// The leader it knows of.
        leader_hint: Option<NodeId>,
    },
    /// Nobody to forward to.
    #[error("S{node} knows no leader yet (an election is probably under way); try again shortly")]
    NoLeader {
        /// The node asked.
        node: NodeId,
    },
}

/// One Raft server.
#[derive(Debug)]
pub struct RaftNode {
    config: Config,

    // Persistent state on all servers (Figure 2).
    current_term: Term,
    voted_for: Option<NodeId>,
    log: RaftLog,

    // Volatile state on all servers.
    role: Role,
    leader_id: Option<NodeId>,
    commit_index: LogIndex,
    last_applied: LogIndex,
    state_machine: StateMachine,
    /// Highest index known durable in this node's own storage.
    persisted_index: LogIndex,

    // Volatile state on candidates: who answered and how.
    votes: BTreeMap<NodeId, bool>,
    // Volatile state on leaders.
    progress: BTreeMap<NodeId, Progress>,

    // Timers, as absolute virtual times.
    now_ms: u64,
    election_deadline_ms: u64,
    heartbeat_deadline_ms: u64,
    rng: Rng,

    // Output accumulated for the next Ready.
    messages: Vec<Message>,
    events: Vec<Event>,
    /// Lowest log index changed since the last Ready.
    dirty_from: Option<LogIndex>,
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
        let persisted_index = log.last_index();
        let mut node = RaftNode {
            config,
            current_term: hard_state.current_term,
            voted_for: hard_state.voted_for,
            log,
            role: Role::Follower,
            leader_id: None,
            commit_index: 0,
            last_applied: 0,
            state_machine: StateMachine::new(sm_rng),
            persisted_index,
            votes: BTreeMap::new(),
            progress: BTreeMap::new(),
            now_ms,
            election_deadline_ms: now_ms,
            heartbeat_deadline_ms: now_ms,
            rng,
            messages: Vec::new(),
            events: Vec::new(),
            dirty_from: None,
            last_hard_state: hard_state,
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
    /// Candidate's granted votes, its own included (empty unless candidate).
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

    fn quorum(&self) -> usize {
        self.config.peers.len() / 2 + 1
    }

    fn others(&self) -> Vec<NodeId> {
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
                    self.events.push(Event::ElectionTimeout {
                        node: self.id(),
                        term: self.current_term,
                    });
                    self.campaign();
                }
            }
        }
    }

    /// Start an election now (§5.2): what an election timeout does, also used to force one.
    pub fn campaign(&mut self) {
        if self.role == Role::Leader {
            return;
        }
        // "On conversion to candidate: increment currentTerm, vote for self, reset election
        // timer, send RequestVote RPCs to all other servers."
        self.current_term += 1;
        self.voted_for = Some(self.id());
        self.role = Role::Candidate;
        self.leader_id = None;
        self.progress.clear();
        self.votes.clear();
        self.votes.insert(self.id(), true);
        self.events.push(Event::RoleChanged {
            node: self.id(),
            role: Role::Candidate,
            term: self.current_term,
            leader_id: None,
        });
        self.reset_election_timer();
        if self.votes_granted().len() >= self.quorum() {
            self.become_leader();
            return;
        }
        for peer in self.others() {
            self.send(
                peer,
                MessageBody::RequestVote {
                    last_log_index: self.log.last_index(),
                    last_log_term: self.log.last_term(),
                },
            );
        }
    }

    /// A person forced this node's election timer to fire (RaftScope's "time out"). Returns false
    /// for a leader, which has no election timer.
    pub fn force_election_timeout(&mut self) -> bool {
        if self.role == Role::Leader {
            return false;
        }
        self.events.push(Event::ElectionTimeout {
            node: self.id(),
            term: self.current_term,
        });
        self.campaign();
        true
    }

    /// Handle one message from the network.
    pub fn step(&mut self, msg: Message) {
        assert_eq!(msg.to, self.id(), "message delivered to the wrong node");
        if let MessageBody::ClientRequest {
            command,
            request_id,
        } = msg.body
        {
            // A forwarded client request is not a Raft RPC: its term says nothing about
            // leadership, so it is handled whatever its term.
            self.handle_forwarded(msg.from, command, request_id);
            return;
        }
        // All servers: "If RPC request or response contains term T > currentTerm: set
        // currentTerm = T, convert to follower (§5.1)."
        if msg.term > self.current_term {
            let leader = match msg.body {
                MessageBody::AppendEntries { .. } => Some(msg.from),
                _ => None,
            };
            self.become_follower(msg.term, leader);
        }
        match msg.body {
            MessageBody::RequestVote {
                last_log_index,
                last_log_term,
            } => self.handle_request_vote(msg.from, msg.term, last_log_index, last_log_term),
            MessageBody::RequestVoteResponse { vote_granted } => {
                self.handle_vote_response(msg.from, msg.term, vote_granted)
            }
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.handle_append_entries(
                msg.from,
                msg.term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            ),
            MessageBody::AppendEntriesResponse {
                success,
                match_index,
                rejected_index,
                conflict_index,
                conflict_term,
            } => self.handle_append_response(
                msg.from,
                msg.term,
                success,
                match_index,
                rejected_index,
                conflict_index,
                conflict_term,
            ),
            MessageBody::ClientRequest { .. } => unreachable!("handled above"),
        }
    }

    /// A client request arriving at this node (§8). `request_id` is echoed in events so the
    /// driver can answer the right client.
    pub fn propose(
        &mut self,
        command: Command,
        request_id: u64,
    ) -> Result<ProposeOutcome, ProposeError> {
        if self.role == Role::Leader {
            let (index, term) = self.append_client_entry(command, request_id);
            return Ok(ProposeOutcome::Appended { index, term });
        }
        let result = match (self.config.log_model, self.leader_id) {
            (LogModel::State, leader_hint) => Err(ProposeError::NotLeader {
                node: self.id(),
                leader_hint,
            }),
            (LogModel::Command, Some(leader)) => {
                self.send(
                    leader,
                    MessageBody::ClientRequest {
                        command,
                        request_id,
                    },
                );
                Ok(ProposeOutcome::Forwarded { leader })
            }
            (LogModel::Command, None) => Err(ProposeError::NoLeader { node: self.id() }),
        };
        if let Err(e) = &result {
            self.events.push(Event::ProposalRejected {
                node: self.id(),
                request_id,
                reason: e.to_string(),
                leader_hint: self.leader_id,
            });
        }
        result
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
        let (entries, truncate_from) = match self.dirty_from.take() {
            Some(from) if from <= self.log.last_index() => {
                (self.log.slice(from, self.log.last_index()).to_vec(), None)
            }
            Some(from) => (Vec::new(), Some(from)),
            None => (Vec::new(), None),
        };
        Ready::new(
            self.ready_number,
            hard_state,
            entries,
            truncate_from,
            std::mem::take(&mut self.events),
            std::mem::take(&mut self.messages),
            (self.log.last_index(), self.log.last_term()),
        )
    }

    /// A batch is durable: remember how much of the log is on disk, then commit/apply what that
    /// allows.
    pub fn advance(&mut self, persisted: Persisted) {
        debug_assert!(persisted.number <= self.ready_number);
        // A later batch may already have truncated past what this one wrote; only an index whose
        // term still matches is really durable.
        if persisted.last_index > self.persisted_index
            && self.log.term(persisted.last_index) == Some(persisted.last_term)
        {
            self.persisted_index = persisted.last_index;
            self.events.push(Event::EntriesPersisted {
                node: self.id(),
                synced_index: self.persisted_index,
            });
        }
        if self.role == Role::Leader {
            self.maybe_commit();
        }
        self.apply_committed();
    }

    // ----- Role changes -----

    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        let changed =
            term != self.current_term || self.role != Role::Follower || leader != self.leader_id;
        let was_leader = self.role == Role::Leader;
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
        }
        self.role = Role::Follower;
        self.leader_id = leader;
        self.votes.clear();
        self.progress.clear();
        if changed {
            self.events.push(Event::RoleChanged {
                node: self.id(),
                role: Role::Follower,
                term: self.current_term,
                leader_id: leader,
            });
        }
        // Figure 2 resets the election timer only on AppendEntries from the current leader or on
        // granting a vote; merely learning of a higher term does not. (Resetting here would let a
        // candidate whose stale log cannot win keep postponing the timeouts of the servers that
        // can, which is exactly the situation of §9.3.) A deposed leader had no timer running, so
        // it arms a fresh one.
        if was_leader {
            self.reset_election_timer();
        }
    }

    fn become_leader(&mut self) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "only a candidate can win an election"
        );
        self.role = Role::Leader;
        self.leader_id = Some(self.id());
        self.votes.clear();
        // Figure 2: "Reinitialized after election: nextIndex … initialized to leader last log
        // index + 1; matchIndex … initialized to 0".
        let next_index = self.log.last_index() + 1;
        self.progress = self
            .others()
            .into_iter()
            .map(|peer| {
                (
                    peer,
                    Progress {
                        next_index,
                        match_index: 0,
                        inflight: false,
                        inflight_last: 0,
                    },
                )
            })
            .collect();
        self.events.push(Event::RoleChanged {
            node: self.id(),
            role: Role::Leader,
            term: self.current_term,
            leader_id: Some(self.id()),
        });
        // §8: "each leader commit a blank no-op entry into the log at the start of its term",
        // which is what lets it commit entries left from earlier terms (§5.4.2).
        self.append_entry(EntryData::Noop);
        self.broadcast_append(true);
    }

    fn reset_election_timer(&mut self) {
        let timeout = self.rng.range_inclusive(
            self.config.election_timeout_ms_min,
            self.config.election_timeout_ms_max,
        );
        self.election_deadline_ms = self.now_ms + timeout;
        self.events.push(Event::TimerReset {
            node: self.id(),
            election_deadline_ms: self.election_deadline_ms,
        });
    }

    // ----- RequestVote (§5.2, §5.4.1) -----

    fn handle_request_vote(
        &mut self,
        candidate: NodeId,
        term: Term,
        last_log_index: LogIndex,
        last_log_term: Term,
    ) {
        // Receiver implementation: "1. Reply false if term < currentTerm. 2. If votedFor is null
        // or candidateId, and candidate's log is at least as up-to-date as receiver's log, grant
        // vote."
        let grant = term == self.current_term
            && self.voted_for.is_none_or(|v| v == candidate)
            && self.log.is_up_to_date(last_log_index, last_log_term);
        if grant {
            self.voted_for = Some(candidate);
            self.events.push(Event::VoteGranted {
                voter: self.id(),
                candidate,
                term,
            });
            // §5.2: a follower that grants a vote resets its timer, so that it does not start a
            // competing election right after helping this one.
            self.reset_election_timer();
        }
        self.send(
            candidate,
            MessageBody::RequestVoteResponse {
                vote_granted: grant,
            },
        );
    }

    fn handle_vote_response(&mut self, from: NodeId, term: Term, granted: bool) {
        if self.role != Role::Candidate || term != self.current_term {
            return; // A reply to an election we are no longer running.
        }
        self.votes.insert(from, granted);
        self.events.push(Event::VoteReceived {
            node: self.id(),
            from,
            granted,
            votes: self.votes_granted(),
        });
        // "If votes received from majority of servers: become leader."
        if self.votes_granted().len() >= self.quorum() {
            self.become_leader();
        }
    }

    // ----- AppendEntries (§5.3) -----

    fn handle_append_entries(
        &mut self,
        leader: NodeId,
        term: Term,
        prev_log_index: LogIndex,
        prev_log_term: Term,
        entries: Vec<Entry>,
        leader_commit: LogIndex,
    ) {
        // "1. Reply false if term < currentTerm (§5.1)": the stale leader learns our term from
        // the reply and steps down.
        if term < self.current_term {
            self.send_append_response(leader, false, 0, prev_log_index, 0, None);
            return;
        }
        // Same term: this is the one legitimate leader of the term. A candidate gives up (§5.2).
        assert_ne!(
            self.role,
            Role::Leader,
            "election safety: two leaders in term {term}"
        );
        if self.role == Role::Candidate || self.leader_id != Some(leader) {
            self.become_follower(term, Some(leader));
        }
        self.reset_election_timer();

        // "2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches
        // prevLogTerm." With the fast-backup hint of §5.3 ("the follower can include the term of
        // the conflicting entry and the first index it stores for that term").
        match self.log.term(prev_log_index) {
            None => {
                let conflict_index = self.log.last_index() + 1;
                self.send_append_response(leader, false, 0, prev_log_index, conflict_index, None);
                return;
            }
            Some(t) if t != prev_log_term => {
                let conflict_index = self.log.first_index_of_term(t, prev_log_index);
                self.send_append_response(
                    leader,
                    false,
                    0,
                    prev_log_index,
                    conflict_index,
                    Some(t),
                );
                return;
            }
            Some(_) => {}
        }

        // "3. If an existing entry conflicts with a new one (same index but different terms),
        // delete the existing entry and all that follow it. 4. Append any new entries not already
        // in the log." Entries we already have are skipped, so duplicated or reordered
        // AppendEntries never truncate anything they should not.
        let last_new_index = prev_log_index + entries.len() as LogIndex;
        let mut appended = Vec::new();
        for entry in entries {
            match self.log.term(entry.index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    assert!(
                        entry.index > self.commit_index,
                        "state machine safety: leader asked S{} to overwrite committed entry {}",
                        self.id(),
                        entry.index
                    );
                    self.truncate_log(entry.index);
                    self.log.push(entry.clone());
                    appended.push(entry);
                }
                None => {
                    self.log.push(entry.clone());
                    appended.push(entry);
                }
            }
        }
        if let Some(first) = appended.first() {
            self.mark_dirty(first.index);
            self.events.push(Event::EntriesAppended {
                node: self.id(),
                entries: appended,
            });
        }

        // "5. If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last
        // new entry)."
        if leader_commit > self.commit_index {
            let new_commit = leader_commit.min(last_new_index);
            if new_commit > self.commit_index {
                self.set_commit_index(new_commit);
            }
        }
        self.send_append_response(leader, true, last_new_index, prev_log_index, 0, None);
    }

    fn send_append_response(
        &mut self,
        leader: NodeId,
        success: bool,
        match_index: LogIndex,
        rejected_index: LogIndex,
        conflict_index: LogIndex,
        conflict_term: Option<Term>,
    ) {
        self.send(
            leader,
            MessageBody::AppendEntriesResponse {
                success,
                match_index,
                rejected_index,
                conflict_index,
                conflict_term,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_append_response(
        &mut self,
        from: NodeId,
        term: Term,
        success: bool,
        match_index: LogIndex,
        rejected_index: LogIndex,
        conflict_index: LogIndex,
        conflict_term: Option<Term>,
    ) {
        if self.role != Role::Leader || term != self.current_term {
            return; // Stale: an answer to a previous leadership.
        }
        let last_index = self.log.last_index();
        let Some(progress) = self.progress.get_mut(&from) else {
            return;
        };
        let before = *progress;
        if success {
            // "If successful: update nextIndex and matchIndex for follower (§5.3)." Replies can
            // arrive out of order or twice, so only ever move forward.
            progress.match_index = progress.match_index.max(match_index);
            progress.next_index = progress.next_index.max(progress.match_index + 1);
            if progress.match_index >= progress.inflight_last {
                progress.inflight = false;
            }
        } else {
            if rejected_index + 1 != progress.next_index || rejected_index < progress.match_index {
                return; // A rejection of an older probe; a newer one is under way.
            }
            // "If AppendEntries fails because of log inconsistency: decrement nextIndex and
            // retry", skipping a whole conflicting term at a time (the §5.3 optimisation).
            let hinted = match conflict_term.and_then(|t| self.log.last_index_of_term(t)) {
                Some(index) => index + 1,
                None => conflict_index,
            };
            progress.next_index = hinted
                .min(progress.next_index - 1)
                .max(progress.match_index + 1)
                .min(last_index + 1);
            progress.inflight = false;
        }
        let after = *progress;
        if after != before {
            self.events.push(Event::ProgressUpdated {
                leader: self.id(),
                peer: from,
                next_index: after.next_index,
                match_index: after.match_index,
            });
        }
        if success {
            self.maybe_commit();
        }
        if after.next_index <= last_index {
            self.send_append(from, false);
        }
    }

    /// Leader: send AppendEntries to every follower. `heartbeat` sends even when an earlier one
    /// is unanswered (it is the retry after a lost message).
    fn broadcast_append(&mut self, heartbeat: bool) {
        for peer in self.others() {
            self.send_append(peer, heartbeat);
        }
        if heartbeat {
            self.heartbeat_deadline_ms = self.now_ms + self.config.heartbeat_interval_ms;
        }
    }

    fn send_append(&mut self, peer: NodeId, heartbeat: bool) {
        let last_index = self.log.last_index();
        let Some(progress) = self.progress.get_mut(&peer) else {
            return;
        };
        let has_entries = progress.next_index <= last_index;
        if !heartbeat && (progress.inflight || !has_entries) {
            return;
        }
        progress.inflight |= has_entries;
        let prev_log_index = progress.next_index - 1;
        let hi = prev_log_index + self.config.max_entries_per_append;
        let entries = self.log.slice(progress.next_index, hi).to_vec();
        if has_entries {
            progress.inflight_last = prev_log_index + entries.len() as LogIndex;
        }
        let prev_log_term = self
            .log
            .term(prev_log_index)
            .expect("leader's next_index never passes its log end + 1");
        self.send(
            peer,
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit: self.commit_index,
            },
        );
    }

    // ----- Client requests -----

    fn append_client_entry(&mut self, command: Command, request_id: u64) -> (LogIndex, Term) {
        let data = match self.config.log_model {
            LogModel::Command => EntryData::Request { command },
            LogModel::State => {
                // Primary-backup: execute against the latest state (the newest value in the log,
                // committed or not) and log only the result; even `add rand` is drawn once, here.
                let latest = self
                    .log
                    .entries()
                    .iter()
                    .rev()
                    .find_map(|e| match e.data {
                        EntryData::Value { value, .. } => Some(value),
                        _ => None,
                    })
                    .unwrap_or(0);
                let value = self.state_machine.execute_on(command, latest);
                EntryData::Value { value, command }
            }
        };
        let (index, term) = self.append_entry(data);
        self.events.push(Event::ProposalAccepted {
            node: self.id(),
            request_id,
            index,
            term,
        });
        self.broadcast_append(false);
        (index, term)
    }

    fn handle_forwarded(&mut self, from: NodeId, command: Command, request_id: u64) {
        if self.role == Role::Leader {
            self.append_client_entry(command, request_id);
        } else {
            self.events.push(Event::ProposalRejected {
                node: self.id(),
                request_id,
                reason: format!(
                    "S{from} forwarded the request to S{}, which is no longer the leader",
                    self.id()
                ),
                leader_hint: self.leader_id,
            });
        }
    }

    // ----- Log, commit and apply -----

    fn append_entry(&mut self, data: EntryData) -> (LogIndex, Term) {
        let entry = Entry {
            index: self.log.last_index() + 1,
            term: self.current_term,
            data,
        };
        let (index, term) = (entry.index, entry.term);
        self.log.push(entry.clone());
        self.mark_dirty(index);
        self.events.push(Event::EntriesAppended {
            node: self.id(),
            entries: vec![entry],
        });
        (index, term)
    }

    fn truncate_log(&mut self, from: LogIndex) {
        assert_ne!(
            self.role,
            Role::Leader,
            "leader append-only: a leader never truncates"
        );
        self.log.truncate_from(from);
        self.persisted_index = self.persisted_index.min(from - 1);
        self.mark_dirty(from);
        self.events.push(Event::EntriesTruncated {
            node: self.id(),
            from_index: from,
        });
    }

    fn mark_dirty(&mut self, index: LogIndex) {
        self.dirty_from = Some(self.dirty_from.map_or(index, |d| d.min(index)));
    }

    /// Leader: "If there exists an N such that N > commitIndex, a majority of matchIndex[i] ≥ N,
    /// and log[N].term == currentTerm: set commitIndex = N (§5.3, §5.4)." The leader's own
    /// match is what it has durably written.
    fn maybe_commit(&mut self) {
        let mut matched: Vec<LogIndex> = self.progress.values().map(|p| p.match_index).collect();
        matched.push(self.persisted_index);
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let n = matched[self.quorum() - 1];
        // §5.4.2: only entries of the current term are committed by counting replicas; earlier
        // ones are committed indirectly, by the Log Matching Property.
        if n > self.commit_index && self.log.term(n) == Some(self.current_term) {
            self.set_commit_index(n);
            // Followers learn the new commit index on the next AppendEntries; send one now
            // rather than waiting for the heartbeat, so commits show up promptly everywhere.
            self.broadcast_append(true);
        }
    }

    fn set_commit_index(&mut self, index: LogIndex) {
        assert!(index > self.commit_index, "commit_index never decreases");
        assert!(
            index <= self.log.last_index(),
            "cannot commit past the log's end"
        );
        self.commit_index = index;
        self.events.push(Event::CommitAdvanced {
            node: self.id(),
            commit_index: index,
        });
        self.apply_committed();
    }

    /// "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state
    /// machine (§5.3)." Only durable entries are applied, so a power loss cannot take back an
    /// entry this node already executed.
    fn apply_committed(&mut self) {
        let applicable = self.commit_index.min(self.persisted_index);
        while self.last_applied < applicable {
            self.last_applied += 1;
            let entry = self
                .log
                .get(self.last_applied)
                .expect("applied entry exists");
            let value = self.state_machine.apply(&entry.data);
            self.events.push(Event::EntryApplied {
                node: self.config.id,
                index: self.last_applied,
                value,
            });
        }
    }

    fn send(&mut self, to: NodeId, body: MessageBody) {
        self.messages.push(Message {
            from: self.id(),
            to,
            term: self.current_term,
            body,
        });
    }

    /// Test support: every peer's `next_index`/`match_index`.
    pub fn peer_progress(&self, peer: NodeId) -> Option<(LogIndex, LogIndex)> {
        self.progress
            .get(&peer)
            .map(|p| (p.next_index, p.match_index))
    }
}
