//! The history routes' answers (docs/api.md, "History"), built alike by the server and by the
//! in-browser engine from a run's trace: where a fork goes ([`ForkAt`]), the cluster at a past
//! instant ([`At`]), one page of a node's log ([`LogPage`]), what a timeline marks
//! ([`Markers`]), a share link ([`Link`]), what a change of run did ([`ForkReply`]) and one
//! branch of the list ([`BranchInfo`], set aside for a [`Reason`]). Owns their JSON shapes and
//! the checks on the questions; must not hold a run (the server's driver and the engine do),
//! decide when to rebuild a [`Timeline`], nor do I/O.

use serde::{Deserialize, Serialize};

use super::undo::RunLeft;
use super::{link, Position, Timeline, Trace, TraceError};
use crate::protocol::{ClusterSnapshot, LogEntryView, SimEvent, LOG_PAGE_MAX, LOG_WINDOW};
use crate::sim::Sim;
use crate::storage::MemStorage;
use crate::types::{LogIndex, NodeId};

/// Why a question was refused, and what kind of refusal it is (the server's HTTP status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The question itself is wrong (400).
    Invalid(String),
    /// It names something that does not exist (404).
    NotFound(String),
    /// It cannot be done in the state the run is in, e.g. nothing to undo (409).
    Conflict(String),
    /// The trace could not be re-executed (500: it was recorded by this very run).
    Failed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Invalid(e)
            | Refusal::NotFound(e)
            | Refusal::Conflict(e)
            | Refusal::Failed(e) => f.write_str(e),
        }
    }
}

impl From<TraceError> for Refusal {
    fn from(e: TraceError) -> Refusal {
        Refusal::Failed(e.to_string())
    }
}

/// Where to fork (`POST /api/fork`), or which instant to show (`GET /api/trace/at`): exactly
/// one of the three.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkAt {
    /// After everything at or before this virtual time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// Right after the event with this seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Just before input number `before_input` (0-based, as in the trace's `inputs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_input: Option<usize>,
}

impl ForkAt {
    /// The position it names, or why it names none.
    pub fn position(&self) -> Result<Position, String> {
        match (self.at_ms, self.seq, self.before_input) {
            (Some(t), None, None) => Ok(Position::AtMs(t)),
            (None, Some(s), None) => Ok(Position::Seq(s)),
            (None, None, Some(i)) => Ok(Position::BeforeInput(i)),
            _ => Err(
                "say where to fork with exactly one of at_ms, seq or before_input, e.g. \
                      {\"at_ms\": 1500}"
                    .to_string(),
            ),
        }
    }
}

/// Why a run was set aside as a branch (or a segment of `trace.jsonl` began).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A new cluster (first start, or `--fresh`).
    New,
    /// The server restarted and recovered the cluster from its files.
    Recovered,
    /// A `reset` command.
    Reset,
    /// A fork (`POST /api/fork`).
    Fork,
    /// An undo (`POST /api/undo`).
    Undo,
    /// A loaded trace (`POST /api/trace`, `--trace`).
    Loaded,
    /// A branch brought back (`POST /api/trace/branches/{id}/restore`).
    Restored,
}

impl Reason {
    /// Every reason's wire name, in the order of [`Reason::ALL`] (the page's reader uses them).
    pub const NAMES: &'static [&'static str] = &[
        "new",
        "recovered",
        "reset",
        "fork",
        "undo",
        "loaded",
        "restored",
    ];
    /// Every reason.
    pub const ALL: &'static [Reason] = &[
        Reason::New,
        Reason::Recovered,
        Reason::Reset,
        Reason::Fork,
        Reason::Undo,
        Reason::Loaded,
        Reason::Restored,
    ];

    /// What a change of run for this reason says it did ("undid the last input").
    pub fn did(self) -> &'static str {
        match self {
            Reason::Undo => "undid the last input",
            Reason::Loaded => "loaded the trace",
            Reason::Restored => "brought the branch back",
            _ => "forked",
        }
    }
}

/// What a fork (or undo, load, restore) did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForkReply {
    /// A sentence for people.
    pub message: String,
    /// The new run number (viewers get a fresh snapshot for it).
    pub run: u64,
    /// Virtual time the live cluster now stands at.
    pub time_ms: u64,
    /// Seq of its last event.
    pub seq: u64,
    /// Inputs of the trace that led there (the new trace's `inputs`).
    pub inputs: usize,
    /// The branch the abandoned run was kept as.
    pub branch_id: u64,
    /// Wall time the re-execution and the rewrite of the files took (ms); 0 from the
    /// in-browser engine, which reads no clock and has no files.
    pub elapsed_ms: f64,
}

