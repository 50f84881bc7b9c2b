//! The view model: what the page knows about the cluster, rebuilt from a `Hello`/`Snapshot` and
//! advanced by each `SimEvent` (`apply`), plus the narration it writes along the way. Pure data
//! and functions: no Leptos, no browser, no clock of its own — the UI decides what "now" is and
//! only reads from here (and takes the list of parts that changed, to redraw only those).
//!
//! The rooms: this file holds the state and dispatches each event; `events` has one small
//! handler per event; `narration` the story and its sentences; `network` the links and how a
//! network change is told; `node` one server; `messages` messages and ghosts as drawn;
//! `queries` read-only questions; `column` one index read across the servers; `changes` what changed since the page last looked;
//! `log_ghosts` the entries a server lost (overwritten, or never synced), drawn for a while;
//! `moments` the key moments a teacher may pause at, `auto_pause` whether the run slows down or
//! pauses there; `step_story` the sentences of a hand step.

mod auto_pause;
mod changes;
mod column;
mod events;
mod log_ghosts;
mod messages;
mod moments;
mod narration;
mod network;
mod node;
mod queries;
pub mod safety;
mod step_story;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use shared::protocol::{ClusterSnapshot, Event, InFlight, LogEntryView, MessageId};
use shared::protocol::{NetworkView, PeerProgress, SimEvent, Timing};
use shared::trace::answers::Reason;
use shared::tree::IntoTree;
use shared::types::{LogIndex, LogModel, NodeId, Role, Term};

use narration::Jump;

pub use auto_pause::{slow_speed, AtKeyMoments, AutoPause, SLOW_FOR_MS};
pub use changes::Changes;
pub use column::{entry_text, grid_move, Column, ColumnEntry};
pub use log_ghosts::{GhostCause, LogGhost, LOG_GHOSTS_MAX, LOG_GHOST_KEEP_MS};
pub use messages::{flight_fraction, FlightLook, FlightStatus, Ghost, GhostLook, Shape};
pub use moments::KeyMoment;
pub use narration::{capitalize, count, describe_kind, format_speed, watching};
pub use narration::{Focus, Narration, Tone, NARRATION_MAX};
pub use network::{link_blocked, link_cut};
pub use node::NodeState;

/// Lost messages kept as fading ghosts at most.
pub const GHOSTS_MAX: usize = 64;
/// Client requests remembered (by id) to name them when a leader accepts or refuses them.
pub const REQUESTS_MAX: usize = 1_000;
/// A ghost is forgotten this long (virtual ms) after it was lost, whatever the UI's fade does.
pub const GHOST_KEEP_MS: u64 = 5_000;

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

/// What a fresh snapshot turned out to be (see [`ClusterView::resync`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resync {
    /// The same run, caught up (a reconnect, or this viewer fell behind).
    Same,
    /// A new cluster with empty disks (someone chose "New cluster…"): a new story.
    NewCluster,
    /// A new run of the cluster the server recovered from its disks (the server restarted).
    Recovered,
}

/// Why an event was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied.
    Yes,
    /// Already part of the snapshot or applied before (`seq` too low): ignored.
    Duplicate,
}

/// When an event happened: its sequence number and virtual time, stamped on its sentences.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stamp {
    seq: u64,
    time_ms: u64,
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
    /// Entries servers lost (log repair, power loss), oldest first, for a while.
    pub log_ghosts: VecDeque<LogGhost>,
    /// The global committed log: entries known committed, index `i` at position
    /// `i - committed_first_index` (like a server's log, only its newest part may be loaded).
    pub committed: Vec<LogEntryView>,
    /// Index of `committed[0]`.
    pub committed_first_index: LogIndex,
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
    /// The first key moment not yet taken by the page (`moments`).
    key_moment: Option<KeyMoment>,
    /// A refused AppendEntries just delivered to its leader, told once the leader's next
    /// `progress_updated` says where it backs up to (`events::append_refused`).
    repair: Option<events::Repair>,
    narration_next_id: u64,
    /// Parts touched since the page last called `take_changes`.
    changes: Changes,
}

