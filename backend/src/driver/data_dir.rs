//! The data directory of a live cluster: `cluster.json` (what the cluster is: nodes, seed, log
//! model, timings, network settings) and one `node-<id>/` directory per node holding that node's
//! files (written by [`FileStorage`]). Owns the layout, the manifest and wiping; must not read or
//! write the nodes' files itself — `FileStorage` does.
//!
//! A restarted process finds `cluster.json`, rebuilds the same cluster and reopens every node's
//! files, so Raft recovers from disk. The manifest is written before any node directory is
//! created (temp file, fsync, rename, fsync the directory), so a directory with node files always
//! has a complete manifest. Wiping removes only names this module creates, never anything else a
//! person may keep in the same directory.
//!
//! Two kinds of loss are refused rather than papered over (a silent repair would forget votes):
//! node directories without `cluster.json` are wiped only when [`WIPE_MARKER`] says a wipe was
//! under way, and a node of a stored cluster whose files are gone is not reopened as a blank node
//! (see [`DataDir::open_node`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::protocol::Timing;
use shared::raft::BrokenRules;
use shared::sim::{NetworkSettings, SimConfig};
use shared::{LogModel, NodeId};

use crate::storage::{
    fsync_dir, FileStorage, RecoveryReport, COMMIT_INDEX_FILE, HARD_STATE_FILE,
    HARD_STATE_TMP_FILE, LOG_FILE,
};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "cluster.json";
/// Locked (flock) by the process using the directory; holds its pid for people to read.
pub const LOCK_FILE: &str = "logscope.lock";
const MANIFEST_TMP_FILE: &str = "cluster.json.tmp";
/// Written (and fsynced) before a wipe removes anything and removed once it is done, so that a
/// process killed in the middle of a wipe finishes it at the next start, while node directories
/// that merely lost their `cluster.json` are refused instead of wiped.
pub const WIPE_MARKER: &str = "wipe-in-progress";
/// The files every node of a stored cluster has (its log and its hard state).
const NODE_FILES: [&str; 2] = [LOG_FILE, HARD_STATE_FILE];
/// Bumped when the manifest changes incompatibly.
const MANIFEST_FORMAT: u32 = 1;

/// What `cluster.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`] when written.
    pub format: u32,
    /// Cluster size.
    pub nodes: u64,
    /// The run's seed.
    pub seed: u64,
    /// How clients use the log.
    pub log_model: LogModel,
    /// Raft and disk timings.
    pub timing: Timing,
    /// Loss, duplication and latency as last set.
    pub network: ManifestNetwork,
    /// Raft rules switched off on purpose, as last set (absent: none).
    #[serde(default, skip_serializing_if = "no_rule_broken")]
    pub broken_rules: BrokenRules,
}

fn no_rule_broken(rules: &BrokenRules) -> bool {
    !rules.any()
}

/// The network settings part of the manifest (plain data, so the file stays readable).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestNetwork {
    /// Minimum one-way latency (ms).
    pub latency_ms_min: u64,
    /// Maximum one-way latency (ms).
    pub latency_ms_max: u64,
    /// Probability that a message is lost.
    pub loss_probability: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_probability: f64,
}

impl Manifest {
    /// The manifest describing `config`.
    pub fn from_config(config: &SimConfig) -> Self {
        let n = config.network;
        Manifest {
            format: MANIFEST_FORMAT,
            nodes: config.nodes,
            seed: config.seed,
            log_model: config.log_model,
            timing: config.timing,
            network: ManifestNetwork {
                latency_ms_min: n.latency_ms_min,
                latency_ms_max: n.latency_ms_max,
                loss_probability: n.loss_probability,
                duplicate_probability: n.duplicate_probability,
            },
            broken_rules: config.broken_rules,
        }
    }

