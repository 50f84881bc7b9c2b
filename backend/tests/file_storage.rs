//! `FileStorage` against real files: the shared storage conformance suite, recovery of torn and
//! corrupt logs, atomic hard-state replacement and round trips across reopen
//! (`file_storage_sim.rs` runs the simulator on it). Owns no production code; every test works in
//! its own temp directory.

use shared::NodeId;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use backend::storage::{
    Damage, FileStorage, RecoveryReport, TempHardState, HARD_STATE_FILE, HARD_STATE_TMP_FILE,
    HEADER_BYTES, LOG_FILE,
};
use shared::storage::conformance;
use shared::{Command, Entry, EntryData, HardState, LogIndex, Storage, StorageError, Term};

/// Entry `index` of `term` (plain numbers keep the test tables short).
fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index: LogIndex(index),
        term: Term(term),
        data: EntryData::Request {
            command: Command::Add(index as i64),
            client: None,
        },
    }
}

fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
    range.map(|i| entry(i, term)).collect()
}

fn open(dir: &Path) -> (FileStorage, RecoveryReport) {
    FileStorage::open(dir).expect("open")
}

/// Open the node directory again, as a restarted process would.
fn reopen(storage: FileStorage) -> (FileStorage, RecoveryReport) {
    let dir = storage.dir().to_path_buf();
    drop(storage);
    open(&dir)
}

/// A storage in `dir` holding `entries`, synced, then dropped. Returns each record's byte offset
/// (plus the file length at the end).
fn write_log(dir: &Path, entries: &[Entry]) -> Vec<u64> {
    let (mut s, _) = open(dir);
    let mut offsets = vec![s.log_bytes()];
    for e in entries {
        s.append(std::slice::from_ref(e)).unwrap();
        offsets.push(s.log_bytes());
    }
    s.sync().unwrap();
    offsets
}

fn log_path(dir: &Path) -> std::path::PathBuf {
    dir.join(LOG_FILE)
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x20;
    fs::write(path, bytes).unwrap();
}

#[test]
fn file_storage_passes_the_conformance_suite() {
    // Each fresh storage lives in its own temp dir; the TempDir guards are kept until the end.
    let mut dirs = Vec::new();
    conformance::run_all(
        || {
            let dir = tempfile::tempdir().unwrap();
            let (s, report) = open(dir.path());
            assert_eq!(report.records_recovered, 0);
            dirs.push(dir);
            s
        },
        |s| reopen(s).0,
    );
}

#[test]
fn torn_tail_mid_record_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = write_log(dir.path(), &entries(1..=5, 1));
    let path = log_path(dir.path());
    // Cut the last record in the middle of its payload.
    let cut = offsets[4] + HEADER_BYTES as u64 + 3;
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let (mut s, report) = open(dir.path());
    assert_eq!(report.records_recovered, 4);
    assert_eq!(report.bytes_dropped, cut - offsets[4]);
    let damage = report.tail_damage.expect("the torn record is reported");
    assert_eq!(damage.offset, offsets[4]);
    assert_eq!(damage.index, 5);
    assert!(
        matches!(damage.damage, Damage::ShortPayload { available: 3, .. }),
        "{:?}",
        damage.damage
    );
    assert!(!report.is_clean());
    assert!(report.to_string().contains("torn"), "{report}");
    assert_eq!(
        file_len(&path),
        offsets[4],
        "the file is cut at the torn record"
    );
    let (_, log) = s.load().unwrap();
    assert_eq!(log, entries(1..=4, 1));
    assert_eq!(s.synced_index(), 4, "what open recovered is durable");

    // The log goes on from the recovered prefix, and the next open is clean.
    s.append(&[entry(5, 2)]).unwrap();
    s.sync().unwrap();
    let (mut s, report) = reopen(s);
    assert!(report.is_clean(), "{report}");
    assert_eq!(s.load().unwrap().1.last(), Some(&entry(5, 2)));
}

#[test]
fn garbage_half_header_at_the_end_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = write_log(dir.path(), &entries(1..=3, 1));
    let path = log_path(dir.path());
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&[0xde, 0xad, 0xbe]).unwrap();
    drop(file);

    let (mut s, report) = open(dir.path());
    assert_eq!(report.records_recovered, 3);
    assert_eq!(report.bytes_dropped, 3);
    assert_eq!(
        report.tail_damage.map(|d| d.damage),
        Some(Damage::ShortHeader { available: 3 })
    );
    assert_eq!(file_len(&path), offsets[3]);
    assert_eq!(s.load().unwrap().1, entries(1..=3, 1));
}