impl ClusterView {
    /// The view of a snapshot (from `Hello` or `Snapshot`).
    pub fn from_snapshot(mut snapshot: ClusterSnapshot) -> ClusterView {
        let warnings = std::mem::take(&mut snapshot.warnings);
        let nodes: Vec<NodeState> = snapshot
            .nodes
            .into_iter()
            .map(NodeState::from_view)
            .collect();
        // The global committed log, as far as any node knows it: committed entries are the same
        // on every node that has them (State Machine Safety), so the furthest one is enough.
        // With windowed logs, that node's loaded part up to its commit index.
        let (committed, committed_first_index) = nodes
            .iter()
            .max_by_key(|n| n.commit_index.min(n.last_index()))
            .map(|n| {
                let commit = n.commit_index.min(n.last_index());
                let first = n.log_first_index.min(commit + 1);
                let entries = first
                    .through(commit)
                    .filter_map(|i| n.entry(i).cloned())
                    .collect();
                (entries, first)
            })
            .unwrap_or((Vec::new(), LogIndex(1)));
        let leaders_by_term = nodes
            .iter()
            .filter(|n| n.up && n.role == Role::Leader)
            .map(|n| (n.current_term, n.id))
            .into_map();
        let mut view = ClusterView {
            seq: snapshot.seq,
            time_ms: snapshot.time_ms,
            seed: snapshot.seed,
            log_model: snapshot.log_model,
            speed: snapshot.speed,
            paused: snapshot.paused,
            timing: snapshot.timing,
            network: snapshot.network,
            nodes,
            messages: snapshot.messages.into_iter().map(|m| (m.id, m)).into_map(),
            ghosts: VecDeque::new(),
            log_ghosts: VecDeque::new(),
            key_moment: None,
            repair: None,
            committed,
            committed_first_index,
            narration: VecDeque::new(),
            requests: BTreeMap::new(),
            leaders_by_term,
            needs_resync: false,
            applied_values: BTreeMap::new(),
            divergent: BTreeSet::new(),
            narration_next_id: 1,
            changes: Changes::all(),
        };
        view.note_warnings(&warnings);
        view
    }

    /// Settings the server allows but warns about (e.g. timeouts too close to settle), said once
    /// when a cluster is first shown.
    fn note_warnings(&mut self, warnings: &[String]) {
        for warning in warnings {
            self.note(format!("Note: {warning}"), Tone::Warning);
        }
    }

    /// Replace the state with a fresh snapshot (reconnect, reset, or the server saw this viewer
    /// fall behind) and say which it was. The narration is kept on a reconnect, with a line saying
    /// what happened, so a teacher does not lose the story; a new run (its `seq` starts again, or
    /// another seed, size or log model) whose servers have nothing on disk is a new cluster and
    /// starts a new story, while one whose servers already hold entries was recovered from disk
    /// (the server restarted) and continues the old story.
    pub fn resync(&mut self, snapshot: ClusterSnapshot) -> Resync {
        // A recovered cluster keeps its seed, size and log model; another one of these is
        // always a new cluster.
        let same_cluster = snapshot.seed == self.seed
            && snapshot.nodes.len() == self.nodes.len()
            && snapshot.log_model == self.log_model;
        let new_run = !same_cluster || snapshot.seq < self.seq;
        let kind = if !new_run {
            Resync::Same
        } else if same_cluster
            && snapshot
                .nodes
                .iter()
                .any(|n| !n.log.is_empty() || n.current_term > 0)
        {
            // Something on disk (an entry, or only a term and a vote): recovered, not new.
            Resync::Recovered
        } else {
            Resync::NewCluster
        };
        self.start_again(snapshot, kind)
    }

