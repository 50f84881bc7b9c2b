//! Undo through the HTTP API: right after a fork ("Resume from here") it brings back the run
//! that was left, without keeping the forked run (a prefix of it) as one more branch; once an
//! action is taken after the fork it takes that action back, as always; right after a loaded
//! trace it brings back the run before; and after a restart of the server it no longer undoes
//! a fork made before it. Owns no production code.

mod common;

use common::{Options, TestServer};
use serde_json::{json, Value};
use shared::protocol::ClusterSnapshot;
use shared::trace::{Recorded, Start, Trace, TraceInput};
use shared::{NodeId, Sim, SimConfig};

async fn get(s: &TestServer, path: &str) -> Value {
    let r = s.http.get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn trace_of(s: &TestServer) -> Trace {
    let r = s.http.get(s.url("/api/trace")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    Trace::from_json(&r.text().await.unwrap()).expect("the server's trace reads back")
}

/// The branch list's ids, oldest first.
async fn branch_ids(s: &TestServer) -> Vec<u64> {
    let list = get(s, "/api/trace/branches").await;
    let list = list["result"].as_array().expect("a list").clone();
    list.iter().map(|b| b["id"].as_u64().unwrap()).collect()
}

/// Each branch's seed and number of inputs, oldest first.
async fn seeds_and_inputs(s: &TestServer) -> Vec<(u64, u64)> {
    let list = get(s, "/api/trace/branches").await;
    let list = list["result"].as_array().expect("a list").clone();
    list.iter()
        .map(|b| (b["seed"].as_u64().unwrap(), b["inputs"].as_u64().unwrap()))
        .collect()
}

async fn undo(s: &TestServer) -> (u16, Value) {
    s.post_to("/api/undo", String::new()).await
}

/// A run with two actions, an append and the crash of a follower (the one crashed), paused
/// a while after them; returns the follower.
async fn run_with_two_actions(s: &TestServer) -> NodeId {
    let (leader, _) = s.leader().await;
    s.command(json!({"type": "append", "command": "add 5"}))
        .await;
    let follower = NodeId(leader.0 % 3 + 1);
    s.command(json!({"type": "crash", "node": follower.0}))
        .await;
    let t = s.cluster().await.time_ms;
    common::eventually("the run to go on after the crash", || async {
        (s.cluster().await.time_ms > t + 300).then_some(())
    })
    .await;
    s.command(json!({"type": "pause"})).await;
    follower
}

fn up(c: &ClusterSnapshot, node: NodeId) -> bool {
    c.nodes.iter().any(|n| n.id == node && n.up)
}

/// Resume from before the crash (the append kept), let the forked run go on a little and
/// pause it again: returns the fork's reply.
async fn fork_before_the_crash(s: &TestServer) -> Value {
    let crash = trace_of(s)
        .await
        .inputs
        .iter()
        .position(|i| i.input.describe().starts_with("crash"))
        .expect("the crash is an input");
    let (status, fork) = s
        .post_to("/api/fork", json!({ "before_input": crash }).to_string())
        .await;
    assert_eq!(status, 200, "{fork}");
    // Idle time and pause changes are no actions: the forked run stays a prefix of the other.
    s.command(json!({"type": "resume"})).await;
    let t = s.cluster().await.time_ms;
    common::eventually("the forked run to go on", || async {
        (s.cluster().await.time_ms > t + 100).then_some(())
    })
    .await;
    s.command(json!({"type": "pause"})).await;
    fork
}

#[tokio::test]
async fn undo_right_after_a_fork_brings_back_the_run_left_without_a_new_branch() {
    let s = TestServer::start(Options::default()).await;
    let follower = run_with_two_actions(&s).await;
    let before = s.cluster().await;
    let before_trace = trace_of(&s).await;
    assert!(!up(&before, follower));

    let fork = fork_before_the_crash(&s).await;
    let left = fork["result"]["branch_id"].as_u64().unwrap();
    let after_fork = branch_ids(&s).await;
    assert_eq!(after_fork.last(), Some(&left), "the run left is a branch");
    assert!(up(&s.cluster().await, follower), "forked before the crash");

    let (status, body) = undo(&s).await;
    assert_eq!(status, 200, "{body}");
    let reply = &body["result"];
    let message = reply["message"].as_str().unwrap();
    assert!(
        message.starts_with("undid the fork: back to the run you left, at t="),
        "{message}"
    );
    assert!(message.contains("not kept as a branch"), "{message}");
    assert_eq!(reply["branch_id"], left, "{body}");
    // The cluster is where it stood before the fork, with the same inputs.
    let now = s.cluster().await;
    assert_eq!((now.time_ms, now.seq), (before.time_ms, before.seq));
    assert_eq!(
        (reply["time_ms"].as_u64(), reply["seq"].as_u64()),
        (Some(before.time_ms), Some(before.seq))
    );
    assert_eq!(now.nodes, before.nodes);
    assert!(!up(&now, follower), "the crash is back");
    assert_eq!(trace_of(&s).await.inputs, before_trace.inputs);
    assert_eq!(
        branch_ids(&s).await,
        after_fork,
        "the forked run, a prefix of the run left, is not kept as a branch"
    );
    // The branch brought back is the live run now: the list says so.
    let list = get(&s, "/api/trace/branches").await;
    let live: Vec<(u64, bool)> = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["id"].as_u64().unwrap(), b["live"].as_bool().unwrap()))
        .collect();
    assert_eq!(live.last(), Some(&(left, true)), "{list}");

    // Undo again: the last action of the run brought back goes, as after any undo.
    let (status, body) = undo(&s).await;
    assert_eq!(status, 200, "{body}");
    let message = body["result"]["message"].as_str().unwrap();
    assert!(message.starts_with("undid the last input"), "{message}");
    assert!(up(&s.cluster().await, follower), "the crash is taken back");
    s.stop().await;
}

