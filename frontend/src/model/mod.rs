//! The view model: what the page knows about the cluster, rebuilt from a `Hello`/`Snapshot` and
//! advanced by each `SimEvent` (`apply`). It also writes the narration, in plain sentences, each
//! pointing at what it talks about. Pure data and functions: no Leptos, no browser, no clock of its
//! own — the UI decides what "now" is and only reads from here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use shared::protocol::{
    ClusterSnapshot, Event, InFlight, LogEntryView, MessageBody, MessageId, NetworkView,
    PeerProgress, SimEvent, Timing,
};
use shared::types::{LogIndex, LogModel, NodeId, Role, Term};

/// Narration items kept (newest first); older ones fall off the end.
pub const NARRATION_MAX: usize = 300;
/// Lost messages kept as fading ghosts at most.
pub const GHOSTS_MAX: usize = 64;
/// Client requests remembered (by id) to name them when a leader accepts or refuses them.
pub const REQUESTS_MAX: usize = 1_000;
/// A ghost is forgotten this long (virtual ms) after it was lost, whatever the UI's fade does.
pub const GHOST_KEEP_MS: u64 = 5_000;

/// What a narration item (or a click) points at, so the UI can highlight it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Nothing in particular.
    None,
    /// A server.
    Node(NodeId),
    /// An index of the log, on every row.
    Entry(LogIndex),
    /// One server's entry at an index.
    NodeEntry(NodeId, LogIndex),
    /// A message (in flight or a ghost).
    Message(MessageId),
    /// The link between two servers (either direction).
    Link(NodeId, NodeId),
}

/// How a narration item is styled: which kind of happening it reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Elections, votes, timeouts.
    Election,
    /// A new leader.
    Leader,
    /// Entries appended or committed.
    Log,
    /// Client requests and their answers.
    Client,
    /// Crashes, power loss, storage failures, lost messages.
    Fault,
    /// Partitions, cuts, loss and latency.
    Network,
    /// Pause, speed, resynchronisation.
    Control,
    /// Something that surprises: divergent replicas, a refused request.
    Warning,
}

/// One sentence of the story, newest first in [`ClusterView::narration`].
#[derive(Clone, Debug, PartialEq)]
pub struct Narration {
    /// Unique within the page's life (narration survives resyncs), for keyed lists.
    pub id: u64,
    /// Sequence number of the event that produced it (0 for the page's own notes).
    pub seq: u64,
    /// Virtual time (ms).
    pub time_ms: u64,
    /// The sentence.
    pub text: String,
    /// What it talks about.
    pub focus: Focus,
    /// Styling.
    pub tone: Tone,
}

/// One server as the page sees it (the snapshot's `NodeView`, kept up to date by events).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeState {
    /// 1..=n.
    pub id: NodeId,
    /// False while crashed (or stopped by a storage failure).
    pub up: bool,
    /// Role; a crashed node is drawn as crashed whatever this says.
    pub role: Role,
    /// Persistent.
    pub current_term: Term,
    /// Persistent.
    pub voted_for: Option<NodeId>,
    /// Volatile.
    pub commit_index: LogIndex,
    /// Volatile.
    pub last_applied: LogIndex,
    /// The register.
    pub value: i64,
    /// The log, index `i` at position `i - 1`.
    pub log: Vec<LogEntryView>,
    /// Last index durable on disk.
    pub synced_index: LogIndex,
    /// Leader this node believes in.
    pub leader_id: Option<NodeId>,
    /// When the election timer fires (virtual ms); `None` for leaders and crashed nodes.
    pub election_deadline_ms: Option<u64>,
    /// Leader only: per-follower progress.
    pub progress: BTreeMap<NodeId, PeerProgress>,
    /// Candidate only: votes granted so far (its own included).
    pub votes: Vec<NodeId>,
    /// Candidate only: peers that refused their vote this term.
    pub votes_refused: Vec<NodeId>,
    /// Set when the node's storage failed.
    pub storage_error: Option<String>,
    /// The last event was this node's election timeout (so the next `RoleChanged` narrates it).
    timed_out: bool,
}

impl NodeState {
    /// Index of the last entry (0 when empty).
    pub fn last_index(&self) -> LogIndex {
        self.log.len() as LogIndex
    }