impl ForkReply {
    /// "forked: the cluster is now at 1500 ms (event 612); the previous run is branch 3".
    pub fn message(reason: Reason, time_ms: u64, seq: u64, branch_id: u64) -> String {
        format!(
            "{}: the cluster is now at {time_ms} ms (event {seq}); the previous run is branch \
             {branch_id}",
            reason.did()
        )
    }

    /// What an undo that took back the change of run `undone` (see `undo::plan`) says: "undid
    /// the fork: back to the run you left, at t=20.4 s (event 812); no action was taken in the
    /// forked run, so it is not kept as a branch".
    pub fn undid(undone: Reason, time_ms: u64, seq: u64, left: RunLeft) -> String {
        let (did, run) = match undone {
            Reason::Fork => ("undid the fork", "the forked run"),
            Reason::Loaded => ("undid loading the trace", "the loaded run"),
            Reason::Restored => ("undid the return to a branch", "the run you returned to"),
            Reason::Reset => ("undid the reset", "the new cluster"),
            _ => ("undid the last change of run", "the run you undid"),
        };
        let kept = match left {
            RunLeft::Kept(id) => format!("{run} is kept as branch {id}"),
            RunLeft::InBroughtBack(_) => {
                format!("no action was taken in {run}, so it is not kept as a branch")
            }
            RunLeft::InBranch(id) => format!("{run} is still branch {id}"),
        };
        format!(
            "{did}: back to the run you left, at {} (event {seq}); {kept}",
            instant(time_ms)
        )
    }
}

/// An instant as the page's timeline says it: "t=20.4 s", "t=2 min 5.3 s" (to the tenth).
pub fn instant(t_ms: u64) -> String {
    let tenths = (t_ms + 50) / 100;
    if tenths < 600 {
        format!("t={}.{} s", tenths / 10, tenths % 10)
    } else {
        let (minutes, rest) = (tenths / 600, tenths % 600);
        format!("t={minutes} min {}.{} s", rest / 10, rest % 10)
    }
}

/// One branch in `GET /api/trace/branches`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BranchInfo {
    /// Its id.
    pub id: u64,
    /// What set it aside.
    pub reason: Reason,
    /// Cluster size.
    pub nodes: u64,
    /// Seed.
    pub seed: u64,
    /// Inputs.
    pub inputs: usize,
    /// Where it ends (virtual ms).
    pub end_ms: u64,
    /// The last input, described ("crash S2").
    pub last_input: Option<String>,
    /// The live run holds everything in it (it was just brought back, by Return or by an
    /// undone fork): returning to it would change nothing.
    #[serde(default)]
    pub live: bool,
}

impl BranchInfo {
    /// The list entry of the branch `id`, set aside for `reason`, whose run is `trace`, beside
    /// the `live` run.
    pub fn of(id: u64, reason: Reason, trace: &Trace, live: &Trace) -> BranchInfo {
        BranchInfo {
            id,
            reason,
            nodes: trace.config.nodes,
            seed: trace.config.seed,
            inputs: trace.inputs.len(),
            end_ms: trace.end_ms,
            last_input: trace.inputs.last().map(|i| i.input.describe()),
            live: !super::undo::adds_to(trace, live),
        }
    }
}

/// One page of a node's log (`GET /api/nodes/{id}/log`, `GET /api/trace/at/log`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    /// The node.
    pub node: NodeId,
    /// First index asked for.
    pub from: LogIndex,
    /// Last index asked for (the entries stop earlier when the log is shorter).
    pub to: LogIndex,
    /// The node's last index (its log's length).
    pub log_len: LogIndex,
    /// The node's commit index (0 while it is down: it is volatile).
    pub commit_index: LogIndex,
    /// The entries with indexes `from..=min(to, log_len)`, in order.
    pub entries: Vec<LogEntryView>,
}

/// The page `from..=to` asked for (`to` defaults to a whole page), or why it is not one.
pub fn log_range(from: Option<u64>, to: Option<u64>) -> Result<(u64, u64), String> {
    let from = from.unwrap_or(1);
    let to = to.unwrap_or(from.saturating_add(LOG_PAGE_MAX - 1));
    if from == 0 || to < from || to - from >= LOG_PAGE_MAX {
        return Err(format!(
            "bad range {from}..={to}: indexes start at 1, from <= to, and a page holds at most \
             {LOG_PAGE_MAX} entries"
        ));
    }
    Ok((from, to))
}

