//! Fork on the real binary, then SIGKILL: the nodes' files must hold exactly the forked state
//! (what each node's storage held at that instant, as a re-execution of the trace says), so a
//! server started again on the same data directory recovers it; and the history survives the
//! restart (the run before it is a branch, the new segment starts from the disks). Owns no
//! production code. Waits poll a condition with a deadline.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::protocol::ClusterSnapshot;
use shared::trace::{Position, Replay, Start, Trace};
use shared::{Role, Storage};

const DEADLINE: Duration = Duration::from_secs(30);

struct Process {
    child: Child,
    base: String,
}

impl Process {
    fn start(data_dir: &Path, extra: &[&str]) -> Process {
        let log = data_dir.with_extension("log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_logscope"))
            .args([
                "--port", "0", "--speed", "1", "--nodes", "3", "--seed", "11",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--static-dir")
            .arg(data_dir.join("no-frontend"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start logscope");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("logscope listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let base = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "logscope did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        Process { child, base }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(http: &reqwest::Client, p: &Process, path: &str) -> Value {
    let r = http.get(format!("{}{path}", p.base)).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

async fn post(http: &reqwest::Client, p: &Process, path: &str, body: Value) -> (u16, Value) {
    let r = http
        .post(format!("{}{path}", p.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn cluster(http: &reqwest::Client, p: &Process) -> ClusterSnapshot {
    serde_json::from_value(get(http, p, "/api/cluster").await).unwrap()
}

/// Append and wait for the commit, retrying while there is no leader.
async fn append(http: &reqwest::Client, p: &Process, command: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let body = json!({"type": "append", "command": command});
        let (status, reply) = post(http, p, "/api/commands?wait=commit", body).await;
        if status == 200 {
            return;
        }
        assert_eq!(status, 409, "{reply}");
        assert!(Instant::now() < deadline, "no leader took {command}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_right_after_a_fork_recovers_the_forked_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = reqwest::Client::new();
    let first = Process::start(&data, &[]);
    append(&http, &first, "add 1").await;
    append(&http, &first, "add 2").await;
    let snap = cluster(&http, &first).await;
    let follower = snap
        .nodes
        .iter()
        .find(|n| n.up && n.role != Role::Leader)
        .unwrap()
        .id;
    let (status, _) = post(
        &http,
        &first,
        "/api/commands",
        json!({"type":"crash","node":follower}),
    )
    .await;
    assert_eq!(status, 200);
    append(&http, &first, "add 3").await;
    let (status, _) = post(&http, &first, "/api/commands", json!({"type": "pause"})).await;
    assert_eq!(status, 200);

    // Fork just before the crash: what each node's storage held then, per a re-execution.
    let trace: Trace = serde_json::from_value(get(&http, &first, "/api/trace").await).unwrap();
    let crash = trace
        .inputs
        .iter()
        .position(|i| i.input.describe().starts_with("crash"))
        .unwrap();
    let mut replay = Replay::new(trace.clone()).unwrap();
    replay.run_to(Position::BeforeInput(crash)).unwrap();
    let expected: Vec<_> = replay
        .sim()
        .node_ids()
        .map(|id| replay.sim().storage(id).unwrap().clone().load().unwrap())
        .collect();
    let (status, reply) = post(&http, &first, "/api/fork", json!({"before_input": crash})).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["time_ms"], trace.inputs[crash].at_ms);
    assert_eq!(reply["result"]["inputs"], crash);
    let forked = cluster(&http, &first).await;
    assert!(forked.nodes.iter().all(|n| n.up), "nobody had crashed yet");
    // One more input that leaves the disks alone, so the forked run has a history of its own.
    let (status, _) = post(&http, &first, "/api/commands", json!({"type": "heal"})).await;
    assert_eq!(status, 200);
    first.kill_9();

    // A new process on the same directory finds the forked state in the files.
    let second = Process::start(&data, &["--paused"]);
    let recovered = cluster(&http, &second).await;
    for (node, (hard_state, log)) in recovered.nodes.iter().zip(&expected) {
        assert_eq!(node.current_term, hard_state.current_term, "S{}", node.id);
        assert_eq!(node.voted_for, hard_state.voted_for, "S{}", node.id);
        let entries: Vec<_> = node
            .log
            .iter()
            .map(|e| (e.index, e.term, e.data.clone()))
            .collect();
        let want: Vec<_> = log
            .iter()
            .map(|e| (e.index, e.term, e.data.clone()))
            .collect();
        assert_eq!(entries, want, "S{}'s log", node.id);
    }
    // The history survived: the forked run is a branch, the new segment starts from the disks.
    let branches = get(&http, &second, "/api/trace/branches").await;
    let reasons: Vec<&str> = branches["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["fork", "recovered"], "{branches}");
    let before_restart = &branches["result"][1];
    assert_eq!(before_restart["inputs"], crash + 1);
    assert_eq!(before_restart["last_input"], "heal");
    let now: Trace = serde_json::from_value(get(&http, &second, "/api/trace").await).unwrap();
    assert!(matches!(now.start, Start::Disk { .. }));
    assert!(now.inputs.is_empty());
}

/// `--trace FILE`: the server starts as that run, re-executed to its end; a bad file stops it
/// with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_starts_from_a_trace_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = format!(
        "{}/../shared/tests/traces/crash-and-restart.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let http = reqwest::Client::new();
    let p = Process::start(&data, &["--paused", "--trace", &file]);
    let snap = cluster(&http, &p).await;
    assert_eq!((snap.time_ms, snap.seed), (5_000, 2));
    let trace: Trace = serde_json::from_value(get(&http, &p, "/api/trace").await).unwrap();
    assert_eq!(trace.inputs.len(), 8);
    let mut replay = Replay::new(trace).unwrap();
    replay.run_to(Position::End).unwrap();
    assert_eq!(snap.nodes, replay.sim().snapshot().nodes);
    drop(p);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 3}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_logscope"))
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path().join("other"))
        .arg("--trace")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("format version 3"));
}