    /// Term of the entry at `index`, if the log has one.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        index
            .checked_sub(1)
            .and_then(|i| self.log.get(i as usize))
            .map(|e| e.term)
    }

    /// The entry at `index`.
    pub fn entry(&self, index: LogIndex) -> Option<&LogEntryView> {
        index.checked_sub(1).and_then(|i| self.log.get(i as usize))
    }

    fn crash(&mut self) {
        self.up = false;
        self.role = Role::Follower;
        self.commit_index = 0;
        self.last_applied = 0;
        self.value = 0;
        self.leader_id = None;
        self.election_deadline_ms = None;
        self.progress.clear();
        self.votes.clear();
        self.votes_refused.clear();
        self.timed_out = false;
    }
}

/// A message that was lost, kept for a moment where it vanished.
#[derive(Clone, Debug, PartialEq)]
pub struct Ghost {
    /// The message as it was in flight.
    pub flight: InFlight,
    /// Virtual time it was lost.
    pub lost_at_ms: u64,
    /// "loss", "cut", "node_down" or "dropped".
    pub reason: String,
}

impl Ghost {
    /// Where along its line it was lost, 0 (sender) ..= 1 (receiver).
    pub fn position(&self) -> f64 {
        flight_fraction(&self.flight, self.lost_at_ms as f64)
    }
}

/// How far along its line a message is at virtual time `now_ms`, clamped to 0..=1 (RaftScope's
/// `(now - sent) / (deliver - sent)`).
pub fn flight_fraction(flight: &InFlight, now_ms: f64) -> f64 {
    let span = flight.deliver_at_ms.saturating_sub(flight.sent_at_ms) as f64;
    if span <= 0.0 {
        return 1.0;
    }
    ((now_ms - flight.sent_at_ms as f64) / span).clamp(0.0, 1.0)
}

/// What the page remembers about one client request (by request id).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestTrack {
    /// The request text.
    pub command: String,
    /// The node it was sent to.
    pub node: NodeId,
    /// Index it got, once a leader appended it.
    pub index: Option<LogIndex>,
}

/// Why an event was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied.
    Yes,
    /// Already part of the snapshot or applied before (`seq` too low): ignored.
    Duplicate,
}

/// Everything the page draws.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterView {
    /// Sequence number of the last event applied (or the snapshot's).
    pub seq: u64,
    /// Latest virtual time known from events and clock messages (ms).
    pub time_ms: u64,
    /// The run's seed.
    pub seed: u64,
    /// How clients use the log.
    pub log_model: LogModel,
    /// Virtual ms per wall ms (0 = as fast as possible).
    pub speed: f64,
    /// Paused?
    pub paused: bool,
    /// Timings in force.
    pub timing: Timing,
    /// Network settings, partitions and cuts.
    pub network: NetworkView,
    /// Servers, S1 first.
    pub nodes: Vec<NodeState>,
    /// Messages in flight, by id.
    pub messages: BTreeMap<MessageId, InFlight>,
    /// Lost messages, oldest first.
    pub ghosts: VecDeque<Ghost>,
    /// The global committed log: every entry known committed, index `i` at position `i - 1`.
    pub committed: Vec<LogEntryView>,
    /// Narration, newest first.
    pub narration: VecDeque<Narration>,
    /// Client requests by request id.
    pub requests: BTreeMap<u64, RequestTrack>,
    /// Who led each term, as far as this page has seen (Election Safety: at most one per term).
    pub leaders_by_term: BTreeMap<Term, NodeId>,
    /// Set when an event could not be fitted (a gap in `seq`, an entry out of place): the page
    /// should ask for a fresh snapshot.
    pub needs_resync: bool,
    /// First value applied at each index, to notice replicas that disagree (`add rand` in the
    /// *command* model).
    applied_values: BTreeMap<LogIndex, (NodeId, i64)>,
    divergent: BTreeSet<LogIndex>,
    narration_next_id: u64,
}

