//! The trace of a run: its configuration (seed included), where it started from, and every input
//! with the virtual time and queue position it took effect at. Because the simulator is
//! deterministic, that is the whole run: re-executing a trace gives the same event stream, byte
//! for byte. Owns the versioned JSON format (docs/trace.md) and its checks; must not run anything
//! itself (`replay` does) nor touch files (the backend does).
//!
//! # Modules
//!
//! - `input`: [`TraceInput`], every kind of input, and [`apply`], the one function that hands an
//!   input to the simulator (live and replayed runs both go through it);
//! - `record`: [`Recorded`], a simulator that writes down every input it is given;
//! - `replay`: [`Replay`], re-execution up to a [`Position`], and [`Summary`];
//! - `timeline`: [`Timeline`], checkpoints to reach any instant of a long trace quickly;
//! - `link`: the compact encoding of a short trace for a URL fragment;
//! - `answers`: the history routes' answers (a past instant, markers, a fork's reply, …), built
//!   alike by the server and the in-browser engine;
//! - `undo`: what Undo takes back (the last input, or the fork, load, return or reset just
//!   made), decided alike for the server and the in-browser engine.

pub mod answers;
mod control;
mod input;
pub mod link;
mod record;
mod replay;
mod start;
mod timeline;
pub mod undo;

use serde::{Deserialize, Serialize};

use crate::sim::SimConfig;
use crate::storage::{MemStorage, Storage};
use crate::types::{Entry, HardState, NodeId};

pub use control::{broken_rules_reply, control_input, control_reply, reset_config};
pub use input::{apply, TraceInput, CONTROL_TYPE};
pub use record::{Recorded, INPUTS_MAX};
pub use replay::{is_marker, Budget, Position, Replay, Summary};
pub use start::{check_terms, TERM_MAX};
pub use timeline::{Timeline, CHECKPOINTS_MAX, CHECKPOINT_BYTES_MAX, CHECKPOINT_EVERY_MS};

/// The longest run a trace read from outside may hold, in virtual ms: 12 hours. A 50-minute
/// class at speed 1 is 3,000,000 ms; a replay to this bound takes seconds of CPU (docs/trace.md
/// has the figure), so a loaded trace can never keep the simulator busy for minutes.
pub const END_MS_MAX: u64 = 12 * 60 * 60 * 1000;

/// The most queue items a trace read from outside may say its run processed (`end_steps`), and
/// the most a replay runs for a trace that does not say: this bounds a replay's work when the
/// cluster is busy (an idle 9-node cluster takes about 0.34 steps per virtual ms, 14.7 million
/// in 12 hours; docs/trace.md has the time per step).
pub const END_STEPS_MAX: u64 = 20_000_000;

/// The format version this code writes. A trace with a higher one is refused (it may mean
/// things this code does not know); lower ones are read as they are (there are none yet).
pub const TRACE_VERSION: u32 = 1;

/// The name a trace is downloaded under, `logscope-seed<seed>-<end_ms>ms.json`: the server's
/// `Content-Disposition` and the page's own download (a trace run in the browser) both use it.
pub fn file_name(seed: u64, end_ms: u64) -> String {
    format!("logscope-seed{seed}-{end_ms}ms.json")
}

/// A whole run, ready to re-execute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// [`TRACE_VERSION`] when written.
    pub version: u32,
    /// Cluster size, seed, log model, timings and the network settings at the start.
    pub config: SimConfig,
    /// What the nodes' disks held at the start (empty for a new cluster).
    #[serde(default)]
    pub start: Start,
    /// Every input, in the order it was given.
    #[serde(default)]
    pub inputs: Vec<TracedInput>,
    /// Virtual time the run had reached when the trace was taken: replay runs up to it.
    pub end_ms: u64,
    /// Seq of the last event then (informative; checked on replay when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_seq: Option<u64>,
    /// Queue items processed by then (the exact end; see [`TracedInput::steps`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_steps: Option<u64>,
}

/// One input and the instant it took effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TracedInput {
    /// Virtual time (ms) the input took effect at.
    pub at_ms: u64,
    /// Seq of the last event before it (0: none yet). Checked on replay when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seq: Option<u64>,
    /// How many queue items (deliveries, timers, fsyncs, losses) the simulator had processed
    /// before the input. This pins the input between two steps exactly, even among several
    /// items due in the same millisecond. Without it (a trace written by hand), the input lands
    /// after every item due at or before `at_ms`, as a paced driver would place it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// The input.
    pub input: TraceInput,
}

/// What the nodes' storage held when the trace starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Start {
    /// A new cluster: every disk empty.
    #[default]
    Empty,
    /// Disks that already held state (a server recovered from its data directory): replay
    /// starts every node from it, as the server did.
    Disk {
        /// One per node, in node order.
        nodes: Vec<NodeDisk>,
    },
}

/// One node's durable state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeDisk {
    /// The node.
    pub node: NodeId,
    /// Term and vote.
    pub hard_state: HardState,
    /// The log.
    pub log: Vec<Entry>,
}

impl Start {
    /// In-memory storage for `node` holding what this start says, synced.
    pub fn storage_for(&self, node: NodeId) -> MemStorage {
        let mut storage = MemStorage::new();
        if let Start::Disk { nodes } = self {
            if let Some(disk) = nodes.iter().find(|d| d.node == node) {
                // Checked by `Trace::check` (contiguous, from 1; see `start.rs`): these cannot fail.
                let _ = storage.set_hard_state(disk.hard_state);
                let _ = storage.append(&disk.log);
                let _ = storage.sync();
            }
        }
        storage
    }
}

