//! The real `logscope` binary killed with SIGKILL and started again on the same data directory:
//! every committed entry must come back from the nodes' files, a leader must be elected and new
//! entries accepted. Owns no production code. Waits poll a condition with a deadline.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::protocol::ClusterSnapshot;
use shared::{NodeId, Role, Term};

const DEADLINE: Duration = Duration::from_secs(30);

/// One run of the binary.
struct Process {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Process {
    /// Start `logscope` on a free port and wait for it to print its URL.
    fn start(data_dir: &Path, log: PathBuf, extra: &[&str]) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_logscope"))
            .args(["--port", "0", "--speed", "1"])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--static-dir")
            .arg(data_dir.join("no-frontend"))
            .args(extra)
            .env("RUST_LOG", "info")
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
        let base = match rx.recv_timeout(DEADLINE) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "logscope did not print its URL; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Process { child, base, log }
    }

    /// SIGKILL: no shutdown code runs, nothing gets flushed.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Api {
    http: reqwest::Client,
}

impl Api {
    async fn cluster(&self, p: &Process) -> ClusterSnapshot {
        let r = self
            .http
            .get(format!("{}/api/cluster", p.base))
            .send()
            .await
            .expect("GET /api/cluster");
        assert_eq!(r.status(), 200);
        r.json().await.expect("snapshot")
    }

    async fn post(&self, p: &Process, query: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/commands{query}", p.base))
            .json(&body)
            .send()
            .await
            .expect("POST /api/commands");
        (r.status().as_u16(), r.json().await.expect("JSON reply"))
    }