    /// The simulator configuration this manifest describes.
    pub fn to_config(&self) -> SimConfig {
        let n = self.network;
        SimConfig {
            nodes: self.nodes,
            seed: self.seed,
            log_model: self.log_model,
            timing: self.timing,
            network: NetworkSettings {
                latency_ms_min: n.latency_ms_min,
                latency_ms_max: n.latency_ms_max,
                loss_probability: n.loss_probability,
                duplicate_probability: n.duplicate_probability,
            },
            broken_rules: self.broken_rules,
        }
    }
}

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `cluster.json` is unreadable or describes an impossible cluster.
    #[error("{path} is not a valid logscope manifest: {reason} (start with --fresh to wipe it)")]
    BadManifest {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `cluster.json` was written by a newer logscope: its files are fine, this binary is old.
    #[error(
        "{path} was written by a newer logscope (format {found}; this one reads format \
         {MANIFEST_FORMAT}): run that version (--fresh would wipe the cluster)"
    )]
    NewerFormat {
        /// The manifest's path.
        path: PathBuf,
        /// The format it names.
        found: u32,
    },
    /// Another process holds the directory's lock.
    #[error(
        "another logscope process{} is using the data directory {path}: stop it, or start this \
         one with a different --data-dir",
        holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Busy {
        /// The data directory.
        path: PathBuf,
        /// The pid written in the lock file, if readable.
        holder: Option<u32>,
    },
    /// `cluster.json` is gone but node files are there, and no wipe was under way.
    #[error(
        "{manifest} is missing, but {root} holds the files of {} (no wipe was in progress, so \
         this is not an interrupted reset): restore cluster.json from a backup to recover the \
         cluster, or start with --fresh to wipe these nodes' logs and start a new cluster",
        list_nodes(nodes)
    )]
    ManifestMissing {
        /// Where the manifest should be.
        manifest: PathBuf,
        /// The data directory.
        root: PathBuf,
        /// Nodes whose files were found.
        nodes: Vec<NodeId>,
    },
    /// `cluster.json` names fewer servers than the directory holds files of: started as it
    /// says, a smaller majority could overwrite what the others committed.
    #[error(
        "{manifest} describes a cluster of {described} servers, but {root} also holds the files \
         of {}: started with {described}, a majority of them could overwrite entries the others \
         committed. Restore cluster.json from a backup to recover the cluster, or start with \
         --fresh to wipe it and start a new one",
        list_nodes(extra)
    )]
    ExtraNodes {
        /// The manifest.
        manifest: PathBuf,
        /// The data directory.
        root: PathBuf,
        /// How many servers the manifest names.
        described: u64,
        /// Servers beyond those, whose files are there.
        extra: Vec<NodeId>,
    },
    /// A node of a stored cluster has lost its files (deleted directory or hard state).
    #[error(
        "S{node} of the stored cluster lost its files: {} missing in {path}. A node that forgot \
         its term and vote could vote twice in one term, so it is not brought back blank: \
         restore the files, or start with --fresh to wipe the whole cluster",
        missing.join(" and ")
    )]
    LostFiles {
        /// The node.
        node: NodeId,
        /// Its directory.
        path: PathBuf,
        /// What is missing (`node directory`, `log`, `hard_state`).
        missing: Vec<String>,
    },
    /// A node's files could not be opened or recovered.
    #[error("cannot open S{node}'s files in {path}: {reason}")]
    Node {
        /// The node.
        node: NodeId,
        /// Its directory.
        path: PathBuf,
        /// The storage error.
        reason: String,
    },
}

