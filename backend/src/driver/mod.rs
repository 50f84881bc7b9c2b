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
//! [`ServerMessage::Events`], and every 250 ms a [`ServerMessage::Clock`]. Speed 0 means "as fast as
//! possible": the simulator runs in bounded chunks and the driver yields between them, so requests
//! are still served. If a frame has more work than it can do, virtual time slips (it falls behind
//! the wall clock) instead of piling up.
//!
//! # Sequence numbers and runs
//!
//! Events carry the simulator's `seq`, strictly increasing within a run. A reset starts a new run
//! (seq starts again at 1) and is announced with a [`ServerMessage::Snapshot`]. Every outgoing
//! message carries its run and seq range so the server can skip what a viewer's snapshot already
//! covers.

mod data_dir;
mod pending;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use shared::protocol::{
    ClientCommand, ClusterSnapshot, CommandOk, Event, ServerMessage, SimEvent, PROTOCOL_VERSION,
};
use shared::raft::ProposeOutcome;
use shared::sim::{SimConfig, SimError};
use shared::{NodeId, Sim};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use data_dir::{DataDir, DataDirError, DirLock, Manifest, LOCK_FILE, MANIFEST_FILE};
use pending::{Deadline, Pending, ReplyTx};

use crate::storage::{FileStorage, RecoveryReport};

/// The simulator as the driver runs it: every node on real files.
pub type LiveSim = Sim<FileStorage>;

/// Slowest allowed speed (virtual ms per wall ms), apart from 0.
pub const SPEED_MIN: f64 = 0.001;
/// Fastest paced speed: real time.
pub const SPEED_MAX: f64 = 1.0;
/// Default speed: RaftScope's 1/100.
pub const SPEED_DEFAULT: f64 = 0.01;

/// Simulator steps one paced frame may take before virtual time is allowed to slip.
const FRAME_STEPS_MAX: u64 = 20_000;
/// At speed 0: steps per chunk, and the wall time a chunk may take, before the driver looks at
/// its requests again.
const FAST_CHUNK_STEPS: u64 = 4_000;
const FAST_CHUNK_WALL: Duration = Duration::from_millis(4);
/// Requests served between two chunks at speed 0.
const FAST_REQUESTS_PER_CHUNK: usize = 256;
/// Waiting appends the driver keeps at once; more are refused rather than queued without bound.
const PENDING_MAX: usize = 10_000;
/// A forwarded request waits this long on the wall clock for the leader's verdict.
const FORWARD_WALL_WAIT: Duration = Duration::from_secs(30);
/// Virtual time any wait may take, in election timeouts: long enough for a new election and a
/// round of replication, short enough to answer at speed 0.
const WAIT_ELECTION_TIMEOUTS: u64 = 10;

/// Why a command failed; `kind` picks the HTTP status, `message` is meant for a person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// What went wrong, in a sentence.
    pub message: String,
}

/// Classes of command failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (bad JSON, bad value, bad command text).
    Invalid,
    /// It names a node or message that does not exist.
    NotFound,
    /// The cluster's state refuses it (node down, no leader, not the leader, …).
    Conflict,
    /// It waited too long for the cluster.
    Timeout,
    /// Too many requests (rate limit, too many waiting).
    TooMany,
    /// The server cannot serve it now (shutting down, storage failure).
    Unavailable,
}

impl CommandError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
        }
    }
    /// The request is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    /// The cluster's state refuses it.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// It waited too long.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }
    /// Too many requests.
    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooMany, message)
    }
    /// Cannot serve now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    fn stopped() -> Self {
        Self::unavailable("the server is shutting down")
    }
}

impl From<SimError> for CommandError {
    fn from(e: SimError) -> Self {
        let kind = match &e {
            SimError::UnknownNode(..) | SimError::UnknownMessage(_) => ErrorKind::NotFound,
            SimError::BadCommand(_) | SimError::BadConfig(_) => ErrorKind::Invalid,
            SimError::NodeDown(_)
            | SimError::NodeUp(_)
            | SimError::Refused(_)
            | SimError::NoNode(_)
            | SimError::LeaderTimeout(_) => ErrorKind::Conflict,
        };
        CommandError::new(kind, e.to_string())
    }
}

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
}

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

