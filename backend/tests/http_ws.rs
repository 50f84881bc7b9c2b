//! The real server, in-process on a free port with a temp data directory, driven over real
//! sockets: WebSocket viewers (tokio-tungstenite) and the HTTP API (reqwest). Owns no production
//! code. Every wait polls a condition with a deadline; nothing sleeps to let time pass.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use backend::driver::DriverConfig;
use backend::server::{serve, Limits, ServerConfig, ServerHandle};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use shared::protocol::{ClusterSnapshot, Event, ServerMessage, SimEvent, PROTOCOL_VERSION};
use shared::sim::SimConfig;
use shared::{NodeId, Role};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous: the machine running the tests may be busy.
const DEADLINE: Duration = Duration::from_secs(30);

struct TestServer {
    handle: ServerHandle,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

struct Options {
    nodes: u64,
    speed: f64,
    limits: Limits,
    broadcast_capacity: usize,
    static_dir: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            nodes: 3,
            speed: 1.0,
            limits: Limits::default(),
            broadcast_capacity: 1024,
            static_dir: None,
        }
    }
}

impl TestServer {
    async fn start(options: Options) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            static_dir: options
                .static_dir
                .unwrap_or_else(|| dir.path().join("no-frontend")),
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
                ..DriverConfig::default()
            },
            limits: options.limits,
        };
        let handle = serve(config).await.expect("server starts");
        TestServer {
            handle,
            dir,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.handle.local_addr())
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.handle.local_addr())
    }

    async fn cluster(&self) -> ClusterSnapshot {
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
    async fn post(&self, query: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
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

    async fn command(&self, command: Value) -> Value {
        let (status, body) = self.post("", command.to_string()).await;
        assert_eq!(status, 200, "{command} failed: {body}");
        assert_eq!(body["ok"], true);
        body["result"].clone()
    }

    /// The leader once one is elected, with its term.
    async fn leader(&self) -> (NodeId, u64) {
        eventually("a leader", || async {
            let s = self.cluster().await;
            leader_of(&s)
        })
        .await
    }

    async fn stop(self) {
        self.handle.shutdown().await.expect("clean shutdown");
        drop(self.dir);
    }
}

fn leader_of(s: &ClusterSnapshot) -> Option<(NodeId, u64)> {
    s.nodes
        .iter()
        .filter(|n| n.up && n.role == Role::Leader)
        .max_by_key(|n| n.current_term)
        .map(|n| (n.id, n.current_term))
}

/// Poll `check` until it returns `Some`, or fail after [`DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
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

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket viewer that keeps every event it receives.
struct Viewer {
    ws: Ws,
    hello: ClusterSnapshot,
    events: Vec<SimEvent>,
    snapshots: Vec<ClusterSnapshot>,
    next_request_id: u64,
}

impl Viewer {
    async fn connect(server: &TestServer) -> Viewer {
        let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
            .await
            .expect("WebSocket connects");
        let first = next_message(&mut ws).await;
        let ServerMessage::Hello {
            protocol_version,
            snapshot,
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
            next_request_id: 1,
        }
    }

    /// Read one message and record it; returns it.
    async fn read(&mut self) -> ServerMessage {
        let m = next_message(&mut self.ws).await;
        match &m {
            ServerMessage::Events { events } => self.events.extend(events.iter().cloned()),
            ServerMessage::Snapshot { snapshot } => self.snapshots.push(snapshot.clone()),
            _ => {}
        }
        m
    }

    async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Send a request and wait for its reply (recording what arrives meanwhile).
    async fn request(&mut self, command: Value) -> (bool, Value, Option<String>) {
        let id = self.next_request_id;
        self.next_request_id += 1;
        let mut body = command;
        body["request_id"] = json!(id);
        self.send_text(body.to_string()).await;
        self.reply_to(id).await
    }

    async fn reply_to(&mut self, id: u64) -> (bool, Value, Option<String>) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            assert!(Instant::now() < deadline, "no reply to request {id}");
            if let ServerMessage::Reply {
                request_id,
                ok,
                result,
                error,
            } = self.read().await
            {
                if request_id == id {
                    let result = serde_json::to_value(result).unwrap();
                    return (ok, result, error);
                }
            }
        }
    }

    /// Read until `pred` holds for the recorded events.
    async fn read_until(&mut self, what: &str, pred: impl Fn(&Viewer) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !pred(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.read().await;
        }
    }

    fn last_seq(&self) -> u64 {
        self.events.last().map_or(self.hello.seq, |e| e.seq)
    }
}