#[test]
fn crc_mismatch_in_the_last_record_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = write_log(dir.path(), &entries(1..=4, 2));
    let path = log_path(dir.path());
    flip_byte(&path, offsets[3] + HEADER_BYTES as u64 + 5);

    let (mut s, report) = open(dir.path());
    assert_eq!(report.records_recovered, 3);
    assert_eq!(report.bytes_dropped, offsets[4] - offsets[3]);
    let damage = report.tail_damage.unwrap();
    assert_eq!(damage.index, 4);
    assert!(matches!(damage.damage, Damage::CrcMismatch { .. }));
    assert_eq!(s.load().unwrap().1, entries(1..=3, 2));
}

#[test]
fn crc_mismatch_in_a_middle_record_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = write_log(dir.path(), &entries(1..=5, 1));
    let path = log_path(dir.path());
    let before = fs::read(&path).unwrap();
    flip_byte(&path, offsets[2] + HEADER_BYTES as u64 + 5);

    match FileStorage::open(dir.path()) {
        Err(StorageError::Corrupt(message)) => {
            assert!(message.contains("entry 3"), "{message}");
            assert!(message.contains("checksum"), "{message}");
            assert!(message.contains("intact record follows"), "{message}");
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok((_, report)) => panic!("a damaged middle record was accepted: {report}"),
    }
    let mut expected = before;
    expected[(offsets[2] + HEADER_BYTES as u64 + 5) as usize] ^= 0x20;
    assert_eq!(
        fs::read(&path).unwrap(),
        expected,
        "a corrupt log is left untouched for inspection"
    );
}

#[test]
fn corrupt_length_in_a_middle_record_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = write_log(dir.path(), &entries(1..=5, 1));
    let path = log_path(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    // A length pointing past the end would look like a torn tail if the scan trusted it.
    let at = offsets[1] as usize;
    bytes[at..at + 4].copy_from_slice(&100_000u32.to_le_bytes());
    fs::write(&path, bytes).unwrap();
    assert!(matches!(
        FileStorage::open(dir.path()),
        Err(StorageError::Corrupt(m)) if m.contains("entry 2")
    ));
}

#[test]
fn garbage_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(log_path(dir.path()), b"this is not a log at all").unwrap();
    // Text read as a length is far above the record limit: a torn tail with no record before it.
    let (mut s, report) = open(dir.path());
    assert_eq!(report.records_recovered, 0);
    assert!(matches!(
        report.tail_damage.map(|d| d.damage),
        Some(Damage::BadLength { .. })
    ));
    assert!(s.load().unwrap().1.is_empty());

    fs::write(dir.path().join(HARD_STATE_FILE), b"garbage").unwrap();
    drop(s);
    assert!(matches!(
        FileStorage::open(dir.path()),
        Err(StorageError::Corrupt(m)) if m.contains(HARD_STATE_FILE)
    ));
}

#[test]
fn truncation_is_durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    s.append(&entries(1..=6, 1)).unwrap();
    s.sync().unwrap();
    s.truncate_from(LogIndex(4)).unwrap();
    s.append(&[entry(4, 2)]).unwrap();
    s.sync().unwrap();

    let (mut s, report) = reopen(s);
    assert!(report.is_clean(), "{report}");
    let (_, log) = s.load().unwrap();
    let mut expected = entries(1..=3, 1);
    expected.push(entry(4, 2));
    assert_eq!(log, expected);
    assert_eq!(s.last_index(), 4);

    // A synced truncation also survives a (simulated) power loss.
    s.truncate_from(LogIndex(2)).unwrap();
    s.sync().unwrap();
    s.power_loss().unwrap();
    assert_eq!(s.load().unwrap().1, entries(1..=1, 1));
}

#[test]
fn power_loss_restores_records_cut_by_an_unsynced_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    s.append(&entries(1..=5, 1)).unwrap();
    s.sync().unwrap();
    let synced_bytes = s.log_bytes();
    // A follower's conflicting suffix is replaced, but the fsync never happens.
    s.truncate_from(LogIndex(3)).unwrap();
    s.append(&entries(3..=4, 2)).unwrap();
    s.truncate_from(LogIndex(2)).unwrap();
    assert_eq!(s.synced_index(), 1);
    s.power_loss().unwrap();

    assert_eq!(s.load().unwrap().1, entries(1..=5, 1));
    assert_eq!(s.synced_index(), 5);
    assert_eq!(s.log_bytes(), synced_bytes);
    let (mut s, report) = reopen(s);
    assert!(report.is_clean());
    assert_eq!(s.load().unwrap().1, entries(1..=5, 1));
}

