//! How the rest of the process reaches the driver: [`DriverHandle`] (requests over an `mpsc`, each
//! with a `oneshot` for its answer, and the broadcast of [`Outgoing`] messages) and
//! [`DriverThread`]. Owns the request types; must not touch the simulator (only the driver's
//! thread does).

use std::sync::Arc;

use serde::Serialize;
use shared::protocol::CommandOk;

use super::Input;
use shared::{LogIndex, NodeId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::pending::ReplyTx;
use super::{
    AppendWait, BranchInfo, CommandError, ForkAt, ForkReply, LogPage, Outgoing, SnapshotReply,
};
use shared::trace::answers::Markers;
use shared::trace::Trace;

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
    /// Nodes needed to elect a leader or commit (a majority).
    pub majority: u64,
    /// Nodes not running (crashed, or stopped by a storage failure), by id.
    pub nodes_down: Vec<NodeId>,
    /// Nodes down because their storage failed (or their files were refused), and why.
    pub failed_nodes: Vec<super::FailedNode>,
    /// One sentence saying what is true: who leads, what is down and why.
    pub summary: String,
}

/// One request to the driver, with the channel for its answer.
pub(super) enum Request {
    Command {
        command: Input,
        wait: AppendWait,
        reply: ReplyTx,
    },
    Snapshot {
        reply: oneshot::Sender<Arc<SnapshotReply>>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
    History {
        op: HistoryOp,
        reply: oneshot::Sender<Result<HistoryReply, CommandError>>,
    },
    FullSnapshot {
        reply: oneshot::Sender<Result<Arc<SnapshotReply>, CommandError>>,
    },
    Log {
        node: NodeId,
        from: LogIndex,
        to: LogIndex,
        reply: oneshot::Sender<Result<LogPage, CommandError>>,
    },
    Shutdown,
}

/// What a history request asks (see `history.rs`).
#[derive(Debug)]
pub(super) enum HistoryOp {
    Trace,
    Markers,
    Load(Box<Trace>),
    /// A lesson's stop: loaded, but not taken back by Undo.
    Stage(Box<Trace>),
    Fork(ForkAt),
    Undo,
    Branches,
    Branch(u64),
    Restore(u64),
}

/// What a history request returns.
pub(super) enum HistoryReply {
    Trace(Box<Trace>),
    Markers(Box<Markers>),
    Moved(ForkReply),
    Branches(Vec<BranchInfo>),
}

/// How the rest of the process reaches the driver. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DriverHandle {
    pub(super) requests: mpsc::Sender<Request>,
    pub(super) outgoing: broadcast::Sender<Arc<Outgoing>>,
    pub(super) stopped: CancellationToken,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Command { command, .. } => write!(f, "Command({command:?})"),
            Request::Snapshot { .. } => f.write_str("Snapshot"),
            Request::Status { .. } => f.write_str("Status"),
            Request::History { op, .. } => write!(f, "History({op:?})"),
            Request::FullSnapshot { .. } => f.write_str("FullSnapshot"),
            Request::Log { node, from, to, .. } => write!(f, "Log(S{node}, {from}..={to})"),
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
        command: Input,
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

    /// The snapshot with every log whole (refused when a log is very long: see
    /// [`super::FULL_SNAPSHOT_ENTRIES_MAX`]).
    pub async fn full_snapshot(&self) -> Result<Arc<SnapshotReply>, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::FullSnapshot { reply }).await?;
        rx.await.map_err(|_| CommandError::stopped())?
    }

    /// Entries `from..=to` of `node`'s log.
    pub async fn log(
        &self,
        node: NodeId,
        from: LogIndex,
        to: LogIndex,
    ) -> Result<LogPage, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Log {
            node,
            from,
            to,
            reply,
        })
        .await?;
        rx.await.map_err(|_| CommandError::stopped())?
    }

    /// A short summary.
    pub async fn status(&self) -> Result<Status, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Status { reply }).await?;
        rx.await.map_err(|_| CommandError::stopped())
    }

    /// What the timeline marks over the current run (`GET /api/trace/markers`): kept by the
    /// driver from the event stream, so this costs no re-execution.
    pub async fn markers(&self) -> Result<Markers, CommandError> {
        match self.history(HistoryOp::Markers).await? {
            HistoryReply::Markers(m) => Ok(*m),
            _ => unreachable!("a markers request is answered with markers"),
        }
    }

    /// The current run's trace (`GET /api/trace`).
    pub async fn trace(&self) -> Result<Trace, CommandError> {
        match self.history(HistoryOp::Trace).await? {
            HistoryReply::Trace(t) => Ok(*t),
            _ => unreachable!("a trace request is answered with a trace"),
        }
    }

    /// Make the live cluster this trace, re-executed to its end (`POST /api/trace`).
    pub async fn load_trace(&self, trace: Trace) -> Result<ForkReply, CommandError> {
        self.moved(HistoryOp::Load(Box::new(trace))).await
    }

    /// Make the live cluster a lesson's trace up to a pause point: as [`DriverHandle::load_trace`],
    /// except that Undo does not take this move back (the lesson's Back does).
    pub async fn stage_lesson(&self, trace: Trace) -> Result<ForkReply, CommandError> {
        self.moved(HistoryOp::Stage(Box::new(trace))).await
    }

    /// Fork at an instant of the current run (`POST /api/fork`).
    pub async fn fork(&self, at: ForkAt) -> Result<ForkReply, CommandError> {
        self.moved(HistoryOp::Fork(at)).await
    }

    /// Undo (`POST /api/undo`): the fork, load, return or reset just made, else the last input.
    pub async fn undo(&self) -> Result<ForkReply, CommandError> {
        self.moved(HistoryOp::Undo).await
    }

    /// Bring a branch back (`POST /api/trace/branches/{id}/restore`).
    pub async fn restore_branch(&self, id: u64) -> Result<ForkReply, CommandError> {
        self.moved(HistoryOp::Restore(id)).await
    }

    /// The branches (`GET /api/trace/branches`).
    pub async fn branches(&self) -> Result<Vec<BranchInfo>, CommandError> {
        match self.history(HistoryOp::Branches).await? {
            HistoryReply::Branches(b) => Ok(b),
            _ => unreachable!("a branch list request is answered with a list"),
        }
    }

    /// One branch's trace (`GET /api/trace/branches/{id}`).
    pub async fn branch(&self, id: u64) -> Result<Trace, CommandError> {
        match self.history(HistoryOp::Branch(id)).await? {
            HistoryReply::Trace(t) => Ok(*t),
            _ => unreachable!("a branch request is answered with a trace"),
        }
    }

    async fn moved(&self, op: HistoryOp) -> Result<ForkReply, CommandError> {
        match self.history(op).await? {
            HistoryReply::Moved(r) => Ok(r),
            _ => unreachable!("a fork is answered with where the cluster went"),
        }
    }

    async fn history(&self, op: HistoryOp) -> Result<HistoryReply, CommandError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::History { op, reply }).await?;
        rx.await.map_err(|_| CommandError::stopped())?
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
    pub(super) done: oneshot::Receiver<()>,
}

impl DriverThread {
    /// Wait until the driver has stopped (after [`DriverHandle::shutdown`] or when every handle
    /// is dropped).
    pub async fn join(self) {
        let _ = self.done.await;
    }
}