    /// Take `snapshot` as `kind` says ([`ClusterView::resync`]), saying which it was.
    fn start_again(&mut self, snapshot: ClusterSnapshot, kind: Resync) -> Resync {
        let new_run = kind != Resync::Same;
        let warnings = snapshot.warnings.clone();
        let mut fresh = ClusterView::from_snapshot(snapshot);
        fresh.narration_next_id = self.narration_next_id;
        if kind != Resync::NewCluster {
            fresh.narration = std::mem::take(&mut self.narration);
        }
        let (nodes, seed, model) = (fresh.nodes.len(), fresh.seed, fresh.log_model);
        let text = match kind {
            Resync::NewCluster => narration::new_cluster(nodes, seed, model),
            Resync::Recovered => {
                let terms = fresh.max_term();
                let entries = fresh.max_index();
                narration::recovered_cluster(nodes, seed, terms, entries)
            }
            Resync::Same => {
                fresh.go_on_from(self);
                "Resynchronised with the server".to_string()
            }
        };
        fresh.note(text, Tone::Control);
        if new_run {
            fresh.note_warnings(&warnings);
        }
        *self = fresh;
        kind
    }

    /// A fresh snapshot on a connection that stayed open (`Snapshot`, not `Hello`): the server
    /// replaced the run under the page (a lesson moved to another pause point, another page
    /// forked or loaded a trace) or sent the state again to a page that fell behind; `why` is
    /// the server's reason, when a page or a script replaced the run. The server did not
    /// restart, so it is never "recovered from disk": a reset, another seed, size or log model,
    /// or a run started again on fresh disks (no entry, term 0), is a new cluster
    /// ([`ClusterView::resync`]). Another run of the same cluster (a loaded trace, a branch
    /// brought back, an undone fork) keeps the story whole and says what came; the same run
    /// taken back drops the sentences about what came after the instant it went back to.
    pub fn moved(&mut self, snapshot: ClusterSnapshot, why: Option<Reason>) -> Resync {
        let same_cluster = snapshot.seed == self.seed
            && snapshot.nodes.len() == self.nodes.len()
            && snapshot.log_model == self.log_model;
        // Fresh disks: no entry and no term anywhere. A lesson's pause point before the first
        // request (empty logs, but an election held) is a step back, not a new cluster.
        let fresh_disks = snapshot
            .nodes
            .iter()
            .all(|n| n.log.is_empty() && n.current_term == 0);
        if why == Some(Reason::Reset) {
            return self.start_again(snapshot, Resync::NewCluster);
        }
        if !same_cluster || (snapshot.seq < self.seq && fresh_disks) {
            return self.resync(snapshot);
        }
        let mut fresh = ClusterView::from_snapshot(snapshot);
        fresh.narration_next_id = self.narration_next_id;
        fresh.narration = std::mem::take(&mut self.narration);
        let went_back = fresh.seq < self.seq;
        let jump = match why {
            Some(Reason::Loaded | Reason::Restored) => Jump::Another(why),
            // An undo that went forward brought back the run a fork had left.
            Some(Reason::Undo) if !went_back => Jump::Another(why),
            _ if went_back => Jump::Back,
            _ => Jump::Ahead,
        };
        match jump {
            // The same run taken back: what was told after that instant has not happened.
            Jump::Back => fresh.forget_after(fresh.seq),
            Jump::Ahead => fresh.go_on_from(self),
            // Another run: nothing of this one was lost in it, and its requests are not ours.
            Jump::Another(_) => {}
        }
        if let Some(text) = narration::jumped(self, &fresh, jump) {
            fresh.note(text, Tone::Control);
        }
        *self = fresh;
        Resync::Same
    }

    /// This snapshot continues the run `before` showed, later: keep its waiting requests and
    /// who led which term, and show what vanished from a log in between (not seen going) as a
    /// ghost.
    fn go_on_from(&mut self, before: &mut ClusterView) {
        self.requests = std::mem::take(&mut before.requests);
        let mut leaders = std::mem::take(&mut before.leaders_by_term);
        leaders.append(&mut self.leaders_by_term);
        self.leaders_by_term = leaders;
        self.bury_vanished(before);
    }

    /// Drop the sentences about events after `seq` (a run taken back to that instant: what they
    /// told has not happened in it). The page's own notes made then go too.
    fn forget_after(&mut self, seq: u64) {
        let before = self.narration.len();
        self.narration.retain(|n| n.seq <= seq);
        if self.narration.len() != before {
            self.changes.narration = true;
        }
    }

