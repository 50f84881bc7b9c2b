//! The `commit_index` file: how far this node's log is known to be committed *and* synced, kept
//! so that reopening a log that has since lost committed entries is refused. Owns that one line;
//! must not decide what is committed (the Raft core does) nor touch the log (`file.rs` does).
//!
//! Why: a log is a sequence of records with no count, so a log emptied or cut at a record
//! boundary by hand reads as a shorter, intact log — a node that is merely behind. Raft would
//! then let a majority of such nodes elect a leader without the committed entries and overwrite
//! them. etcd keeps the commit index in its hard state for the same check ("Was the raft log
//! corrupted, truncated, or lost?").
//!
//! The file is one line, `{index:020} {crc:08x}\n` (30 bytes; the CRC-32 of the 20 digits),
//! rewritten in place and, as it rises, never fsynced on its own. That is safe because of what
//! is written: the smallest of the node's `commit_index` and its synced log's last index, and
//! entries up to a commit index are never truncated (Leader Completeness), so whichever version
//! a power loss leaves, old or new, is still true of the synced log. A missing file (a directory written by an
//! earlier logscope) or an unreadable one (torn mid-write) counts as 0: it can fail to catch a
//! damaged log, never refuse a good one. (The "break Raft" lab can truncate committed entries:
//! then the record is lowered, and fsynced, before the log is cut.)

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use shared::{LogIndex, StorageError};

use super::file::{io_error, sync_dir};

/// The file's name in the node directory.
pub const COMMIT_INDEX_FILE: &str = "commit_index";

const LINE_BYTES: usize = 30;

/// What `open` found in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FloorFound {
    /// A whole, intact line.
    Read(LogIndex),
    /// No file (it is created, holding 0).
    Missing,
    /// A line that is not whole or fails its CRC (it is rewritten, holding 0).
    Unreadable(String),
}

impl FloorFound {
    /// The index recovery must find in the log (0 when unknown).
    pub fn index(&self) -> LogIndex {
        match self {
            FloorFound::Read(index) => *index,
            FloorFound::Missing | FloorFound::Unreadable(_) => LogIndex(0),
        }
    }
}

/// The open `commit_index` file and what it holds.
#[derive(Debug)]
pub struct CommitFloor {
    path: PathBuf,
    file: File,
    /// What the file holds.
    recorded: LogIndex,
    /// The latest commit index the node told (may be ahead of the synced log).
    commit_index: LogIndex,
}