#[test]
fn unsynced_hard_state_survives_a_crash_but_not_a_power_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    let old = HardState {
        current_term: Term(3),
        voted_for: Some(NodeId(2)),
    };
    let new = HardState {
        current_term: Term(4),
        voted_for: None,
    };
    s.set_hard_state(old).unwrap();
    s.sync().unwrap();

    // Crash after the write, before the sync: the complete temp file is installed.
    s.set_hard_state(new).unwrap();
    assert_eq!(s.load().unwrap().0, new, "a write is visible at once");
    let (mut s, report) = reopen(s);
    assert_eq!(report.temp_hard_state, TempHardState::Installed);
    assert_eq!(s.load().unwrap().0, new);
    assert!(!dir.path().join(HARD_STATE_TMP_FILE).exists());

    // Power loss after the write: the synced hard state comes back.
    let newer = HardState {
        current_term: Term(5),
        voted_for: Some(NodeId(1)),
    };
    s.set_hard_state(newer).unwrap();
    s.power_loss().unwrap();
    assert_eq!(s.load().unwrap().0, new);
    let (mut s, report) = reopen(s);
    assert_eq!(report.temp_hard_state, TempHardState::Absent);
    assert_eq!(s.load().unwrap().0, new);
}

#[test]
fn torn_hard_state_temp_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    let old = HardState {
        current_term: Term(7),
        voted_for: Some(NodeId(3)),
    };
    s.set_hard_state(old).unwrap();
    s.sync().unwrap();
    s.set_hard_state(HardState {
        current_term: Term(8),
        voted_for: Some(NodeId(1)),
    })
    .unwrap();
    drop(s);
    // The process died while writing the temp file: only part of it reached the OS.
    let tmp = dir.path().join(HARD_STATE_TMP_FILE);
    let bytes = fs::read(&tmp).unwrap();
    fs::write(&tmp, &bytes[..bytes.len() / 2]).unwrap();

    let (mut s, report) = open(dir.path());
    assert!(
        matches!(report.temp_hard_state, TempHardState::Discarded { .. }),
        "{report}"
    );
    assert!(!report.is_clean());
    assert_eq!(s.load().unwrap().0, old, "the old hard state is read");
    assert!(!tmp.exists(), "the torn temp file is removed");
}

#[test]
fn reopen_returns_identical_entries_and_hard_state() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    let log = vec![
        Entry {
            index: LogIndex(1),
            term: Term(1),
            data: EntryData::Noop,
        },
        Entry {
            index: LogIndex(2),
            term: Term(1),
            data: EntryData::Request {
                command: Command::Mul(-3),
                client: None,
            },
        },
        Entry {
            index: LogIndex(3),
            term: Term(2),
            data: EntryData::Value {
                value: -42,
                command: Command::AddRand,
                client: None,
            },
        },
        Entry {
            index: LogIndex(4),
            term: Term(2),
            data: EntryData::Request {
                command: Command::Set(i64::MIN),
                client: None,
            },
        },
    ];
    let hard_state = HardState {
        current_term: Term(2),
        voted_for: Some(NodeId(1)),
    };
    s.append(&log).unwrap();
    s.set_hard_state(hard_state).unwrap();
    s.sync().unwrap();
    let before = s.load().unwrap();

    let (mut s, report) = reopen(s);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.records_recovered, 4);
    assert_eq!(report.hard_state, hard_state);
    assert_eq!(s.load().unwrap(), before);
    assert_eq!(before, (hard_state, log));
}

#[test]
fn ten_thousand_entries_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    let mut expected = Vec::new();
    for batch in 0..100u64 {
        let term = 1 + batch / 10;
        let first = batch * 100 + 1;
        let chunk = entries(first..=first + 99, term);
        s.append(&chunk).unwrap();
        expected.extend(chunk);
        if batch % 7 == 0 {
            s.sync().unwrap();
        }
    }
    s.sync().unwrap();
    assert_eq!(s.last_index(), 10_000);

    let (mut s, report) = reopen(s);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.records_recovered, 10_000);
    assert_eq!(s.load().unwrap().1, expected);
    assert_eq!(s.synced_index(), 10_000);
}