/// Why a trace was refused. Every message names what is wrong, for a person to read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// Not JSON, cut short, or a field of the wrong shape.
    #[error("not a valid logscope trace: {0}")]
    Malformed(String),
    /// Written by a newer logscope.
    #[error(
        "this trace is format version {found}; this logscope reads up to version {TRACE_VERSION} \
         (upgrade logscope to load it)"
    )]
    FutureVersion {
        /// The trace's version.
        found: u32,
    },
    /// The configuration is impossible.
    #[error("the trace's configuration is invalid: {0}")]
    Config(String),
    /// Something inside is inconsistent (e.g. inputs out of order).
    #[error("the trace is inconsistent: {0}")]
    Inconsistent(String),
    /// Re-execution went differently from what the trace recorded.
    #[error("re-executing the trace diverged from it: {0}")]
    Diverged(String),
    /// Re-execution was stopped by its budget ([`Budget`]).
    #[error("re-executing the trace was stopped: {0}")]
    Stopped(String),
}

impl Trace {
    /// An empty trace of a new run of `config`.
    pub fn new(config: SimConfig, start: Start) -> Self {
        Trace {
            version: TRACE_VERSION,
            config,
            start,
            inputs: Vec::new(),
            end_ms: 0,
            end_seq: None,
            end_steps: None,
        }
    }

    /// Read and check a trace from its JSON text. Nothing is half-accepted: any error refuses it.
    pub fn from_json(text: &str) -> Result<Trace, TraceError> {
        // Read by `shared::wire` (the browser's modules carry no serde reader for a trace): the
        // version looked at first, so that a future trace gets that message rather than a
        // complaint about a field this version does not know; then `check` and `check_bounds`.
        crate::wire::trace::read_trace(text)
    }

    /// A trace from outside (a file, a link, a body) may not ask for more work than a replay of
    /// seconds: its end within [`END_MS_MAX`] and [`END_STEPS_MAX`]. (Not part of [`Trace::check`]:
    /// the live run's own trace keeps its history routes however long the server ran.)
    pub fn check_bounds(&self) -> Result<(), TraceError> {
        if self.end_ms > END_MS_MAX {
            return Err(TraceError::Inconsistent(format!(
                "end_ms {} is beyond the longest run a trace may hold ({END_MS_MAX} ms, 12 hours)",
                self.end_ms
            )));
        }
        if let Some(steps) = self.end_steps.filter(|s| *s > END_STEPS_MAX) {
            return Err(TraceError::Inconsistent(format!(
                "end_steps {steps} is beyond the most a trace may hold ({END_STEPS_MAX})"
            )));
        }
        Ok(())
    }

    /// The trace as JSON (one line; inputs in order).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a trace always serializes")
    }

    /// Check everything that can be checked without running: version, configuration, the start
    /// state (disks Raft servers could have written), inputs in time (and step) order, none
    /// after the end. ([`Trace::from_json`] adds [`Trace::check_bounds`].)
    pub fn check(&self) -> Result<(), TraceError> {
        if self.version > TRACE_VERSION {
            return Err(TraceError::FutureVersion {
                found: self.version,
            });
        }
        if self.version == 0 {
            return Err(TraceError::Malformed(
                "\"version\" must be 1 or more".into(),
            ));
        }
        crate::sim::validate(&self.config).map_err(|e| TraceError::Config(e.to_string()))?;
        self.start
            .check(self.config.nodes)
            .map_err(TraceError::Inconsistent)?;
        let mut last = (0u64, 0u64);
        for (i, t) in self.inputs.iter().enumerate() {
            let here = (t.at_ms, t.steps.unwrap_or(last.1));
            if here < last {
                return Err(TraceError::Inconsistent(format!(
                    "input {} (at {} ms) comes before the one preceding it",
                    i + 1,
                    t.at_ms
                )));
            }
            last = here;
            t.input.check(&self.config).map_err(|e| {
                TraceError::Inconsistent(format!("input {} (at {} ms): {e}", i + 1, t.at_ms))
            })?;
        }
        // (An input's own `at_ms` past `end_ms` is caught here too: inputs are in time order.)
        if self.end_ms < last.0 || self.end_steps.is_some_and(|s| s < last.1) {
            return Err(TraceError::Inconsistent(format!(
                "end_ms {} is before the last input ({} ms)",
                self.end_ms, last.0
            )));
        }
        Ok(())
    }

    /// The first `count` inputs of this trace, ending at the given instant (fork keeps what led
    /// to the instant it forks at, and records on from there).
    pub fn prefix(&self, count: usize, end_ms: u64, end_seq: u64, end_steps: u64) -> Trace {
        Trace {
            version: TRACE_VERSION,
            config: self.config.clone(),
            start: self.start.clone(),
            inputs: self.inputs[..count.min(self.inputs.len())].to_vec(),
            end_ms,
            end_seq: Some(end_seq),
            end_steps: Some(end_steps),
        }
    }
}

/// A storage's content as a [`NodeDisk`] (what a recovered segment's start records).
pub fn node_disk<S: Storage>(node: NodeId, storage: &mut S) -> Option<NodeDisk> {
    let (hard_state, log) = storage.load().ok()?;
    Some(NodeDisk {
        node,
        hard_state,
        log,
    })
}
