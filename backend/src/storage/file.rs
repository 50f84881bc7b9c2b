//! `FileStorage`: one node's hard state and log in real files under one directory, with fsync at
//! `sync()`, recovery of a torn tail on open, and a simulated power loss. Owns the files and the
//! in-memory index of where each record starts; must not decide anything about Raft (the record
//! format and the torn-versus-corrupt rule live in `codec.rs`).

use shared::Term;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use shared::{Entry, HardState, LogIndex, Storage, StorageError};

use super::codec::{
    decode_hard_state, encode_entry, encode_hard_state, scan_log, LogTail, RecordPos,
};
use super::commit_floor::{self, CommitFloor, COMMIT_INDEX_FILE};
use super::report::{RecoveryReport, TempHardState};

/// The log: framed entry records, append-only except for truncation.
pub const LOG_FILE: &str = "log";
/// The hard state: one framed record, only ever replaced by renaming a complete temp file over it.
pub const HARD_STATE_FILE: &str = "hard_state";
/// Where a new hard state is written before it is renamed over [`HARD_STATE_FILE`].
pub const HARD_STATE_TMP_FILE: &str = "hard_state.tmp";

/// A node's durable state in a directory: see the [module docs](super) for the format and the
/// exact meaning of crash, sync and power loss.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    log_path: PathBuf,
    /// Opened in append mode: every write lands at the current end, including after `set_len`.
    log: File,
    /// Where each entry's record starts (entry `i` is `records[i - 1]`) and its term.
    records: Vec<RecordPos>,
    /// Bytes of the log file (the end of the last record).
    log_len: u64,
    /// Appends or truncations since the last fsync of the log (group commit: skip it otherwise).
    log_dirty: bool,
    /// Entries in the prefix that is both durable and current, as in `MemStorage`.
    synced_len: usize,
    /// Synced records cut by a truncation that is not synced yet. The disk image a power loss
    /// would leave is `log[..offset(synced_len)] + lost_synced_tail`.
    lost_synced_tail: Vec<u8>,
    hard_state: HardState,
    synced_hard_state: HardState,
    /// The temp file holding `hard_state` while it is written but not yet synced and renamed.
    pending_hard_state: Option<File>,
    /// How far the log is known committed and synced (`commit_index`: see `commit_floor.rs`).
    commit_floor: CommitFloor,
    /// Set by a failed write or fsync. After a failed fsync the kernel may have dropped the dirty
    /// pages and a retry can falsely succeed ("fsyncgate"), so the storage refuses all further
    /// work until it is reopened from disk.
    failed: Option<String>,
    /// The entries `open` decoded, kept for the first `load` if nothing was written in between:
    /// a restart would otherwise read and decode the whole log twice in a row (seconds at a
    /// million entries). Any write drops them; later loads re-read the files.
    opened: Option<Vec<Entry>>,
}

impl FileStorage {
    /// Open (or create) the node directory `dir`, recover what is on disk, and make it durable.
    ///
    /// Recovery: a torn tail of the log is cut off (the rule is in `codec::scan_log`), a complete
    /// hard-state temp file is installed and a torn one discarded; then the log is fsynced, so
    /// that everything recovered is durable and `synced_index() == last_index()` (the process that
    /// wrote it may have died before its fsync). Damage in the middle of the log is
    /// [`StorageError::Corrupt`]; nothing here panics on a bad file.
    pub fn open(dir: impl AsRef<Path>) -> Result<(FileStorage, RecoveryReport), StorageError> {
        let dir = dir.as_ref().to_path_buf();
        let dir_existed = dir.is_dir();
        fs::create_dir_all(&dir).map_err(|e| io_error("cannot create directory", &dir, e))?;
        if !dir_existed {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }

        let log_path = dir.join(LOG_FILE);
        check_readable(&log_path, LOG_BYTES_MAX)?;
        let log_existed = log_path.exists();
        // Before anything is created or repaired: a log without all the entries this node
        // recorded as committed was damaged by hand, and recovering it would let Raft overwrite
        // them (commit_floor.rs). A missing log holds none.
        let floor_found = commit_floor::read(&dir)?;
        if !log_existed && floor_found.index() > LogIndex(0) {
            return Err(lost_committed(&dir, &log_path, 0, floor_found.index()));
        }
        let mut log = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&log_path)
            .map_err(|e| io_error("cannot open", &log_path, e))?;
        if !log_existed {
            // The new file's directory entry must be durable too, or a power loss loses the file.
            sync_dir(&dir)?;
        }
        let bytes = read_to_end(&mut log, &log_path)?;
        let scanned = scan_log(&bytes)?;
        if LogIndex::of_len(scanned.entries.len()) < floor_found.index() {
            let held = scanned.entries.len();
            return Err(lost_committed(&dir, &log_path, held, floor_found.index()));
        }
        let bytes_dropped = bytes.len() as u64 - scanned.valid_bytes;
        if bytes_dropped > 0 {
            log.set_len(scanned.valid_bytes)
                .map_err(|e| io_error("cannot cut the torn tail of", &log_path, e))?;
        }
        log.sync_data()
            .map_err(|e| io_error("cannot fsync", &log_path, e))?;