/// One page of `node`'s log in `sim` (a past instant's, re-executed).
pub fn log_page(
    sim: &Sim<MemStorage>,
    node: u64,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<LogPage, Refusal> {
    if node == 0 {
        return Err(Refusal::Invalid(
            "node must be a server's number, from 1".into(),
        ));
    }
    let (from, to) = log_range(from, to).map_err(Refusal::Invalid)?;
    let node = NodeId(node);
    let (entries, log_len) = sim
        .node_log_range(node, LogIndex(from), LogIndex(to))
        .ok_or_else(|| Refusal::NotFound(format!("there is no node {node}")))?;
    Ok(LogPage {
        node,
        from: LogIndex(from),
        to: LogIndex(to),
        log_len,
        commit_index: sim.node(node).map_or(LogIndex(0), |r| r.commit_index()),
        entries: entries.iter().map(LogEntryView::from).collect(),
    })
}

/// `GET /api/trace/at`'s result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct At {
    /// The cluster at that instant, as `GET /api/cluster` draws it (the same log window).
    pub snapshot: ClusterSnapshot,
    /// Inputs of the trace that had taken effect.
    pub inputs_applied: usize,
}

/// The cluster at `position` of `timeline`'s run: each log windowed like the live snapshot's,
/// or whole when `full`.
pub fn at(timeline: &Timeline, position: Position, full: bool) -> Result<At, Refusal> {
    timeline
        .trace()
        .reaches(position)
        .map_err(Refusal::Invalid)?;
    let replay = timeline.at(position)?;
    let snapshot = if full {
        replay.sim().snapshot()
    } else {
        replay.sim().snapshot_window(LOG_WINDOW)
    };
    Ok(At {
        snapshot,
        inputs_applied: replay.inputs_applied(),
    })
}

/// `GET /api/trace/markers`'s result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Markers {
    /// Where the run stands (virtual ms).
    pub end_ms: u64,
    /// Every input: its index, instant and a description ("crash S2").
    pub inputs: Vec<InputMarker>,
    /// The notable events (a leader elected, the leader's commits, crashes, power losses,
    /// restarts, storage failures, network changes), as in the event stream.
    pub events: Vec<SimEvent>,
}

/// One input on the timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputMarker {
    /// Its index in the trace's `inputs`.
    pub index: usize,
    /// Virtual time it took effect at.
    pub at_ms: u64,
    /// Seq of the last event before it, if any.
    pub after_seq: Option<u64>,
    /// What it was ("crash S2").
    pub text: String,
}

/// What a timeline marks, over the whole of `timeline`'s run.
pub fn markers(timeline: &Timeline) -> Markers {
    markers_of(timeline.trace(), timeline.markers().to_vec())
}

/// The markers of `trace`'s run, whose marked events (see `is_marker`) are `events` (a server
/// keeps them from its live event stream rather than re-executing).
pub fn markers_of(trace: &Trace, events: Vec<SimEvent>) -> Markers {
    Markers {
        end_ms: trace.end_ms,
        inputs: trace
            .inputs
            .iter()
            .enumerate()
            .map(|(index, i)| InputMarker {
                index,
                at_ms: i.at_ms,
                after_seq: i.after_seq,
                text: i.input.describe(),
            })
            .collect(),
        events,
    }
}

/// `GET /api/trace/link`'s result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Link {
    /// What follows `#trace=` in the page's URL.
    pub fragment: String,
    /// Its length.
    pub chars: usize,
}

/// `trace` as a share link, or why it is too long for one.
pub fn share_link(trace: &Trace) -> Result<Link, String> {
    let fragment = link::encode(trace).map_err(|e| e.to_string())?;
    Ok(Link {
        chars: fragment.len(),
        fragment,
    })
}

/// True when `timeline` answers for `trace` at `position` (its whole run so far when `None`):
/// the same run, grown at most, and the instant inside what was re-executed. Otherwise it must
/// be built again.
pub fn timeline_serves(timeline: &Timeline, trace: &Trace, position: Option<Position>) -> bool {
    let old = timeline.trace();
    let same_run = old.config == trace.config
        && old.start == trace.start
        && trace.inputs.starts_with(&old.inputs)
        && old.end_ms <= trace.end_ms;
    let covered = match position {
        // Strictly before its end: an input given at the very end is not in the cache.
        Some(Position::AtMs(t)) => t < old.end_ms,
        Some(p) => timeline.covers(p) && old.inputs.len() == trace.inputs.len(),
        None => old.end_ms == trace.end_ms && old.inputs.len() == trace.inputs.len(),
    };
    same_run && covered
}

/// `POST /api/undo`'s refusal when the run has no input to take back (and no fork, load, return
/// or reset to take back either: `undo::plan`). Right after an undo back before the first input
/// that is the usual case, and what people may want then is the run they left: the newest
/// branch (`newest_branch`, given only when it holds something the live run does not:
/// `undo::adds_to`), so the sentence names it and where to bring it back.
pub fn nothing_to_undo(newest_branch: Option<u64>) -> String {
    let mut text =
        "nothing to undo: this run has had no input that changed anything yet".to_string();
    if let Some(id) = newest_branch {
        text.push_str(&format!(
            "; the run before it is kept as branch {id}: bring it back from Branches"
        ));
    }
    text
}