impl ClusterView {
    /// The view of a snapshot (from `Hello` or `Snapshot`).
    pub fn from_snapshot(snapshot: ClusterSnapshot) -> ClusterView {
        let nodes: Vec<NodeState> = snapshot
            .nodes
            .into_iter()
            .map(|n| NodeState {
                id: n.id,
                up: n.up,
                role: n.role,
                current_term: n.current_term,
                voted_for: n.voted_for,
                commit_index: n.commit_index,
                last_applied: n.last_applied,
                value: n.value,
                log: n.log,
                synced_index: n.synced_index,
                leader_id: n.leader_id,
                election_deadline_ms: n.election_deadline_ms,
                progress: n.progress,
                votes: n.votes,
                votes_refused: Vec::new(),
                storage_error: None,
                timed_out: false,
            })
            .collect();
        // The global committed log, as far as any node knows it: committed entries are the same
        // on every node that has them (State Machine Safety), so the furthest one is enough.
        let committed = nodes
            .iter()
            .max_by_key(|n| n.commit_index.min(n.last_index()))
            .map(|n| n.log[..n.commit_index.min(n.last_index()) as usize].to_vec())
            .unwrap_or_default();
        let leaders_by_term = nodes
            .iter()
            .filter(|n| n.up && n.role == Role::Leader)
            .map(|n| (n.current_term, n.id))
            .collect();
        ClusterView {
            seq: snapshot.seq,
            time_ms: snapshot.time_ms,
            seed: snapshot.seed,
            log_model: snapshot.log_model,
            speed: snapshot.speed,
            paused: snapshot.paused,
            timing: snapshot.timing,
            network: snapshot.network,
            nodes,
            messages: snapshot.messages.into_iter().map(|m| (m.id, m)).collect(),
            ghosts: VecDeque::new(),
            committed,
            narration: VecDeque::new(),
            requests: BTreeMap::new(),
            leaders_by_term,
            needs_resync: false,
            applied_values: BTreeMap::new(),
            divergent: BTreeSet::new(),
            narration_next_id: 1,
        }
    }

    /// Replace the state with a fresh snapshot (reconnect, reset, or the server saw this viewer
    /// fall behind). The narration is kept, with a line saying what happened, so a teacher does
    /// not lose the story on a reconnect.
    pub fn resync(&mut self, snapshot: ClusterSnapshot) {
        let new_cluster = snapshot.seed != self.seed
            || snapshot.nodes.len() != self.nodes.len()
            || snapshot.log_model != self.log_model
            || snapshot.seq < self.seq;
        let mut fresh = ClusterView::from_snapshot(snapshot);
        fresh.narration = std::mem::take(&mut self.narration);
        fresh.narration_next_id = self.narration_next_id;
        if new_cluster {
            fresh.requests.clear();
            let text = format!(
                "A new cluster: {}, seed {}, the log holds {}",
                count(fresh.nodes.len() as u64, "server", "servers"),
                fresh.seed,
                match fresh.log_model {
                    LogModel::Command => "requests (\"add 5\")",
                    LogModel::State => "state changes (\"value = 5\")",
                }
            );
            fresh.narrate_at(fresh.seq, fresh.time_ms, text, Focus::None, Tone::Control);
        } else {
            fresh.requests = std::mem::take(&mut self.requests);
            let mut leaders = std::mem::take(&mut self.leaders_by_term);
            leaders.append(&mut fresh.leaders_by_term);
            fresh.leaders_by_term = leaders;
            let (seq, time_ms) = (fresh.seq, fresh.time_ms);
            fresh.narrate_at(
                seq,
                time_ms,
                "Resynchronised with the server".to_string(),
                Focus::None,
                Tone::Control,
            );
        }
        *self = fresh;
    }

    /// A `Clock` message: the driver's virtual time, pause state and speed.
    pub fn on_clock(&mut self, time_ms: u64, paused: bool, speed: f64) {
        self.advance_time(time_ms);
        self.paused = paused;
        self.speed = speed;
    }

    /// Server `id`, if it exists.
    pub fn node(&self, id: NodeId) -> Option<&NodeState> {
        id.checked_sub(1).and_then(|i| self.nodes.get(i as usize))
    }

    fn node_mut(&mut self, id: NodeId) -> Option<&mut NodeState> {
        id.checked_sub(1)
            .and_then(|i| self.nodes.get_mut(i as usize))
    }

    /// Votes needed for a majority.
    pub fn quorum(&self) -> usize {
        self.nodes.len() / 2 + 1
    }

