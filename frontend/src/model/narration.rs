//! The story: what a narration item is (its sentence, what it points at, how it is styled), the
//! bounded newest-first list the view keeps, and every sentence the reducer writes, as plain
//! functions of what happened. Must not change the cluster's state: handlers in `events` decide
//! what happened and call in here only for the words.

use crate::decimal::Fixed;
use shared::protocol::{
    AppendEntries, AppendEntriesResponse, ForwardedRequest, RequestVote, RequestVoteResponse,
};
use shared::protocol::{InFlight, MessageBody, MessageId};
use shared::trace::answers::Reason;
use shared::types::{ClientSerial, LogIndex, LogModel, NodeId, Role, Term};

use super::ClusterView;

/// Narration items kept (newest first); older ones fall off the end.
pub const NARRATION_MAX: usize = 300;

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

impl ClusterView {
    /// Add a sentence at the front of the story, dropping the oldest beyond [`NARRATION_MAX`].
    pub(super) fn narrate_at(
        &mut self,
        seq: u64,
        time_ms: u64,
        text: String,
        focus: Focus,
        tone: Tone,
    ) {
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
        self.changes.narration = true;
    }

    /// Add the page's own line to the narration (e.g. "lost the connection").
    pub fn note(&mut self, text: String, tone: Tone) {
        let (seq, t) = (self.seq, self.time_ms);
        self.narrate_at(seq, t, text, Focus::None, tone);
    }

    /// The page's own engine started from what this browser had stored (a reload): say so when
    /// its servers hold entries, and why nothing shows committed at first — a commit index is
    /// volatile (Figure 2), so every server restarts at 0 until a leader commits again. Without
    /// it a reload looked like data loss.
    pub fn note_recovered_in_browser(&mut self) {
        let (entries, term) = (self.max_index(), self.max_term());
        if entries.get() == 0 {
            return;
        }
        let text = format!(
            "Recovered from this browser's storage: every server restarted from what its disk \
             had synced (up to term {term}, {}). Commit indexes are not stored: entries show as \
             committed again once a leader commits",
            count(entries.get(), "entry", "entries")
        );
        self.note(text, Tone::Control);
    }
}

/// "1 server", "5 servers".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n, one, many))
}

pub(super) fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// The first letter in capitals. The page's own words are ASCII: `char::to_uppercase` would
/// bring core's whole Unicode case table into the page module for them.
pub fn capitalize(s: &str) -> String {
    let mut s = s.to_string();
    if let Some(first) = s.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    s
}

/// "heartbeat", "AppendEntries with 2 entries", "vote reply (granted)", …
pub fn describe_kind(flight: &InFlight) -> String {
    match &flight.message.body {
        MessageBody::RequestVote(RequestVote { .. }) => "RequestVote".to_string(),
        MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted }) => format!(
            "RequestVote reply ({})",
            if *vote_granted { "granted" } else { "refused" }
        ),
        MessageBody::AppendEntries(AppendEntries { entries, .. }) if entries.is_empty() => {
            "heartbeat (empty AppendEntries)".to_string()
        }
        MessageBody::AppendEntries(AppendEntries { entries, .. }) => format!(
            "AppendEntries with {} {}",
            entries.len(),
            plural(entries.len() as u64, "entry", "entries")
        ),
        MessageBody::AppendEntriesResponse(AppendEntriesResponse { success, .. }) => format!(
            "AppendEntries reply ({})",
            if *success { "success" } else { "rejected" }
        ),
        MessageBody::ClientRequest(ForwardedRequest { command, .. }) => {
            format!("forwarded request \"{command}\"")
        }
    }
}

/// The speed as people say it: "1×", "1/100×", "max".
pub fn format_speed(speed: f64) -> String {
    if speed <= 0.0 {
        return "max".to_string();
    }
    if speed >= 1.0 {
        // Tenths, without a ".0" for a whole speed ("1×", "1.5×").
        let tenths = (speed * 10.0).round() as u64;
        return match tenths % 10 {
            0 => format!("{}×", tenths / 10),
            _ => format!("{}×", Fixed(speed, 1)),
        };
    }
    format!("1/{}×", (1.0 / speed).round() as u64)
}

// The sentences, one per happening, in the order of `Event`'s variants.

/// The page's first line: what it is watching.
pub fn watching(nodes: usize, seed: u64, leader: Option<NodeId>, committed: LogIndex) -> String {
    let leader = leader.map_or("no leader yet".to_string(), |l| format!("S{l} leads"));
    format!(
        "Watching {} (seed {seed}): {leader}, {}",
        count(nodes as u64, "server", "servers"),
        count(committed.get(), "committed entry", "committed entries"),
    )
}

