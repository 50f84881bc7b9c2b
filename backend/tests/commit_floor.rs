//! `FileStorage`'s `commit_index` record against real files: a log that lost entries the node
//! recorded as committed is refused at open, untouched; a log that merely lost its unsynced or
//! uncommitted tail is not; the record never claims more than the synced log. Owns no production
//! code; every test works in its own temp directory.

use std::fs::{self, OpenOptions};
use std::path::Path;

use backend::storage::{FileStorage, FloorFound, COMMIT_INDEX_FILE, LOG_FILE};
use shared::{Command, Entry, EntryData, LogIndex, Storage, StorageError, Term};

fn entries(range: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    range
        .map(|i| Entry {
            index: LogIndex(i),
            term: Term(1),
            data: EntryData::Request {
                command: Command::Add(i as i64),
                client: None,
            },
        })
        .collect()
}

/// What the `commit_index` file holds, read as a person would (the first 20 digits).
fn recorded(dir: &Path) -> u64 {
    let line = fs::read_to_string(dir.join(COMMIT_INDEX_FILE)).unwrap();
    line[..20].parse().unwrap()
}

/// A node in `dir` with entries 1..=8 synced, of which 1..=5 are committed.
fn node_with_five_committed(dir: &Path) -> Vec<u64> {
    let (mut s, _) = FileStorage::create(dir).unwrap();
    let mut ends = vec![s.log_bytes()];
    for e in entries(1..=8) {
        s.append(std::slice::from_ref(&e)).unwrap();
        ends.push(s.log_bytes());
    }
    s.sync().unwrap();
    s.note_commit_index(LogIndex(5)).unwrap();
    ends
}

fn cut_log(dir: &Path, len: u64) {
    let log = OpenOptions::new()
        .write(true)
        .open(dir.join(LOG_FILE))
        .unwrap();
    log.set_len(len).unwrap();
}

#[test]
fn a_log_cut_below_the_record_is_refused_and_left_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let ends = node_with_five_committed(tmp.path());
    assert_eq!(recorded(tmp.path()), 5);

    // Cut at a record boundary after entry 4, and once more inside entry 3 (a torn-looking tail
    // that recovery would otherwise cut off).
    for len in [ends[4], ends[1], ends[2] + 5, 0] {
        cut_log(tmp.path(), len);
        let err = FileStorage::open(tmp.path()).expect_err("refused");
        assert!(matches!(err, StorageError::Corrupt(_)), "{err}");
        let text = err.to_string();
        assert!(text.contains("committed entries are gone"), "{text}");
        assert!(text.contains("entries up to 5"), "{text}");
        if len == ends[1] {
            assert!(text.contains("holds 1 entry,"), "{text}");
        }
        let on_disk = fs::metadata(tmp.path().join(LOG_FILE)).unwrap().len();
        assert_eq!(on_disk, len, "the log was not repaired");
    }
}

#[test]
fn a_deleted_log_below_the_record_is_refused_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    node_with_five_committed(tmp.path());
    fs::remove_file(tmp.path().join(LOG_FILE)).unwrap();
    let err = FileStorage::open(tmp.path()).expect_err("refused");
    assert!(err.to_string().contains("holds 0 entries"), "{err}");
    assert!(err.to_string().contains("New cluster"), "{err}");
    assert!(!tmp.path().join(LOG_FILE).exists(), "no empty log was made");
}

#[test]
fn a_log_cut_above_the_record_opens_as_a_shorter_log() {
    let tmp = tempfile::tempdir().unwrap();
    let ends = node_with_five_committed(tmp.path());
    // Entries 6..=8 were never committed: losing them is what a node that is behind looks like.
    cut_log(tmp.path(), ends[5]);
    let (mut s, report) = FileStorage::open(tmp.path()).unwrap();
    assert_eq!(report.commit_floor, FloorFound::Read(LogIndex(5)));
    assert_eq!(s.load().unwrap().1.len(), 5);
}

#[test]
fn the_record_never_passes_the_synced_log() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStorage::create(tmp.path()).unwrap();
    s.append(&entries(1..=3)).unwrap();
    s.sync().unwrap();
    s.append(&entries(4..=6)).unwrap();
    // The node says 6 is committed, but only 3 entries are on disk.
    s.note_commit_index(LogIndex(6)).unwrap();
    assert_eq!(recorded(tmp.path()), 3);
    s.power_loss().unwrap();
    drop(s);
    let (mut s, _) = FileStorage::open(tmp.path()).expect("a power loss is not damage");
    assert_eq!(s.load().unwrap().1.len(), 3);
    // Once the rest is synced, the commit index told earlier is recorded.
    s.append(&entries(4..=6)).unwrap();
    s.note_commit_index(LogIndex(6)).unwrap();
    assert_eq!(recorded(tmp.path()), 3);
    s.sync().unwrap();
    assert_eq!(recorded(tmp.path()), 6);
}

#[test]
fn a_truncation_of_committed_entries_lowers_the_record_first() {
    // Only the "break Raft" lab truncates committed entries; the files must still reopen.
    let tmp = tempfile::tempdir().unwrap();
    node_with_five_committed(tmp.path());
    let (mut s, _) = FileStorage::open(tmp.path()).unwrap();
    s.truncate_from(LogIndex(3)).unwrap();
    assert_eq!(recorded(tmp.path()), 2);
    drop(s);
    let (mut s, _) = FileStorage::open(tmp.path()).expect("reopens");
    assert_eq!(s.load().unwrap().1.len(), 2);
}

#[test]
fn a_missing_or_damaged_record_checks_nothing_and_is_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    node_with_five_committed(tmp.path());
    let path = tmp.path().join(COMMIT_INDEX_FILE);

    fs::remove_file(&path).unwrap();
    let (s, report) = FileStorage::open(tmp.path()).unwrap();
    assert_eq!(report.commit_floor, FloorFound::Missing);
    assert!(
        report.to_string().contains("no commit_index file"),
        "{report}"
    );
    assert_eq!(recorded(tmp.path()), 0);
    drop(s);

    fs::write(&path, "00000000000000000005 00000000\n").unwrap();
    let (_s, report) = FileStorage::open(tmp.path()).unwrap();
    assert!(
        matches!(&report.commit_floor, FloorFound::Unreadable(why) if why.contains("CRC")),
        "{report}"
    );
    assert_eq!(recorded(tmp.path()), 0);
}

#[test]
fn a_new_node_has_the_file_and_wipe_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (_s, report) = FileStorage::create(tmp.path()).unwrap();
    assert_eq!(report.commit_floor, FloorFound::Read(LogIndex(0)));
    FileStorage::wipe(tmp.path()).unwrap();
    assert!(!tmp.path().join(COMMIT_INDEX_FILE).exists());
}