async fn next_message(ws: &mut Ws) -> ServerMessage {
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
fn assert_contiguous(v: &Viewer) {
    let seqs = v.events.iter().map(|e| e.seq).filter(|s| *s > v.hello.seq);
    for (expected, seq) in (v.hello.seq + 1..).zip(seqs) {
        assert_eq!(seq, expected, "event seq must be contiguous");
    }
}

#[tokio::test]
async fn hello_carries_a_snapshot_then_the_live_stream_follows_it() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    assert_eq!(v.hello.nodes.len(), 3);
    assert_eq!(v.hello.seed, 7);
    assert_eq!(v.hello.speed, 1.0);
    assert!(!v.hello.paused);
    assert!(v.hello.nodes.iter().all(|n| n.up));
    // The live stream continues the snapshot: a leader gets elected and we see it happen.
    v.read_until("a leader elected", |v| {
        v.events.iter().any(|e| {
            matches!(
                e.event,
                Event::RoleChanged {
                    role: Role::Leader,
                    ..
                }
            )
        }) || leader_of(&v.hello).is_some()
    })
    .await;
    v.read_until("a clock message", |v| v.events.len() > 10)
        .await;
    let mut saw_clock = false;
    while !saw_clock {
        saw_clock = matches!(v.read().await, ServerMessage::Clock { paused: false, .. });
    }
    assert!(
        v.events.first().is_some_and(|e| e.seq > v.hello.seq),
        "events the snapshot covers are not sent again"
    );
    assert_contiguous(&v);
    server.stop().await;
}

#[tokio::test]
async fn append_reaches_every_node_and_commits() {
    let server = TestServer::start(Options::default()).await;
    let (leader, term) = server.leader().await;
    let r = server
        .command(json!({"type": "append", "command": "add 5"}))
        .await;
    let index = r["index"].as_u64().expect("index");
    assert_eq!(r["leader"], leader);
    assert!(r["term"].as_u64().unwrap() >= term);
    let entry_term = r["term"].as_u64().unwrap();
    eventually("the entry on every node, committed", || async {
        let s = server.cluster().await;
        s.nodes
            .iter()
            .all(|n| {
                n.commit_index >= index
                    && n.log
                        .get(index as usize - 1)
                        .is_some_and(|e| e.term == entry_term && e.command == "add 5")
            })
            .then_some(())
    })
    .await;

    // wait=commit answers only once committed.
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "mul 3"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["committed"], true);
    let index = body["result"]["index"].as_u64().unwrap();
    let s = server.cluster().await;
    assert!(
        s.nodes.iter().any(|n| n.commit_index >= index),
        "committed means some node has commit_index >= {index}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_append_sent_to_a_follower_is_forwarded_and_answered_with_the_leaders_index() {
    let server = TestServer::start(Options::default()).await;
    let (leader, _) = server.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    eventually("the follower to know its leader", || async {
        let s = server.cluster().await;
        (s.nodes[follower as usize - 1].leader_id == Some(leader)).then_some(())
    })
    .await;
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "set 9", "node": follower}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["leader"], leader, "{body}");
    assert_eq!(body["result"]["committed"], true);
    let index = body["result"]["index"].as_u64().unwrap();
    let s = server.cluster().await;
    let entry = &s.nodes[leader as usize - 1].log[index as usize - 1];
    assert_eq!(entry.command, "set 9");
    server.stop().await;
}

