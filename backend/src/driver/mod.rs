//! The driver: the one task that owns the live cluster (`shared::Sim` over real files), paces its
//! virtual time against the wall clock, carries out people's commands and broadcasts what happens.
//! Owns the run; must not decide anything about Raft (the core does) nor talk to sockets (the
//! server does) — it hands out pre-serialized JSON that the server copies to every viewer.
//!
//! # Threading
//!
//! The simulator is single-threaded and deterministic, so exactly one task owns it and nothing
//! locks it: every other part of the process talks to it through [`DriverHandle`] (an `mpsc` of
//! requests, each with a `oneshot` for its reply, and a `broadcast` of [`Outgoing`] messages).
//! That task runs on its own OS thread with a current-thread runtime, because the nodes' storage
//! does real, blocking `fsync`s: they stall the driver, never the server's workers.
//!
//! # Pacing
//!
//! Virtual time follows the wall clock times `speed` (0.01 by default: one virtual millisecond per
//! 100 wall milliseconds, as in RaftScope). Every frame (25 ms) the driver runs the simulator up to
//! the virtual time the wall clock maps to, broadcasts the frame's events as one
//! `ServerMessage::Events`, and every 250 ms a `ServerMessage::Clock`. Speed 0 means "as fast as
//! possible": the simulator runs in bounded chunks and the driver yields between them, so requests
//! are still served. If a frame has more work than it can do, virtual time slips (it falls behind
//! the wall clock) instead of piling up.
//!
//! # Sequence numbers and runs
//!
//! Events carry the simulator's `seq`, strictly increasing within a run. A reset starts a new run
//! (seq starts again at 1) and is announced with a `ServerMessage::Snapshot`. Every outgoing
//! message carries its run and seq range so the server can skip what a viewer's snapshot already
//! covers.
//!
//! # Modules
//!
//! `handle` (how others reach the driver), `pacing` (the frame loop and what it sends), `control`
//! (what each command does), `outgoing` (the broadcast messages and their cached JSON), `error`
//! (why a command failed), `pending` (appends waiting for the cluster), `data_dir` (the files),
//! `history` (the run's trace: fork, undo, load, branches), `safety` (the live checker), `trace_file` (`trace.jsonl`) and
//! `fork_files` (rewriting the nodes' files for a fork, crash-safely).
//!
//! # The trace
//!
//! The simulator is wrapped in a [`shared::trace::Recorded`]: every input reaches it through
//! [`Driver::input`], which records it with its virtual time, event seq and step count and
//! appends it to `trace.jsonl`. Stepping and reading go around the recorder; nothing else can
//! change the run (docs/trace.md).
//! `reads` (the windowed and full snapshots, log pages and health).

mod control;
mod data_dir;
mod error;
mod fork_files;
mod handle;
mod history;
mod input;
mod marks;
mod outgoing;
mod pacing;
pub use pacing::EVENTS_PER_MESSAGE_MAX;
mod pending;
mod reads;
mod safety;
mod trace_file;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::protocol::{CommandOk, Event};
use shared::sim::{SimConfig, SimError};
use shared::trace::{node_disk, Recorded, Start, Trace};
use shared::{NodeId, Sim};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use data_dir::{
    DataDir, DataDirError, DirLock, Manifest, LOCK_FILE, MANIFEST_FILE, WIPE_MARKER,
};
pub use error::{CommandError, ErrorKind};
pub use handle::{DriverHandle, DriverThread, Status};
pub use history::{BranchInfo, ForkAt, ForkReply, TRACE_BODY_BYTES_MAX};
pub use input::{Append, Input};
pub(crate) use outgoing::to_json;
pub use outgoing::{Outgoing, OutgoingKind, SnapshotReply};
use pending::{Pending, ReplyTx};
pub use reads::{FailedNode, LogPage, FULL_SNAPSHOT_ENTRIES_MAX};
pub use trace_file::{Reason, BRANCHES_MAX, TRACE_FILE, TRACE_FILE_BYTES_MAX};

use crate::storage::{FileStorage, RecoveryReport};

/// The simulator as the driver runs it: every node on real files, every input recorded.
pub type LiveSim = Recorded<FileStorage>;

// The speed range is shared with the browser's engine.
pub use shared::protocol::{SPEED_DEFAULT, SPEED_MAX, SPEED_MIN};