/// A snapshot of another run replaced the view.
pub(super) fn new_cluster(nodes: usize, seed: u64, log_model: LogModel) -> String {
    format!(
        "A new cluster: {}, seed {seed}, the log holds {}",
        count(nodes as u64, "server", "servers"),
        match log_model {
            LogModel::Command => "requests, such as \"add 5\"",
            LogModel::State => "state changes, such as \"value = 5\"",
        }
    )
}

/// The server restarted and recovered the cluster from its disks.
pub(super) fn recovered_cluster(nodes: usize, seed: u64, term: Term, entries: LogIndex) -> String {
    format!(
        "The server restarted and recovered the cluster from its disks: {}, seed {seed}, up to \
         term {term}, {}. Every server started again from what it had synced, crashed ones \
         too, and the network is whole again; commit indexes are volatile, so entries show as \
         committed again once a leader commits",
        count(nodes as u64, "server", "servers"),
        count(entries.get(), "entry", "entries")
    )
}

/// How the run shown was replaced under the page (`ClusterView::moved`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    /// The same run, later (a lesson's next stop).
    Ahead,
    /// The same run, taken back (a fork, an undo, a lesson's earlier stop).
    Back,
    /// Another run of the same cluster, and the server's reason (a loaded trace, a branch
    /// brought back, an undone fork).
    Another(Option<Reason>),
}

/// The run was replaced under the page (`ClusterView::moved`: a lesson's next or earlier pause
/// point, another page's fork or loaded trace): where it is now and what differs from what the
/// page showed, since the events in between were not seen one by one. "Jumped ahead to
/// t=2.415 s: S1 is down; S3 leads term 2; 5 committed entries"; `None` for the same instant
/// with nothing changed.
pub(super) fn jumped(before: &ClusterView, after: &ClusterView, jump: Jump) -> Option<String> {
    let when = Fixed(after.time_ms as f64 / 1000.0, 3);
    let head = match jump {
        Jump::Back => format!("Back to t={when} s"),
        Jump::Ahead => format!("Jumped ahead to t={when} s"),
        Jump::Another(Some(Reason::Restored)) => {
            format!("A branch was brought back, at t={when} s")
        }
        Jump::Another(Some(Reason::Undo)) => {
            format!("An undo brought back the run left, at t={when} s")
        }
        Jump::Another(_) => format!("A trace was loaded, at t={when} s"),
    };
    let was_up = |id: NodeId| before.node(id).is_some_and(|n| n.up);
    let names = |ids: Vec<NodeId>| {
        let names: Vec<String> = ids.iter().map(|id| format!("S{id}")).collect();
        (names.join(" and "), ids.len())
    };
    let mut parts = Vec::new();
    let (down, n) = names(
        after
            .nodes
            .iter()
            .filter(|n| !n.up && was_up(n.id))
            .map(|n| n.id)
            .collect(),
    );
    if n > 0 {
        parts.push(format!("{down} {} down", plural(n as u64, "is", "are")));
    }
    let (back, n) = names(
        after
            .nodes
            .iter()
            .filter(|n| n.up && !was_up(n.id))
            .map(|n| n.id)
            .collect(),
    );
    if n > 0 {
        parts.push(format!(
            "{back} {} running again",
            plural(n as u64, "is", "are")
        ));
    }
    // The leader and its term: a new leader, or the same one re-elected in a later term.
    let leading = |view: &ClusterView| {
        let leader = view.leader()?;
        Some((
            leader,
            view.node(leader).map_or(Term(0), |n| n.current_term),
        ))
    };
    // Partitions first: what a lesson's "the network splits" step did.
    match (
        before.network.partitions.is_empty(),
        after.network.partitions.is_empty(),
    ) {
        (true, false) => parts.push(format!(
            "the network is split into {}",
            after
                .network
                .partitions
                .iter()
                .map(|g| names(g.clone()).0)
                .collect::<Vec<_>>()
                .join(" | ")
        )),
        (false, true) => parts.push("the network is whole again".to_string()),
        _ => {}
    }
    match (leading(before), leading(after)) {
        (was, Some((now, term))) if was != Some((now, term)) => {
            parts.push(format!("S{now} leads term {term}"));
        }
        (Some(_), None) => parts.push("no leader".to_string()),
        // No leader before or after: the elections in between still moved the terms on.
        (None, None) if after.max_term() > before.max_term() => {
            let candidates: Vec<String> = after
                .nodes
                .iter()
                .filter(|n| n.up && n.role == Role::Candidate)
                .map(|n| format!("S{}", n.id))
                .collect();
            parts.push(match candidates.is_empty() {
                true => format!("no leader yet, at term {}", after.max_term()),
                false => format!(
                    "no leader yet: {} {} for term {}",
                    candidates.join(" and "),
                    plural(candidates.len() as u64, "stands", "stand"),
                    after.max_term()
                ),
            });
        }
        _ => {}
    }
    let committed = after.commit_index();
    if committed != before.commit_index() {
        parts.push(count(
            committed.get(),
            "committed entry",
            "committed entries",
        ));
    }
    // Entries appended and not committed (what a lesson's question is often about).
    let longest = |v: &ClusterView| v.nodes.iter().map(|n| n.last_index()).max();
    if let Some(last) = longest(after).filter(|l| *l > committed && Some(*l) != longest(before)) {
        let holders: Vec<NodeId> = after
            .nodes
            .iter()
            .filter(|n| n.last_index() == last)
            .map(|n| n.id)
            .collect();
        let (who, n) = names(holders);
        parts.push(format!(
            "{who}'s {} entry {last}, not committed",
            plural(n as u64, "log reaches", "logs reach")
        ));
    }
    match parts.is_empty() {
        // The same instant sent again (a question revealed, a page that fell behind): nothing
        // to tell. Going back is always told: the story after that instant was dropped.
        true if after.time_ms == before.time_ms && jump == Jump::Ahead => None,
        true => Some(head),
        false => Some(format!("{head}: {}", parts.join("; "))),
    }
}

