//! `trace.jsonl` in the data directory: the live run's trace, kept on disk so a restarted server
//! still has its history, plus the abandoned futures (branches) left by fork, undo, load and
//! reset. Owns that file's format and its size cap; must not run anything (the driver re-executes)
//! nor touch the nodes' files.
//!
//! The file is JSON lines, each tagged by `line`:
//! - `{"line":"segment","reason":…,"trace":{…}}` starts a run's trace: its configuration, start
//!   state and the inputs that led to where it starts (a fork keeps its prefix);
//! - `{"line":"input",…}` is one more input of the current segment ([`TracedInput`]'s fields);
//! - `{"line":"branch","id":…,"reason":…,"trace":{…}}` is a whole trace set aside.
//!
//! Inputs are appended with one `write` each and no fsync: a process crash keeps them (the OS
//! has them), a power loss may lose the last few, which only shortens the history. A torn last
//! line is ignored when reading. Past [`TRACE_FILE_BYTES_MAX`] the file is rewritten with the
//! current segment and the newest branches that fit.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::trace::{Trace, TracedInput};

/// The file's name in the data directory.
pub const TRACE_FILE: &str = "trace.jsonl";
const TRACE_TMP_FILE: &str = "trace.jsonl.tmp";
/// Largest size of the file before it is compacted (rewritten without the oldest branches).
pub const TRACE_FILE_BYTES_MAX: u64 = 64 << 20;
/// Branches kept (the oldest goes first).
pub const BRANCHES_MAX: usize = 20;

pub use shared::trace::answers::Reason;

/// A trace set aside, which the teacher can return to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    /// Its id (increasing, unique within the data directory's history).
    pub id: u64,
    /// What set it aside.
    pub reason: Reason,
    /// The whole trace, up to where it was left.
    pub trace: Trace,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "line", rename_all = "snake_case")]
enum Line {
    Segment { reason: Reason, trace: Trace },
    Input(TracedInput),
    Branch(Branch),
}

/// What reading the file found.
#[derive(Debug, Default)]
pub struct Stored {
    /// The last segment's trace with its inputs (its end is where its last input was: how far
    /// the run went after that is not recorded).
    pub current: Option<(Reason, Trace)>,
    /// Inputs recorded in the last segment after it began (0: it only ran on its own).
    pub inputs_added: usize,
    /// Branches, oldest first.
    pub branches: Vec<Branch>,
    /// Lines that could not be read (a torn last line is normal after a crash).
    pub bad_lines: usize,
    /// The numbers (from 1) of unreadable lines other than the last: damage, not a torn write.
    pub damaged_lines: Vec<usize>,
    /// Why the file as a whole could not be read (not a regular file, far over its cap, an I/O
    /// error); `None` when it was read or is missing.
    pub unreadable: Option<String>,
}

/// The open trace file.
#[derive(Debug)]
pub struct TraceFile {
    path: PathBuf,
    file: Option<File>,
    bytes: u64,
}

impl TraceFile {
    /// The trace file of data directory `root` (not opened until something is written).
    pub fn new(root: &Path) -> Self {
        TraceFile {
            path: root.join(TRACE_FILE),
            file: None,
            bytes: 0,
        }
    }

    /// Read what the file holds (nothing when it is missing).
    pub fn read(root: &Path) -> Stored {
        let mut stored = Stored::default();
        let path = root.join(TRACE_FILE);
        // Compaction keeps it under its cap; far over it, it is not this server's writing.
        match fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return stored,
            Ok(m) if !m.is_file() || m.len() > 4 * TRACE_FILE_BYTES_MAX => {
                stored.unreadable = Some(format!(
                    "not a regular file of at most {} bytes",
                    4 * TRACE_FILE_BYTES_MAX
                ));
                return stored;
            }
            _ => {}
        }
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                stored.unreadable = Some(e.to_string());
                return stored;
            }
        };
        // Line by line, each decoded on its own: a last line torn inside a multi-byte
        // character is one bad line, not a file that is no text (which lost every branch).
        let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        let blank = |l: &[u8]| l.iter().all(u8::is_ascii_whitespace);
        let last = lines.iter().rposition(|l| !blank(l));
        for (number, line) in lines.into_iter().enumerate() {
            if blank(line) {
                continue;
            }
            let read = std::str::from_utf8(line)
                .map_err(|e| e.to_string())
                .and_then(|l| serde_json::from_str::<Line>(l).map_err(|e| e.to_string()));
            match read {
                Ok(Line::Segment { reason, trace }) => {
                    stored.current = Some((reason, trace));
                    stored.inputs_added = 0;
                }
                Ok(Line::Input(input)) => {
                    if let Some((_, trace)) = stored.current.as_mut() {
                        stored.inputs_added += 1;
                        trace.end_ms = input.at_ms;
                        trace.end_seq = None;
                        trace.end_steps = input.steps;
                        trace.inputs.push(input);
                    }
                }
                Ok(Line::Branch(branch)) => stored.branches.push(branch),
                Err(_) => {
                    stored.bad_lines += 1;
                    if Some(number) != last {
                        stored.damaged_lines.push(number + 1);
                    }
                }
            }
        }
        stored
    }

    /// Start the file afresh: the current segment and the branches (atomic: temp file, fsync,
    /// rename). Also what compaction does.
    pub fn rewrite(
        &mut self,
        reason: Reason,
        current: &Trace,
        branches: &[Branch],
    ) -> std::io::Result<()> {
        let tmp = self.path.with_file_name(TRACE_TMP_FILE);
        let mut text = String::new();
        let mut lines = Vec::new();
        for b in branches {
            lines.push(to_line(&Line::Branch(b.clone())));
        }
        lines.push(to_line(&Line::Segment {
            reason,
            trace: current.clone(),
        }));
        // Drop the oldest branches while the whole does not fit.
        let mut skip = 0;
        while skip < branches.len()
            && lines[skip..].iter().map(|l| l.len() as u64).sum::<u64>() > TRACE_FILE_BYTES_MAX
        {
            skip += 1;
        }
        for l in &lines[skip..] {
            text.push_str(l);
        }
        {
            let mut file = File::create(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        self.file = None;
        self.bytes = text.len() as u64;
        Ok(())
    }

    /// Append one input of the current segment.
    pub fn input(&mut self, input: &TracedInput) -> std::io::Result<()> {
        self.append(&Line::Input(input.clone()))
    }

    /// Append a branch set aside.
    pub fn branch(&mut self, branch: &Branch) -> std::io::Result<()> {
        self.append(&Line::Branch(branch.clone()))
    }

    /// Append the start of a new segment.
    pub fn segment(&mut self, reason: Reason, trace: &Trace) -> std::io::Result<()> {
        self.append(&Line::Segment {
            reason,
            trace: trace.clone(),
        })
    }

    /// True once the file has outgrown its cap (the driver then rewrites it).
    pub fn over_cap(&self) -> bool {
        self.bytes > TRACE_FILE_BYTES_MAX
    }

    fn append(&mut self, line: &Line) -> std::io::Result<()> {
        if self.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.bytes = file.metadata()?.len();
            self.file = Some(file);
        }
        let text = to_line(line);
        // One write per line: a crash leaves whole lines, or a torn last one that `read` skips.
        self.file
            .as_mut()
            .expect("opened above")
            .write_all(text.as_bytes())?;
        self.bytes += text.len() as u64;
        Ok(())
    }
}