/// When an `append` is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendWait {
    /// Once a leader has appended it (at once for the leader; after the forward for a follower).
    Appended,
    /// Once it is committed, or after `wall_timeout` (or the virtual-time bound) at the latest.
    Committed {
        /// Longest wall-clock wait.
        wall_timeout: Duration,
    },
}

/// Everything the driver needs to start.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Where `cluster.json` and the `node-<id>/` directories live.
    pub data_dir: PathBuf,
    /// Wipe the data directory first (a new cluster even if one is stored there).
    pub fresh: bool,
    /// The cluster to create when the data directory holds none. A stored cluster wins.
    pub cluster: SimConfig,
    /// Initial speed (0, or `SPEED_MIN..=SPEED_MAX`).
    pub speed: f64,
    /// Start paused.
    pub paused: bool,
    /// Time between two paced frames.
    pub frame_interval: Duration,
    /// Time between two `Clock` messages.
    pub clock_interval: Duration,
    /// Outgoing messages kept for slow viewers before they lag (and get a fresh snapshot).
    pub broadcast_capacity: usize,
    /// Start from this trace (`--trace FILE`): the cluster becomes that run, re-executed to its
    /// end, replacing whatever the data directory held.
    pub trace: Option<Trace>,
    /// The longest a move (a loaded trace, a fork, undo, a branch brought back, a lesson's
    /// stop) may take to re-execute before it is refused, changing nothing: meanwhile the live
    /// run, every page and `/api/health` wait for the driver.
    pub replay_wall_max: Duration,
}

/// [`DriverConfig::replay_wall_max`] by default. An hour of virtual time at a class's rate
/// re-executed in 193 ms (median; 382 ms at most) and forked in 289 ms (docs/trace.md,
/// `trace-bench`); a 392-byte trace of nine servers with 1 ms timers took minutes.
pub const REPLAY_WALL_MAX: Duration = Duration::from_secs(10);

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            data_dir: PathBuf::from("data"),
            fresh: false,
            cluster: SimConfig::default(),
            speed: SPEED_DEFAULT,
            paused: false,
            frame_interval: Duration::from_millis(25),
            clock_interval: Duration::from_millis(250),
            broadcast_capacity: 1024,
            trace: None,
            replay_wall_max: REPLAY_WALL_MAX,
        }
    }
}

#[cfg(test)]
impl DriverConfig {
    /// The in-crate tests' cluster: three fresh servers under `dir`, paced in 5 ms frames.
    pub(crate) fn three_nodes_for_tests(dir: &std::path::Path, paused: bool) -> DriverConfig {
        DriverConfig {
            data_dir: dir.join("data"),
            fresh: true,
            cluster: SimConfig {
                nodes: 3,
                ..SimConfig::default()
            },
            paused,
            frame_interval: Duration::from_millis(5),
            ..DriverConfig::default()
        }
    }
}

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The requested cluster is impossible.
    #[error("invalid cluster: {0}")]
    Config(#[from] SimError),
    /// The speed is out of range.
    #[error("{0}")]
    Speed(String),
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The driver thread could not be started.
    #[error("cannot start the driver thread: {0}")]
    Thread(std::io::Error),
    /// A fork interrupted by a crash could not be finished.
    #[error("cannot finish a fork that a crash interrupted: {0}")]
    Fork(String),
    /// The trace to start from (`--trace`) could not be loaded.
    #[error("cannot start from the trace: {0}")]
    Trace(String),
    /// A node's files hold what the simulator cannot run from.
    #[error(
        "S{node}'s files cannot be run: {reason} (restore them, or start with --fresh to wipe \
         the cluster)"
    )]
    Disk {
        /// The node.
        node: NodeId,
        /// What is wrong.
        reason: String,
    },
}

/// What the driver found when it started.
#[derive(Clone, Debug)]
pub struct StartInfo {
    /// True when the cluster was recovered from the data directory's files.
    pub recovered: bool,
    /// The cluster that runs.
    pub cluster: SimConfig,
    /// The data directory.
    pub data_dir: PathBuf,
    /// What opening each node's files found.
    pub recovery: Vec<(NodeId, RecoveryReport)>,
    /// Nodes that could not start (their storage failed), with the error.
    pub failed_nodes: Vec<(NodeId, String)>,
}