/// One message for every viewer, serialized once.
#[derive(Debug)]
pub struct Outgoing {
    /// The run it belongs to (bumped by every reset).
    pub run: u64,
    /// What it is.
    pub kind: OutgoingKind,
    /// The `ServerMessage` as JSON.
    pub text: Utf8Bytes,
    /// When the driver broadcast it (for latency measurements; never sent).
    pub sent_at: Instant,
}

/// What an [`Outgoing`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutgoingKind {
    /// A `ServerMessage::Events` with events `first_seq..=last_seq`.
    Events {
        /// Seq of its first event.
        first_seq: u64,
        /// Seq of its last event.
        last_seq: u64,
    },
    /// A `ServerMessage::Clock` at virtual time `time_ms`.
    Clock {
        /// Virtual time.
        time_ms: u64,
    },
    /// A `ServerMessage::Snapshot` (after a reset) covering events up to `seq`.
    Snapshot {
        /// The snapshot's seq.
        seq: u64,
    },
}

/// A snapshot and its JSON forms, each serialized at most once however many clients want it.
#[derive(Debug)]
pub struct SnapshotReply {
    /// The run it belongs to.
    pub run: u64,
    /// The state.
    pub snapshot: ClusterSnapshot,
    hello: OnceLock<Utf8Bytes>,
    resync: OnceLock<Utf8Bytes>,
    plain: OnceLock<Utf8Bytes>,
}

impl SnapshotReply {
    fn new(run: u64, snapshot: ClusterSnapshot) -> Self {
        SnapshotReply {
            run,
            snapshot,
            hello: OnceLock::new(),
            resync: OnceLock::new(),
            plain: OnceLock::new(),
        }
    }

    /// True when a viewer that has every event up to `seq` already knows all this snapshot
    /// holds (same run assumed).
    pub fn seq_covered_by(&self, seq: u64) -> bool {
        self.snapshot.seq <= seq
    }

    /// `ServerMessage::Hello` with this snapshot.
    pub fn hello_json(&self) -> Utf8Bytes {
        self.hello
            .get_or_init(|| {
                to_json(&ServerMessage::Hello {
                    protocol_version: PROTOCOL_VERSION,
                    snapshot: self.snapshot.clone(),
                })
            })
            .clone()
    }

    /// `ServerMessage::Snapshot` with this snapshot.
    pub fn snapshot_message_json(&self) -> Utf8Bytes {
        self.resync
            .get_or_init(|| {
                to_json(&ServerMessage::Snapshot {
                    snapshot: self.snapshot.clone(),
                })
            })
            .clone()
    }

    /// The bare `ClusterSnapshot` (`GET /api/cluster`).
    pub fn json(&self) -> Utf8Bytes {
        self.plain.get_or_init(|| to_json(&self.snapshot)).clone()
    }
}

/// A short summary of the run (`GET /api/health`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    /// Virtual time (ms).
    pub time_ms: u64,
    /// Seq of the last event.
    pub seq: u64,
    /// Cluster size.
    pub nodes: u64,
    /// Nodes running.
    pub nodes_up: u64,
    /// The leader, if any.
    pub leader: Option<NodeId>,
    /// Virtual ms per wall ms.
    pub speed: f64,
    /// Paused?
    pub paused: bool,
    /// Appends waiting for an answer.
    pub waiting_requests: usize,
}

enum Request {
    Command {
        command: ClientCommand,
        wait: AppendWait,
        reply: ReplyTx,
    },
    Snapshot {
        reply: oneshot::Sender<Arc<SnapshotReply>>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
    Shutdown,
}

/// How the rest of the process reaches the driver. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DriverHandle {
    requests: mpsc::Sender<Request>,
    outgoing: broadcast::Sender<Arc<Outgoing>>,
    stopped: CancellationToken,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Command { command, .. } => write!(f, "Command({command:?})"),
            Request::Snapshot { .. } => f.write_str("Snapshot"),
            Request::Status { .. } => f.write_str("Status"),
            Request::Shutdown => f.write_str("Shutdown"),
        }
    }
}

