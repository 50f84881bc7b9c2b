//! `logscope replay FILE [--until-ms T] [--check]`: re-execute a trace headless with the
//! in-memory simulator, optionally under the safety checker, and summarize it. Owns reading the
//! file and the command's verdict; must not run a server or touch a data directory.

use std::path::Path;

use shared::trace::{Position, Replay, Summary, Trace};

/// What a replay found.
#[derive(Debug)]
pub struct Outcome {
    /// The summary (with the first violation, if the checker found one).
    pub summary: Summary,
    /// Whether the checker ran.
    pub checked: bool,
}

impl Outcome {
    /// The exit status: failure when the checker found a violation.
    pub fn failed(&self) -> bool {
        self.summary.violation.is_some()
    }
}

/// Read and check a trace file. Errors are sentences naming the file.
pub fn read_trace(path: &Path) -> Result<Trace, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Trace::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Re-execute the trace in `path` up to `until_ms` (its end when `None`).
pub fn replay_file(path: &Path, until_ms: Option<u64>, check: bool) -> Result<Outcome, String> {
    let trace = read_trace(path)?;
    let mut replay = Replay::new(trace).map_err(|e| e.to_string())?;
    if check {
        replay = replay.with_checker();
    }
    let position = until_ms.map_or(Position::End, Position::AtMs);
    replay
        .run_to(position)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Outcome {
        summary: replay.summary(),
        checked: check,
    })
}
