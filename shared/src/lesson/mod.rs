//! Lessons: a scenario is a trace plus captions. A lesson is a small text file a teacher can
//! write (docs/lessons.md): a header (cluster size, seed, log model, timings, network), then
//! steps, each with captions, an optional question (predict, then reveal) and the inputs that
//! make it happen, and assertions a test checks. Owns the format, its parser and the staging of
//! a lesson into a [`Trace`](crate::trace::Trace) on the seeded simulator; must not do any I/O
//! (the backend reads files, the page uploads them) nor pace anything in wall time.
//!
//! # Modules
//!
//! - `parse`: text → [`Lesson`], with line-numbered errors;
//! - `stage`: [`Lesson`] → [`Staged`]: the trace, and where each step stops in it;
//! - `words`: numbers, durations, server names… and the messages when they are miswritten;
//! - `library`: the built-in lessons (`shared/lessons/*.lesson`, embedded);
//! - `open`: an open lesson, its moves and what the lesson routes answer (the server's and the
//!   in-browser engine's alike).

mod library;
mod open;
mod parse;
mod stage;
mod words;

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::sim::SimConfig;
use crate::trace::TraceInput;
use crate::types::{NodeId, Term};

pub use library::{builtin, BUILTIN};
pub use open::{
    listed, stage_text, LessonView, Listed, OpenLesson, QuestionView, Refusal, LESSON_BYTES_MAX,
    UPLOADED,
};
pub use parse::{parse, RUN_MAX_MS};
pub use stage::{stage, Staged, Stop, StopKind};

/// A parsed lesson, ready to stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    /// Shown in the picker and the panel.
    pub title: String,
    /// One-line summary for the picker (`about`), may be empty.
    pub about: String,
    /// Cluster size, seed, log model, timings and network at the start.
    pub config: SimConfig,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step: where the lesson pauses, what it says and, optionally, what it asks first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    /// Line of its `step` line (for messages).
    pub line: usize,
    /// The step's heading.
    pub title: String,
    /// What to look at once the step has run (`say` lines, joined).
    pub caption: String,
    /// The `say` lines before the step's `ask`, joined: what to look at to answer, shown with
    /// the question (the caption after the `ask` belongs to the outcome, shown on reveal).
    pub setup: String,
    /// Asked *before* the step's actions run; the reveal runs them.
    pub question: Option<Question>,
    /// What the step does, in order.
    pub actions: Vec<Action>,
    /// What must hold once the actions have run (checked when staging).
    pub expects: Vec<Expect>,
}

/// A prediction question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The question.
    pub text: String,
    /// The choices, in order.
    pub choices: Vec<String>,
    /// Index of the right choice in `choices`.
    pub answer: usize,
    /// Why the right answer is right (shown on reveal).
    pub why: String,
}

/// Something a step does, with the line it was written on.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// Line number (1-based) in the lesson text.
    pub line: usize,
    /// What to do.
    pub kind: ActionKind,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// Give the cluster an input (recorded in the trace).
    Input(TraceInput),
    /// Let virtual time pass.
    RunFor(u64),
    /// Run until something happens, at most `limit_ms`.
    RunUntil {
        /// The awaited event.
        until: Until,
        /// Give up (an error naming the line) after this much virtual time.
        limit_ms: u64,
    },
}

/// An event `run until` waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Until {
    /// Some node becomes leader (after the `run` starts).
    LeaderElected,
    /// This node is leader.
    Leader(NodeId),
    /// The cluster has committed at least this many entries.
    Committed(u64),
    /// This node's log holds at least this many entries.
    LogLength(NodeId, u64),
    /// This node's log ends exactly like the leader's (it has caught up).
    CaughtUp(NodeId),
}

/// An assertion on the state after a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// Line number (1-based).
    pub line: usize,
    /// What must hold.
    pub kind: ExpectKind,
}

/// What an `expect` line checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectKind {
    /// This node is the leader (the running leader of the highest term).
    Leader(NodeId),
    /// No running node is leader.
    NoLeader,
    /// Exactly this many entries are known committed.
    Committed(u64),
    /// This node's log has exactly these terms (an empty list: an empty log).
    LogTerms(NodeId, Vec<Term>),
    /// This node's current term (from its disk when it is down).
    Term(NodeId, Term),
    /// This node voted for that one in its current term (`None`: for nobody).
    Voted(NodeId, Option<NodeId>),
    /// This node is running (true) or down (false).
    Up(NodeId, bool),
    /// This node's state machine value (a running node).
    Value(NodeId, i64),
    /// No safety violation so far (checked anyway: a violation the step does not expect
    /// refuses the lesson).
    Safe,
    /// The safety checker has reported a violation of this property (one of [`INVARIANTS`]) —
    /// what a "break Raft" lesson leads to.
    Violation(&'static str),
}

/// The checker's property names an `expect violation` may name (see
/// [`crate::sim::checker::Violation::property`]).
pub const INVARIANTS: &[&str] = &[
    "election safety",
    "one vote per term",
    "vote counting",
    "persistence",
    "log matching",
    "leader append-only",
    "leader completeness",
    "state machine safety",
    "leader commit rule",
    "leader progress",
    "committed on a synced majority",
    "durability",
    "commit rule (Figure 2 rule 5)",
    "acknowledgement rule",
    "apply order",
    "state machine replay",
];

/// The commands a step may hold, for the "expected one of …" message.
pub const COMMANDS: &[&str] = &[
    "step",
    "say",
    "ask",
    "choice",
    "correct",
    "why",
    "run",
    "append",
    "crash",
    "restart",
    "power-loss",
    "timeout",
    "isolate",
    "partition",
    "heal",
    "cut",
    "uncut",
    "network",
    "align",
    "spread",
    "expect",
];

/// The header keys, for the "expected one of …" message.
pub const HEADER_KEYS: &[&str] = &[
    "title",
    "about",
    "nodes",
    "seed",
    "log",
    "election-timeout",
    "heartbeat",
    "fsync",
    "batch",
    "latency",
    "loss",
    "duplicate",
    "break",
];

/// A refused lesson: the line (1-based; 0 for the whole text) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LessonError {
    /// Where.
    pub line: usize,
    /// What, for a person.
    pub message: String,
}

impl LessonError {
    pub(crate) fn at(line: usize, message: impl Into<String>) -> Self {
        LessonError {
            line,
            message: message.into(),
        }
    }
}

/// An append as a lesson writes it, for the trace.
pub(crate) fn append(
    command: Command,
    node: Option<NodeId>,
    client: Option<(u64, u64)>,
) -> TraceInput {
    TraceInput::Append {
        command,
        node,
        client: client.map(|(client_id, serial)| crate::types::ClientSerial { client_id, serial }),
    }
}
