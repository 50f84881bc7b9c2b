//! Helpers shared by the server's integration tests (`http_ws.rs`, `ws_limits.rs`,
//! `http_api.rs`): the real server in-process on a free port with a temp data directory, an HTTP
//! client, and a WebSocket viewer that records what it receives. Every wait polls a condition
//! with a deadline; nothing sleeps to let time pass.

// Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use backend::driver::DriverConfig;
use backend::server::{serve, Limits, PageFiles, ServerConfig, ServerHandle};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use shared::protocol::{ClusterSnapshot, ServerMessage, SimEvent, PROTOCOL_VERSION};
use shared::sim::SimConfig;
use shared::{NodeId, Role, Term};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous: the machine running the tests may be busy.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct TestServer {
    pub handle: ServerHandle,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub struct Options {
    pub nodes: u64,
    pub speed: f64,
    pub limits: Limits,
    pub broadcast_capacity: usize,
    pub static_dir: Option<std::path::PathBuf>,
    /// The presenter's token (random when `None`).
    pub token: Option<String>,
    /// `--allow-host` names.
    pub allowed_hosts: Vec<String>,
    /// [`DriverConfig::replay_wall_max`].
    pub replay_wall_max: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            nodes: 3,
            speed: 1.0,
            limits: Limits::default(),
            broadcast_capacity: 1024,
            static_dir: None,
            token: None,
            allowed_hosts: Vec::new(),
            replay_wall_max: backend::driver::REPLAY_WALL_MAX,
        }
    }
}

impl TestServer {
    pub async fn start(options: Options) -> TestServer {
        TestServer::start_in(tempfile::tempdir().expect("temp dir"), options).await
    }