#[tokio::test]
async fn crashing_the_leader_elects_another_and_a_restarted_node_catches_up() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    let (old_leader, old_term) = server.leader().await;
    let (ok, _, error) = v
        .request(json!({"type": "crash", "node": old_leader}))
        .await;
    assert!(ok, "{error:?}");
    let (new_leader, new_term) = eventually("a new leader", || async {
        let s = server.cluster().await;
        leader_of(&s).filter(|(id, term)| *id != old_leader && *term > old_term)
    })
    .await;
    assert_ne!(new_leader, old_leader);
    assert!(new_term > old_term);

    // The cluster goes on without it.
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "add 2"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let index = body["result"]["index"].as_u64().unwrap();

    let (ok, result, error) = v
        .request(json!({"type": "restart", "node": old_leader}))
        .await;
    assert!(ok, "{error:?}");
    assert!(
        result["message"].as_str().unwrap().contains("restarted"),
        "{result}"
    );
    eventually("the restarted node caught up", || async {
        let s = server.cluster().await;
        let n = &s.nodes[old_leader as usize - 1];
        (n.up && n.commit_index >= index && n.log.len() as u64 >= index).then_some(())
    })
    .await;
    v.read_until("the crash and the restart in the stream", |v| {
        let crashed = v
            .events
            .iter()
            .any(|e| matches!(e.event, Event::NodeCrashed { node } if node == old_leader));
        let restarted = v
            .events
            .iter()
            .any(|e| matches!(e.event, Event::NodeRestarted { node, .. } if node == old_leader));
        crashed && restarted
    })
    .await;
    assert_contiguous(&v);
    server.stop().await;
}

#[tokio::test]
async fn two_viewers_see_the_same_events_in_the_same_order() {
    let server = TestServer::start(Options::default()).await;
    let mut a = Viewer::connect(&server).await;
    let mut b = Viewer::connect(&server).await;
    server.leader().await;
    for i in 0..3 {
        server
            .command(json!({"type": "append", "command": format!("add {i}")}))
            .await;
    }
    let target = server.cluster().await.seq + 50;
    a.read_until("events up to the target", |v| v.last_seq() >= target)
        .await;
    b.read_until("events up to the target", |v| v.last_seq() >= target)
        .await;
    assert_contiguous(&a);
    assert_contiguous(&b);
    let from = a.hello.seq.max(b.hello.seq) + 1;
    let pick = |v: &Viewer| -> Vec<SimEvent> {
        v.events
            .iter()
            .filter(|e| e.seq >= from && e.seq <= target)
            .cloned()
            .collect()
    };
    let (ea, eb) = (pick(&a), pick(&b));
    assert_eq!(ea.len() as u64, target - from + 1);
    assert_eq!(ea, eb, "both viewers must see identical events");
    server.stop().await;
}