    /// Append with `wait=commit`, retrying while there is no leader; returns (index, term).
    async fn append_committed(&self, p: &Process, command: &str) -> (u64, u64) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (status, body) = self
                .post(
                    p,
                    "?wait=commit",
                    json!({"type": "append", "command": command}),
                )
                .await;
            if status == 200 {
                assert_eq!(body["result"]["committed"], true, "{body}");
                let r = &body["result"];
                return (r["index"].as_u64().unwrap(), r["term"].as_u64().unwrap());
            }
            // 409: no leader right now (an election is under way). Anything else is a failure.
            assert_eq!(status, 409, "append {command:?}: {body}\n{}", p.log());
            assert!(
                Instant::now() < deadline,
                "no leader took {command:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn until<T>(
        &self,
        p: &Process,
        what: &str,
        check: impl Fn(&ClusterSnapshot) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let s = self.cluster(p).await;
            if let Some(v) = check(&s) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last snapshot: {}\nlog:\n{}",
                serde_json::to_string(&s).unwrap(),
                p.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// (index, term, command) of an entry a client saw committed.
type Committed = (u64, u64, String);

fn holds(node: &shared::protocol::NodeView, (index, term, command): &Committed) -> bool {
    node.log
        .get(*index as usize - 1)
        .is_some_and(|e| e.index == *index && e.term == *term && e.command == *command)
}

fn leader_of(s: &ClusterSnapshot) -> Option<(NodeId, Term)> {
    s.nodes
        .iter()
        .filter(|n| n.up && n.role == Role::Leader)
        .max_by_key(|n| n.current_term)
        .map(|n| (n.id, n.current_term))
}

#[tokio::test]
async fn committed_entries_survive_kill_9_and_the_cluster_goes_on() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let log = |n: u32| tmp.path().join(format!("logscope-{n}.log"));
    let api = Api {
        http: reqwest::Client::new(),
    };

    // Run 1: a new 3-node cluster; commit entries and let them reach every disk.
    let p = Process::start(&data, log(1), &["--fresh", "--nodes", "3", "--seed", "5"]);
    let mut committed: Vec<Committed> = Vec::new();
    for i in 1..=8 {
        let command = format!("add {i}");
        let (index, term) = api.append_committed(&p, &command).await;
        committed.push((index, term, command));
    }
    let last = committed.last().unwrap().0;
    api.until(&p, "every entry durable on every node", |s| {
        s.nodes
            .iter()
            .all(|n| n.up && n.synced_index >= last)
            .then_some(())
    })
    .await;
    p.kill_9();

    // Run 2, paused: what the snapshot shows was read back from the files, nothing replicated.
    // The cluster flags differ on purpose: the stored cluster wins.
    let p = Process::start(&data, log(2), &["--paused", "--nodes", "5"]);
    let s = api.cluster(&p).await;
    assert!(s.paused);
    assert_eq!(s.nodes.len(), 3, "cluster.json, not --nodes, decides");
    assert_eq!(s.seed, 5);
    for n in &s.nodes {
        assert!(n.up, "S{} recovered", n.id);
        for c in &committed {
            assert!(
                holds(n, c),
                "S{} lost committed entry {c:?}: {:?}",
                n.id,
                n.log
            );
        }
        assert!(n.current_term >= committed.last().unwrap().1);
    }
    assert!(
        p.log().contains("these flags are ignored"),
        "a warning names the ignored flags"
    );
    let (status, body) = api.post(&p, "", json!({"type": "resume"})).await;
    assert_eq!(status, 200, "{body}");
    let old_term = s.nodes.iter().map(|n| n.current_term).max().unwrap();
    api.until(&p, "a leader in a new term", |s| {
        leader_of(s).filter(|(_, term)| *term > old_term)
    })
    .await;
    // New entries are accepted and committed after the recovered ones.
    for i in 1..=3 {
        let command = format!("mul {}", i + 1);
        let (index, term) = api.append_committed(&p, &command).await;
        assert!(index > last, "new entries go after the recovered log");
        committed.push((index, term, command));
    }
    // Kill again right after a commit, without waiting for the followers' disks.
    let (index, term) = api.append_committed(&p, "set 42").await;
    committed.push((index, term, "set 42".to_string()));
    p.kill_9();

    // Run 3: a committed entry is on a majority's disks; after recovery it spreads to everyone.
    let p = Process::start(&data, log(3), &["--paused"]);
    let s = api.cluster(&p).await;
    for c in &committed {
        let on = s.nodes.iter().filter(|n| holds(n, c)).count();
        assert!(
            on >= 2,
            "committed entry {c:?} must be on a majority's disks, found on {on}"
        );
    }
    let (status, _) = api.post(&p, "", json!({"type": "resume"})).await;
    assert_eq!(status, 200);
    api.until(&p, "every committed entry on every node", |s| {
        s.nodes
            .iter()
            .all(|n| committed.iter().all(|c| holds(n, c)))
            .then_some(())
    })
    .await;
    let (index, _) = api.append_committed(&p, "add 100").await;
    assert!(index > committed.last().unwrap().0);
    p.kill_9();

    // --fresh wipes the stored cluster.
    let p = Process::start(&data, log(4), &["--paused", "--fresh", "--nodes", "4"]);
    let s = api.cluster(&p).await;
    assert_eq!(s.nodes.len(), 4);
    assert!(s
        .nodes
        .iter()
        .all(|n| n.log.is_empty() && n.current_term == 0));
    drop(p);
}

#[tokio::test]
async fn a_node_crashed_in_the_ui_restarts_from_its_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let api = Api {
        http: reqwest::Client::new(),
    };
    let p = Process::start(
        &data,
        tmp.path().join("logscope.log"),
        &["--fresh", "--nodes", "3", "--seed", "11"],
    );
    let mut committed = Vec::new();
    for i in 1..=4 {
        let command = format!("add {i}");
        let (index, term) = api.append_committed(&p, &command).await;
        committed.push((index, term, command));
    }
    let (leader, _) = api.until(&p, "a leader", leader_of).await;
    let follower = NodeId::all(3).find(|id| *id != leader).unwrap();
    let last = committed.last().unwrap().0;
    api.until(&p, "the follower's disk to hold every entry", |s| {
        (s.nodes[follower.slot()].synced_index >= last).then_some(())
    })
    .await;
    let (status, body) = api
        .post(&p, "", json!({"type": "crash", "node": follower}))
        .await;
    assert_eq!(status, 200, "{body}");
    let s = api.cluster(&p).await;
    let down = &s.nodes[follower.slot()];
    assert!(!down.up);
    for c in &committed {
        assert!(
            holds(down, c),
            "a crashed node's log is what its files hold"
        );
    }
    // The node's log file is really there, and restart reads it back.
    let log_file = data.join(format!("node-{follower}")).join("log");
    assert!(std::fs::metadata(&log_file).expect("log file").len() > 0);
    let (status, body) = api
        .post(&p, "", json!({"type": "restart", "node": follower}))
        .await;
    assert_eq!(status, 200, "{body}");
    let message = body["result"]["message"].as_str().unwrap().to_string();
    let recovered: u64 = message
        .rsplit("log up to index ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("the reply says how much log was recovered: {message}"));
    assert!(recovered >= last, "{message}");
    let s = api.cluster(&p).await;
    let n = &s.nodes[follower.slot()];
    assert!(n.up);
    for c in &committed {
        assert!(holds(n, c), "restarted S{follower} lost {c:?}");
    }

    // A second process on the same directory would corrupt the logs: it is refused.
    let second_log = tmp.path().join("second.log");
    let mut second = Command::new(env!("CARGO_BIN_EXE_logscope"))
        .args(["--port", "0", "--paused"])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(File::create(&second_log).expect("log file"))
        .spawn()
        .expect("start a second logscope");
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = second.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second logscope on the same data directory kept running");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success(), "the second process must not start");
    let stderr = std::fs::read_to_string(&second_log).unwrap_or_default();
    assert!(
        stderr.contains("another logscope process") && stderr.contains(&p.child.id().to_string()),
        "{stderr}"
    );
    p.kill_9();
}