pub(super) fn forwarded(from: NodeId, to: NodeId, command: &str) -> String {
    format!("S{from} forwarded \"{command}\" to the leader, S{to}")
}

pub(super) fn dropped_by_hand(flight: &InFlight) -> String {
    format!(
        "The {} from S{} to S{} was dropped by hand",
        describe_kind(flight),
        flight.from,
        flight.to
    )
}

/// What a role change means, if it is worth a sentence: `before` is the server's (role, term)
/// before the change, `votes` the votes a new leader won with.
pub(super) fn role_changed(
    node: NodeId,
    before: (Role, Term),
    role: Role,
    term: Term,
    leader_id: Option<NodeId>,
    timed_out: bool,
    votes: &[NodeId],
) -> Option<(String, Tone)> {
    let (before_role, before_term) = before;
    match role {
        Role::Candidate if timed_out => Some((
            format!("S{node} timed out and started an election for term {term}"),
            Tone::Election,
        )),
        Role::Candidate => Some((
            format!("S{node} started an election for term {term}"),
            Tone::Election,
        )),
        Role::Leader => {
            let from = if votes.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = votes.iter().map(|v| format!("S{v}")).collect();
                format!(" with votes from {}", names.join(", "))
            };
            Some((
                format!("S{node} is leader for term {term}{from}"),
                Tone::Leader,
            ))
        }
        Role::Follower => {
            let text = match before_role {
                Role::Leader => format!(
                    "S{node} stepped down: it saw term {term}, newer than its {before_term}"
                ),
                Role::Candidate if term == before_term => match leader_id {
                    Some(l) => format!("S{node} gave up its candidacy: S{l} won term {term}"),
                    None => format!("S{node} gave up its candidacy in term {term}"),
                },
                Role::Candidate => format!("S{node} gave up its candidacy: it saw term {term}"),
                Role::Follower => return None,
            };
            Some((text, Tone::Election))
        }
    }
}

pub(super) fn voted(voter: NodeId, candidate: NodeId, term: Term) -> String {
    format!("S{voter} voted for S{candidate} in term {term}")
}

pub(super) fn vote_refused(from: NodeId, node: NodeId, term: Term) -> String {
    format!("S{from} refused its vote to S{node} for term {term}")
}

/// Log repair as it happens: "S4 refused AppendEntries at 7: its entry 6 is from term 2; the
/// leader backs up to 5". `prev` is the request's `prev_log_index` (the new entries start after
/// it); `conflict_index` is the follower's hint (its log's end + 1 when it is too short).
pub(super) fn append_refused(
    follower: NodeId,
    prev: LogIndex,
    conflict_term: Option<Term>,
    conflict_index: LogIndex,
    next_index: LogIndex,
) -> String {
    let why = match conflict_term {
        Some(t) => format!("its entry {prev} is from term {t}"),
        None if conflict_index <= 1 => "its log is empty".to_string(),
        None => format!("its log ends at entry {}", conflict_index.get() - 1),
    };
    format!(
        "S{follower} refused AppendEntries at {}: {why}; the leader backs up to {next_index}",
        prev.get() + 1
    )
}

