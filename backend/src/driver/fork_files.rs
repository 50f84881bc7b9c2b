//! Rewriting the data directory for a fork (or undo, load, restore) so that a crash at any
//! moment leaves either the old cluster or the new one, never a mix. Owns `fork.staging/` and
//! the order of the renames; must not decide what the nodes hold (the re-executed cluster says)
//! nor write a node's files itself (`FileStorage` does).
//!
//! 1. **Stage**: each node's *synced* state is written with `FileStorage` into
//!    `fork.staging/node-<id>/` and fsynced, the manifest into `fork.staging/cluster.json`; then
//!    the marker `fork.staging/COMPLETE` is written and fsynced. A crash before the marker: the
//!    next start deletes the staging directory and recovers the old cluster.
//! 2. **Install**: every staged file is renamed over its live counterpart (an atomic replace per
//!    file), the manifest last, nodes the new cluster does not have are removed, and the staging
//!    directory goes (marker last). A crash in the middle: the next start sees the marker and
//!    finishes the renames ([`finish_interrupted`]), so the new cluster is what comes back.
//!
//! The written-but-unsynced tail of each node is written afterwards, through the live storage,
//! without an fsync (see `history.rs`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use shared::{MemStorage, NodeId, Storage};

use super::{DataDir, Manifest, MANIFEST_FILE};
use crate::storage::{
    FileStorage, COMMIT_INDEX_FILE, HARD_STATE_FILE, HARD_STATE_TMP_FILE, LOG_FILE,
};

/// The staging directory's name in the data directory.
pub const STAGING_DIR: &str = "fork.staging";
const COMPLETE: &str = "COMPLETE";

fn staging(root: &Path) -> PathBuf {
    root.join(STAGING_DIR)
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> String {
    let text = format!("{what} {}", path.display());
    move |e| format!("{text}: {e}")
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    crate::storage::fsync_dir(dir).map_err(io("cannot fsync", dir))
}

/// Step 1: stage the synced state of every node of `nodes` and the manifest `manifest`.
pub fn stage(
    root: &Path,
    manifest: &Manifest,
    nodes: &[(NodeId, &MemStorage)],
) -> Result<(), String> {
    let dir = staging(root);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io("cannot remove", &dir))?;
    }
    fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
    for (id, memory) in nodes {
        let node_dir = dir.join(format!("node-{id}"));
        let fail = |e: shared::StorageError| format!("S{id}: {e}");
        // `create`, not `open_fresh`: every file is written, a term-0 hard state and a 0 commit
        // record too, so that installing replaces each of the live node's (an old term, vote or
        // record left beside the new log would be another node's).
        let (mut files, _) = FileStorage::create(&node_dir).map_err(fail)?;
        let (state, log) = memory.durable_view().expect("memory storage has one");
        files.set_hard_state(state).map_err(fail)?;
        files.append(log).map_err(fail)?;
        files.sync().map_err(fail)?;
    }
    let path = dir.join(MANIFEST_FILE);
    let mut json = serde_json::to_vec_pretty(manifest).expect("a manifest serializes");
    json.push(b'\n');
    write_synced(&path, &json)?;
    sync_dir(&dir)?;
    write_synced(&dir.join(COMPLETE), b"")?;
    sync_dir(&dir)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut file = fs::File::create(path).map_err(io("cannot create", path))?;
    file.write_all(bytes).map_err(io("cannot write", path))?;
    file.sync_all().map_err(io("cannot fsync", path))
}

/// Step 2: move the staged files into place. Idempotent: a crash during it is finished by
/// [`finish_interrupted`].
pub fn install(data_dir: &DataDir) -> Result<(), String> {
    let root = data_dir.root();
    let dir = staging(root);
    let manifest: Manifest = serde_json::from_slice(
        &fs::read(dir.join(MANIFEST_FILE)).map_err(io("cannot read", &dir))?,
    )
    .map_err(|e| format!("the staged manifest is unreadable: {e}"))?;
    for id in NodeId::all(manifest.nodes) {
        let (from, to) = (dir.join(format!("node-{id}")), data_dir.node_dir(id));
        if !from.exists() {
            continue; // Moved already, before a crash.
        }
        fs::create_dir_all(&to).map_err(io("cannot create", &to))?;
        // A hard-state temp file of the old node must not be taken for the new one's.
        let _ = fs::remove_file(to.join(HARD_STATE_TMP_FILE));
        // `commit_index` first: the staged one (0) may only lower the record, and a crash
        // between two renames must never pair a higher old record with the new, shorter log.
        for name in [COMMIT_INDEX_FILE, LOG_FILE, HARD_STATE_FILE] {
            let staged = from.join(name);
            if staged.exists() {
                fs::rename(&staged, to.join(name)).map_err(io("cannot move", &staged))?;
            } else if name == COMMIT_INDEX_FILE {
                // Moved already (before a crash), or never staged: either way the old node's
                // record must not stay beside the new log (a missing record reads as 0).
                let live = to.join(name);
                if live.exists() {
                    fs::remove_file(&live).map_err(io("cannot remove", &live))?;
                }
            }
        }
        sync_dir(&to)?;
        fs::remove_dir_all(&from).map_err(io("cannot remove", &from))?;
    }
    sync_dir(root)?;
    let staged_manifest = dir.join(MANIFEST_FILE);
    if staged_manifest.exists() {
        fs::rename(&staged_manifest, root.join(MANIFEST_FILE))
            .map_err(io("cannot move", &staged_manifest))?;
        sync_dir(root)?;
    }
    // Nodes the new cluster does not have (a loaded trace may be smaller).
    for id in manifest.nodes + 1..=shared::sim::NODES_MAX {
        let old = data_dir.node_dir(NodeId(id));
        if old.is_dir() {
            FileStorage::wipe(&old).map_err(|e| e.to_string())?;
            let _ = fs::remove_dir(&old);
        }
    }
    fs::remove_file(dir.join(COMPLETE)).map_err(io("cannot remove", &dir))?;
    fs::remove_dir_all(&dir).map_err(io("cannot remove", &dir))?;
    sync_dir(root)
}