    /// The leader of the highest term among running servers (there can be an older, deposed
    /// leader that has not heard yet).
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.up && n.role == Role::Leader)
            .max_by_key(|n| n.current_term)
            .map(|n| n.id)
    }

    /// The highest term any server is in.
    pub fn max_term(&self) -> Term {
        self.nodes.iter().map(|n| n.current_term).max().unwrap_or(0)
    }

    /// The longest log's last index (how wide the log rows are).
    pub fn max_index(&self) -> LogIndex {
        self.nodes
            .iter()
            .map(NodeState::last_index)
            .chain(std::iter::once(self.committed.len() as LogIndex))
            .max()
            .unwrap_or(0)
    }

    /// The global commit index (last entry of the committed log).
    pub fn commit_index(&self) -> LogIndex {
        self.committed.len() as LogIndex
    }

    /// For the leader's uncommitted entry at `index`: how many servers hold it, as the leader
    /// counts (itself once the entry is on its disk, plus every follower whose `match_index`
    /// reached it), and the cluster size. `None` when there is no leader, the leader has no
    /// such entry, or it is already committed.
    pub fn replication(&self, index: LogIndex) -> Option<(usize, usize)> {
        let leader = self.node(self.leader()?)?;
        if index == 0 || index > leader.last_index() || index <= leader.commit_index {
            return None;
        }
        let own = usize::from(leader.synced_index >= index);
        let others = leader
            .progress
            .values()
            .filter(|p| p.match_index >= index)
            .count();
        Some((own + others, self.nodes.len()))
    }

    /// Voters whose granted vote for `candidate` is still travelling (drawn grey, as in
    /// RaftScope).
    pub fn votes_coming(&self, candidate: NodeId) -> Vec<NodeId> {
        let Some(c) = self.node(candidate) else {
            return Vec::new();
        };
        self.messages
            .values()
            .filter(|m| {
                m.to == candidate
                    && m.message.term == c.current_term
                    && matches!(
                        m.message.body,
                        MessageBody::RequestVoteResponse { vote_granted: true }
                    )
            })
            .map(|m| m.from)
            .collect()
    }

    /// True when the directed link `from → to` is blocked by a cut or a partition.
    pub fn link_blocked(&self, from: NodeId, to: NodeId) -> bool {
        if self
            .network
            .cut_links
            .iter()
            .any(|l| l[0] == from && l[1] == to)
        {
            return true;
        }
        if self.network.partitions.is_empty() {
            return false;
        }
        !self
            .network
            .partitions
            .iter()
            .any(|g| g.contains(&from) && g.contains(&to))
    }

    /// Apply one event (in `seq` order). Events already covered by the snapshot are ignored.
    pub fn apply(&mut self, ev: &SimEvent) -> Applied {
        if ev.seq <= self.seq {
            return Applied::Duplicate;
        }
        if ev.seq != self.seq + 1 {
            // Events were missed (the server skipped some for this viewer): draw what we can,
            // and let the page fetch a fresh snapshot.
            self.needs_resync = true;
        }
        self.seq = ev.seq;
        self.advance_time(ev.time_ms);
        let (seq, t) = (ev.seq, ev.time_ms);
        match &ev.event {
            Event::MessageSent { message } => {
                if let MessageBody::ClientRequest { command, .. } = &message.message.body {
                    let text = format!(
                        "S{} forwarded \"{command}\" to the leader, S{}",
                        message.from, message.to
                    );
                    self.narrate_at(seq, t, text, Focus::Message(message.id), Tone::Client);
                }
                self.messages.insert(message.id, message.clone());
            }
            Event::MessageDelivered { id, .. } => {
                self.messages.remove(id);
            }
            Event::MessageDropped {
                id,
                from,
                to,
                reason,
            } => {
                if let Some(flight) = self.messages.remove(id) {
                    if reason == "dropped" {
                        let text = format!(
                            "The {} from S{from} to S{to} was dropped by hand",
                            describe_kind(&flight)
                        );
                        self.narrate_at(seq, t, text, Focus::Message(*id), Tone::Fault);
                    }
                    self.ghosts.push_back(Ghost {
                        flight,
                        lost_at_ms: t,
                        reason: reason.clone(),
                    });
                    while self.ghosts.len() > GHOSTS_MAX {
                        self.ghosts.pop_front();
                    }
                }
            }
            Event::ElectionTimeout { node, .. } => {
                if let Some(n) = self.node_mut(*node) {
                    n.timed_out = true;
                }
            }
            Event::RoleChanged {
                node,
                role,
                term,
                leader_id,
            } => self.role_changed(seq, t, *node, *role, *term, *leader_id),
            Event::VoteGranted {
                voter,
                candidate,
                term,
            } => {
                if let Some(n) = self.node_mut(*voter) {
                    n.voted_for = Some(*candidate);
                    n.current_term = n.current_term.max(*term);
                }
                let text = format!("S{voter} voted for S{candidate} in term {term}");
                self.narrate_at(seq, t, text, Focus::Node(*voter), Tone::Election);
            }
            Event::VoteReceived {
                node,
                from,
                granted,
                votes,
            } => {
                let mut refused_text = None;
                if let Some(n) = self.node_mut(*node) {
                    n.votes = votes.clone();
                    if !granted && !n.votes_refused.contains(from) {
                        n.votes_refused.push(*from);
                        refused_text = Some(format!(
                            "S{from} refused its vote to S{node} for term {}",
                            n.current_term
                        ));
                    }
                }
                if let Some(text) = refused_text {
                    self.narrate_at(seq, t, text, Focus::Node(*from), Tone::Election);
                }
            }
            Event::TimerReset {
                node,
                election_deadline_ms,
            } => {
                if let Some(n) = self.node_mut(*node) {
                    n.election_deadline_ms = Some(*election_deadline_ms);
                }
            }
            Event::EntriesAppended { node, entries } => {
                let mut broken = false;
                if let Some(n) = self.node_mut(*node) {
                    for e in entries {
                        let at = e.index.saturating_sub(1) as usize;
                        if e.index == 0 || at > n.log.len() {
                            broken = true;
                            continue;
                        }
                        n.log.truncate(at);
                        n.log.push(LogEntryView::from(e));
                    }
                    n.synced_index = n.synced_index.min(n.last_index());
                }
                self.needs_resync |= broken;
            }
            Event::EntriesTruncated { node, from_index } => {
                if let Some(n) = self.node_mut(*node) {
                    let keep = from_index.saturating_sub(1);
                    let removed = n.last_index().saturating_sub(keep);
                    n.log.truncate(keep as usize);
                    n.synced_index = n.synced_index.min(keep);
                    let text = format!(
                        "S{node} removed {} conflicting {} from index {from_index} on",
                        removed,
                        plural(removed, "entry", "entries")
                    );
                    self.narrate_at(
                        seq,
                        t,
                        text,
                        Focus::NodeEntry(*node, *from_index),
                        Tone::Warning,
                    );
                }
            }
            Event::EntriesPersisted { node, synced_index } => {
                if let Some(n) = self.node_mut(*node) {
                    n.synced_index = (*synced_index).min(n.last_index());
                }
            }
            Event::CommitAdvanced { node, commit_index } => {
                self.commit_advanced(seq, t, *node, *commit_index)
            }
            Event::EntryApplied { node, index, value } => {
                self.entry_applied(seq, t, *node, *index, *value)
            }
            Event::ProgressUpdated {
                leader,
                peer,
                next_index,
                match_index,
            } => {
                if let Some(n) = self.node_mut(*leader) {
                    n.progress.insert(
                        *peer,
                        PeerProgress {
                            next_index: *next_index,
                            match_index: *match_index,
                        },
                    );
                }
            }
            Event::ClientRequest {
                node,
                command,
                request_id,
            } => {
                self.requests.insert(
                    *request_id,
                    RequestTrack {
                        command: command.clone(),
                        node: *node,
                        index: None,
                    },
                );
                // Only recent requests are ever looked up again (their acceptance follows soon).
                while self.requests.len() > REQUESTS_MAX {
                    self.requests.pop_first();
                }
                let text = format!("A client sent \"{command}\" to S{node}");
                self.narrate_at(seq, t, text, Focus::Node(*node), Tone::Client);
            }
            Event::ProposalAccepted {
                node,
                request_id,
                index,
                term,
            } => {
                let command = match self.requests.get_mut(request_id) {
                    Some(r) => {
                        r.index = Some(*index);
                        format!("\"{}\"", r.command)
                    }
                    None => "a request".to_string(),
                };
                let text = format!(
                    "S{node}, the leader, appended {command} as entry {index} in term {term}"
                );
                self.narrate_at(seq, t, text, Focus::NodeEntry(*node, *index), Tone::Client);
            }
            Event::ProposalRejected {
                node,
                request_id,
                reason,
                ..
            } => {
                let command = self
                    .requests
                    .get(request_id)
                    .map(|r| format!("\"{}\"", r.command))
                    .unwrap_or_else(|| "a request".to_string());
                let text = format!("S{node} refused {command}: {reason}");
                self.narrate_at(seq, t, text, Focus::Node(*node), Tone::Warning);
            }
            Event::NodeCrashed { node } => {
                if let Some(n) = self.node_mut(*node) {
                    n.crash();
                    let text = format!(
                        "S{node} crashed: it forgets its commit index and state machine; its disk \
                         (term, vote, log) survives"
                    );
                    self.narrate_at(seq, t, text, Focus::Node(*node), Tone::Fault);
                }
            }
            Event::PowerLost {
                node,
                synced_index,
                lost_entries,
            } => {
                if let Some(n) = self.node_mut(*node) {
                    n.crash();
                    n.log.truncate(*synced_index as usize);
                    n.synced_index = (*synced_index).min(n.last_index());
                    let text = if *lost_entries == 0 {
                        format!("S{node} lost power; every entry was already on its disk")
                    } else {
                        format!(
                            "S{node} lost power: {lost_entries} {} not yet synced to disk {} gone",
                            plural(*lost_entries, "entry", "entries"),
                            plural(*lost_entries, "is", "are")
                        )
                    };
                    self.narrate_at(seq, t, text, Focus::Node(*node), Tone::Fault);
                }
            }
            Event::NodeRestarted {
                node,
                term,
                last_index,
            } => {
                if let Some(n) = self.node_mut(*node) {
                    n.crash();
                    n.up = true;
                    n.storage_error = None;
                    n.current_term = *term;
                    n.log.truncate(*last_index as usize);
                    n.synced_index = n.last_index();
                    let broken = n.last_index() != *last_index;
                    let text = format!(
                        "S{node} restarted from its disk: term {term}, {last_index} {}",
                        plural(*last_index, "entry", "entries")
                    );
                    self.needs_resync |= broken;
                    self.narrate_at(seq, t, text, Focus::Node(*node), Tone::Fault);
                }
            }
            Event::StorageFailed { node, error } => {
                if let Some(n) = self.node_mut(*node) {
                    n.crash();
                    n.storage_error = Some(error.clone());
                    let text = format!("S{node}'s disk failed and it stopped: {error}");
                    self.narrate_at(seq, t, text, Focus::Node(*node), Tone::Fault);
                }
            }
            Event::NetworkChanged { network } => {
                let sentences = describe_network_change(&self.network, network);
                self.network = network.clone();
                for (text, focus) in sentences {
                    self.narrate_at(seq, t, text, focus, Tone::Network);
                }
            }
            Event::ControlChanged { paused, speed } => {
                let mut sentences = Vec::new();
                if *paused != self.paused {
                    sentences.push(if *paused { "Paused" } else { "Resumed" }.to_string());
                }
                if (*speed - self.speed).abs() > f64::EPSILON {
                    sentences.push(format!("Speed set to {}", format_speed(*speed)));
                }
                self.paused = *paused;
                self.speed = *speed;
                for text in sentences {
                    self.narrate_at(seq, t, text, Focus::None, Tone::Control);
                }
            }
        }
        Applied::Yes
    }

    fn advance_time(&mut self, time_ms: u64) {
        self.time_ms = self.time_ms.max(time_ms);
        let horizon = self.time_ms.saturating_sub(GHOST_KEEP_MS);
        while self.ghosts.front().is_some_and(|g| g.lost_at_ms < horizon) {
            self.ghosts.pop_front();
        }
    }

    fn role_changed(
        &mut self,
        seq: u64,
        t: u64,
        node: NodeId,
        role: Role,
        term: Term,
        leader_id: Option<NodeId>,
    ) {
        let cluster_size = self.nodes.len() as NodeId;
        let mut self_leaders_insert = None;
        let Some(n) = self.node_mut(node) else {
            return;
        };
        let (before_role, before_term) = (n.role, n.current_term);
        let timed_out = std::mem::take(&mut n.timed_out);
        if term > n.current_term {
            n.voted_for = None;
        }
        n.current_term = term;
        n.role = role;
        n.leader_id = leader_id;
        n.votes_refused.clear();
        let last_index = n.last_index();
        let sentence = match role {
            Role::Candidate => {
                n.voted_for = Some(node);
                n.votes = vec![node];
                n.progress.clear();
                Some((
                    if timed_out {
                        format!("S{node} timed out and started an election for term {term}")
                    } else {
                        format!("S{node} started an election for term {term}")
                    },
                    Tone::Election,
                ))
            }
            Role::Leader => {
                self_leaders_insert = Some((term, node));
                let votes = std::mem::take(&mut n.votes);
                n.election_deadline_ms = None;
                // Figure 2: "nextIndex … initialized to leader last log index + 1; matchIndex
                // … initialized to 0". The core reports no ProgressUpdated for this.
                n.progress = (1..=cluster_size)
                    .filter(|p| *p != node)
                    .map(|p| {
                        (
                            p,
                            PeerProgress {
                                next_index: last_index + 1,
                                match_index: 0,
                            },
                        )
                    })
                    .collect();
                let from = if votes.is_empty() {
                    String::new()
                } else {
                    format!(
                        " with votes from {}",
                        votes
                            .iter()
                            .map(|v| format!("S{v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                Some((
                    format!("S{node} is leader for term {term}{from}"),
                    Tone::Leader,
                ))
            }
            Role::Follower => {
                n.votes.clear();
                n.progress.clear();
                match before_role {
                    Role::Leader => Some((
                        format!("S{node} stepped down: it saw term {term}, newer than its {before_term}"),
                        Tone::Election,
                    )),
                    Role::Candidate if term == before_term => Some((
                        match leader_id {
                            Some(l) => format!(
                                "S{node} gave up its candidacy: S{l} won term {term}"
                            ),
                            None => format!("S{node} gave up its candidacy in term {term}"),
                        },
                        Tone::Election,
                    )),
                    Role::Candidate => Some((
                        format!("S{node} gave up its candidacy: it saw term {term}"),
                        Tone::Election,
                    )),
                    Role::Follower => None,
                }
            }
        };
        if let Some((term, leader)) = self_leaders_insert {
            self.leaders_by_term.insert(term, leader);
        }
        if let Some((text, tone)) = sentence {
            self.narrate_at(seq, t, text, Focus::Node(node), tone);
        }
    }

    fn commit_advanced(&mut self, seq: u64, t: u64, node: NodeId, commit_index: LogIndex) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.commit_index = commit_index.min(n.last_index());
        let known = self.committed.len() as LogIndex;
        let Some(n) = self.node(node) else { return };
        if n.commit_index <= known {
            return;
        }
        let new: Vec<LogEntryView> = n.log[known as usize..n.commit_index as usize].to_vec();
        let (first, last) = (known + 1, n.commit_index);
        self.committed.extend(new);
        let text = if first == last {
            let what = self
                .committed
                .last()
                .map(|e| e.command.clone())
                .unwrap_or_default();
            format!("Entry {last} ({what}) is committed: a majority has it on disk")
        } else {
            format!("Entries {first}–{last} are committed: a majority has them on disk")
        };
        self.narrate_at(seq, t, text, Focus::Entry(last), Tone::Log);
    }

    fn entry_applied(&mut self, seq: u64, t: u64, node: NodeId, index: LogIndex, value: i64) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.last_applied = index;
        n.value = value;
        match self.applied_values.get(&index) {
            None => {
                self.applied_values.insert(index, (node, value));
            }
            Some(&(first_node, first_value)) if first_value != value => {
                if self.divergent.insert(index) {
                    let what = self
                        .committed
                        .get((index as usize).wrapping_sub(1))
                        .map(|e| format!(" ({})", e.command))
                        .unwrap_or_default();
                    let text = format!(
                        "Replicas disagree! After entry {index}{what} S{node} holds {value} but \
                         S{first_node} holds {first_value}: each replica ran the request itself"
                    );
                    self.narrate_at(seq, t, text, Focus::Entry(index), Tone::Warning);
                }
            }
            Some(_) => {}
        }
    }

    fn narrate_at(&mut self, seq: u64, time_ms: u64, text: String, focus: Focus, tone: Tone) {
        let id = self.narration_next_id;
        self.narration_next_id += 1;
        self.narration.push_front(Narration {
            id,
            seq,
            time_ms,
            text,
            focus,
            tone,
        });
        self.narration.truncate(NARRATION_MAX);
    }

    /// Add the page's own line to the narration (e.g. "lost the connection").
    pub fn note(&mut self, text: String, tone: Tone) {
        let (seq, t) = (self.seq, self.time_ms);
        self.narrate_at(seq, t, text, Focus::None, tone);
    }

    /// True when replicas computed different values for entry `index`.
    pub fn is_divergent(&self, index: LogIndex) -> bool {
        self.divergent.contains(&index)
    }
}