pub(super) fn truncated(node: NodeId, removed: u64, from_index: LogIndex) -> String {
    format!(
        "S{node} removed {removed} conflicting {} from index {from_index} on",
        plural(removed, "entry", "entries")
    )
}

/// Entries `first..=last` became committed; `what` is the command when there is one entry.
pub(super) fn committed(first: LogIndex, last: LogIndex, what: &str) -> String {
    if first == last {
        format!("Entry {last} ({what}) is committed: a majority has it on disk")
    } else {
        format!("Entries {first}–{last} are committed: a majority has them on disk")
    }
}

/// Two replicas computed different values after `index` (`what` names its command, if known);
/// `since`: they already disagreed from that entry on (and its command, if known).
pub(super) fn replicas_disagree(
    index: LogIndex,
    what: Option<&str>,
    node: NodeId,
    value: i64,
    first: (NodeId, i64),
    since: Option<(LogIndex, Option<String>)>,
) -> String {
    let what = what.map(|c| format!(" ({c})")).unwrap_or_default();
    let (first_node, first_value) = first;
    match since {
        Some((since, cause)) => {
            let cause = cause.map(|c| format!(" ({c})")).unwrap_or_default();
            format!(
                "Replicas still disagree after entry {index}{what}: S{node} holds {value}, \
                 S{first_node} {first_value}, as they have since entry {since}{cause}"
            )
        }
        None => format!(
            "Replicas disagree! After entry {index}{what} S{node} holds {value} but S{first_node} \
             holds {first_value}: each replica ran the request itself"
        ),
    }
}

pub(super) fn client_sent(node: NodeId, command: &str) -> String {
    format!("A client sent \"{command}\" to S{node}")
}

/// `command` is the request's text if the page still remembers it.
pub(super) fn proposal_accepted(
    node: NodeId,
    command: Option<&str>,
    index: LogIndex,
    term: Term,
) -> String {
    let command = quoted_or_a_request(command);
    format!("S{node}, the leader, appended {command} as entry {index} in term {term}")
}

/// Raft §8: the leader's log already holds this request (same client and serial).
pub(super) fn duplicate_request(
    node: NodeId,
    command: Option<&str>,
    index: LogIndex,
    term: Term,
) -> String {
    let command = quoted_or_a_request(command);
    format!(
        "S{node}, the leader, already holds {command} as entry {index} (term {term}): duplicate \
         request ignored, nothing appended"
    )
}

/// Raft §8: a committed entry repeats a request this state machine executed before.
pub(super) fn duplicate_skipped(node: NodeId, index: LogIndex, client: ClientSerial) -> String {
    format!(
        "S{node} skips entry {index}: client {} already had request {} executed, so the \
         duplicate request is ignored (applied once)",
        client.client_id, client.serial
    )
}

pub(super) fn proposal_rejected(node: NodeId, command: Option<&str>, reason: &str) -> String {
    let command = quoted_or_a_request(command);
    format!("S{node} refused {command}: {reason}")
}

fn quoted_or_a_request(command: Option<&str>) -> String {
    command.map_or("a request".to_string(), |c| format!("\"{c}\""))
}

pub(super) fn crashed(node: NodeId) -> String {
    format!(
        "S{node} crashed: it forgets its commit index and state machine; its disk (term, vote, \
         log) survives"
    )
}

pub(super) fn power_lost(node: NodeId, lost_entries: u64) -> String {
    if lost_entries == 0 {
        format!("S{node} lost power; every entry was already on its disk")
    } else {
        format!(
            "S{node} lost power: {lost_entries} {} not yet synced to disk {} gone",
            plural(lost_entries, "entry", "entries"),
            plural(lost_entries, "is", "are")
        )
    }
}

pub(super) fn restarted(node: NodeId, term: Term, last_index: LogIndex) -> String {
    format!(
        "S{node} restarted from its disk: term {term}, {last_index} {}",
        plural(last_index.get(), "entry", "entries")
    )
}

pub(super) fn storage_failed(node: NodeId, error: &str) -> String {
    format!("S{node}'s disk failed and it stopped: {error}")
}

/// "Paused", "Speed set to 1/10×": one sentence per control that changed.
pub(super) fn control_changed(before: (bool, f64), paused: bool, speed: f64) -> Vec<String> {
    let mut sentences = Vec::new();
    if paused != before.0 {
        sentences.push(if paused { "Paused" } else { "Resumed" }.to_string());
    }
    if (speed - before.1).abs() > f64::EPSILON {
        sentences.push(format!("Speed set to {}", format_speed(speed)));
    }
    sentences
}
