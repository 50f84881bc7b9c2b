//! The axum server: the built frontend's static files, the WebSocket stream at `/ws` and the JSON
//! HTTP API under `/api/`, all on one port. Owns sockets, limits and the wire format of replies;
//! must not touch the simulator — everything goes through the driver's handle. See `docs/api.md`
//! for the protocol.
//!
//! [`serve`] starts the driver and the server and returns a [`ServerHandle`] with the bound
//! address (bind port 0 in tests) and a graceful shutdown.

mod access;
mod body_deadline;
mod embedded;
mod error;
mod history;
mod json_once;
mod lessons;
mod limits;
mod listener;
mod routes;
mod static_files;
mod tally;
mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::Router;
use shared::protocol::{ClientCommand, CommandOk, Reply, ServerMessage};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

use crate::driver::{
    self, CommandError, DriverConfig, DriverHandle, DriverThread, Input, StartInfo,
};
pub use access::{is_token, Role, TOKEN_FILE};
pub(crate) use error::ServerError;
pub use limits::Limits;

pub use embedded::has_page as has_embedded_page;

/// Where the page's files come from.
#[derive(Clone, Debug, PartialEq)]
pub enum PageFiles {
    /// A directory: the output of scripts/build-page.sh or `trunk build` (`--static-dir`).
    Dir(PathBuf),
    /// The page built into this binary (the `embed` feature: scripts/build-binary.sh).
    Embedded,
}

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address and port to listen on (port 0 picks a free one).
    pub bind: SocketAddr,
    /// The page: the frontend's build output (scripts/build-page.sh or `trunk build` writes
    /// `dist/`), or the one built into the binary.
    pub page: PageFiles,
    /// The live cluster.
    pub driver: DriverConfig,
    /// Size and rate limits.
    pub limits: Limits,
    /// The presenter's token; `None` draws a random one (see [`ServerHandle::token`]). Commands
    /// need it when the server listens beyond loopback, or when it is given here.
    pub token: Option<String>,
    /// Host names (besides IP addresses and `localhost`) this server answers to, lower case.
    pub allowed_hosts: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 7878)),
            page: PageFiles::Dir(PathBuf::from("dist")),
            driver: DriverConfig::default(),
            limits: Limits::default(),
            token: None,
            allowed_hosts: Vec::new(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The driver (data directory, cluster settings) could not start.
    #[error(transparent)]
    Driver(#[from] driver::DriverError),
    /// No token was given, and none could be read from the data directory or drawn and kept.
    #[error("cannot read or keep the presenter token (the data directory's {TOKEN_FILE}): {0}")]
    Token(std::io::Error),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    driver: DriverHandle,
    driver_thread: DriverThread,
    start_info: StartInfo,
    driver_failed: Arc<AtomicBool>,
    token: String,
    token_required: bool,
    connections_max: usize,
    lessons: Arc<lessons::Lessons>,
}

/// The URL students open: this machine's LAN address when bound to every interface.
pub fn viewer_url(local_addr: SocketAddr) -> String {
    let host = if local_addr.ip().is_unspecified() {
        lan_address().unwrap_or(local_addr.ip())
    } else {
        local_addr.ip()
    };
    format!("http://{}/", SocketAddr::new(host, local_addr.port()))
}

/// This machine's address on the network the default route leads to (no packet is sent: a UDP
/// "connect" only picks the source address).
fn lan_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

impl ServerHandle {
    /// Open a lesson from its text (`logscope --lesson FILE`): the live cluster goes to its
    /// first pause point, paused. The error names the line.
    pub async fn open_lesson(&self, name: &str, text: &str) -> Result<(), String> {
        let staged = lessons::stage_text(text)?;
        self.lessons
            .open(&self.driver, name.to_string(), staged)
            .await
            .map(|_| ())
            .map_err(|e| e.message)
    }

    /// The presenter's token (never logged; printed once in the presenter URL).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// True when commands need the token: the server listens beyond loopback.
    pub fn token_required(&self) -> bool {
        self.token_required
    }

    /// Open connections served at once (derived from the descriptor limit unless configured).
    pub fn connections_max(&self) -> usize {
        self.connections_max
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the driver found at start (recovered or new cluster).
    pub fn start_info(&self) -> &StartInfo {
        &self.start_info
    }

    /// The driver, for in-process tools (the WebSocket benchmark taps its broadcast).
    pub fn driver(&self) -> &DriverHandle {
        &self.driver
    }

    /// Cancelling this token shuts the server down (same as [`ServerHandle::shutdown`]).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stop accepting, close every WebSocket, answer waiting requests, stop the driver, and
    /// wait for all of it.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Wait until the server has stopped (after its shutdown token is cancelled).
    pub async fn wait(self) -> std::io::Result<()> {
        let ServerHandle {
            mut server,
            driver,
            driver_thread,
            shutdown,
            driver_failed,
            ..
        } = self;
        // Connections get a few seconds to close cleanly after shutdown begins.
        let result = tokio::select! {
            r = &mut server => r,
            _ = async {
                shutdown.cancelled().await;
                tokio::time::sleep(Duration::from_secs(10)).await;
            } => {
                tracing::warn!("connections did not close within 10 s; stopping anyway");
                server.abort();
                Ok(Ok(()))
            }
        };
        driver.shutdown().await;
        driver_thread.join().await;
        if driver_failed.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the simulator stopped unexpectedly"));
        }
        match result {
            Ok(r) => r,
            Err(e) if e.is_cancelled() => Ok(()),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Shared by every request handler.
#[derive(Clone)]
pub(crate) struct AppState {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    driver: DriverHandle,
    limits: Limits,
    ws_slots: Arc<Semaphore>,
    ws_slots_max: usize,
    ws_per_ip: Arc<limits::PerIpCount>,
    /// Commands waiting for the cluster, per address.
    waiting: Arc<limits::PerIpCount>,
    /// Command rate limits per address (reads are not limited per address).
    per_ip: limits::PerIp,
    access: access::Access,
    shutdown: CancellationToken,
    page: PageFiles,
    /// Checkpoints of the run's trace for `GET /api/trace/at` and `/markers`.
    timelines: history::TimelineCache,
    /// Re-executions from those checkpoints under way ([`history::PAST_READS_MAX`] at most).
    past_reads: Arc<Semaphore>,
    /// The open lesson (docs/lessons.md).
    lessons: Arc<lessons::Lessons>,
    /// The URL students open (LAN address), when the server listens beyond loopback; told to
    /// every page in `hello` so the presenter's can show it and its QR code.
    viewer_url: Option<String>,
    /// The presenter's latest view state, as the `presenter_view` message viewers get: a watch
    /// keeps only the newest, so a fast presenter never queues work for a thousand viewers.
    presenter_view: tokio::sync::watch::Sender<Option<axum::extract::ws::Utf8Bytes>>,
}

impl AppState {
    /// The state for a server that talks to `driver` and stops when `shutdown` is cancelled.
    /// `ws_slots_max` is the WebSocket cap after the connection cap is applied.
    pub(crate) fn new(
        driver: DriverHandle,
        limits: Limits,
        shutdown: CancellationToken,
        page: PageFiles,
        access: access::Access,
        ws_slots_max: usize,
        viewer_url: Option<String>,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                driver,
                ws_slots: Arc::new(Semaphore::new(ws_slots_max)),
                ws_slots_max,
                ws_per_ip: limits::PerIpCount::new(limits.ws_connections_per_ip_max),
                waiting: limits::PerIpCount::new(limits.waiting_per_ip_max),
                per_ip: limits::PerIp::new(limits.clone()),
                access,
                limits,
                shutdown,
                page,
                timelines: Default::default(),
                past_reads: Arc::new(Semaphore::new(history::PAST_READS_MAX)),
                lessons: Default::default(),
                viewer_url,
                presenter_view: tokio::sync::watch::Sender::new(None),
            }),
        }
    }
}

/// Start the driver and the server. Returns once the port is bound.
pub async fn serve(config: ServerConfig) -> Result<ServerHandle, ServeError> {
    let (driver, start_info, driver_thread) = driver::start(config.driver.clone()).await?;
    // Read (or made) once the driver holds the data directory's lock.
    let token = match &config.token {
        Some(t) => Ok(t.clone()),
        None => access::kept_token(&config.driver.data_dir),
    };
    let token = match token {
        Ok(token) => token,
        Err(e) => {
            driver.shutdown().await;
            driver_thread.join().await;
            return Err(ServeError::Token(e));
        }
    };
    let listener = match TcpListener::bind(config.bind).await {
        Ok(l) => l,
        Err(source) => {
            driver.shutdown().await;
            driver_thread.join().await;
            return Err(ServeError::Bind {
                addr: config.bind,
                source,
            });
        }
    };
    let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.bind,
        source,
    })?;
    let shutdown = CancellationToken::new();
    // On loopback the local user keeps full control, unless a token was set on purpose.
    let token_required = !local_addr.ip().is_loopback() || config.token.is_some();
    let access = access::Access::new(token.clone(), token_required, &config.allowed_hosts);
    let limits = &config.limits;
    let connections_max = listener::connections_max(limits.connections_max, limits.fd_reserve);
    let state = AppState::new(
        driver.clone(),
        config.limits.clone(),
        shutdown.clone(),
        config.page.clone(),
        access,
        limits.ws_connections_max.min(connections_max),
        token_required.then(|| viewer_url(local_addr)),
    );
    let lessons = state.inner.lessons.clone();
    tokio::spawn(history::keep_warm(
        state.clone(),
        shutdown.clone(),
        history::WARM_EVERY,
    ));
    let app = router(state, &config);
    // Waiting requests are answered at once when shutdown begins, so they don't hold it up.
    // And a driver that stops on its own (a bug) takes the server down with it, loudly, rather
    // than leave a server that answers every request with an error.
    let driver_failed = Arc::new(AtomicBool::new(false));
    {
        let (driver, shutdown) = (driver.clone(), shutdown.clone());
        let failed = driver_failed.clone();
        let stopped = driver.stopped();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => driver.shutdown().await,
                _ = stopped.cancelled() => {
                    if !shutdown.is_cancelled() {
                        tracing::error!("the simulator stopped unexpectedly; shutting down");
                        failed.store(true, Ordering::SeqCst);
                        shutdown.cancel();
                    }
                }
            }
        });
    }
    let server = tokio::spawn(listener::serve(
        listener,
        app,
        connections_max,
        limits.header_timeout,
        shutdown.clone(),
    ));
    tracing::info!(%local_addr, connections_max, "server listening");
    Ok(ServerHandle {
        local_addr,
        shutdown,
        server,
        driver,
        driver_thread,
        start_info,
        driver_failed,
        token,
        token_required,
        connections_max,
        lessons,
    })
}