/// Open the data directory, build (or recover) the cluster and start the driver thread.
pub async fn start(
    config: DriverConfig,
) -> Result<(DriverHandle, StartInfo, DriverThread), DriverError> {
    check_speed(config.speed).map_err(|e| DriverError::Speed(e.message))?;
    shared::sim::validate(&config.cluster)?;
    let (requests_tx, requests_rx) = mpsc::channel(1024);
    let (outgoing, _) = broadcast::channel(config.broadcast_capacity.max(16));
    let stopped = CancellationToken::new();
    let handle = DriverHandle {
        requests: requests_tx,
        outgoing: outgoing.clone(),
        stopped: stopped.clone(),
    };
    let (started_tx, started_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("logscope-driver".into())
        .spawn(move || {
            let _stopped = stopped.drop_guard();
            let _done = done_tx;
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = started_tx.send(Err(DriverError::Thread(e)));
                    return;
                }
            };
            let data_dir = DataDir::new(&config.data_dir);
            let lock = match data_dir.lock() {
                Ok(lock) => lock,
                Err(e) => {
                    let _ = started_tx.send(Err(e.into()));
                    return;
                }
            };
            let (sim, info, marks) =
                match open_cluster(&data_dir, config.cluster.clone(), config.fresh) {
                    Ok(v) => v,
                    Err(e) => {
                        // Let go of the directory before saying so: the caller may try again.
                        drop(lock);
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
            let trace = config.trace.clone();
            let mut driver = Driver::new(config, data_dir, lock, sim, marks, outgoing);
            driver.start_history(info.recovered);
            if let Some(trace) = trace {
                if let Err(e) = driver.become_trace(trace, None, Reason::Loaded) {
                    let _ = started_tx.send(Err(DriverError::Trace(e.message)));
                    return;
                }
                // Loaded at start (`--trace`), not by anyone on a page: Undo does not take it back.
                driver.last_move = None;
            }
            if started_tx.send(Ok(info)).is_err() {
                return;
            }
            runtime.block_on(driver.run(requests_rx));
        })
        .map_err(DriverError::Thread)?;
    let info = started_rx.await.map_err(|_| {
        DriverError::Thread(std::io::Error::other(
            "the driver thread stopped while starting",
        ))
    })??;
    Ok((handle, info, DriverThread { done: done_rx }))
}

/// Recover the cluster stored in `data_dir`, or create `requested` there (always when `fresh`).
fn open_cluster(
    data_dir: &DataDir,
    requested: SimConfig,
    fresh: bool,
) -> Result<(LiveSim, StartInfo, marks::Marks), DriverError> {
    if fork_files::finish_interrupted(data_dir).map_err(DriverError::Fork)? {
        tracing::warn!("finished a fork that a crash had interrupted");
    }
    if fresh {
        data_dir.wipe()?;
    }
    let (cluster, recovered) = match data_dir.read_manifest()? {
        Some(manifest) => {
            data_dir.check_no_extra_nodes(manifest.nodes)?;
            (manifest.to_config(), true)
        }
        None => {
            shared::sim::validate(&requested)?;
            // The manifest is always written before the node directories, so node files without
            // one are either an interrupted wipe (the marker says so: finish it) or a lost
            // manifest (refused: wiping would silently destroy every node's log).
            data_dir.check_no_orphans()?;
            data_dir.wipe()?;
            data_dir.write_manifest(&Manifest::from_config(&requested))?;
            (requested, false)
        }
    };
    let mut storages = Vec::new();
    let mut recovery = Vec::new();
    let mut disks = Vec::new();
    for id in NodeId::all(cluster.nodes) {
        let (mut storage, report) = if recovered {
            data_dir.open_node(id)?
        } else {
            data_dir.create_node(id)?
        };
        // What the disks hold is where this run's trace starts (an empty disk is no state).
        let disk = node_disk(id, &mut storage)
            .filter(|d| !d.log.is_empty() || d.hard_state != shared::HardState::default());
        if let Some(disk) = &disk {
            shared::trace::check_terms(disk)
                .map_err(|reason| DriverError::Disk { node: id, reason })?;
        }
        disks.extend(disk);
        storages.push(storage);
        recovery.push((id, report));
    }
    let start = if disks.is_empty() {
        Start::Empty
    } else {
        Start::Disk { nodes: disks }
    };
    let mut storages = storages.into_iter();
    let sim = Sim::with_storage(cluster.clone(), |_| {
        storages.next().expect("one storage was opened per node id")
    })?;
    let mut sim = Recorded::new(sim, Trace::new(cluster.clone(), start));
    let start_events = sim.take_events();
    // The nodes' start (a storage failure among them) is marked as a replay marks it.
    let mut marks = marks::Marks::default();
    marks.observe(&start_events);
    let failed_nodes = start_events
        .into_iter()
        .filter_map(|e| match e.event {
            Event::StorageFailed { node, error, .. } => Some((node, error)),
            _ => None,
        })
        .collect();
    let info = StartInfo {
        recovered,
        cluster,
        data_dir: data_dir.root().to_path_buf(),
        recovery,
        failed_nodes,
    };
    Ok((sim, info, marks))
}

/// 0, or a speed in `SPEED_MIN..=SPEED_MAX`.
pub fn check_speed(speed: f64) -> Result<(), CommandError> {
    shared::protocol::check_speed(speed).map_err(CommandError::invalid)
}

struct Driver {
    data_dir: DataDir,
    /// Held for as long as the driver runs.
    _lock: DirLock,
    sim: LiveSim,
    run: u64,
    speed: f64,
    paused: bool,
    /// Wall time and virtual time (ms, fractional) that pacing counts from.
    anchor: (Instant, f64),
    frame_interval: Duration,
    clock_interval: Duration,
    last_clock: Instant,
    outgoing: broadcast::Sender<Arc<Outgoing>>,
    pending: Pending,
    snapshot_cache: Option<(SnapshotKey, Arc<SnapshotReply>)>,
    /// The last storage error each node reported (to explain a failed restart).
    storage_errors: BTreeMap<NodeId, String>,
    /// Nodes whose files could not be reopened at their last restart (the simulator never saw
    /// them fail): shown as failed in health and the snapshot until a restart succeeds.
    open_failures: BTreeMap<NodeId, shared::protocol::StorageFailureView>,
    slipping: bool,
    /// Replies held until the frame's events are broadcast (see [`Driver::flush`]).
    replies: Vec<(ReplyTx, Result<CommandOk, CommandError>)>,
    /// `trace.jsonl`.
    trace_file: trace_file::TraceFile,
    /// Abandoned futures, oldest first.
    branches: Vec<trace_file::Branch>,
    next_branch_id: u64,
    /// Why the current segment began.
    segment_reason: Reason,
    /// The fork, load, return or reset that made the live run, while Undo would take it back
    /// (`shared::trace::undo`). Kept in memory only: after a restart of the server it is `None`
    /// (the recovered run was made by no move), and Undo steps back over inputs as before.
    last_move: Option<shared::trace::undo::LastMove>,
    /// The live run when a lesson staged it (its run number and last undoable input then): while
    /// both are unchanged nobody acted in it, and the lesson can stage it again.
    lesson_stop: Option<(u64, Option<usize>)>,
    /// The branch that holds the last such untouched lesson stop: the next one takes its place.
    lesson_branch: Option<u64>,
    /// The live safety checker and its verdict.
    safety: safety::Safety,
    /// What the timeline marks, kept from the event stream (`GET /api/trace/markers`).
    marks: marks::Marks,
    /// [`DriverConfig::replay_wall_max`].
    replay_wall_max: Duration,
}

type SnapshotKey = (u64, u64, u64, bool, u64);

impl Driver {
    fn new(
        config: DriverConfig,
        data_dir: DataDir,
        lock: DirLock,
        sim: LiveSim,
        marks: marks::Marks,
        outgoing: broadcast::Sender<Arc<Outgoing>>,
    ) -> Self {
        let now = Instant::now();
        let safety = safety::Safety::new(&sim);
        Driver {
            data_dir,
            _lock: lock,
            anchor: (now, sim.now_ms() as f64),
            sim,
            run: 1,
            speed: config.speed,
            paused: config.paused,
            frame_interval: config.frame_interval.max(Duration::from_millis(1)),
            clock_interval: config.clock_interval.max(Duration::from_millis(10)),
            last_clock: now,
            outgoing,
            pending: Pending::default(),
            snapshot_cache: None,
            storage_errors: BTreeMap::new(),
            open_failures: BTreeMap::new(),
            slipping: false,
            replies: Vec::new(),
            trace_file: trace_file::TraceFile::new(&config.data_dir),
            branches: Vec::new(),
            next_branch_id: 1,
            segment_reason: Reason::New,
            last_move: None,
            lesson_stop: None,
            lesson_branch: None,
            safety,
            marks,
            replay_wall_max: config.replay_wall_max,
        }
    }
}
