//! The history endpoints: `GET`/`POST /api/trace`, `GET /api/trace/link`,
//! `GET /api/trace/at[/log]`, `GET /api/trace/markers`, `POST /api/fork`, `POST /api/undo`,
//! `GET /api/trace/branches[/{id}]` and `POST /api/trace/branches/{id}/restore` (docs/api.md).
//! `at` re-executes the run's trace off the driver's thread, from checkpoints kept (and extended
//! as the run grows, by [`keep_warm`] every two seconds too) between requests ([`TimelineCache`]); `markers` asks the driver, which keeps
//! them from the live event stream. Owns their HTTP shapes; must not reach
//! the simulator except through the driver's handle, nor re-execute anything itself.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use shared::trace::answers::{self, At, Link, LogPage, Markers, Refusal};
use shared::trace::{Position, Timeline, Trace, CHECKPOINT_EVERY_MS};

use super::routes::admit;
use super::{AppState, ServerError};
use crate::driver::{BranchInfo, CommandError, ForkAt, ForkReply, TRACE_BODY_BYTES_MAX};

/// The success envelope, `{"ok": true, "result": …}`.
#[derive(Serialize)]
struct Envelope<T> {
    ok: bool,
    result: T,
}

fn ok<T>(result: T) -> axum::Json<Envelope<T>> {
    axum::Json(Envelope { ok: true, result })
}

/// The routes, with their own body limit (a trace is bigger than a command).
pub(super) fn router() -> Router<AppState> {
    let wrong = || any(method_not_allowed);
    Router::new()
        .route(
            "/api/trace",
            get(get_trace).post(load_trace).fallback(method_not_allowed),
        )
        .route(
            "/api/trace/link",
            get(share_link).fallback(method_not_allowed),
        )
        .route("/api/trace/at", get(at).fallback(method_not_allowed))
        .route(
            "/api/trace/at/log",
            get(at_log).fallback(method_not_allowed),
        )
        .route(
            "/api/trace/markers",
            get(markers).fallback(method_not_allowed),
        )
        .route(
            "/api/trace/branches",
            get(branches).fallback(method_not_allowed),
        )
        .route(
            "/api/trace/branches/{id}",
            get(branch).fallback(method_not_allowed),
        )
        .route(
            "/api/trace/branches/{id}/restore",
            post(restore).fallback(method_not_allowed),
        )
        .route("/api/fork", post(fork).fallback(method_not_allowed))
        .route("/api/undo", post(undo).fallback(method_not_allowed))
        .route("/api/trace/{*rest}", wrong())
        .layer(DefaultBodyLimit::max(TRACE_BODY_BYTES_MAX))
}

/// A wrong method (or an unknown path under `/api/trace/`), as a JSON error naming what works.
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let allowed = match path {
        "/api/trace" => Some("GET, POST"),
        "/api/fork" | "/api/undo" => Some("POST"),
        p if p.ends_with("/restore") => Some("POST"),
        "/api/trace/link"
        | "/api/trace/at"
        | "/api/trace/at/log"
        | "/api/trace/markers"
        | "/api/trace/branches" => Some("GET"),
        p if p.starts_with("/api/trace/branches/") && p.matches('/').count() == 4 => Some("GET"),
        _ => None,
    };
    match allowed {
        Some(allowed) => (
            [(header::ALLOW, allowed)],
            ServerError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {path}: use {allowed}"),
            ),
        )
            .into_response(),
        None => ServerError::new(
            StatusCode::NOT_FOUND,
            format!("no such endpoint: {method} {path} (the history routes are in docs/api.md)"),
        )
        .into_response(),
    }
}

/// A trace as a download: the JSON file `POST /api/trace` and `logscope replay` take back.
fn trace_file(trace: &Trace) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    shared::trace::file_name(trace.config.seed, trace.end_ms)
                ),
            ),
        ],
        trace.to_json(),
    )
        .into_response()
}

/// `GET /api/trace`: the current run's trace.
async fn get_trace(State(state): State<AppState>) -> Result<Response, ServerError> {
    Ok(trace_file(&state.inner.driver.trace().await?))
}