/// "1 server", "5 servers".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n, one, many))
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// "heartbeat", "AppendEntries with 2 entries", "vote reply (granted)", …
pub fn describe_kind(flight: &InFlight) -> String {
    match &flight.message.body {
        MessageBody::RequestVote { .. } => "RequestVote".to_string(),
        MessageBody::RequestVoteResponse { vote_granted } => format!(
            "RequestVote reply ({})",
            if *vote_granted { "granted" } else { "refused" }
        ),
        MessageBody::AppendEntries { entries, .. } if entries.is_empty() => {
            "heartbeat (empty AppendEntries)".to_string()
        }
        MessageBody::AppendEntries { entries, .. } => format!(
            "AppendEntries with {} {}",
            entries.len(),
            plural(entries.len() as u64, "entry", "entries")
        ),
        MessageBody::AppendEntriesResponse { success, .. } => format!(
            "AppendEntries reply ({})",
            if *success { "success" } else { "rejected" }
        ),
        MessageBody::ClientRequest { command, .. } => format!("forwarded request \"{command}\""),
    }
}

/// The speed as people say it: "1×", "1/100×", "max".
pub fn format_speed(speed: f64) -> String {
    if speed <= 0.0 {
        return "max".to_string();
    }
    if speed >= 1.0 {
        let rounded = (speed * 10.0).round() / 10.0;
        return format!("{rounded}×");
    }
    format!("1/{}×", (1.0 / speed).round() as u64)
}

