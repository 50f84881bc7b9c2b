//! Real on-disk storage for each node: [`FileStorage`] implements `shared::Storage` with one
//! directory per node, CRC-framed log records, an atomically replaced hard-state file and fsync.
//! Owns files and durability; must not make Raft decisions (the core in `shared/` does) nor
//! change the contract written in `shared/src/storage.rs`, which it passes as is
//! (`backend/tests/file_storage.rs` runs the shared conformance suite against it).
//!
//! # Files (one directory per node)
//!
//! | file | content |
//! |---|---|
//! | `log` | the log: one record per entry, appended; truncated with `set_len` |
//! | `hard_state` | one record holding `current_term` / `voted_for`; only ever replaced by rename |
//! | `hard_state.tmp` | a new hard state written but not yet synced |
//! | `commit_index` | one line: how far the log is known committed and synced, so that a log that later lost committed entries is refused at open (`commit_floor.rs`) |
//!
//! A record is `len: u32 LE | crc32: u32 LE | payload`, where the CRC-32 (IEEE, `crc32fast`)
//! covers the payload and `1 <= len <= 1 MiB`. The payload is the serde_json of a
//! `shared::Entry` (or `shared::HardState`): about 80 bytes, readable with `strings`, and no
//! second encoding to keep in step with the wire types. Entries are checked before encoding and
//! after decoding (index continues the log, terms never decrease).
//!
//! # Crash, sync and power loss
//!
//! * `append` / `truncate_from` write to the file at once (a *crash*, i.e. the process dying,
//!   keeps them: the OS has them). `sync` fsyncs the log only if something was written since the
//!   last sync, so a group of batches costs one fsync.
//! * `set_hard_state` writes a complete `hard_state.tmp`; `sync` fsyncs it, renames it over
//!   `hard_state` and fsyncs the directory. After a crash, open installs a complete temp file
//!   (the contract: a crash keeps writes) and discards a torn one (the old hard state is kept:
//!   the replace is atomic). A crash while a *second* unsynced hard state overwrites the temp file
//!   falls back to the last synced one: safe, because nothing that depends on an unsynced hard
//!   state has been sent.
//! * `power_loss` is a **simulation** of what the disk would hold: the log is put back to its
//!   last synced image (cut to the synced length, plus any synced records that an unsynced
//!   truncation had removed), the temp hard state is deleted, and the result is fsynced.
//! * `open` refuses a log shorter than its `commit_index` record before repairing anything (a
//!   file emptied or cut by hand: `StorageError::Corrupt`, the files left as they are); then it
//!   recovers: it reads the log, cuts a torn tail (the report says how many bytes and
//!   why), refuses damage in the middle (`StorageError::Corrupt`), and fsyncs what it recovered,
//!   so after open everything is durable. `load` re-reads the files rather than trusting memory,
//!   except the first `load` after `open` with nothing written in between, which returns what
//!   `open` has just read (a restart would otherwise decode the whole log twice).
//!
//! # Limits
//!
//! The whole log is read into memory on open and `load` (fine for a teaching cluster's thousands
//! of entries). One process per directory is assumed; nothing locks it. If a torn write left an
//! intact record *after* a damaged one (blocks of one write reaching the disk out of order),
//! recovery reports corruption rather than guess.

mod codec;
mod commit_floor;
mod file;
mod report;

pub use codec::{Damage, TailDamage, HEADER_BYTES, PAYLOAD_BYTES_MAX};
pub use commit_floor::{FloorFound, COMMIT_INDEX_FILE};
pub use file::{FileStorage, HARD_STATE_FILE, HARD_STATE_TMP_FILE, LOG_BYTES_MAX, LOG_FILE};
pub use report::{RecoveryReport, TempHardState};

/// Make a create, rename or removal in `dir` durable: fsync the directory itself. Every writer
/// of the data directory (the storage, the fork's staging and install, the data directory's
/// manifest) calls this one, each putting the failure in its own error type.
pub fn fsync_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; NTFS journals renames itself.
        let _ = dir;
        Ok(())
    }
}