#[tokio::test]
async fn a_viewer_that_falls_behind_gets_a_fresh_snapshot_and_goes_on() {
    // A tiny broadcast buffer and an unpaced run: a viewer that stops reading must lag.
    let server = TestServer::start(Options {
        speed: 0.0,
        broadcast_capacity: 16,
        ..Options::default()
    })
    .await;
    let mut v = Viewer::connect(&server).await;
    let start_seq = v.hello.seq;
    // Don't read while the run produces far more than socket buffers and the broadcast hold.
    eventually("the run to move far ahead", || async {
        let s: Value = server
            .http
            .get(server.url("/api/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (s["seq"].as_u64().unwrap() > start_seq + 300_000).then_some(())
    })
    .await;
    v.read_until("a resync snapshot", |v| !v.snapshots.is_empty())
        .await;
    let resync = v.snapshots[0].clone();
    assert!(
        resync.seq > start_seq + 300_000 / 2,
        "the snapshot is fresh"
    );
    // After the snapshot the stream continues without a gap. Slow the run to real time first:
    // unpaced, a 16-frame buffer can keep a reader on a loaded machine lagging for ever, and this
    // test is about what happens after one resync, not about outrunning the simulator.
    server.command(json!({"type": "speed", "speed": 1.0})).await;
    let before = v.events.len();
    v.read_until("events after the resync", |v| v.events.len() > before + 100)
        .await;
    let after: Vec<u64> = v.events[before..]
        .iter()
        .map(|e| e.seq)
        .filter(|s| *s > resync.seq)
        .collect();
    let latest_snapshot_seq = v.snapshots.last().unwrap().seq;
    if v.snapshots.len() == 1 {
        assert_eq!(
            after.first(),
            Some(&(resync.seq + 1)),
            "continues right after it"
        );
        assert!(after.windows(2).all(|w| w[1] == w[0] + 1), "contiguous");
    } else {
        // It lagged again (possible on a slow machine): each snapshot restarts the count.
        let seqs: Vec<u64> = v.snapshots.iter().map(|s| s.seq).collect();
        assert!(latest_snapshot_seq > resync.seq, "snapshot seqs {seqs:?}");
    }
    // Still a working connection.
    let (ok, _, error) = v.request(json!({"type": "pause"})).await;
    assert!(ok, "{error:?}");
    server.stop().await;
}

#[tokio::test]
async fn pause_step_resume_and_speed_are_reported_to_viewers() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    let (ok, _, _) = v.request(json!({"type": "pause"})).await;
    assert!(ok);
    v.read_until("control_changed(paused)", |v| {
        v.events
            .iter()
            .any(|e| matches!(e.event, Event::ControlChanged { paused: true, .. }))
    })
    .await;
    let before = server.cluster().await;
    assert!(before.paused);
    let (ok, result, _) = v.request(json!({"type": "step"})).await;
    assert!(ok);
    assert!(result["message"]
        .as_str()
        .unwrap()
        .starts_with("stepped to"));
    let after = server.cluster().await;
    assert!(after.paused, "step keeps the run paused");
    assert!(after.seq > before.seq, "a step processes one queued item");
    let (ok, _, error) = v.request(json!({"type": "speed", "speed": 0.5})).await;
    assert!(ok, "{error:?}");
    let (ok, _, _) = v.request(json!({"type": "resume"})).await;
    assert!(ok);
    let s = server.cluster().await;
    assert!(!s.paused);
    assert_eq!(s.speed, 0.5);
    eventually("time to move again", || async {
        (server.cluster().await.time_ms > after.time_ms).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn reset_starts_a_new_cluster_and_viewers_get_its_snapshot() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    server.leader().await;
    server
        .command(json!({"type": "append", "command": "add 1"}))
        .await;
    let (ok, result, error) = v
        .request(json!({"type": "reset", "nodes": 5, "seed": 99, "log_model": "state"}))
        .await;
    assert!(ok, "{error:?}");
    assert!(result["message"].as_str().unwrap().contains("5 nodes"));
    v.read_until("the new cluster's snapshot", |v| !v.snapshots.is_empty())
        .await;
    let s = &v.snapshots[0];
    assert_eq!(s.nodes.len(), 5);
    assert_eq!(s.seed, 99);
    assert_eq!(s.log_model, shared::LogModel::State);
    assert!(s
        .nodes
        .iter()
        .all(|n| n.log.is_empty() || n.log[0].command == "no-op"));
    let data = server.dir.path().join("data");
    assert!(data.join("node-5").is_dir());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(data.join("cluster.json")).unwrap()).unwrap();
    assert_eq!(manifest["nodes"], 5);
    assert_eq!(manifest["seed"], 99);
    // Events of the new run follow its snapshot.
    let snap_seq = s.seq;
    v.read_until("new-run events", |v| {
        v.events.iter().any(|e| e.seq == snap_seq + 1)
    })
    .await;
    let c = server.cluster().await;
    assert_eq!(c.nodes.len(), 5);
    server.stop().await;
}

#[tokio::test]
async fn bad_websocket_input_gets_specific_errors_and_the_connection_stays_usable() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;

    async fn expect_error(v: &mut Viewer, raw: String, id: u64, needle: &str) {
        v.send_text(raw.clone()).await;
        let (ok, _, error) = v.reply_to(id).await;
        assert!(!ok, "{raw} must fail");
        let error = error.expect("an error message");
        assert!(
            error.contains(needle),
            "{raw}: error {error:?} should mention {needle:?}"
        );
    }
    expect_error(&mut v, "{not json".into(), 0, "invalid JSON").await;
    expect_error(&mut v, "[1,2]".into(), 0, "JSON object").await;
    expect_error(
        &mut v,
        r#"{"type":"pause"}"#.into(),
        0,
        "missing request_id",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":-3,"type":"pause"}"#.into(),
        0,
        "request_id",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":5,"type":"explode"}"#.into(),
        5,
        "unknown variant",
    )
    .await;
    expect_error(&mut v, r#"{"request_id":6}"#.into(), 6, "missing \"type\"").await;
    expect_error(
        &mut v,
        r#"{"request_id":7,"type":"crash","node":"one"}"#.into(),
        7,
        "invalid type",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":8,"type":"crash"}"#.into(),
        8,
        "missing field `node`",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":9,"type":"crash","node":42}"#.into(),
        9,
        "no node 42",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":10,"type":"speed","speed":7}"#.into(),
        10,
        "speed must be",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":11,"type":"reset","nodes":0}"#.into(),
        11,
        "1 to 9 nodes",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":12,"type":"reset","nodes":10}"#.into(),
        12,
        "1 to 9 nodes",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":13,"type":"network","loss_probability":1.5}"#.into(),
        13,
        "between 0 and 1",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":14,"type":"append","command":"launch rockets"}"#.into(),
        14,
        "unknown operation",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":15,"type":"drop_message","id":999999}"#.into(),
        15,
        "not in flight",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":16,"type":"restart","node":1}"#.into(),
        16,
        "already running",
    )
    .await;
    expect_error(
        &mut v,
        r#"{"request_id":17,"type":"cut","from":2,"to":2}"#.into(),
        17,
        "not a link",
    )
    .await;
    let big = format!(
        r#"{{"request_id":18,"type":"append","command":"{}"}}"#,
        "x".repeat(100 * 1024)
    );
    expect_error(&mut v, big, 0, "too large").await;
    v.ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let (ok, _, error) = v.reply_to(0).await;
    assert!(!ok && error.unwrap().contains("binary"));

    // After all that, the connection still works.
    let (ok, _, error) = v.request(json!({"type": "heal"})).await;
    assert!(ok, "{error:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_flood_is_rate_limited_per_connection() {
    let server = TestServer::start(Options {
        limits: Limits {
            appends_per_second: 5.0,
            append_burst: 5.0,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    server.leader().await;
    let mut v = Viewer::connect(&server).await;
    for id in 100..130 {
        v.send_text(json!({"request_id": id, "type": "append", "command": "add 1"}).to_string())
            .await;
    }
    // Refusals are immediate and acceptances come from the driver: replies arrive in any order.
    let mut replies = std::collections::BTreeMap::new();
    let deadline = Instant::now() + DEADLINE;
    while replies.len() < 30 {
        assert!(Instant::now() < deadline, "every request gets a reply");
        if let ServerMessage::Reply {
            request_id, error, ..
        } = v.read().await
        {
            replies.insert(request_id, error);
        }
    }
    assert_eq!(
        replies.keys().copied().collect::<Vec<_>>(),
        (100..130).collect::<Vec<_>>()
    );
    let limited = replies
        .values()
        .filter(|e| e.as_deref().is_some_and(|e| e.contains("rate limit")))
        .count();
    assert!(
        limited >= 20,
        "most of a 30-append burst over a 5/s limit is refused ({limited})"
    );
    // Other connections are not affected.
    let mut other = Viewer::connect(&server).await;
    let (ok, _, error) = other
        .request(json!({"type": "append", "command": "add 1"}))
        .await;
    assert!(ok, "{error:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_message_over_the_hard_limit_closes_only_that_connection() {
    let server = TestServer::start(Options::default()).await;
    let mut bad = Viewer::connect(&server).await;
    let huge = "x".repeat(2 * 1024 * 1024);
    // The server may close before it has read all of it; either way it must not serve it.
    let _ = bad.ws.send(Message::Text(huge.into())).await;
    let closed = loop {
        match tokio::time::timeout(DEADLINE, bad.ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => break None,
            Err(_) => panic!("the connection should be closed"),
        }
    };
    if let Some(code) = closed {
        assert_eq!(code, 1009, "closed with 'message too big'");
    }
    let mut good = Viewer::connect(&server).await;
    let (ok, _, _) = good.request(json!({"type": "heal"})).await;
    assert!(ok);
    server.stop().await;
}

#[tokio::test]
async fn the_number_of_websocket_connections_is_capped() {
    let server = TestServer::start(Options {
        limits: Limits {
            ws_connections_max: 2,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let a = Viewer::connect(&server).await;
    let _b = Viewer::connect(&server).await;
    let err = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect_err("a third connection is refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 503);
            let body =
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("too many WebSocket connections"), "{body}");
        }
        other => panic!("expected an HTTP 503, got {other:?}"),
    }
    // A slot frees when a viewer leaves.
    drop(a);
    eventually("a free slot", || async {
        tokio_tungstenite::connect_async(server.ws_url()).await.ok()
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn bad_http_input_gets_specific_errors_and_the_server_keeps_serving() {
    let server = TestServer::start(Options {
        limits: Limits {
            appends_per_second: 5.0,
            append_burst: 5.0,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("", "{oops".into(), 400, "invalid JSON"),
        ("", "".into(), 400, "empty body"),
        ("", "42".into(), 400, "JSON object"),
        ("", r#"{"type":"explode"}"#.into(), 400, "unknown variant"),
        ("", r#"{"node":1}"#.into(), 400, "missing \"type\""),
        ("", r#"{"type":7}"#.into(), 400, "\"type\" must be a string"),
        (
            "",
            r#"{"type":"crash","node":true}"#.into(),
            400,
            "invalid type",
        ),
        (
            "",
            r#"{"type":"crash","node":77}"#.into(),
            404,
            "no node 77",
        ),
        (
            "",
            r#"{"type":"speed","speed":-1}"#.into(),
            400,
            "speed must be",
        ),
        (
            "",
            r#"{"type":"reset","nodes":10}"#.into(),
            400,
            "1 to 9 nodes",
        ),
        (
            "",
            r#"{"type":"network","duplicate_probability":2}"#.into(),
            400,
            "between 0 and 1",
        ),
        (
            "",
            r#"{"type":"partition","groups":[[1],[1,2]]}"#.into(),
            400,
            "two partition groups",
        ),
        (
            "",
            r#"{"type":"restart","node":2}"#.into(),
            409,
            "already running",
        ),
        (
            "?wait=soon",
            r#"{"type":"append","command":"add 1"}"#.into(),
            400,
            "wait must be",
        ),
        (
            "?wait=commit",
            r#"{"type":"crash","node":1}"#.into(),
            400,
            "append only",
        ),
        (
            "?wait=commit&timeout_ms=0",
            r#"{"type":"append","command":"add 1"}"#.into(),
            400,
            "timeout_ms",
        ),
        (
            "?colour=blue",
            r#"{"type":"heal"}"#.into(),
            400,
            "unknown query parameter",
        ),
        (
            "",
            format!(
                r#"{{"type":"append","command":"{}"}}"#,
                "9".repeat(70 * 1024)
            ),
            413,
            "too large",
        ),
    ];
    for (query, body, status, needle) in cases {
        let (got, reply) = server.post(query, body.clone()).await;
        let shown = &body[..body.len().min(80)];
        assert_eq!(got, status, "{query} {shown}: {reply}");
        assert_eq!(reply["ok"], false);
        let error = reply["error"].as_str().unwrap();
        assert!(
            error.contains(needle),
            "{query} {shown}: {error:?} should mention {needle:?}"
        );
    }
    // Unknown endpoints and methods are JSON errors too.
    let r = server
        .http
        .get(server.url("/api/nodes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no such endpoint"));
    let r = server
        .http
        .delete(server.url("/api/cluster"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let r = server.http.get(server.url("/ws")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("WebSocket endpoint"));

    // A flood of appends from one address is rate limited.
    server.leader().await;
    let mut limited = 0;
    for _ in 0..20 {
        let (status, body) = server
            .post(
                "",
                json!({"type": "append", "command": "add 1"}).to_string(),
            )
            .await;
        if status == 429 {
            assert!(body["error"].as_str().unwrap().contains("rate limit"));
            limited += 1;
        }
    }
    assert!(
        limited >= 10,
        "a 20-append burst over a 5/s limit is mostly refused ({limited})"
    );

    // Still serving.
    let health: Value = server
        .http
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["ok"], true);
    assert_eq!(health["nodes"], 3);
    server.stop().await;
}

#[tokio::test]
async fn the_frontend_is_served_or_its_absence_explained() {
    let server = TestServer::start(Options::default()).await;
    let r = server.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("trunk build"), "{page}");
    server.stop().await;

    let dist = tempfile::tempdir().unwrap();
    write(dist.path(), "index.html", "<h1>logscope app</h1>");
    write(dist.path(), "app.js", "console.log(1)");
    let server = TestServer::start(Options {
        static_dir: Some(dist.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    let page = server.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("logscope app"));
    let js = server.http.get(server.url("/app.js")).send().await.unwrap();
    assert_eq!(js.status(), 200);
    let missing = server
        .http
        .get(server.url("/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await;
}

fn write(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

#[tokio::test]
async fn shutdown_closes_viewers_with_going_away() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    let stop = tokio::spawn(server.stop());
    let code = loop {
        match tokio::time::timeout(DEADLINE, v.ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => break None,
            Err(_) => panic!("the viewer should be closed on shutdown"),
        }
    };
    assert_eq!(code, Some(1001));
    stop.await.unwrap();
}

#[tokio::test]
async fn a_commit_wait_without_a_majority_times_out_and_says_the_entry_may_still_commit() {
    let server = TestServer::start(Options::default()).await;
    let (leader, _) = server.leader().await;
    for id in (1..=3).filter(|id| *id != leader) {
        server.command(json!({"type": "crash", "node": id})).await;
    }
    let (status, body) = server
        .post(
            "?wait=commit&timeout_ms=300",
            json!({"type": "append", "command": "add 1"}).to_string(),
        )
        .await;
    assert_eq!(status, 504, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("timed out") && error.contains("may still commit"),
        "{error}"
    );
    // It is on the leader's log, uncommitted; restarting one follower commits it.
    let s = server.cluster().await;
    let l = &s.nodes[leader as usize - 1];
    let index = l.log.len() as u64;
    assert_eq!(l.log.last().unwrap().command, "add 1");
    assert!(l.commit_index < index);
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    server
        .command(json!({"type": "restart", "node": follower}))
        .await;
    eventually("the entry committed once a majority is back", || async {
        let s = server.cluster().await;
        (s.nodes[leader as usize - 1].commit_index >= index).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn in_the_state_model_a_follower_refuses_and_names_the_leader() {
    let server = TestServer::start(Options::default()).await;
    server
        .command(json!({"type": "reset", "log_model": "state"}))
        .await;
    let (leader, _) = server.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    eventually("the follower to know its leader", || async {
        let s = server.cluster().await;
        (s.nodes[follower as usize - 1].leader_id == Some(leader)).then_some(())
    })
    .await;
    let (status, body) = server
        .post(
            "",
            json!({"type": "append", "command": "add 1", "node": follower}).to_string(),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains(&format!("try S{leader}")), "{error}");
    server.stop().await;
}

#[tokio::test]
async fn power_loss_keeps_only_synced_entries_and_restart_reads_them_back() {
    let server = TestServer::start(Options::default()).await;
    let (leader, _) = server.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "set 4"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let index = body["result"]["index"].as_u64().unwrap();
    eventually("the follower's disk to hold the entry", || async {
        let s = server.cluster().await;
        (s.nodes[follower as usize - 1].synced_index >= index).then_some(())
    })
    .await;
    let r = server
        .command(json!({"type": "power_loss", "node": follower}))
        .await;
    assert!(r["message"].as_str().unwrap().contains("lost power"));
    let s = server.cluster().await;
    let down = &s.nodes[follower as usize - 1];
    assert!(!down.up);
    assert!(
        down.log.len() as u64 >= index,
        "synced entries survive a power loss"
    );
    server
        .command(json!({"type": "restart", "node": follower}))
        .await;
    let s = server.cluster().await;
    let n = &s.nodes[follower as usize - 1];
    assert!(n.up);
    assert_eq!(n.log[index as usize - 1].command, "set 4");
    server.stop().await;
}
