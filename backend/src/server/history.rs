//! The history endpoints: `GET`/`POST /api/trace`, `GET /api/trace/link`, `POST /api/fork`,
//! `POST /api/undo`, `GET /api/trace/branches[/{id}]` and
//! `POST /api/trace/branches/{id}/restore` (docs/api.md). Owns their HTTP shapes; must not reach
//! the simulator except through the driver's handle, nor re-execute anything itself.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use shared::trace::{link, Trace};

use super::routes::admit;
use super::{AppState, ServerError};
use crate::driver::{BranchInfo, CommandError, ForkAt, ForkReply, TRACE_BODY_BYTES_MAX};

/// The success envelope.
#[derive(Serialize)]
struct Ok<T> {
    ok: bool,
    result: T,
}

fn ok<T>(result: T) -> axum::Json<Ok<T>> {
    axum::Json(Ok { ok: true, result })
}

/// The routes, with their own body limit (a trace is bigger than a command).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/trace", get(get_trace).post(load_trace))
        .route("/api/trace/link", get(share_link))
        .route("/api/trace/branches", get(branches))
        .route("/api/trace/branches/{id}", get(branch))
        .route("/api/trace/branches/{id}/restore", post(restore))
        .route("/api/fork", post(fork))
        .route("/api/undo", post(undo))
        .layer(DefaultBodyLimit::max(TRACE_BODY_BYTES_MAX))
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
                    "attachment; filename=\"logscope-seed{}-{}ms.json\"",
                    trace.config.seed, trace.end_ms
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
async fn share_link(State(state): State<AppState>) -> Result<axum::Json<Ok<Link>>, ServerError> {
    let trace = state.inner.driver.trace().await?;
    let fragment = link::encode(&trace)
        .map_err(|e| ServerError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()))?;
    Ok(ok(Link {
        chars: fragment.len(),
        fragment,
    }))
}

#[derive(Serialize)]
struct Link {
    /// What follows `#trace=` in the page's URL.
    fragment: String,
    /// Its length.
    chars: usize,
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
) -> Result<axum::Json<Ok<ForkReply>>, ServerError> {
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
) -> Result<axum::Json<Ok<ForkReply>>, ServerError> {
    admit(&state, addr, false)?;
    let body = body_or_error(body)?;
    let at: ForkAt = serde_json::from_slice(&body).map_err(|e| {
        CommandError::invalid(format!(
            "expected {{\"at_ms\": T}}, {{\"seq\": S}} or {{\"before_input\": I}}: {e}"
        ))
    })?;
    at.position()?;
    Ok(ok(state.inner.driver.fork(at).await?))
}

/// `POST /api/undo`: fork just before the last input.
async fn undo(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Result<axum::Json<Ok<ForkReply>>, ServerError> {
    admit(&state, addr, false)?;
    Ok(ok(state.inner.driver.undo().await?))
}

/// `GET /api/trace/branches`.
async fn branches(
    State(state): State<AppState>,
) -> Result<axum::Json<Ok<Vec<BranchInfo>>>, ServerError> {
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
) -> Result<axum::Json<Ok<ForkReply>>, ServerError> {
    admit(&state, addr, false)?;
    let id = branch_id(&id)?;
    Ok(ok(state.inner.driver.restore_branch(id).await?))
}

fn branch_id(text: &str) -> Result<u64, ServerError> {
    text.parse().map_err(|_| {
        CommandError::invalid(format!("{text:?} is not a branch id (a whole number)")).into()
    })
}
