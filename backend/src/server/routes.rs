//! The HTTP side: `GET /api/cluster`, `POST /api/commands`, `GET /api/health`, JSON errors for
//! everything else under `/api/`, and the frontend's static files (or a page saying how to build
//! them). Owns which request gets which status and the `{ok, result}` envelope (errors are
//! [`ServerError`]s); must not reach the simulator
//! except through the driver's handle.

use shared::LogIndex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shared::protocol::CommandOk;

use super::{parse_command, AppState, PageFiles, ServerError};
use crate::driver::{AppendWait, CommandError, Status};

/// The success envelope.
#[derive(Serialize)]
pub(super) struct OkBody<T> {
    ok: bool,
    result: T,
}

/// Pre-serialized JSON as a response.
fn json_text(text: impl Into<Body>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text.into(),
    )
        .into_response()
}

/// A refusal when `addr` is over its rate limit for commands.
pub(super) fn admit(state: &AppState, addr: SocketAddr, append: bool) -> Result<(), ServerError> {
    state
        .inner
        .per_ip
        .admit(addr.ip(), append)
        .map_err(|refused| {
            ServerError::new(
                StatusCode::TOO_MANY_REQUESTS,
                refused.message(&state.inner.limits, "IP address"),
            )
        })
}

/// `GET /api/cluster[?full=true]`: the snapshot, with a window of each log (or every entry).
/// Reads are not rate-limited per address (a class behind one NAT shares it); concurrent
/// requests share one snapshot from the driver.
pub(super) async fn cluster(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ServerError> {
    let query = bad_query(query)?;
    if let Some(unknown) = query.keys().find(|k| *k != "full") {
        return Err(CommandError::invalid(format!(
            "unknown query parameter {unknown:?}: expected full"
        ))
        .into());
    }
    let full = match query.get("full").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(
                CommandError::invalid(format!("full must be true or false, got {other:?}")).into(),
            )
        }
    };
    let snapshot = if full {
        state.inner.driver.full_snapshot().await?
    } else {
        state.inner.driver.snapshot().await?
    };
    // The snapshot's text itself, shared, not a copy per request: a full one can be megabytes,
    // and a class may ask for it at once.
    Ok(json_text(axum::body::Bytes::from(snapshot.json())))
}

/// The query string, or a 400 saying why it cannot be read.
fn bad_query(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ServerError> {
    query.map(|Query(q)| q).map_err(|r| {
        ServerError::new(
            StatusCode::BAD_REQUEST,
            format!("bad query string: {}", r.body_text()),
        )
    })
}

/// `GET /api/nodes/{id}/log?from=&to=`: entries `from..=to` of one node's log (`from` defaults
/// to 1, `to` to a full page after `from`); at most `LOG_PAGE_MAX` per request.
pub(super) async fn node_log(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    axum::extract::Path(id): axum::extract::Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<axum::Json<OkBody<crate::driver::LogPage>>, ServerError> {
    use shared::protocol::LOG_PAGE_MAX;
    let query = bad_query(query)?;
    if let Some(unknown) = query.keys().find(|k| *k != "from" && *k != "to") {
        return Err(CommandError::invalid(format!(
            "unknown query parameter {unknown:?}: expected from and to"
        ))
        .into());
    }
    let index = |name: &str| -> Result<Option<u64>, CommandError> {
        query
            .get(name)
            .map(|v| match v.parse::<u64>() {
                Ok(i) if i >= 1 => Ok(i),
                _ => Err(CommandError::invalid(format!(
                    "{name} must be a log index (a whole number from 1), got {v:?}"
                ))),
            })
            .transpose()
    };
    let from = index("from")?.unwrap_or(1);
    let to = index("to")?.unwrap_or(from.saturating_add(LOG_PAGE_MAX - 1));
    if to < from {
        return Err(CommandError::invalid(format!("to ({to}) is below from ({from})")).into());
    }
    if to - from >= LOG_PAGE_MAX {
        return Err(CommandError::invalid(format!(
            "at most {LOG_PAGE_MAX} entries per request: {from}..={to} is {}",
            to - from + 1
        ))
        .into());
    }
    let node = id.parse::<shared::NodeId>().map_err(|_| {
        CommandError::not_found(format!(
            "there is no node {id:?}: nodes are numbered from 1"
        ))
    })?;
    admit(&state, addr, false)?;
    let result = state
        .inner
        .driver
        .log(node, LogIndex(from), LogIndex(to))
        .await?;
    Ok(axum::Json(OkBody { ok: true, result }))
}

/// `GET /api/health`'s body.
#[derive(Serialize)]
pub(super) struct Health {
    ok: bool,
    status: &'static str,
    protocol_version: u32,
    #[serde(flatten)]
    run: Status,
}

/// `GET /api/health`: is the driver alive, and a one-line summary of the run.
pub(super) async fn health(
    State(state): State<AppState>,
) -> Result<axum::Json<Health>, ServerError> {
    let status = tokio::time::timeout(Duration::from_secs(5), state.inner.driver.status())
        .await
        .map_err(|_| {
            ServerError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the simulator did not answer within 5 s",
            )
        })??;
    Ok(axum::Json(Health {
        ok: true,
        status: status.condition(),
        protocol_version: shared::protocol::PROTOCOL_VERSION,
        run: status,
    }))
}

/// `POST /api/commands[?wait=commit[&timeout_ms=N]]`: one `ClientCommand` as the JSON body.
pub(super) async fn commands(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<OkBody<CommandOk>>, ServerError> {
    let limits = &state.inner.limits;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServerError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body too large: the limit is {} bytes (one command per request)",
                    limits.body_bytes_max
                ),
            )
        } else {
            ServerError::new(
                r.status(),
                format!("cannot read the body: {}", r.body_text()),
            )
        }
    })?;
    let Query(query) = query.map_err(|r| {
        ServerError::new(
            StatusCode::BAD_REQUEST,
            format!("bad query string: {}", r.body_text()),
        )
    })?;
    let wait = parse_wait(&query, limits)?;
    if body.is_empty() {
        return Err(CommandError::invalid(
            "empty body: send one command as JSON, e.g. {\"type\":\"append\",\"command\":\"add 5\"}",
        )
        .into());
    }
    let value = super::json_once::read(&body)
        .map_err(|e| CommandError::invalid(format!("invalid JSON: {e}")))?;
    let command = parse_command(value)?;
    let is_append = matches!(command, crate::driver::Input::Append(_));
    if !is_append && wait != AppendWait::Appended {
        return Err(CommandError::invalid("wait=commit applies to append only").into());
    }
    admit(&state, addr, is_append)?;
    let _waiting = state.inner.waiting.try_take(addr.ip()).ok_or_else(|| {
        ServerError::new(
            StatusCode::TOO_MANY_REQUESTS,
            super::ws::waiting_message(limits),
        )
    })?;
    let result = state.inner.driver.command(command, wait).await?;
    Ok(axum::Json(OkBody { ok: true, result }))
}