        let (hard_state, temp_hard_state) = recover_hard_state(&dir)?;
        let commit_floor = CommitFloor::open(&dir, &floor_found)?;
        let report = RecoveryReport {
            records_recovered: scanned.entries.len() as u64,
            bytes_dropped,
            tail_damage: scanned.tail_damage,
            hard_state,
            temp_hard_state,
            commit_floor: floor_found,
        };
        let storage = FileStorage {
            dir,
            log_path,
            log,
            synced_len: scanned.records.len(),
            records: scanned.records,
            log_len: scanned.valid_bytes,
            log_dirty: false,
            lost_synced_tail: Vec::new(),
            hard_state,
            synced_hard_state: hard_state,
            pending_hard_state: None,
            commit_floor,
            failed: None,
            opened: Some(scanned.entries),
        };
        Ok((storage, report))
    }

    /// Delete this storage's files in `dir` (for `--fresh`). Only the files this module creates
    /// are removed, never the directory or anything else in it, so a mistyped path costs nothing.
    pub fn wipe(dir: impl AsRef<Path>) -> Result<(), StorageError> {
        let dir = dir.as_ref();
        for name in [
            LOG_FILE,
            HARD_STATE_FILE,
            HARD_STATE_TMP_FILE,
            COMMIT_INDEX_FILE,
        ] {
            let path = dir.join(name);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("cannot remove", &path, e)),
            }
        }
        if dir.is_dir() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// A brand new node in `dir` (its files wiped first) whose hard state (term 0, no vote) is
    /// written and durable at once, unlike `open_fresh`, where the file appears at the first vote.
    /// With both files present from the start, a missing one later means it was lost.
    pub fn create(dir: impl AsRef<Path>) -> Result<(FileStorage, RecoveryReport), StorageError> {
        let dir = dir.as_ref();
        Self::wipe(dir)?;
        fs::create_dir_all(dir).map_err(|e| io_error("cannot create directory", dir, e))?;
        // Written as a complete temp file: `open` installs it (fsync, rename, fsync the directory).
        let tmp_path = dir.join(HARD_STATE_TMP_FILE);
        fs::write(&tmp_path, encode_hard_state(HardState::default()))
            .map_err(|e| io_error("cannot write", &tmp_path, e))?;
        commit_floor::write_new(dir)?;
        Self::open(dir)
    }

    /// [`FileStorage::wipe`] then [`FileStorage::open`]: a brand new node in `dir`.
    pub fn open_fresh(dir: impl AsRef<Path>) -> Result<FileStorage, StorageError> {
        Self::wipe(&dir)?;
        let (storage, _report) = Self::open(dir)?;
        Ok(storage)
    }

    /// The node directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Size of the log file in bytes (written, synced or not).
    pub fn log_bytes(&self) -> u64 {
        self.log_len
    }

    /// The hard state as currently written.
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }

    fn check_usable(&self) -> Result<(), StorageError> {
        match &self.failed {
            None => Ok(()),
            Some(why) => Err(StorageError::Io(format!(
                "storage in {} is unusable after an earlier failure ({why}); reopen it",
                self.dir.display()
            ))),
        }
    }

    /// Remember a failed write or fsync so nothing is trusted afterwards (see `failed`).
    fn poison(&mut self, error: StorageError) -> StorageError {
        if self.failed.is_none() {
            self.failed = Some(error.to_string());
        }
        error
    }

    /// Byte offset where the `count`-th record starts (= the end of the first `count` records).
    fn offset_of(&self, count: usize) -> u64 {
        self.records.get(count).map_or(self.log_len, |r| r.offset)
    }

    fn tail(&self) -> LogTail {
        LogTail {
            last_index: LogIndex::of_len(self.records.len()),
            last_term: self.records.last().map_or(Term(0), |r| r.term),
        }
    }

    fn read_range(&mut self, start: u64, end: u64) -> Result<Vec<u8>, StorageError> {
        let mut buf = vec![0; (end - start) as usize];
        self.log
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.log.read_exact(&mut buf))
            .map_err(|e| io_error("cannot read", &self.log_path, e))?;
        Ok(buf)
    }

    fn truncate_log(&mut self, keep: usize) -> Result<(), StorageError> {
        self.commit_floor.lower_to(LogIndex::of_len(keep))?;
        if keep < self.synced_len {
            // A power loss before the next sync would bring these records back: keep a copy.
            let mut lost =
                self.read_range(self.offset_of(keep), self.offset_of(self.synced_len))?;
            lost.append(&mut self.lost_synced_tail);
            self.lost_synced_tail = lost;
            self.synced_len = keep;
        }
        let new_len = self.offset_of(keep);
        self.log
            .set_len(new_len)
            .map_err(|e| io_error("cannot truncate", &self.log_path, e))?;
        self.records.truncate(keep);
        self.log_len = new_len;
        self.log_dirty = true;
        Ok(())
    }

    fn append_records(&mut self, entries: &[Entry]) -> Result<(), StorageError> {
        // Validate and encode the whole batch first: a refused append writes nothing.
        let mut buf = Vec::with_capacity(entries.len() * 96);
        let mut tail = self.tail();
        let mut positions = Vec::with_capacity(entries.len());
        for entry in entries {
            positions.push(RecordPos {
                offset: self.log_len + buf.len() as u64,
                term: entry.term,
            });
            tail = encode_entry(tail, entry, &mut buf)?;
        }
        if let Err(e) = self.log.write_all(&buf) {
            // Cut a partial write so the file ends on a record boundary; the storage is poisoned
            // either way, and a reopen would treat the rest as a torn tail.
            let _ = self.log.set_len(self.log_len);
            return Err(self.poison(io_error("cannot append to", &self.log_path, e)));
        }
        self.records.extend(positions);
        self.log_len += buf.len() as u64;
        self.log_dirty = true;
        Ok(())
    }

    fn sync_all(&mut self) -> Result<(), StorageError> {
        // Hard state first: if power fails between the two fsyncs, the disk holds a new term with
        // an old log (an ordinary state) rather than entries from a term the node never recorded.
        if let Some(tmp) = self.pending_hard_state.take() {
            let tmp_path = self.dir.join(HARD_STATE_TMP_FILE);
            let path = self.dir.join(HARD_STATE_FILE);
            tmp.sync_all()
                .map_err(|e| io_error("cannot fsync", &tmp_path, e))?;
            fs::rename(&tmp_path, &path).map_err(|e| io_error("cannot rename", &tmp_path, e))?;
            sync_dir(&self.dir)?;
            self.synced_hard_state = self.hard_state;
        }
        if self.log_dirty {
            self.log
                .sync_data()
                .map_err(|e| io_error("cannot fsync", &self.log_path, e))?;
            self.log_dirty = false;
        }
        self.synced_len = self.records.len();
        self.lost_synced_tail.clear();
        // Entries the node already knew committed may have just become durable.
        self.commit_floor.note(LogIndex(0), self.synced_index())
    }

    fn lose_power(&mut self) -> Result<(), StorageError> {
        if self.pending_hard_state.take().is_some() {
            // The temp file was never fsynced or renamed: on a real disk it is at best garbage
            // that recovery discards.
            let tmp_path = self.dir.join(HARD_STATE_TMP_FILE);
            match fs::remove_file(&tmp_path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("cannot remove", &tmp_path, e)),
            }
        }
        self.hard_state = self.synced_hard_state;

        let synced_end = self.offset_of(self.synced_len);
        if self.log_len != synced_end || !self.lost_synced_tail.is_empty() {
            // Rebuild exactly the image the disk held at the last sync, and make it real.
            self.log
                .set_len(synced_end)
                .map_err(|e| io_error("cannot truncate", &self.log_path, e))?;
            let lost = std::mem::take(&mut self.lost_synced_tail);
            self.log
                .write_all(&lost)
                .and_then(|_| self.log.sync_data())
                .map_err(|e| io_error("cannot restore", &self.log_path, e))?;
            let bytes = read_to_end(&mut self.log, &self.log_path)?;
            let scanned = scan_log(&bytes)?;
            if scanned.tail_damage.is_some() {
                return Err(StorageError::Corrupt(format!(
                    "{} does not hold whole records after restoring the synced image",
                    self.log_path.display()
                )));
            }
            self.records = scanned.records;
            self.log_len = scanned.valid_bytes;
        }
        self.synced_len = self.records.len();
        self.log_dirty = false;
        Ok(())
    }
}