fn describe_network_change(old: &NetworkView, new: &NetworkView) -> Vec<(String, Focus)> {
    let mut out = Vec::new();
    let healed_everything = new.partitions.is_empty()
        && new.cut_links.is_empty()
        && (!old.partitions.is_empty() || !old.cut_links.is_empty());
    if healed_everything {
        out.push((
            "The network is healed: every link works again".to_string(),
            Focus::None,
        ));
    } else {
        if new.partitions != old.partitions {
            if new.partitions.is_empty() {
                out.push(("The partition is healed".to_string(), Focus::None));
            } else {
                let groups = new
                    .partitions
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|id| format!("S{id}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                out.push((format!("The network is partitioned: {groups}"), Focus::None));
            }
        }
        let old_cuts: BTreeSet<[NodeId; 2]> = old.cut_links.iter().copied().collect();
        let new_cuts: BTreeSet<[NodeId; 2]> = new.cut_links.iter().copied().collect();
        let added: Vec<[NodeId; 2]> = new_cuts.difference(&old_cuts).copied().collect();
        let removed: Vec<[NodeId; 2]> = old_cuts.difference(&new_cuts).copied().collect();
        // Isolating a node cuts 2(n-1) links at once: say it in one sentence.
        let mut isolated = BTreeSet::new();
        for &[a, b] in &added {
            for x in [a, b] {
                let all_cut = new_cuts.iter().filter(|l| l[0] == x || l[1] == x).count();
                let mine = added.iter().filter(|l| l[0] == x || l[1] == x).count();
                if mine >= 2 && all_cut == mine && mine == added.len() {
                    isolated.insert(x);
                }
            }
        }
        if let Some(&x) = isolated.iter().next().filter(|_| isolated.len() == 1) {
            out.push((
                format!("S{x} is isolated: every link to and from it is cut"),
                Focus::Node(x),
            ));
        } else {
            for pair in describe_links(&added) {
                out.push((format!("Link {} cut", pair.0), pair.1));
            }
        }
        for pair in describe_links(&removed) {
            out.push((format!("Link {} restored", pair.0), pair.1));
        }
    }
    if (new.loss_probability - old.loss_probability).abs() > 1e-9 {
        out.push((
            format!("Message loss set to {:.0}%", new.loss_probability * 100.0),
            Focus::None,
        ));
    }
    if (new.duplicate_probability - old.duplicate_probability).abs() > 1e-9 {
        out.push((
            format!(
                "Message duplication set to {:.0}%",
                new.duplicate_probability * 100.0
            ),
            Focus::None,
        ));
    }
    if new.latency_ms_min != old.latency_ms_min || new.latency_ms_max != old.latency_ms_max {
        out.push((
            format!(
                "Latency set to {}–{} ms",
                new.latency_ms_min, new.latency_ms_max
            ),
            Focus::None,
        ));
    }
    out
}

/// Group directed links into "S1 ↔ S2" (both ways) and "S1 → S2" (one way).
fn describe_links(links: &[[NodeId; 2]]) -> Vec<(String, Focus)> {
    let set: BTreeSet<[NodeId; 2]> = links.iter().copied().collect();
    let mut out = Vec::new();
    for &[a, b] in &set {
        if set.contains(&[b, a]) {
            if a < b {
                out.push((format!("S{a} ↔ S{b}"), Focus::Link(a, b)));
            }
        } else {
            out.push((format!("S{a} → S{b}"), Focus::Link(a.min(b), a.max(b))));
        }
    }
    out
}