/// The data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory at `root` (created when needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Node `id`'s directory.
    pub fn node_dir(&self, id: NodeId) -> PathBuf {
        self.root.join(format!("node-{id}"))
    }

    /// The manifest, if there is one.
    pub fn read_manifest(&self) -> Result<Option<Manifest>, DataDirError> {
        let path = self.root.join(MANIFEST_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(DataDirError::Io {
                    what: "cannot read",
                    path,
                    source,
                })
            }
        };
        let bad = |reason: String| DataDirError::BadManifest {
            path: path.clone(),
            reason,
        };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if manifest.format > MANIFEST_FORMAT {
            return Err(DataDirError::NewerFormat {
                path,
                found: manifest.format,
            });
        }
        if manifest.format != MANIFEST_FORMAT {
            return Err(bad(format!(
                "format {} is not the supported format {MANIFEST_FORMAT}",
                manifest.format
            )));
        }
        shared::sim::validate(&manifest.to_config()).map_err(|e| bad(e.to_string()))?;
        Ok(Some(manifest))
    }

    /// Write the manifest atomically: temp file, fsync, rename, fsync the directory.
    pub fn write_manifest(&self, manifest: &Manifest) -> Result<(), DataDirError> {
        self.create_root()?;
        let tmp = self.root.join(MANIFEST_TMP_FILE);
        let path = self.root.join(MANIFEST_FILE);
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| DataDirError::Io { what, path, source }
        };
        let mut json = serde_json::to_vec_pretty(manifest).map_err(|e| DataDirError::Io {
            what: "cannot encode",
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        json.push(b'\n');
        let mut file = fs::File::create(&tmp).map_err(io("cannot create", &tmp))?;
        file.write_all(&json).map_err(io("cannot write", &tmp))?;
        file.sync_all().map_err(io("cannot fsync", &tmp))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(io("cannot rename into", &path))?;
        fsync_dir(&self.root).map_err(io("cannot fsync", &self.root))
    }

    /// True when a wipe was started and has not finished (the process died during it).
    pub fn wipe_in_progress(&self) -> bool {
        self.root.join(WIPE_MARKER).exists()
    }

    /// Nodes whose directory holds any of a node's files (log, hard state or its temp file).
    pub fn nodes_with_files(&self) -> Result<Vec<NodeId>, DataDirError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(DataDirError::Io {
                    what: "cannot list",
                    path: self.root.clone(),
                    source,
                })
            }
        };
        let mut nodes: Vec<NodeId> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                let has_files = [
                    LOG_FILE,
                    HARD_STATE_FILE,
                    HARD_STATE_TMP_FILE,
                    COMMIT_INDEX_FILE,
                ]
                .iter()
                .any(|f| path.join(f).exists());
                (is_node_dir_name(&name) && has_files)
                    .then(|| name["node-".len()..].parse().ok())
                    .flatten()
            })
            .collect();
        nodes.sort_unstable();
        Ok(nodes)
    }

    /// What to do when there is no manifest: `Ok` when the directory holds no node files, or
    /// only those of an interrupted wipe (then wiping them is what was asked for); otherwise
    /// [`DataDirError::ManifestMissing`]: their cluster's description is lost, and guessing it
    /// (or wiping their logs) is not ours to decide.
    pub fn check_no_orphans(&self) -> Result<(), DataDirError> {
        let nodes = self.nodes_with_files()?;
        if nodes.is_empty() || self.wipe_in_progress() {
            return Ok(());
        }
        Err(DataDirError::ManifestMissing {
            manifest: self.root.join(MANIFEST_FILE),
            root: self.root.clone(),
            nodes,
        })
    }

    /// With a manifest of `described` servers: `Ok` unless files of servers beyond them are
    /// here ([`DataDirError::ExtraNodes`]). Moves to a smaller cluster remove those (a wipe, a
    /// fork's last step), so they come from a manifest edited or restored by hand.
    pub fn check_no_extra_nodes(&self, described: u64) -> Result<(), DataDirError> {
        let extra: Vec<NodeId> = self
            .nodes_with_files()?
            .into_iter()
            .filter(|id| id.get() > described)
            .collect();
        if extra.is_empty() {
            return Ok(());
        }
        Err(DataDirError::ExtraNodes {
            manifest: self.root.join(MANIFEST_FILE),
            root: self.root.clone(),
            described,
            extra,
        })
    }

    /// Remove the manifest and every `node-<id>` directory (and nothing else). [`WIPE_MARKER`] is
    /// durable before anything is removed and removed last, so a wipe cut short by a crash is
    /// recognised (and finished) at the next start.
    pub fn wipe(&self) -> Result<(), DataDirError> {
        if !self.root.is_dir() {
            return Ok(());
        }
        let marker = self.root.join(WIPE_MARKER);
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| DataDirError::Io { what, path, source }
        };
        fs::write(
            &marker,
            b"a wipe of this data directory started and has not finished\n",
        )
        .and_then(|_| fs::File::open(&marker)?.sync_all())
        .map_err(io("cannot write", &marker))?;
        fsync_dir(&self.root).map_err(io("cannot fsync", &self.root))?;
        self.remove_cluster_files()?;
        fs::remove_file(&marker).map_err(io("cannot remove", &marker))?;
        fsync_dir(&self.root).map_err(io("cannot fsync", &self.root))
    }

    fn remove_cluster_files(&self) -> Result<(), DataDirError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(DataDirError::Io {
                    what: "cannot list",
                    path: self.root.clone(),
                    source,
                })
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = entry.path();
            if is_node_dir_name(&name) && path.is_dir() {
                // FileStorage removes only the files it writes; the directory goes too unless a
                // person left something of their own in it.
                FileStorage::wipe(&path).map_err(|e| DataDirError::Node {
                    node: name["node-".len()..].parse().unwrap_or(NodeId(0)),
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                if let Err(e) = fs::remove_dir(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "kept a node directory that holds other files");
                }
            } else if name == MANIFEST_FILE || name == MANIFEST_TMP_FILE {
                fs::remove_file(&path).map_err(|source| DataDirError::Io {
                    what: "cannot remove",
                    path,
                    source,
                })?;
            }
        }
        fsync_dir(&self.root).map_err(|source| DataDirError::Io {
            what: "cannot fsync",
            path: self.root.clone(),
            source,
        })
    }

    /// Open (and recover) node `id`'s files, which must exist: a node of a stored cluster whose
    /// directory, log or hard state is gone has forgotten its term and vote, and reopening it
    /// blank (term 0, no vote) would let it vote a second time in a term it already voted in.
    /// (A hard-state temp file stands in for the hard state: recovery installs it.)
    pub fn open_node(&self, id: NodeId) -> Result<(FileStorage, RecoveryReport), DataDirError> {
        let path = self.node_dir(id);
        let missing: Vec<String> = if !path.is_dir() {
            vec!["the node directory".into()]
        } else {
            NODE_FILES
                .iter()
                .filter(|f| {
                    let present = path.join(f).exists()
                        || (**f == HARD_STATE_FILE && path.join(HARD_STATE_TMP_FILE).exists());
                    !present
                })
                .map(|f| f.to_string())
                .collect()
        };
        if !missing.is_empty() {
            return Err(DataDirError::LostFiles {
                node: id,
                path,
                missing,
            });
        }
        FileStorage::open(&path).map_err(|e| DataDirError::Node {
            node: id,
            path,
            reason: e.to_string(),
        })
    }

    /// Create node `id`'s files for a new cluster: an empty log and a durable hard state (term
    /// 0, no vote), so that every node of a stored cluster has both files from the start and
    /// [`DataDir::open_node`] can tell a lost file from one never written.
    pub fn create_node(&self, id: NodeId) -> Result<(FileStorage, RecoveryReport), DataDirError> {
        let path = self.node_dir(id);
        let node_error = |e: shared::StorageError| DataDirError::Node {
            node: id,
            path: path.clone(),
            reason: e.to_string(),
        };
        let (storage, report) = FileStorage::create(&path).map_err(node_error)?;
        Ok((storage, report))
    }

    /// Take the directory for this process. Two processes writing the same node files would
    /// interleave their records (each appending its own entry 1, say) and corrupt the logs, so a
    /// second one is refused. The lock is an `flock` on [`LOCK_FILE`]: the kernel releases it
    /// when the process dies, even by `kill -9`, so a crash never leaves a stale lock.
    pub fn lock(&self) -> Result<DirLock, DataDirError> {
        self.create_root()?;
        let path = self.root.join(LOCK_FILE);
        let io = |what| {
            let path = path.clone();
            move |source| DataDirError::Io { what, path, source }
        };
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("cannot open"))?;
        if let Err(e) = try_lock_exclusive(&file) {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                let holder = fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(DataDirError::Busy {
                    path: self.root.clone(),
                    holder,
                });
            }
            return Err(io("cannot lock")(e));
        }
        // The pid is only for people reading the file; the flock is what counts.
        file.set_len(0).map_err(io("cannot write"))?;
        writeln!(file, "{}", std::process::id()).map_err(io("cannot write"))?;
        Ok(DirLock { _file: file })
    }

    fn create_root(&self) -> Result<(), DataDirError> {
        fs::create_dir_all(&self.root).map_err(|source| DataDirError::Io {
            what: "cannot create",
            path: self.root.clone(),
            source,
        })
    }
}

/// Held while this process uses a data directory (see [`DataDir::lock`]); dropping it releases
/// the directory.
#[derive(Debug)]
pub struct DirLock {
    _file: fs::File,
}

#[cfg(unix)]
fn try_lock_exclusive(file: &fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock only reads the descriptor number, which `file` keeps open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere there is no lock: one process per directory is then the user's to ensure.
#[cfg(not(unix))]
fn try_lock_exclusive(_file: &fs::File) -> std::io::Result<()> {
    Ok(())
}

/// "S1, S2 and S3" (or "S1").
fn list_nodes(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(|n| format!("S{n}")).collect();
    match names.split_last() {
        None => "no node".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// `node-1` … `node-9` (digits only, so `node-notes` or `node-1.bak` are left alone).
fn is_node_dir_name(name: &str) -> bool {
    name.strip_prefix("node-")
        .is_some_and(|n| (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
#[path = "data_dir_tests.rs"]
mod tests;