impl DriverHandle {
    /// A receiver of everything broadcast from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Outgoing>> {
        self.outgoing.subscribe()
    }

    /// Cancelled once the driver has stopped.
    pub fn stopped(&self) -> CancellationToken {
        self.stopped.clone()
    }

    /// Carry out a command and wait for its answer.
    pub async fn command(
        &self,
        command: ClientCommand,
        wait: AppendWait,
    ) -> Result<CommandOk, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Command {
            command,
            wait,
            reply,
        })
        .await?;
        rx.await.map_err(|_| CommandError::stopped())?
    }

    /// The current state (shared with other callers asking at the same moment).
    pub async fn snapshot(&self) -> Result<Arc<SnapshotReply>, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Snapshot { reply }).await?;
        rx.await.map_err(|_| CommandError::stopped())
    }

    /// A short summary.
    pub async fn status(&self) -> Result<Status, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Status { reply }).await?;
        rx.await.map_err(|_| CommandError::stopped())
    }

    /// Ask the driver to stop: waiting requests are answered "shutting down".
    pub async fn shutdown(&self) {
        let _ = self.requests.send(Request::Shutdown).await;
    }

    async fn send(&self, request: Request) -> Result<(), CommandError> {
        self.requests
            .send(request)
            .await
            .map_err(|_| CommandError::stopped())
    }
}

/// The driver's thread; `join` waits for it to finish.
#[derive(Debug)]
pub struct DriverThread {
    done: oneshot::Receiver<()>,
}

impl DriverThread {
    /// Wait until the driver has stopped (after [`DriverHandle::shutdown`] or when every handle
    /// is dropped).
    pub async fn join(self) {
        let _ = self.done.await;
    }
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
            let (sim, info) = match open_cluster(&data_dir, config.cluster.clone(), config.fresh) {
                Ok(v) => v,
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return;
                }
            };
            let driver = Driver::new(config, data_dir, lock, sim, outgoing);
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
) -> Result<(LiveSim, StartInfo), DriverError> {
    if fresh {
        data_dir.wipe()?;
    }
    let (cluster, recovered) = match data_dir.read_manifest()? {
        Some(manifest) => (manifest.to_config(), true),
        None => {
            shared::sim::validate(&requested)?;
            // Node directories without a manifest are left over from an interrupted wipe: the
            // manifest is always written before them.
            data_dir.wipe()?;
            data_dir.write_manifest(&Manifest::from_config(&requested))?;
            (requested, false)
        }
    };
    let mut storages = Vec::new();
    let mut recovery = Vec::new();
    for id in 1..=cluster.nodes {
        let (storage, report) = data_dir.open_node(id)?;
        storages.push(storage);
        recovery.push((id, report));
    }
    let mut storages = storages.into_iter();
    let mut sim = Sim::with_storage(cluster.clone(), |_| {
        storages.next().expect("one storage was opened per node id")
    })?;
    let failed_nodes = sim
        .take_events()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::StorageFailed { node, error } => Some((node, error)),
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
    Ok((sim, info))
}

/// 0, or a speed in `SPEED_MIN..=SPEED_MAX`.
pub fn check_speed(speed: f64) -> Result<(), CommandError> {
    if speed == 0.0 || (SPEED_MIN..=SPEED_MAX).contains(&speed) {
        Ok(())
    } else {
        Err(CommandError::invalid(format!(
            "speed must be 0 (as fast as possible) or between {SPEED_MIN} and {SPEED_MAX} \
             virtual ms per wall ms, got {speed}"
        )))
    }
}

/// Serialize a message of ours. Our types always serialize; if that ever broke, viewers get a
/// readable error rather than the process a panic.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Utf8Bytes {
    match serde_json::to_string(value) {
        Ok(s) => s.into(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize an outgoing message");
            format!(
                "{{\"type\":\"reply\",\"request_id\":0,\"ok\":false,\"error\":{}}}",
                serde_json::Value::String(format!("internal error: {e}"))
            )
            .into()
        }
    }
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
    slipping: bool,
    /// Replies held until the frame's events are broadcast (see [`Driver::flush`]).
    replies: Vec<(ReplyTx, Result<CommandOk, CommandError>)>,
}