    /// Start on `dir` (its `data` directory holds what an earlier server left there).
    pub async fn start_in(dir: tempfile::TempDir, options: Options) -> TestServer {
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            page: PageFiles::Dir(
                options
                    .static_dir
                    .unwrap_or_else(|| dir.path().join("no-frontend")),
            ),
            driver: DriverConfig {
                data_dir: dir.path().join("data"),
                fresh: false,
                cluster: SimConfig {
                    nodes: options.nodes,
                    seed: 7,
                    ..SimConfig::default()
                },
                speed: options.speed,
                broadcast_capacity: options.broadcast_capacity,
                replay_wall_max: options.replay_wall_max,
                ..DriverConfig::default()
            },
            limits: options.limits,
            token: options.token,
            allowed_hosts: options.allowed_hosts,
        };
        let handle = serve(config).await.expect("server starts");
        TestServer {
            handle,
            dir,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.handle.local_addr())
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.handle.local_addr())
    }

    pub async fn cluster(&self) -> ClusterSnapshot {
        let r = self
            .http
            .get(self.url("/api/cluster"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.expect("snapshot JSON")
    }

    /// POST a command; returns (status, body).
    pub async fn post(&self, query: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(&format!("/api/commands{query}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("JSON reply");
        (status, body)
    }

    /// POST a JSON body to any path; returns (status, body).
    pub async fn post_to(&self, path: &str, body: String) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = r.status().as_u16();
        (status, r.json().await.expect("JSON reply"))
    }

    pub async fn command(&self, command: Value) -> Value {
        let (status, body) = self.post("", command.to_string()).await;
        assert_eq!(status, 200, "{command} failed: {body}");
        assert_eq!(body["ok"], true);
        body["result"].clone()
    }

    /// The leader once one is elected, with its term.
    pub async fn leader(&self) -> (NodeId, Term) {
        eventually("a leader", || async {
            let s = self.cluster().await;
            leader_of(&s)
        })
        .await
    }

    pub async fn stop(self) {
        self.handle.shutdown().await.expect("clean shutdown");
        drop(self.dir);
    }

    /// Stop, keeping the directory (to start again on it: [`TestServer::start_in`]).
    pub async fn stop_keeping_dir(self) -> tempfile::TempDir {
        self.handle.shutdown().await.expect("clean shutdown");
        self.dir
    }
}

pub fn leader_of(s: &ClusterSnapshot) -> Option<(NodeId, Term)> {
    s.nodes
        .iter()
        .filter(|n| n.up && n.role == Role::Leader)
        .max_by_key(|n| n.current_term)
        .map(|n| (n.id, n.current_term))
}

/// Poll `check` until it returns `Some`, or fail after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket viewer that keeps every event it receives.
pub struct Viewer {
    pub ws: Ws,
    pub hello: ClusterSnapshot,
    pub events: Vec<SimEvent>,
    pub snapshots: Vec<ClusterSnapshot>,
    /// Why each of `snapshots` came (`moved`), in the same order.
    pub moves: Vec<Option<shared::trace::answers::Reason>>,
    pub next_request_id: u64,
}

impl Viewer {
    pub async fn connect(server: &TestServer) -> Viewer {
        let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
            .await
            .expect("WebSocket connects");
        let first = next_message(&mut ws).await;
        let ServerMessage::Hello {
            protocol_version,
            snapshot,
            ..
        } = first
        else {
            panic!("the first message must be hello, got {first:?}");
        };
        assert_eq!(protocol_version, PROTOCOL_VERSION);
        Viewer {
            ws,
            hello: snapshot,
            events: Vec::new(),
            snapshots: Vec::new(),
            moves: Vec::new(),
            next_request_id: 1,
        }
    }

    /// Read one message and record it; returns it.
    pub async fn read(&mut self) -> ServerMessage {
        let m = next_message(&mut self.ws).await;
        match &m {
            ServerMessage::Events { events } => self.events.extend(events.iter().cloned()),
            ServerMessage::Snapshot { snapshot, moved } => {
                self.snapshots.push(snapshot.clone());
                self.moves.push(*moved);
            }
            _ => {}
        }
        m
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Send a request and wait for its reply (recording what arrives meanwhile).
    pub async fn request(&mut self, command: Value) -> (bool, Value, Option<String>) {
        let id = self.next_request_id;
        self.next_request_id += 1;
        let mut body = command;
        body["request_id"] = json!(id);
        self.send_text(body.to_string()).await;
        self.reply_to(id).await
    }

    pub async fn reply_to(&mut self, id: u64) -> (bool, Value, Option<String>) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            assert!(Instant::now() < deadline, "no reply to request {id}");
            if let ServerMessage::Reply(reply) = self.read().await {
                if reply.request_id == id {
                    let (ok, result, error) = match reply.outcome {
                        Ok(result) => (true, Some(result), None),
                        Err(error) => (false, None, Some(error)),
                    };
                    let result = serde_json::to_value(result).unwrap();
                    return (ok, result, error);
                }
            }
        }
    }

    /// Read until `pred` holds for the recorded events.
    pub async fn read_until(&mut self, what: &str, pred: impl Fn(&Viewer) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !pred(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.read().await;
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(self.hello.seq, |e| e.seq)
    }
}

pub async fn next_message(ws: &mut Ws) -> ServerMessage {
    loop {
        let m = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a message within the deadline")
            .expect("the connection stays open")
            .expect("a valid frame");
        match m {
            Message::Text(t) => {
                return serde_json::from_str(t.as_str())
                    .unwrap_or_else(|e| panic!("not a ServerMessage ({e}): {t}"))
            }
            Message::Close(f) => panic!("the server closed the connection: {f:?}"),
            _ => continue,
        }
    }
}

/// Events in a viewer's stream are contiguous from the hello snapshot on.
pub fn assert_contiguous(v: &Viewer) {
    let seqs = v.events.iter().map(|e| e.seq).filter(|s| *s > v.hello.seq);
    for (expected, seq) in (v.hello.seq + 1..).zip(seqs) {
        assert_eq!(seq, expected, "event seq must be contiguous");
    }
}

/// A WebSocket handshake to `/ws{query}` from the source address `from` (any 127.x.y.z works on
/// Linux loopback), with extra request headers. Returns the socket, or the HTTP refusal's status
/// and body.
pub async fn ws_connect_from(
    server: &TestServer,
    from: std::net::IpAddr,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, (u16, String)> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::new(from, 0))
        .expect("bind the source address");
    let stream = socket
        .connect(server.handle.local_addr())
        .await
        .expect("TCP connects");
    let mut request = format!("{}{query}", server.ws_url())
        .into_client_request()
        .expect("a request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(http_name(name), value.parse().expect("a header value"));
    }
    match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default());
            Err((status, body.to_string()))
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

fn http_name(name: &str) -> tokio_tungstenite::tungstenite::http::HeaderName {
    tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
        .expect("a header name")
}

/// A viewer over a socket from [`ws_connect_from`], after reading its hello (returned raw, as
/// JSON, so tests can see fields the shared types do not carry, e.g. `role`).
pub async fn viewer_from(ws: Ws) -> (Viewer, Value) {
    let mut ws = ws;
    let text = loop {
        let m = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("hello within the deadline")
            .expect("open")
            .expect("a frame");
        if let Message::Text(t) = m {
            break t;
        }
    };
    let raw: Value = serde_json::from_str(text.as_str()).expect("JSON");
    let ServerMessage::Hello { snapshot, .. } =
        serde_json::from_str(text.as_str()).expect("a ServerMessage")
    else {
        panic!("the first message must be hello: {text}");
    };
    let viewer = Viewer {
        ws,
        hello: snapshot,
        events: Vec::new(),
        snapshots: Vec::new(),
        moves: Vec::new(),
        next_request_id: 1,
    };
    (viewer, raw)
}

/// One raw HTTP/1.1 request over a new TCP connection; returns (status, headers+body text).
pub async fn raw_http(server: &TestServer, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(server.handle.local_addr())
        .await
        .expect("TCP connects");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response))
        .await
        .expect("the server answers and closes within the deadline")
        .expect("read");
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

pub const LOOPBACK_2: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
pub const LOOPBACK_1: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