/// At start: finish a fork a crash interrupted after staging, or forget one interrupted before.
/// Returns true when a fork was finished.
pub fn finish_interrupted(data_dir: &DataDir) -> Result<bool, String> {
    let dir = staging(data_dir.root());
    if dir.join(COMPLETE).exists() {
        install(data_dir)?;
        return Ok(true);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io("cannot remove", &dir))?;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Command, Entry, EntryData, HardState, LogIndex, SimConfig, Term};

    fn storage(entries: u64, term: u64) -> MemStorage {
        let mut m = MemStorage::new();
        let log: Vec<Entry> = (1..=entries)
            .map(|index| Entry {
                index: LogIndex(index),
                term: Term(term),
                data: EntryData::Request {
                    command: Command::Add(index as i64),
                    client: None,
                },
            })
            .collect();
        m.set_hard_state(HardState {
            current_term: Term(term),
            voted_for: Some(NodeId(1)),
        })
        .unwrap();
        m.append(&log).unwrap();
        m.sync().unwrap();
        m
    }

    fn on_disk(data_dir: &DataDir, id: NodeId) -> (HardState, Vec<Entry>) {
        let (mut files, _) = data_dir.open_node(id).unwrap();
        files.load().unwrap()
    }

    #[test]
    fn a_crash_before_the_marker_keeps_the_old_cluster_and_after_it_the_new_one() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = DataDir::new(tmp.path());
        let old = SimConfig {
            nodes: 3,
            ..SimConfig::default()
        };
        data_dir
            .write_manifest(&Manifest::from_config(&old))
            .unwrap();
        let mut old_disk = Vec::new();
        for id in 1..=3 {
            let (mut f, _) = data_dir.create_node(NodeId(id)).unwrap();
            let m = storage(id, 1);
            f.set_hard_state(m.hard_state()).unwrap();
            f.append(m.entries()).unwrap();
            f.sync().unwrap();
            // Every old entry committed: S2's `commit_index` file says 2 (see below).
            f.note_commit_index(LogIndex(id)).unwrap();
            old_disk.push(m.clone().load().unwrap());
        }
        let new = SimConfig {
            nodes: 2,
            seed: 9,
            ..SimConfig::default()
        };
        // The new S2 is blank (term 0, no vote, no entries: a fork to the first instant): the
        // install must replace the old S2's hard state (term 1, a vote) and its record of two
        // committed entries too, or S2 would come back with another node's term and vote, or be
        // refused as a damaged log.
        let new_nodes = [storage(5, 4), MemStorage::new()];
        let staged: Vec<(NodeId, &MemStorage)> =
            vec![(NodeId(1), &new_nodes[0]), (NodeId(2), &new_nodes[1])];

        // Crash while staging (no marker yet): the old cluster is what the next start finds.
        stage(tmp.path(), &Manifest::from_config(&new), &staged).unwrap();
        fs::remove_file(staging(tmp.path()).join(COMPLETE)).unwrap();
        assert!(!finish_interrupted(&data_dir).unwrap());
        assert!(!staging(tmp.path()).exists());
        assert_eq!(data_dir.read_manifest().unwrap().unwrap().seed, old.seed);
        assert_eq!(on_disk(&data_dir, NodeId(2)), old_disk[1]);

        // Crash after the marker, one node moved: the next start finishes the fork.
        stage(tmp.path(), &Manifest::from_config(&new), &staged).unwrap();
        let moved = staging(tmp.path()).join("node-1");
        for name in [COMMIT_INDEX_FILE, LOG_FILE, HARD_STATE_FILE] {
            fs::rename(moved.join(name), data_dir.node_dir(NodeId(1)).join(name)).unwrap();
        }
        fs::remove_dir_all(&moved).unwrap();
        assert!(finish_interrupted(&data_dir).unwrap());
        assert_eq!(data_dir.read_manifest().unwrap().unwrap().seed, 9);
        assert_eq!(
            on_disk(&data_dir, NodeId(1)),
            new_nodes[0].clone().load().unwrap()
        );
        assert_eq!(
            on_disk(&data_dir, NodeId(2)),
            new_nodes[1].clone().load().unwrap()
        );
        assert!(
            !data_dir.node_dir(NodeId(3)).join(LOG_FILE).exists(),
            "S3 is gone"
        );
        assert!(!staging(tmp.path()).exists());
    }
}