#[test]
fn refused_appends_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    s.append(&entries(1..=2, 3)).unwrap();
    let bytes = s.log_bytes();
    assert!(matches!(
        s.append(&[entry(3, 3), entry(5, 3)]),
        Err(StorageError::NotContiguous {
            expected: LogIndex(4),
            got: LogIndex(5)
        })
    ));
    assert!(
        matches!(s.append(&[entry(3, 2)]), Err(StorageError::Corrupt(m)) if m.contains("term")),
        "a falling term is refused before it reaches the disk"
    );
    assert_eq!(s.log_bytes(), bytes);
    assert_eq!(s.last_index(), 2);
    // A refused append is a caller bug, not a disk failure: the storage stays usable.
    s.append(&[entry(3, 3)]).unwrap();
    s.sync().unwrap();
    assert_eq!(s.load().unwrap().1.len(), 3);
}

#[test]
fn load_notices_a_file_changed_behind_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    s.append(&entries(1..=3, 1)).unwrap();
    s.sync().unwrap();
    let path = log_path(dir.path());
    let len = file_len(&path);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    assert!(matches!(s.load(), Err(StorageError::Corrupt(_))));
}

#[test]
fn wipe_removes_only_the_storage_files() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    s.append(&entries(1..=3, 1)).unwrap();
    s.set_hard_state(HardState {
        current_term: Term(1),
        voted_for: None,
    })
    .unwrap();
    s.sync().unwrap();
    drop(s);
    let other = dir.path().join("notes.txt");
    fs::write(&other, "keep me").unwrap();

    let mut s = FileStorage::open_fresh(dir.path()).unwrap();
    assert_eq!(s.load().unwrap(), (HardState::default(), Vec::new()));
    assert_eq!(fs::read_to_string(&other).unwrap(), "keep me");
    // Wiping a directory that does not exist is not an error.
    FileStorage::wipe(dir.path().join("missing")).unwrap();
}

#[test]
fn open_creates_nested_node_directories() {
    let dir = tempfile::tempdir().unwrap();
    let node_dir = dir.path().join("data").join("node-1");
    let (mut s, report) = open(&node_dir);
    assert!(report.is_clean());
    s.append(&entries(1..=1, 1)).unwrap();
    s.sync().unwrap();
    assert!(node_dir.join(LOG_FILE).is_file());
}

#[test]
fn the_entries_read_at_open_serve_one_load_only_until_something_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(dir.path());
    s.append(&entries(1..=3, 1)).unwrap();
    s.sync().unwrap();
    drop(s);
    // Reopened: the first load returns what open read, without reading the files again.
    let (mut s, _) = open(dir.path());
    assert_eq!(s.load().unwrap().1, entries(1..=3, 1));
    // Any write drops them: the next load reads the disk and notices a file changed behind it.
    s.set_hard_state(HardState {
        current_term: Term(2),
        voted_for: None,
    })
    .unwrap();
    let path = log_path(dir.path());
    let len = file_len(&path);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    assert!(matches!(s.load(), Err(StorageError::Corrupt(_))));
}

/// What QA put in place of a node's files (2026-12-02): a log with 2 GB after its records (read
/// whole into memory before a word), a link to /dev/zero (read without end), a FIFO for the hard
/// state (the start hung). Each is refused at once, naming the file.
#[test]
fn a_file_that_is_not_a_small_regular_file_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let dir = tmp.path().join(name);
        drop(FileStorage::open(&dir).expect("a new node"));
        dir
    };
    let refused = |dir: &Path| match FileStorage::open(dir) {
        Ok(_) => panic!("{} was opened", dir.display()),
        Err(e) => e.to_string(),
    };
    let huge = fresh("huge");
    OpenOptions::new()
        .write(true)
        .open(huge.join(LOG_FILE))
        .unwrap()
        .set_len(backend::storage::LOG_BYTES_MAX + 1) // sparse: nothing is written
        .unwrap();
    let e = refused(&huge);
    assert!(e.contains("more than the 1073741824"), "{e}");
    assert!(e.contains("--fresh"), "{e}");

    let device = fresh("device");
    fs::remove_file(device.join(LOG_FILE)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", device.join(LOG_FILE)).unwrap();
    let e = refused(&device);
    assert!(e.contains("is not a regular file"), "{e}");

    let fifo = fresh("fifo");
    let path = fifo.join(HARD_STATE_FILE);
    let _ = fs::remove_file(&path);
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let e = refused(&fifo);
    assert!(e.contains("is not a regular file"), "{e}");
}