type SnapshotKey = (u64, u64, u64, bool, u64);

impl Driver {
    fn new(
        config: DriverConfig,
        data_dir: DataDir,
        lock: DirLock,
        sim: LiveSim,
        outgoing: broadcast::Sender<Arc<Outgoing>>,
    ) -> Self {
        let now = Instant::now();
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
            slipping: false,
            replies: Vec::new(),
        }
    }

    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        tracing::info!(speed = self.speed, paused = self.paused, "driver running");
        loop {
            let now = Instant::now();
            self.advance(now);
            self.flush();
            self.pending.check(&self.sim, now);
            if now.duration_since(self.last_clock) >= self.clock_interval {
                self.send_clock(now);
            }
            let busy = self.speed == 0.0 && !self.paused && self.sim.next_event_time().is_some();
            if busy {
                for _ in 0..FAST_REQUESTS_PER_CHUNK {
                    match requests.try_recv() {
                        Ok(request) => {
                            if self.handle(request).is_break() {
                                return self.stop();
                            }
                        }
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => return self.stop(),
                    }
                }
                tokio::task::yield_now().await;
                continue;
            }
            let next_frame = tokio::time::Instant::from_std(now + self.frame_interval);
            loop {
                tokio::select! {
                    request = requests.recv() => match request {
                        Some(request) => if self.handle(request).is_break() {
                            return self.stop();
                        },
                        None => return self.stop(),
                    },
                    _ = tokio::time::sleep_until(next_frame) => break,
                }
            }
        }
    }

    fn stop(&mut self) {
        self.flush();
        self.pending.fail_all(&CommandError::stopped());
        tracing::info!(time_ms = self.sim.now_ms(), "driver stopped");
    }

    // ----- Time -----

    /// Run the simulator up to the virtual time the wall clock maps to (or one chunk at speed 0).
    fn advance(&mut self, now: Instant) {
        if self.paused {
            return;
        }
        if self.speed == 0.0 {
            let start = Instant::now();
            for i in 0..FAST_CHUNK_STEPS {
                if !self.sim.step() {
                    break;
                }
                if i % 256 == 255 && start.elapsed() >= FAST_CHUNK_WALL {
                    break;
                }
            }
            return;
        }
        let elapsed_ms = now.duration_since(self.anchor.0).as_secs_f64() * 1000.0;
        let target = (self.anchor.1 + elapsed_ms * self.speed) as u64;
        let mut steps = 0;
        while self.sim.next_event_time().is_some_and(|t| t <= target) {
            self.sim.step();
            steps += 1;
            if steps >= FRAME_STEPS_MAX {
                // More work than a frame can do: let virtual time fall behind the wall clock
                // rather than pile up a backlog that would freeze the viewers.
                if !self.slipping {
                    tracing::warn!(
                        time_ms = self.sim.now_ms(),
                        "the simulator cannot keep up with the wall clock; virtual time slips"
                    );
                    self.slipping = true;
                }
                self.rebase(now);
                return;
            }
        }
        self.slipping = false;
        self.sim.run_until(target);
    }

    /// Count virtual time from the simulator's clock, now.
    fn rebase(&mut self, now: Instant) {
        self.anchor = (now, self.sim.now_ms() as f64);
    }

    // ----- Output -----

    fn broadcast(&self, kind: OutgoingKind, text: Utf8Bytes) {
        // An error only means nobody is watching right now.
        let _ = self.outgoing.send(Arc::new(Outgoing {
            run: self.run,
            kind,
            text,
            sent_at: Instant::now(),
        }));
    }

    /// Broadcast the events so far, then send the replies held back meanwhile.
    ///
    /// Commands are carried out as they arrive, but their events go out with the frame's (one
    /// broadcast per frame, however many commands arrive: the cost of a broadcast grows with
    /// the number of viewers) and their replies right after, so a reply never overtakes the
    /// events its command caused. A reply waits at most one frame (25 ms).
    fn flush(&mut self) {
        self.flush_events();
        for (reply, result) in self.replies.drain(..) {
            let _ = reply.send(result);
        }
    }

    /// Broadcast the simulator's events, then answer the forwarded requests they settle.
    fn flush_events(&mut self) {
        let events = self.sim.take_events();
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return;
        };
        let kind = OutgoingKind::Events {
            first_seq: first.seq,
            last_seq: last.seq,
        };
        self.note_storage_errors(&events);
        let message = ServerMessage::Events { events };
        self.broadcast(kind, to_json(&message));
        if let ServerMessage::Events { events } = &message {
            self.pending.on_events(events);
        }
    }

    fn note_storage_errors(&mut self, events: &[SimEvent]) {
        for e in events {
            if let Event::StorageFailed { node, error } = &e.event {
                tracing::error!(node, %error, "a node's storage failed; the node was stopped");
                self.storage_errors.insert(*node, error.clone());
            }
        }
    }

    fn send_clock(&mut self, now: Instant) {
        self.last_clock = now;
        let time_ms = self.sim.now_ms();
        self.broadcast(
            OutgoingKind::Clock { time_ms },
            to_json(&ServerMessage::Clock {
                time_ms,
                paused: self.paused,
                speed: self.speed,
            }),
        );
    }

    fn snapshot(&mut self) -> Arc<SnapshotReply> {
        let key = (
            self.run,
            self.sim.last_seq(),
            self.sim.now_ms(),
            self.paused,
            self.speed.to_bits(),
        );
        if let Some((cached, reply)) = &self.snapshot_cache {
            if *cached == key {
                return reply.clone();
            }
        }
        let mut snapshot = self.sim.snapshot();
        snapshot.speed = self.speed;
        snapshot.paused = self.paused;
        let reply = Arc::new(SnapshotReply::new(self.run, snapshot));
        self.snapshot_cache = Some((key, reply.clone()));
        reply
    }

    fn status(&self) -> Status {
        let nodes_up = self.sim.node_ids().filter(|id| self.sim.is_up(*id)).count() as u64;
        Status {
            time_ms: self.sim.now_ms(),
            seq: self.sim.last_seq(),
            nodes: self.sim.config().nodes,
            nodes_up,
            leader: self.sim.leader(),
            speed: self.speed,
            paused: self.paused,
            waiting_requests: self.pending.len(),
        }
    }

    // ----- Requests -----

    fn handle(&mut self, request: Request) -> std::ops::ControlFlow<()> {
        match request {
            Request::Command {
                command,
                wait,
                reply,
            } => self.command(command, wait, reply),
            Request::Snapshot { reply } => {
                // Everything the snapshot covers is broadcast first, so a new viewer's stream
                // starts right after it.
                self.flush_events();
                let _ = reply.send(self.snapshot());
            }
            Request::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Request::Shutdown => return std::ops::ControlFlow::Break(()),
        }
        std::ops::ControlFlow::Continue(())
    }

    fn command(&mut self, command: ClientCommand, wait: AppendWait, reply: ReplyTx) {
        let result = match command {
            ClientCommand::Append { command, node } => {
                return self.append(&command, node, wait, reply)
            }
            other => self.control(other),
        };
        self.answer(reply, result);
    }

    /// Reply once this frame's events are out.
    fn answer(&mut self, reply: ReplyTx, result: Result<CommandOk, CommandError>) {
        self.replies.push((reply, result));
    }

    fn append(&mut self, text: &str, node: Option<NodeId>, wait: AppendWait, reply: ReplyTx) {
        if self.pending.len() >= PENDING_MAX {
            let error = CommandError::too_many(format!(
                "{PENDING_MAX} requests are already waiting for the cluster; try again shortly"
            ));
            return self.answer(reply, Err(error));
        }
        let accepted = match self.sim.propose(node, text) {
            Ok(a) => a,
            Err(e) => return self.answer(reply, Err(e.into())),
        };
        let wait_virtual_ms =
            WAIT_ELECTION_TIMEOUTS * self.sim.config().timing.election_timeout_ms_max;
        let now = Instant::now();
        let deadline = |wall: Duration| Deadline {
            virtual_ms: self.sim.now_ms().saturating_add(wait_virtual_ms),
            wall: now + wall,
        };
        match (accepted.outcome, wait) {
            (ProposeOutcome::Appended { index, term }, AppendWait::Appended) => {
                let ok = pending::appended(accepted.node, index, term, None);
                self.answer(reply, Ok(ok));
            }
            (ProposeOutcome::Appended { index, term }, AppendWait::Committed { wall_timeout }) => {
                // Checked every frame (a one-node cluster commits it at the next one).
                let d = deadline(wall_timeout);
                self.pending.commit(index, term, accepted.node, d, reply);
            }
            (ProposeOutcome::Forwarded { leader }, wait) => {
                let (wait_commit, wall) = match wait {
                    AppendWait::Appended => (false, FORWARD_WALL_WAIT),
                    AppendWait::Committed { wall_timeout } => (true, wall_timeout),
                };
                let d = deadline(wall);
                self.pending.forwarded(
                    accepted.request_id,
                    accepted.node,
                    leader,
                    wait_commit,
                    d,
                    reply,
                );
            }
        }
    }

    /// Every command but `append`.
    fn control(&mut self, command: ClientCommand) -> Result<CommandOk, CommandError> {
        let done = |message: String| {
            Ok(CommandOk {
                message: Some(message),
                ..CommandOk::default()
            })
        };
        match command {
            ClientCommand::Append { .. } => unreachable!("append is handled by Driver::append"),
            ClientCommand::Crash { node } => {
                self.sim.crash(node)?;
                done(format!(
                    "S{node} crashed: its volatile state is gone, its files stay"
                ))
            }
            ClientCommand::Restart { node } => self.restart(node),
            ClientCommand::PowerLoss { node } => {
                self.sim.power_loss(node)?;
                let synced = self
                    .sim
                    .storage(node)
                    .map_or(0, shared::Storage::synced_index);
                done(format!(
                    "S{node} lost power: writes not yet fsynced are gone; its log now ends at \
                     index {synced}"
                ))
            }
            ClientCommand::Timeout { node } => {
                self.sim.force_timeout(node)?;
                done(format!("S{node}'s election timer fired"))
            }
            ClientCommand::Partition { groups } => {
                self.sim.partition(groups)?;
                let view = self.sim.network_view();
                if view.partitions.is_empty() {
                    done("no partition: every node is in one group".into())
                } else {
                    done(format!("partitioned into {:?}", view.partitions))
                }
            }
            ClientCommand::Cut { from, to } => {
                self.sim.cut(from, to)?;
                done(format!("cut the link S{from} → S{to}"))
            }
            ClientCommand::Uncut { from, to } => {
                self.sim.uncut(from, to)?;
                done(format!("restored the link S{from} → S{to}"))
            }
            ClientCommand::Isolate { node } => {
                self.sim.isolate(node)?;
                done(format!("cut every link to and from S{node}"))
            }
            ClientCommand::Heal => {
                self.sim.heal();
                done("removed every partition and cut link".into())
            }
            ClientCommand::Network {
                loss_probability,
                duplicate_probability,
                latency_ms_min,
                latency_ms_max,
            } => {
                self.sim.set_network(
                    loss_probability,
                    duplicate_probability,
                    latency_ms_min,
                    latency_ms_max,
                )?;
                self.save_manifest();
                let n = self.sim.network_view();
                done(format!(
                    "network: loss {}, duplication {}, latency {}..{} ms",
                    n.loss_probability, n.duplicate_probability, n.latency_ms_min, n.latency_ms_max
                ))
            }
            ClientCommand::DropMessage { id } => {
                self.sim.drop_message(id)?;
                done(format!("dropped message {id}"))
            }
            ClientCommand::Pause => {
                self.set_control(true, self.speed);
                done("paused".into())
            }
            ClientCommand::Resume => {
                self.set_control(false, self.speed);
                done("running".into())
            }
            ClientCommand::Step => {
                self.set_control(true, self.speed);
                if self.sim.step() {
                    self.rebase(Instant::now());
                    done(format!("stepped to {} ms", self.sim.now_ms()))
                } else {
                    done("nothing is scheduled: every node is down".into())
                }
            }
            ClientCommand::Speed { speed } => {
                check_speed(speed)?;
                self.set_control(self.paused, speed);
                done(format!("speed {speed}"))
            }
            ClientCommand::Reset {
                nodes,
                seed,
                log_model,
                election_timeout_ms_min,
                election_timeout_ms_max,
                heartbeat_interval_ms,
            } => {
                let mut cluster = self.sim.config().clone();
                if let Some(n) = nodes {
                    cluster.nodes = n;
                }
                if let Some(s) = seed {
                    cluster.seed = s;
                }
                if let Some(m) = log_model {
                    cluster.log_model = m;
                }
                let t = &mut cluster.timing;
                if let Some(v) = election_timeout_ms_min {
                    t.election_timeout_ms_min = v;
                }
                if let Some(v) = election_timeout_ms_max {
                    t.election_timeout_ms_max = v;
                }
                if let Some(v) = heartbeat_interval_ms {
                    t.heartbeat_interval_ms = v;
                }
                self.reset(cluster)
            }
        }
    }

    fn restart(&mut self, node: NodeId) -> Result<CommandOk, CommandError> {
        if node == 0 || node > self.sim.config().nodes || self.sim.is_up(node) {
            // Unknown or running: the simulator words the refusal.
            self.sim.restart(node)?;
        }
        // A restarted process opens its files again: recovery reads them from disk.
        let (storage, report) = self
            .data_dir
            .open_node(node)
            .map_err(|e| CommandError::unavailable(e.to_string()))?;
        if !report.is_clean() {
            tracing::warn!(node, ?report, "recovery repaired S{node}'s files");
        }
        self.sim.replace_storage(node, storage)?;
        self.sim.restart(node)?;
        self.flush_events();
        if !self.sim.is_up(node) {
            let why = self
                .storage_errors
                .get(&node)
                .cloned()
                .unwrap_or_else(|| "unknown storage error".into());
            return Err(CommandError::unavailable(format!(
                "S{node} could not restart: {why}"
            )));
        }
        let (term, last) = self
            .sim
            .node(node)
            .map_or((0, 0), |r| (r.current_term(), r.log().last_index()));
        Ok(CommandOk {
            message: Some(format!(
                "S{node} restarted from its files: term {term}, log up to index {last}"
            )),
            ..CommandOk::default()
        })
    }

    fn reset(&mut self, cluster: SimConfig) -> Result<CommandOk, CommandError> {
        shared::sim::validate(&cluster)?;
        // The old run's last events go out before its end is announced.
        self.flush_events();
        let (sim, info) = open_cluster(&self.data_dir, cluster, true).map_err(|e| {
            CommandError::unavailable(format!("could not start a new cluster: {e}"))
        })?;
        self.pending.fail_all(&CommandError::conflict(
            "the cluster was reset before this request was answered",
        ));
        self.sim = sim;
        self.run += 1;
        self.storage_errors = info.failed_nodes.iter().cloned().collect();
        self.snapshot_cache = None;
        self.rebase(Instant::now());
        let reply = self.snapshot();
        self.broadcast(
            OutgoingKind::Snapshot {
                seq: reply.snapshot.seq,
            },
            reply.snapshot_message_json(),
        );
        let c = &info.cluster;
        tracing::info!(nodes = c.nodes, seed = c.seed, log_model = %c.log_model, "cluster reset");
        Ok(CommandOk {
            message: Some(format!(
                "started a new cluster: {} nodes, seed {}, {} log model",
                c.nodes, c.seed, c.log_model
            )),
            ..CommandOk::default()
        })
    }

    /// Change pause/speed, tell the viewers (an event in the stream and a clock right away).
    fn set_control(&mut self, paused: bool, speed: f64) {
        if paused == self.paused && speed == self.speed {
            return;
        }
        let now = Instant::now();
        self.rebase(now);
        self.paused = paused;
        self.speed = speed;
        self.sim
            .record_event(Event::ControlChanged { paused, speed });
        self.flush_events();
        self.send_clock(now);
    }

    fn save_manifest(&self) {
        if let Err(e) = self
            .data_dir
            .write_manifest(&Manifest::from_config(self.sim.config()))
        {
            tracing::warn!(error = %e, "could not save the network settings to cluster.json");
        }
    }
}