    /// The server replaced the run on this page's request (a fork, an undo, a loaded trace):
    /// take the new run's snapshot whole, but keep the story, whose next sentence (the server's
    /// answer) says why. Unlike [`ClusterView::resync`] it does not guess a restart or a reset.
    /// A fork or an undo (`forked`) re-executes the same run up to the new instant, so the
    /// sentences up to it stay true and those after it go; a loaded trace or a branch brought
    /// back is another run, whose story is kept whole (the answer's sentence says what came).
    pub fn replaced(&mut self, snapshot: ClusterSnapshot, forked: bool) {
        let mut fresh = ClusterView::from_snapshot(snapshot);
        fresh.narration_next_id = self.narration_next_id;
        fresh.narration = std::mem::take(&mut self.narration);
        if forked {
            fresh.forget_after(fresh.seq);
        }
        *self = fresh;
    }

    /// Older entries of server `node`, fetched by index range (`GET /api/nodes/{id}/log`) when
    /// the user scrolled to them: put in front of what the page holds if they end right before
    /// it, and in front of the committed log as far as that server had committed them (committed
    /// entries are the same everywhere). Returns how many entries the server's row gained.
    pub fn older_entries(&mut self, node: NodeId, entries: &[LogEntryView]) -> usize {
        let Some(n) = self.node_mut(node) else {
            return 0;
        };
        let added = n.prepend(entries);
        let commit = n.commit_index;
        let committed: Vec<LogEntryView> = entries
            .iter()
            .filter(|e| e.index <= commit && e.index < self.committed_first_index)
            .cloned()
            .collect();
        if committed
            .last()
            .is_some_and(|e| e.index + 1 == self.committed_first_index)
            && committed.windows(2).all(|w| w[1].index == w[0].index + 1)
        {
            self.committed_first_index = committed[0].index;
            let mut all = committed;
            all.append(&mut self.committed);
            self.committed = all;
            self.changes.committed = true;
        }
        added
    }

    /// A `Clock` message: the driver's virtual time, pause state and speed.
    pub fn on_clock(&mut self, time_ms: u64, paused: bool, speed: f64) {
        self.advance_time(time_ms);
        self.set_control(paused, speed);
    }

    /// The parts changed since the last call (everything, right after a snapshot), so the page
    /// redraws only those. Taking them starts a new, empty list.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    /// Mark every part changed, as a fresh snapshot does: the page put back a whole view it kept
    /// aside (the timeline's "Back to live"), so everything drawn may differ.
    pub fn touch_all(&mut self) {
        self.changes = Changes::all();
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
        let at = Stamp {
            seq: ev.seq,
            time_ms: ev.time_ms,
        };
        let commit_before = self.commit_index();
        // Truncations are judged before the entries go, commits after they are known.
        if matches!(ev.event, Event::EntriesTruncated { .. }) {
            let why = self.key_moment_of(&ev.event, commit_before);
            self.note_key_moment(ev.seq, ev.time_ms, why);
        }
        // Stepping a paused run by hand: every step is told, even a quiet one.
        let delivered = match &ev.event {
            Event::MessageDelivered { id, .. } if self.paused => self.messages.get(id).cloned(),
            _ => None,
        };
        self.dispatch(at, ev);
        if let Some(flight) = delivered {
            self.tell_delivery(at, &flight);
        }
        if let (true, Event::EntriesPersisted { node, synced_index }) = (self.paused, &ev.event) {
            self.tell_sync(at, *node, *synced_index);
        }
        if let (true, Event::MessageSent { message }) = (self.paused, &ev.event) {
            self.tell_heartbeat_sent(at, message);
        }
        if !matches!(ev.event, Event::EntriesTruncated { .. }) {
            let why = self.key_moment_of(&ev.event, commit_before);
            self.note_key_moment(ev.seq, ev.time_ms, why);
        }
        Applied::Yes
    }