fn to_line(line: &Line) -> String {
    let mut text = serde_json::to_string(line).expect("trace lines always serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::trace::{Start, TraceInput};
    use shared::{NodeId, SimConfig};

    fn input(at_ms: u64) -> TracedInput {
        TracedInput {
            at_ms,
            after_seq: Some(at_ms),
            steps: Some(at_ms),
            input: TraceInput::Crash { node: NodeId(1) },
        }
    }

    #[test]
    fn segments_inputs_and_branches_read_back_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = TraceFile::new(dir.path());
        let trace = Trace::new(SimConfig::default(), Start::Empty);
        file.rewrite(Reason::New, &trace, &[]).unwrap();
        file.input(&input(10)).unwrap();
        let branch = Branch {
            id: 1,
            reason: Reason::Fork,
            trace: trace.clone(),
        };
        file.branch(&branch).unwrap();
        file.segment(Reason::Fork, &trace).unwrap();
        file.input(&input(20)).unwrap();
        file.input(&input(30)).unwrap();
        // A crash in the middle of a write.
        let mut raw = OpenOptions::new()
            .append(true)
            .open(dir.path().join(TRACE_FILE))
            .unwrap();
        raw.write_all(b"{\"line\":\"input\",\"at_ms\":4").unwrap();
        let stored = TraceFile::read(dir.path());
        let (reason, current) = stored.current.unwrap();
        assert_eq!(reason, Reason::Fork);
        assert_eq!(current.inputs, vec![input(20), input(30)]);
        assert_eq!((current.end_ms, current.end_steps), (30, Some(30)));
        assert_eq!(stored.branches, vec![branch]);
        assert_eq!(stored.inputs_added, 2);
        assert_eq!(stored.bad_lines, 1);
        assert!(
            stored.damaged_lines.is_empty(),
            "a torn last line is not damage"
        );

        // A damaged first line (the branch) is damage, named by its number.
        let text = fs::read_to_string(dir.path().join(TRACE_FILE)).unwrap();
        fs::write(dir.path().join(TRACE_FILE), text.replacen('{', "#", 1)).unwrap();
        let stored = TraceFile::read(dir.path());
        assert_eq!(stored.damaged_lines, vec![1]);
        assert_eq!(stored.bad_lines, 2);
        assert_eq!(stored.unreadable, None);

        // A last line torn inside a multi-byte character is one bad line: the line before it is
        // kept (the whole file was refused as "not text").
        let good = text.lines().next().unwrap().replacen('#', "{", 1);
        let mut torn = format!("{good}\n").into_bytes();
        torn.extend_from_slice(&[b'{', 0xc3]);
        fs::write(dir.path().join(TRACE_FILE), torn).unwrap();
        let stored = TraceFile::read(dir.path());
        assert_eq!(stored.unreadable, None);
        assert!(
            stored.current.is_some() || stored.branches.len() == 1,
            "the line before the torn one"
        );
        assert_eq!((stored.bad_lines, stored.damaged_lines.len()), (1, 0));
        // A directory in its place.
        fs::remove_file(dir.path().join(TRACE_FILE)).unwrap();
        fs::create_dir(dir.path().join(TRACE_FILE)).unwrap();
        let stored = TraceFile::read(dir.path());
        assert!(stored
            .unreadable
            .is_some_and(|why| why.contains("regular file")));
        // Missing: nothing to say.
        fs::remove_dir(dir.path().join(TRACE_FILE)).unwrap();
        assert_eq!(TraceFile::read(dir.path()).unreadable, None);
    }
}