impl Storage for FileStorage {
    /// Re-reads both files from disk, so a restarted node really replays its log. The result is
    /// checked against what this process wrote (pair assertion): a mismatch means the files were
    /// changed underneath it and is reported as [`StorageError::Corrupt`].
    fn load(&mut self) -> Result<(HardState, Vec<Entry>), StorageError> {
        self.check_usable()?;
        if let Some(entries) = self.opened.take() {
            // Just read (and fsynced) by `open`, with nothing written since.
            return Ok((self.hard_state, entries));
        }
        let bytes = read_to_end(&mut self.log, &self.log_path)?;
        let scanned = scan_log(&bytes)?;
        if scanned.tail_damage.is_some()
            || scanned.valid_bytes != self.log_len
            || scanned.records != self.records
        {
            return Err(StorageError::Corrupt(format!(
                "{} changed on disk behind this process: it holds {} intact entries in {} bytes, \
                 but {} entries in {} bytes were written",
                self.log_path.display(),
                scanned.entries.len(),
                bytes.len(),
                self.records.len(),
                self.log_len
            )));
        }
        let hard_state = read_hard_state(&self.dir)?;
        if hard_state != self.hard_state {
            return Err(StorageError::Corrupt(format!(
                "hard state in {} changed on disk behind this process: {hard_state:?} on disk, \
                 {:?} written",
                self.dir.display(),
                self.hard_state
            )));
        }
        Ok((hard_state, scanned.entries))
    }