/// Read the file in `dir` without changing anything (for the check before recovery repairs).
pub fn read(dir: &Path) -> Result<FloorFound, StorageError> {
    let path = dir.join(COMMIT_INDEX_FILE);
    super::file::check_readable(&path, super::file::SMALL_FILE_BYTES_MAX)?;
    match std::fs::read(&path) {
        Ok(bytes) => Ok(decode(&bytes).map_or_else(FloorFound::Unreadable, FloorFound::Read)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(FloorFound::Missing),
        Err(e) => Err(io_error("cannot read", &path, e)),
    }
}

/// Write the file for a brand new node (holding 0), so that a missing one later is reported.
pub fn write_new(dir: &Path) -> Result<(), StorageError> {
    let path = dir.join(COMMIT_INDEX_FILE);
    File::create(&path)
        .and_then(|mut file| {
            file.write_all(&encode(LogIndex(0)))?;
            file.sync_data()
        })
        .map_err(|e| io_error("cannot write", &path, e))
}

impl CommitFloor {
    /// Open the file in `dir` after `read` found `found` there, creating or rewriting it when it
    /// was missing or unreadable.
    pub fn open(dir: &Path, found: &FloorFound) -> Result<CommitFloor, StorageError> {
        let path = dir.join(COMMIT_INDEX_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error("cannot open", &path, e))?;
        let mut floor = CommitFloor {
            path,
            file,
            recorded: found.index(),
            commit_index: found.index(),
        };
        if !matches!(found, FloorFound::Read(_)) {
            // Made durable, file and name: a fork stages new nodes this way, and a record lost
            // to a power loss there would leave the live node's old one in place.
            floor.write(LogIndex(0))?;
            floor.sync()?;
            sync_dir(dir)?;
        }
        Ok(floor)
    }

    /// The index the file holds.
    #[cfg(test)]
    pub fn recorded(&self) -> LogIndex {
        self.recorded
    }

    /// The node's commit index is `commit_index` and its log is synced up to `synced`: record
    /// the smaller if it is past what the file holds.
    pub fn note(&mut self, commit_index: LogIndex, synced: LogIndex) -> Result<(), StorageError> {
        self.commit_index = self.commit_index.max(commit_index);
        let floor = self.commit_index.min(synced);
        if floor > self.recorded {
            self.write(floor)?;
        }
        Ok(())
    }

    /// The log is about to keep only its first `keep` entries: lower the record first if it is
    /// above (only the "break Raft" lab truncates committed entries). Unlike a rise, a lowered
    /// record is fsynced before the log is cut: the cut becomes durable at the next sync, and a
    /// power loss must not leave the old, higher record beside the shorter log.
    pub fn lower_to(&mut self, keep: LogIndex) -> Result<(), StorageError> {
        self.commit_index = self.commit_index.min(keep);
        if self.recorded > keep {
            self.write(keep)?;
            self.sync()?;
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StorageError> {
        self.file
            .sync_data()
            .map_err(|e| io_error("cannot fsync", &self.path, e))
    }

    fn write(&mut self, index: LogIndex) -> Result<(), StorageError> {
        let line = encode(index);
        self.file
            .write_all_at(&line, 0)
            .and_then(|_| self.file.set_len(LINE_BYTES as u64))
            .map_err(|e| io_error("cannot write", &self.path, e))?;
        self.recorded = index;
        Ok(())
    }
}

fn encode(index: LogIndex) -> Vec<u8> {
    let digits = format!("{:020}", index.get());
    let line = format!("{digits} {:08x}\n", crc32fast::hash(digits.as_bytes()));
    debug_assert_eq!(line.len(), LINE_BYTES);
    line.into_bytes()
}

fn decode(bytes: &[u8]) -> Result<LogIndex, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not text".to_string())?;
    let line = text
        .strip_suffix('\n')
        .filter(|_| bytes.len() == LINE_BYTES)
        .ok_or_else(|| format!("{} bytes, not one {LINE_BYTES}-byte line", bytes.len()))?;
    let (digits, crc) = line.split_once(' ').ok_or("no CRC")?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| "the CRC is not hexadecimal")?;
    if crc != crc32fast::hash(digits.as_bytes()) {
        return Err("the CRC does not match".into());
    }
    digits
        .parse::<u64>()
        .map(LogIndex)
        .map_err(|_| "the index is not a number".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_and_damage_is_seen() {
        for index in [0, 1, 6, 12_345, u64::MAX] {
            assert_eq!(decode(&encode(LogIndex(index))), Ok(LogIndex(index)));
        }
        let good = encode(LogIndex(6));
        let mut flipped = good.clone();
        flipped[19] = b'7';
        assert_eq!(decode(&flipped), Err("the CRC does not match".into()));
        assert!(decode(&good[..12]).is_err());
        assert!(decode(b"").is_err());
        assert!(decode(&[0xff; LINE_BYTES]).is_err());
    }

    #[test]
    fn the_record_is_the_smaller_of_commit_and_synced_and_only_rises() {
        let dir = tempfile::tempdir().unwrap();
        let mut floor = CommitFloor::open(dir.path(), &FloorFound::Missing).unwrap();
        assert_eq!(read(dir.path()).unwrap(), FloorFound::Read(LogIndex(0)));
        floor.note(LogIndex(5), LogIndex(3)).unwrap();
        assert_eq!(floor.recorded(), LogIndex(3));
        // The sync that follows makes entries 4 and 5 durable: the commit told earlier counts.
        floor.note(LogIndex(0), LogIndex(7)).unwrap();
        assert_eq!(read(dir.path()).unwrap(), FloorFound::Read(LogIndex(5)));
        floor.note(LogIndex(4), LogIndex(9)).unwrap();
        assert_eq!(floor.recorded(), LogIndex(5));
        floor.lower_to(LogIndex(2)).unwrap();
        assert_eq!(read(dir.path()).unwrap(), FloorFound::Read(LogIndex(2)));
    }
}