fn router(state: AppState, config: &ServerConfig) -> Router {
    let limits = &config.limits;
    // Above our own longest wait, so it only ever catches a bug.
    let api_timeout = limits.commit_wait_max + Duration::from_secs(30);
    let api = Router::new()
        .route(
            "/api/cluster",
            get(routes::cluster).fallback(routes::method_not_allowed),
        )
        .route(
            "/api/commands",
            post(routes::commands).fallback(routes::method_not_allowed),
        )
        .route(
            "/api/health",
            get(routes::health).fallback(routes::method_not_allowed),
        )
        .route(
            "/api/nodes/{id}/log",
            get(routes::node_log).fallback(routes::method_not_allowed),
        )
        .route("/api", any(routes::not_found))
        .route("/api/", any(routes::not_found))
        .route("/api/{*rest}", any(routes::not_found))
        .layer(DefaultBodyLimit::max(limits.body_bytes_max))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            api_timeout,
        ));
    // The history routes (docs/trace.md) carry their own, larger body limit.
    let api = history::router().merge(lessons::router()).merge(api);
    Router::new()
        .merge(api)
        .route("/ws", get(ws::upgrade))
        .fallback(routes::static_files)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::check,
        ))
        // The whole body's deadline sees what the per-piece timeout (outside it, so first to
        // wrap the body) reports, and closes the connection after either.
        .layer(axum::middleware::from_fn_with_state(
            limits.body_timeout,
            body_deadline::limit,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}

/// Read one command from a JSON value, with an error that says what is wrong.
pub(crate) fn parse_command(value: serde_json::Value) -> Result<Input, CommandError> {
    if !value.is_object() {
        return Err(CommandError::invalid(format!(
            "expected a JSON object such as {{\"type\":\"crash\",\"node\":1}}, got {}",
            json_kind(&value)
        )));
    }
    match value.get("type") {
        None => return Err(CommandError::invalid(
            "missing \"type\": say which command, e.g. {\"type\":\"append\",\"command\":\"add 5\"}",
        )),
        Some(t) if !t.is_string() => {
            return Err(CommandError::invalid(format!(
                "\"type\" must be a string such as \"append\" or \"crash\", got {}",
                json_kind(t)
            )))
        }
        Some(_) => {}
    }
    let mut command: ClientCommand = serde_json::from_value(value.clone())
        .map_err(|e| CommandError::invalid(format!("invalid command: {e}")))?;
    refuse_unknown_fields(&value, &command)?;
    normalise(&mut command)?;
    Input::parse(command)
}

/// A field the command does not have is refused, not ignored: a misspelt `nodes` or `node`
/// would otherwise read as "not given", and the command would run with a default the sender did
/// not mean. The fields a command has are the ones it writes back (`None` is written as `null`,
/// or left out when it is an optional id: those are only ever left out when not given).
fn refuse_unknown_fields(
    given: &serde_json::Value,
    command: &ClientCommand,
) -> Result<(), CommandError> {
    let written = serde_json::to_value(command).unwrap_or_default();
    let Some(given) = given.as_object() else {
        return Ok(());
    };
    let unknown = given.iter().find(|(key, value)| {
        !matches!(key.as_str(), "type" | "request_id")
            && !value.is_null()
            && written.get(key.as_str()).is_none()
    });
    match unknown {
        None => Ok(()),
        Some((key, _)) => {
            let kind = written["type"].as_str().unwrap_or("this command");
            let mut fields: Vec<&str> = written
                .as_object()
                .map(|o| {
                    o.keys()
                        .map(String::as_str)
                        .filter(|k| *k != "type")
                        .collect()
                })
                .unwrap_or_default();
            fields.sort_unstable();
            let takes = if fields.is_empty() {
                "it takes no fields".to_string()
            } else {
                format!("it takes {}", fields.join(", "))
            };
            Err(CommandError::invalid(format!(
                "unknown field {key:?} for {kind}: {takes}"
            )))
        }
    }
}

/// The smallest non-zero probability accepted: a loss of one message in a million is already
/// invisible in a lecture, and smaller numbers would be echoed back with hundreds of digits.
pub const PROBABILITY_MIN: f64 = 1e-6;

/// Numbers a person could not tell apart from the normal form are put in it (`-0` speed is `0`);
/// the ones nobody means are refused (a loss probability of `1e-320`).
fn normalise(command: &mut ClientCommand) -> Result<(), CommandError> {
    match command {
        ClientCommand::Speed { speed } if *speed == 0.0 => *speed = 0.0,
        ClientCommand::Network {
            loss_probability,
            duplicate_probability,
            ..
        } => {
            for (name, p) in [
                ("loss_probability", loss_probability),
                ("duplicate_probability", duplicate_probability),
            ] {
                match p {
                    Some(v) if *v == 0.0 => *v = 0.0,
                    Some(v) if v.abs() < PROBABILITY_MIN => {
                        return Err(CommandError::invalid(format!(
                            "{name} must be 0 or from {PROBABILITY_MIN} to 1, got {v:e}"
                        )))
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A `ServerMessage::Reply` as JSON.
pub(crate) fn reply_json(
    request_id: u64,
    result: Result<CommandOk, CommandError>,
) -> axum::extract::ws::Utf8Bytes {
    let message = ServerMessage::Reply(Reply {
        request_id,
        outcome: result.map_err(|e| e.message),
    });
    driver::to_json(&message)
}