    /// One event to its handler.
    fn dispatch(&mut self, at: Stamp, ev: &SimEvent) {
        match &ev.event {
            Event::MessageSent { message } => self.message_sent(at, message),
            Event::MessageDelivered { id, .. } => self.message_delivered(at, *id),
            Event::MessageDropped { id, reason, .. } => self.message_dropped(at, *id, *reason),
            Event::ElectionTimeout { node, .. } => self.election_timeout(*node),
            Event::RoleChanged {
                node,
                role,
                term,
                leader_id,
            } => self.role_changed(at, *node, *role, *term, *leader_id),
            Event::VoteGranted {
                voter,
                candidate,
                term,
            } => self.vote_granted(at, *voter, *candidate, *term),
            Event::VoteReceived {
                node,
                from,
                granted,
                votes,
            } => self.vote_received(at, *node, *from, *granted, votes),
            Event::TimerReset {
                node,
                election_deadline_ms,
            } => self.timer_reset(*node, *election_deadline_ms),
            Event::EntriesAppended { node, entries } => {
                self.entries_appended(*node, entries);
                self.name_overwriters(*node, entries);
            }
            Event::EntriesTruncated { node, from_index } => {
                let cause = GhostCause::Overwritten { by: None };
                self.bury(*node, *from_index, cause, ev.time_ms);
                self.entries_truncated(at, *node, *from_index)
            }
            Event::EntriesPersisted { node, synced_index } => {
                self.entries_persisted(*node, *synced_index)
            }
            Event::CommitAdvanced { node, commit_index } => {
                self.commit_advanced(at, *node, *commit_index)
            }
            Event::EntryApplied { node, index, value } => {
                self.entry_applied(at, *node, *index, *value)
            }
            Event::ProgressUpdated {
                leader,
                peer,
                next_index,
                match_index,
            } => {
                let progress = PeerProgress {
                    next_index: *next_index,
                    match_index: *match_index,
                };
                self.progress_updated(at, *leader, *peer, progress)
            }
            Event::ClientRequest {
                node,
                command,
                request_id,
                ..
            } => self.client_request(at, *node, command, *request_id),
            Event::ProposalAccepted {
                node,
                request_id,
                index,
                term,
                duplicate,
            } => self.proposal_accepted(at, *node, *request_id, *index, *term, *duplicate),
            Event::DuplicateIgnored {
                node,
                index,
                client,
            } => {
                let text = narration::duplicate_skipped(*node, *index, *client);
                self.say(at, text, Focus::NodeEntry(*node, *index), Tone::Client);
            }
            Event::ProposalRejected {
                node,
                request_id,
                reason,
                ..
            } => self.proposal_rejected(at, *node, *request_id, reason),
            Event::NodeCrashed { node } => self.node_crashed(at, *node),
            Event::PowerLost {
                node,
                synced_index,
                lost_entries,
            } => {
                self.bury(*node, *synced_index + 1, GhostCause::PowerLoss, ev.time_ms);
                self.power_lost(at, *node, *synced_index, *lost_entries)
            }
            Event::NodeRestarted {
                node,
                term,
                last_index,
            } => self.node_restarted(at, *node, *term, *last_index),
            Event::StorageFailed { node, error, .. } => self.storage_failed(at, *node, error),
            Event::NetworkChanged { network } => self.network_changed(at, network),
            Event::ControlChanged { paused, speed } => self.control_changed(at, *paused, *speed),
        }
    }

    /// Server `id` to change; marks it changed (every handler changes servers through here).
    fn node_mut(&mut self, id: NodeId) -> Option<&mut NodeState> {
        let node = id.checked_slot().and_then(|i| self.nodes.get_mut(i))?;
        self.changes.nodes.insert(id);
        Some(node)
    }

    fn advance_time(&mut self, time_ms: u64) {
        self.time_ms = self.time_ms.max(time_ms);
        let horizon = self.time_ms.saturating_sub(GHOST_KEEP_MS);
        while self.ghosts.front().is_some_and(|g| g.lost_at_ms < horizon) {
            self.ghosts.pop_front();
            self.changes.ghosts = true;
        }
        self.fade_log_ghosts(self.time_ms);
    }

    fn set_control(&mut self, paused: bool, speed: f64) {
        if self.paused != paused || self.speed != speed {
            self.changes.control = true;
        }
        self.paused = paused;
        self.speed = speed;
    }

    /// A sentence about the event stamped `at`.
    fn say(&mut self, at: Stamp, text: String, focus: Focus, tone: Tone) {
        self.narrate_at(at.seq, at.time_ms, text, focus, tone);
    }
}