/// `GET /api/trace/link`: the current run as a share-link fragment, or why it is too long.
async fn share_link(
    State(state): State<AppState>,
) -> Result<axum::Json<Envelope<Link>>, ServerError> {
    let trace = state.inner.driver.trace().await?;
    let link = answers::share_link(&trace)
        .map_err(|e| ServerError::new(StatusCode::PAYLOAD_TOO_LARGE, e))?;
    Ok(ok(link))
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ServerError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServerError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the trace is larger than the limit of {TRACE_BODY_BYTES_MAX} bytes"),
            )
        } else {
            ServerError::new(
                r.status(),
                format!("cannot read the body: {}", r.body_text()),
            )
        }
    })
}

/// `POST /api/trace`: the cluster becomes the posted run, re-executed to its end. A bad, cut
/// short or future-version trace is a 400 and changes nothing.
async fn load_trace(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<Envelope<ForkReply>>, ServerError> {
    admit(&state, addr, false)?;
    let body = body_or_error(body)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| CommandError::invalid("the trace is not UTF-8 text"))?;
    let trace = Trace::from_json(text).map_err(|e| CommandError::invalid(e.to_string()))?;
    Ok(ok(state.inner.driver.load_trace(trace).await?))
}

/// `POST /api/fork` with `{"at_ms": T}`, `{"seq": S}` or `{"before_input": I}`.
async fn fork(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<Envelope<ForkReply>>, ServerError> {
    admit(&state, addr, false)?;
    let body = body_or_error(body)?;
    let at: ForkAt = serde_json::from_slice(&body).map_err(|e| {
        CommandError::invalid(format!(
            "expected {{\"at_ms\": T}}, {{\"seq\": S}} or {{\"before_input\": I}}: {e}"
        ))
    })?;
    at.position().map_err(CommandError::invalid)?;
    Ok(ok(state.inner.driver.fork(at).await?))
}

/// `POST /api/undo`: take back the fork, load, return or reset just made (the run it left comes
/// back), else fork just before the last input.
async fn undo(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Result<axum::Json<Envelope<ForkReply>>, ServerError> {
    admit(&state, addr, false)?;
    Ok(ok(state.inner.driver.undo().await?))
}

/// `GET /api/trace/branches`.
async fn branches(
    State(state): State<AppState>,
) -> Result<axum::Json<Envelope<Vec<BranchInfo>>>, ServerError> {
    Ok(ok(state.inner.driver.branches().await?))
}

/// `GET /api/trace/branches/{id}`: that branch's trace, as a download.
async fn branch(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ServerError> {
    let id = branch_id(&id)?;
    Ok(trace_file(&state.inner.driver.branch(id).await?))
}

/// `POST /api/trace/branches/{id}/restore`.
async fn restore(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Result<axum::Json<Envelope<ForkReply>>, ServerError> {
    admit(&state, addr, false)?;
    let id = branch_id(&id)?;
    Ok(ok(state.inner.driver.restore_branch(id).await?))
}

fn branch_id(text: &str) -> Result<u64, ServerError> {
    text.parse().map_err(|_| {
        CommandError::invalid(format!("{text:?} is not a branch id (a whole number)")).into()
    })
}

/// The checkpoints of the last trace asked about; extended when the run has
/// moved past them (only what was added is re-executed), rebuilt when it became another run.
/// One build at a time (the lock is held while building), so a repeated question about an
/// unchanged run costs no re-execution, and one about a grown run only the growth.
pub(super) type TimelineCache = Arc<tokio::sync::Mutex<Option<Arc<Timeline>>>>;

/// The run's timeline, covering `position` (or the whole run so far when `None`).
async fn timeline(
    state: &AppState,
    position: Option<Position>,
) -> Result<Arc<Timeline>, ServerError> {
    let mut cache = state.inner.timelines.lock().await;
    let trace = state.inner.driver.trace().await?;
    if let Some(cached) = cache
        .as_ref()
        .filter(|c| answers::timeline_serves(c, &trace, position))
    {
        return Ok(cached.clone());
    }
    bring_up_to(&mut cache, trace).await
}

/// The cached timeline brought to `trace`: extended in place when no answer still reads it (else
/// a copy: checkpoints are shared), built anew when `trace` is another run. Off the driver's
/// thread; on an error the cache is left empty.
async fn bring_up_to(
    cache: &mut Option<Arc<Timeline>>,
    trace: Trace,
) -> Result<Arc<Timeline>, ServerError> {
    let cached = cache.take().map(Arc::unwrap_or_clone);
    let built =
        tokio::task::spawn_blocking(move || Timeline::update(cached, trace, CHECKPOINT_EVERY_MS))
            .await
            .map_err(|e| ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let built = Arc::new(built);
    *cache = Some(built.clone());
    Ok(built)
}

/// How often [`keep_warm`] looks at the run.
pub(super) const WARM_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Keep the timeline cache up to the live run, a little at a time: `every` ([`WARM_EVERY`]), when no
/// history question is using the cache and the run has moved, it is extended by what the run
/// did since (the replay runs ~3 times faster than the live run). Without it the first look at
/// the past of a long unobserved run (at speed 0: days of virtual time in a minute) re-executed
/// all of it while the room waited, 17 s in docs/trace.md. Memory stays within the timeline's
/// own bounds (`CHECKPOINTS_MAX`, `CHECKPOINT_BYTES_MAX`). Returns when `shutdown` is cancelled.
pub(super) async fn keep_warm(
    state: AppState,
    shutdown: tokio_util::sync::CancellationToken,
    every: std::time::Duration,
) {
    let mut every = tokio::time::interval(every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        // A question under way is building it already.
        let Ok(mut cache) = state.inner.timelines.try_lock() else {
            continue;
        };
        let Ok(trace) = state.inner.driver.trace().await else {
            continue;
        };
        if cache
            .as_ref()
            .is_some_and(|c| answers::timeline_serves(c, &trace, None))
        {
            continue;
        }
        if let Err(e) = bring_up_to(&mut cache, trace).await {
            // The next question rebuilds it and answers with the error itself.
            tracing::warn!(error = %e.message, "cannot keep the run's timeline up to date");
        }
    }
}

/// `GET /api/trace/at`'s query: a position (as for fork), and `full=true` for every entry of
/// every log instead of the newest `LOG_WINDOW` (the live snapshot's window).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtQuery {
    at_ms: Option<u64>,
    seq: Option<u64>,
    before_input: Option<usize>,
    full: Option<bool>,
}

impl AtQuery {
    fn fork_at(&self) -> ForkAt {
        ForkAt {
            at_ms: self.at_ms,
            seq: self.seq,
            before_input: self.before_input,
        }
    }
}

/// `GET /api/trace/at/log`'s query: a position and one page of one node's log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtLogQuery {
    at_ms: Option<u64>,
    seq: Option<u64>,
    before_input: Option<usize>,
    node: u64,
    from: Option<u64>,
    to: Option<u64>,
}

fn query_or_400<T>(
    query: Result<Query<T>, QueryRejection>,
    expected: &str,
) -> Result<T, ServerError> {
    query.map(|Query(q)| q).map_err(|r| {
        CommandError::invalid(format!("expected {expected}: {}", r.body_text())).into()
    })
}

/// A refusal of `shared::trace::answers` as the server's error.
fn refused(r: Refusal) -> ServerError {
    match r {
        Refusal::Invalid(e) => CommandError::invalid(e).into(),
        Refusal::NotFound(e) => CommandError::not_found(e).into(),
        Refusal::Conflict(e) => CommandError::conflict(e).into(),
        Refusal::Failed(e) => ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// How many answers re-execute from the timeline at once (a machine of the class has two
/// cores); more wait their turn. Unbounded, 200 students' instants at once took both cores
/// and left `/api/health` seconds behind (QA, debug build).
pub(super) const PAST_READS_MAX: usize = 2;

/// Answer from the run's timeline covering `position`, off the async threads (re-executing
/// from a checkpoint takes milliseconds), [`PAST_READS_MAX`] at a time.
async fn from_timeline<T: Send + 'static>(
    state: &AppState,
    position: Position,
    answer: impl FnOnce(&Timeline) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, ServerError> {
    let timeline = timeline(state, Some(position)).await?;
    let permit = state
        .inner
        .past_reads
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ServerError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _turn = permit;
        answer(&timeline)
    })
    .await
    .map_err(|e| ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(refused)
}

/// `GET /api/trace/at?at_ms=T` (or `seq=S`, `before_input=I`; `&full=true`): the cluster at an
/// instant of the current run, without changing the live one. Each log is windowed like the
/// live snapshot's (a page scrolled further back asks `GET /api/trace/at/log`), so the answer's
/// size does not grow with the run.
async fn at(
    State(state): State<AppState>,
    query: Result<Query<AtQuery>, QueryRejection>,
) -> Result<axum::Json<Envelope<At>>, ServerError> {
    let query = query_or_400(query, "?at_ms=T, ?seq=S or ?before_input=I (and full=true)")?;
    let position = query.fork_at().position().map_err(CommandError::invalid)?;
    let full = query.full == Some(true);
    let at = from_timeline(&state, position, move |t| answers::at(t, position, full)).await?;
    Ok(ok(at))
}

/// `GET /api/trace/at/log?at_ms=T&node=N&from=F&to=T2`: one page of node N's log at that
/// instant, the same shape as `GET /api/nodes/{id}/log` (what a past instant's page asks for
/// when scrolled back beyond its window).
async fn at_log(
    State(state): State<AppState>,
    query: Result<Query<AtLogQuery>, QueryRejection>,
) -> Result<axum::Json<Envelope<LogPage>>, ServerError> {
    let q = query_or_400(
        query,
        "a position (at_ms, seq or before_input), node, from and to",
    )?;
    let position = ForkAt {
        at_ms: q.at_ms,
        seq: q.seq,
        before_input: q.before_input,
    }
    .position()
    .map_err(CommandError::invalid)?;
    // The question is checked before anything is re-executed.
    if q.node == 0 {
        return Err(CommandError::invalid("node must be a server's number, from 1").into());
    }
    answers::log_range(q.from, q.to).map_err(CommandError::invalid)?;
    let page = from_timeline(&state, position, move |t| {
        t.trace().reaches(position).map_err(Refusal::Invalid)?;
        answers::log_page(t.at(position)?.sim(), q.node, q.from, q.to)
    })
    .await?;
    Ok(ok(page))
}

/// `GET /api/trace/markers`: what a timeline marks, over the whole run so far. The driver keeps
/// them from the live event stream: answering re-executes nothing, however long the run.
async fn markers(
    State(state): State<AppState>,
) -> Result<axum::Json<Envelope<Markers>>, ServerError> {
    Ok(ok(state.inner.driver.markers().await?))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::driver::{self, DriverConfig};
    use crate::server::access::Access;
    use crate::server::{Limits, PageFiles};

    /// How far the cached timeline reaches (virtual ms), if there is one.
    async fn cached_end_ms(state: &AppState) -> Option<u64> {
        let cache = state.inner.timelines.lock().await;
        cache.as_ref().map(|t| t.trace().end_ms)
    }

    async fn wait_for(state: &AppState, what: &str, done: impl Fn(Option<u64>) -> bool) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let end = cached_end_ms(state).await;
            if done(end) {
                return end.unwrap_or(0);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} (cache: {end:?})"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn the_timeline_follows_the_live_run_without_being_asked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = DriverConfig {
            speed: 1.0,
            ..DriverConfig::three_nodes_for_tests(dir.path(), false)
        };
        let (driver, _, driver_thread) = driver::start(config).await.expect("driver starts");
        let shutdown = CancellationToken::new();
        let state = AppState::new(
            driver.clone(),
            Limits::default(),
            shutdown.clone(),
            PageFiles::Dir(PathBuf::from("dist")),
            Access::new("token".into(), false, &[]),
            10,
            None,
        );
        assert_eq!(
            cached_end_ms(&state).await,
            None,
            "nothing built before it runs"
        );
        let warm = tokio::spawn(keep_warm(
            state.clone(),
            shutdown.clone(),
            Duration::from_millis(20),
        ));
        // No history question is asked: the cache is built, then extended as the run goes on.
        let first = wait_for(&state, "a timeline of the run", |e| {
            e.is_some_and(|e| e >= 200)
        })
        .await;
        wait_for(&state, "the timeline to grow with the run", |e| {
            e.is_some_and(|e| e >= first + 200)
        })
        .await;
        // And it is the live run's: a question now is answered from it (nothing to re-execute
        // but the last few ms).
        let trace = driver.trace().await.expect("the run's trace");
        let timeline = timeline(&state, Some(Position::AtMs(first))).await.unwrap();
        assert!(timeline.trace().end_ms <= trace.end_ms);
        assert!(answers::timeline_serves(
            &timeline,
            &trace,
            Some(Position::AtMs(first))
        ));
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), warm)
            .await
            .expect("keep_warm returns on shutdown")
            .unwrap();
        driver.shutdown().await;
        driver_thread.join().await;
    }
}