    /// Writes a complete temp file now (a crash keeps it: open installs it); `sync` fsyncs it,
    /// renames it over the hard-state file and fsyncs the directory.
    fn set_hard_state(&mut self, hard_state: HardState) -> Result<(), StorageError> {
        self.check_usable()?;
        self.opened = None;
        if hard_state == self.hard_state {
            return Ok(());
        }
        let tmp_path = self.dir.join(HARD_STATE_TMP_FILE);
        let written = File::create(&tmp_path).and_then(|mut tmp| {
            tmp.write_all(&encode_hard_state(hard_state))?;
            Ok(tmp)
        });
        match written {
            Ok(tmp) => {
                self.pending_hard_state = Some(tmp);
                self.hard_state = hard_state;
                Ok(())
            }
            Err(e) => Err(self.poison(io_error("cannot write", &tmp_path, e))),
        }
    }

    fn truncate_from(&mut self, index: LogIndex) -> Result<(), StorageError> {
        self.check_usable()?;
        self.opened = None;
        let keep = index.saturating_sub(1).get() as usize;
        if keep >= self.records.len() {
            return Ok(());
        }
        self.truncate_log(keep).map_err(|e| self.poison(e))
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), StorageError> {
        self.check_usable()?;
        self.opened = None;
        if entries.is_empty() {
            return Ok(());
        }
        self.append_records(entries)
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.check_usable()?;
        self.sync_all().map_err(|e| self.poison(e))
    }

    fn last_index(&self) -> LogIndex {
        LogIndex::of_len(self.records.len())
    }

    fn synced_index(&self) -> LogIndex {
        LogIndex::of_len(self.synced_len)
    }

    /// Records how far the log is committed and synced (see `commit_floor.rs`): one small
    /// write when that moved, none otherwise.
    fn note_commit_index(&mut self, commit_index: LogIndex) -> Result<(), StorageError> {
        self.check_usable()?;
        let synced = self.synced_index();
        let noted = self.commit_floor.note(commit_index, synced);
        noted.map_err(|e| self.poison(e))
    }

    /// Simulated: we cannot cut the power, so the files are set to what the disk would hold — the
    /// log as of the last sync (including synced records a later truncation cut) and the last
    /// synced hard state — and that image is fsynced.
    fn power_loss(&mut self) -> Result<(), StorageError> {
        self.check_usable()?;
        self.opened = None;
        self.lose_power().map_err(|e| self.poison(e))
    }
}

/// The refusal of a log that holds `held` entries where the node's `commit_index` record says
/// `floor` were committed and synced.
fn lost_committed(dir: &Path, log_path: &Path, held: usize, floor: LogIndex) -> StorageError {
    StorageError::Corrupt(format!(
        "{} holds {held} {}, but {} says entries up to {floor} were committed and synced here: \
         committed entries are gone from the log (emptied or cut by hand?). Raft could overwrite \
         them from this node, so it is not brought back: restore the node's files, or start a \
         new cluster (--fresh, or New cluster in the page)",
        log_path.display(),
        if held == 1 { "entry" } else { "entries" },
        dir.join(COMMIT_INDEX_FILE).display(),
    ))
}