fn parse_wait(
    query: &HashMap<String, String>,
    limits: &super::Limits,
) -> Result<AppendWait, CommandError> {
    if let Some(unknown) = query
        .keys()
        .find(|k| k.as_str() != "wait" && k.as_str() != "timeout_ms")
    {
        return Err(CommandError::invalid(format!(
            "unknown query parameter {unknown:?}: expected wait=commit and timeout_ms"
        )));
    }
    let timeout = match query.get("timeout_ms") {
        None => limits.commit_wait_default,
        Some(t) => {
            let max = limits.commit_wait_max.as_millis() as u64;
            match t.parse::<u64>() {
                Ok(ms) if (1..=max).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(CommandError::invalid(format!(
                    "timeout_ms must be a whole number of milliseconds from 1 to {max}, got {t:?}"
                )))
                }
            }
        }
    };
    match query.get("wait").map(String::as_str) {
        None => {
            if query.contains_key("timeout_ms") {
                return Err(CommandError::invalid("timeout_ms needs wait=commit"));
            }
            Ok(AppendWait::Appended)
        }
        Some("commit") => Ok(AppendWait::Committed {
            wall_timeout: timeout,
        }),
        Some(other) => Err(CommandError::invalid(format!(
            "wait must be \"commit\", got {other:?}"
        ))),
    }
}

/// Any other method on an API route.
pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> impl IntoResponse {
    let allowed = match uri.path() {
        "/api/commands" => "POST",
        _ => "GET",
    };
    let error = ServerError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}: use {allowed}", uri.path()),
    );
    ([(header::ALLOW, allowed)], error)
}

/// Anything else under `/api/`.
pub(super) async fn not_found(method: Method, uri: Uri) -> ServerError {
    ServerError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no such endpoint: {method} {}; the API is GET /api/cluster, POST /api/commands, \
             GET /api/health, GET /api/nodes/{{id}}/log, the history routes (/api/trace…, \
             POST /api/fork, POST /api/undo), the lesson routes (/api/lessons…, /api/lesson…) \
             and the WebSocket at /ws (see docs/api.md)",
            uri.path()
        ),
    )
}

/// Everything that is not `/api/` or `/ws`: the built frontend.
pub(super) async fn static_files(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ServerError> {
    let dir = match &state.inner.page {
        PageFiles::Dir(dir) => dir,
        PageFiles::Embedded => return Ok(super::embedded::serve(super::embedded::PAGE, &request)),
    };
    if !dir.join("index.html").is_file() {
        let status = if request.uri().path() == "/" {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        return Ok((status, frontend_missing_page(dir)).into_response());
    }
    super::static_files::serve(dir, request).await
}

fn frontend_missing_page(dir: &Path) -> axum::response::Html<String> {
    let dir = html_escape(&dir.display().to_string());
    axum::response::Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>logscope: frontend not built</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;line-height:1.5}}
code,pre{{background:#f3f3f3;padding:.1rem .3rem}}</style></head>
<body>
<h1>logscope is running, but the frontend is not built</h1>
<p>There is no <code>index.html</code> in <code>{dir}</code>, the directory this server serves
the browser app from (<code>--static-dir</code>).</p>
<p>Build it at the root of the repository, then reload this page:</p>
<pre>scripts/setup.sh          # once: the wasm32 target and the wasm-bindgen CLI
scripts/build-page.sh     # writes dist/ (or `trunk build --release`)</pre>
<p>or simply run <code>scripts/run.sh</code>, which builds everything and starts the server.
If the build output is elsewhere, start the server with <code>--static-dir &lt;dir&gt;</code>.</p>
<p>The API works already: <a href="/api/cluster">GET /api/cluster</a>,
<code>POST /api/commands</code>, <a href="/api/health">GET /api/health</a> and the WebSocket
at <code>/ws</code> (see <code>docs/api.md</code>).</p>
</body></html>
"#
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