#[tokio::test]
async fn undo_after_a_fork_and_a_new_action_takes_the_action_back() {
    let s = TestServer::start(Options::default()).await;
    let follower = run_with_two_actions(&s).await;
    fork_before_the_crash(&s).await;
    let forked = trace_of(&s).await;
    let other = NodeId(follower.0 % 3 + 1);
    s.command(json!({"type": "crash", "node": other.0})).await;
    let branches = branch_ids(&s).await;

    let (status, body) = undo(&s).await;
    assert_eq!(status, 200, "{body}");
    let message = body["result"]["message"].as_str().unwrap();
    assert!(message.starts_with("undid the last input"), "{message}");
    let now = s.cluster().await;
    assert!(up(&now, other), "the new crash is taken back");
    assert!(
        up(&now, follower),
        "still the forked run, not the one it left"
    );
    assert_eq!(trace_of(&s).await.inputs, forked.inputs);
    let kept = body["result"]["branch_id"].as_u64().unwrap();
    let mut grown = branches.clone();
    grown.push(kept);
    assert_eq!(branch_ids(&s).await, grown, "the undone run is a branch");
    s.stop().await;
}

/// A short run of another cluster (seed 99), made with the in-memory simulator.
fn other_run() -> Trace {
    let config = SimConfig {
        nodes: 3,
        seed: 99,
        ..SimConfig::default()
    };
    let mut run = Recorded::new(
        Sim::new(config.clone()).unwrap(),
        Trace::new(config, Start::Empty),
    );
    run.run_until(1_000);
    let _ = run.input(TraceInput::Crash { node: NodeId(2) });
    run.run_until(1_500);
    run.trace()
}

/// Loading a trace is undone too: the run before it comes back, and the loaded run (which the
/// run before does not hold) is kept as a branch.
#[tokio::test]
async fn undo_right_after_a_loaded_trace_brings_back_the_run_before() {
    let s = TestServer::start(Options::default()).await;
    run_with_two_actions(&s).await;
    let before = s.cluster().await;
    let (status, body) = s.post_to("/api/trace", other_run().to_json()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = undo(&s).await;
    assert_eq!(status, 200, "{body}");
    let message = body["result"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("undid loading the trace: back to the run you left"),
        "{message}"
    );
    let now = s.cluster().await;
    assert_eq!((now.time_ms, now.seq), (before.time_ms, before.seq));
    let kept = body["result"]["branch_id"].as_u64().unwrap();
    assert!(
        message.ends_with(&format!("the loaded run is kept as branch {kept}")),
        "{message}"
    );
    assert_eq!(branch_ids(&s).await.last(), Some(&kept));
    s.stop().await;
}

/// What the last move was is not kept across a restart of the server: the recovered run was
/// made by no move, so Undo has nothing to take back, and says which branch holds the run left.
#[tokio::test]
async fn after_a_restart_undo_no_longer_undoes_a_fork() {
    let s = TestServer::start(Options::default()).await;
    run_with_two_actions(&s).await;
    let (status, body) = s
        .post_to("/api/fork", json!({"at_ms": 0}).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    let dir = s.stop_keeping_dir().await;
    let s = TestServer::start_in(dir, Options::default()).await;
    let (status, body) = undo(&s).await;
    assert_eq!(status, 409, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("nothing to undo") && error.contains("kept as branch 1"),
        "{body}"
    );
    s.stop().await;
}

/// Undo right after a fork to the very start, then again: the run left comes back, and then
/// there is nothing left to undo — the refusal names no branch, since the only one is the run
/// now live.
#[tokio::test]
async fn undo_after_undoing_a_fork_with_nothing_left_names_no_branch() {
    let s = TestServer::start(Options::default()).await;
    s.command(json!({"type": "pause"})).await;
    let (status, body) = s
        .post_to("/api/fork", json!({"at_ms": 0}).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = undo(&s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(branch_ids(&s).await, vec![1]);
    let (status, body) = undo(&s).await;
    assert_eq!(status, 409, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("nothing to undo") && !error.contains("branch"),
        "{body}"
    );
    s.stop().await;
}

/// New cluster after new cluster, nothing done in between: one such empty run is kept (for
/// Undo), not a list of them.
#[tokio::test]
async fn runs_in_which_nobody_did_anything_are_kept_one_at_a_time() {
    let s = TestServer::start(Options::default()).await;
    s.command(json!({"type": "crash", "node": 1})).await;
    for seed in [21, 22, 23] {
        s.command(json!({"type": "reset", "nodes": 3, "seed": seed}))
            .await;
    }
    let seeds = seeds_and_inputs(&s).await;
    let list = format!("{seeds:?}");
    assert_eq!(
        seeds.len(),
        2,
        "the run with a crash, and the newest empty one: {list}"
    );
    assert!(seeds[0].1 >= 1, "the run with the crash is kept: {list}");
    assert_eq!(
        seeds[1].0, 22,
        "the empty run left last (seed 22) is the one kept: {list}"
    );
    // trace.jsonl forgot the dropped ones too: a restarted server lists the same branches.
    let dir = s.stop_keeping_dir().await;
    let s = TestServer::start_in(dir, Options::default()).await;
    assert_eq!(seeds_and_inputs(&s).await, seeds);
    s.stop().await;
}