/// The hard state a restart would recover, without repairing anything: a complete temp file wins
/// over the installed one (it is the newer write).
fn read_hard_state(dir: &Path) -> Result<HardState, StorageError> {
    let tmp_path = dir.join(HARD_STATE_TMP_FILE);
    if let Some(bytes) = read_if_exists(&tmp_path)? {
        if let Ok(hard_state) = decode_hard_state(&bytes) {
            return Ok(hard_state);
        }
    }
    read_installed_hard_state(dir)
}

fn read_installed_hard_state(dir: &Path) -> Result<HardState, StorageError> {
    let path = dir.join(HARD_STATE_FILE);
    match read_if_exists(&path)? {
        // A brand new node, or one that crashed before its first sync of a hard state.
        None => Ok(HardState::default()),
        // Only a complete, fsynced file is ever renamed here, so damage is not a torn write.
        Some(bytes) => decode_hard_state(&bytes).map_err(|why| {
            StorageError::Corrupt(format!("hard-state file {}: {why}", path.display()))
        }),
    }
}

/// Recovery of the hard state at open: install a complete temp file, discard a torn one.
fn recover_hard_state(dir: &Path) -> Result<(HardState, TempHardState), StorageError> {
    let installed = read_installed_hard_state(dir)?;
    let tmp_path = dir.join(HARD_STATE_TMP_FILE);
    let Some(bytes) = read_if_exists(&tmp_path)? else {
        return Ok((installed, TempHardState::Absent));
    };
    match decode_hard_state(&bytes) {
        Ok(hard_state) => {
            File::open(&tmp_path)
                .and_then(|tmp| tmp.sync_all())
                .map_err(|e| io_error("cannot fsync", &tmp_path, e))?;
            let path = dir.join(HARD_STATE_FILE);
            fs::rename(&tmp_path, &path).map_err(|e| io_error("cannot rename", &tmp_path, e))?;
            sync_dir(dir)?;
            Ok((hard_state, TempHardState::Installed))
        }
        Err(reason) => {
            fs::remove_file(&tmp_path).map_err(|e| io_error("cannot remove", &tmp_path, e))?;
            sync_dir(dir)?;
            Ok((installed, TempHardState::Discarded { reason }))
        }
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    check_readable(path, SMALL_FILE_BYTES_MAX)?;
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("cannot read", path, e)),
    }
}

/// The largest log file a node recovers from (the whole file is read at start). A bigger one
/// (2 GB of garbage after the records) took all memory before a word. A class never comes near
/// it; appending without pause at one connection's rate limit (50 a second, ~90 bytes each)
/// reaches it in about three days, and such a cluster is then refused at its next start
/// (docs/api.md).
pub const LOG_BYTES_MAX: u64 = 1 << 30;
/// The largest hard-state or commit-index file read (each holds one small record).
pub(super) const SMALL_FILE_BYTES_MAX: u64 = 64 * 1024;

/// Refuse to read `path` unless it is a regular file of at most `max` bytes (or absent): a device
/// (a link to /dev/zero) is read without end, and a FIFO hangs the start with no message.
pub(super) fn check_readable(path: &Path, max: u64) -> Result<(), StorageError> {
    let refused = |what: String| {
        Err(StorageError::Corrupt(format!(
            "{} {what}: restore the node's files, or start with --fresh to wipe the cluster",
            path.display()
        )))
    };
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("cannot read", path, e)),
        Ok(m) if !m.is_file() => refused("is not a regular file".to_string()),
        Ok(m) if m.len() > max => refused(format!(
            "holds {} bytes, more than the {max} such a file may hold",
            m.len()
        )),
        Ok(_) => Ok(()),
    }
}

fn read_to_end(file: &mut File, path: &Path) -> Result<Vec<u8>, StorageError> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| io_error("cannot read", path, e))?;
    Ok(bytes)
}

/// fsync a directory, so that a file created or renamed in it survives a power loss.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    super::fsync_dir(dir).map_err(|e| io_error("cannot fsync directory", dir, e))
}

pub(super) fn io_error(what: &str, path: &Path, e: io::Error) -> StorageError {
    StorageError::Io(format!("{what} {}: {e}", path.display()))
}
