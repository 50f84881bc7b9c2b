//! The run's history stays usable whatever commands were sent: a command naming a node the
//! cluster does not have is refused (404) and leaves the trace valid (markers, download, undo);
//! undo steps over refused commands; a trace recorded by an older server with such a command
//! in its data directory is refused clearly (400) when brought back, and breaks nothing else.
//! Owns no production code.

mod common;

use common::{Options, TestServer};
use serde_json::{json, Value};
use shared::trace::Trace;

async fn get(s: &TestServer, path: &str) -> (u16, String) {
    let r = s.http.get(s.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn trace_of(s: &TestServer) -> Trace {
    let (status, text) = get(s, "/api/trace").await;
    assert_eq!(status, 200, "{text}");
    Trace::from_json(&text).expect("the server's trace reads back")
}

#[tokio::test]
async fn a_command_naming_no_node_leaves_the_history_usable() {
    let s = TestServer::start(Options::default()).await;
    s.command(json!({"type": "pause"})).await;
    s.command(json!({"type": "crash", "node": 2})).await;
    for bad in [
        json!({"type": "crash", "node": 9}),
        json!({"type": "restart", "node": 12}),
        json!({"type": "timeout", "node": 9}),
        json!({"type": "power_loss", "node": 4}),
        json!({"type": "isolate", "node": 9}),
        json!({"type": "append", "command": "add 5", "node": 9}),
    ] {
        let (status, body) = s.post("", bad.to_string()).await;
        assert_eq!(status, 404, "{bad}: {body}");
    }
    let (status, body) = get(&s, "/api/trace/markers").await;
    assert_eq!(status, 200, "{body}");
    let markers: Value = serde_json::from_str(&body).unwrap();
    let texts: Vec<&str> = markers["result"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert!(
        !texts.iter().any(|t| t.contains("S9") || t.contains("S12")),
        "{texts:?}"
    );
    let trace = trace_of(&s).await;
    assert!(trace
        .inputs
        .iter()
        .all(|i| !i.input.describe().contains("S9")));
    let (status, body) = s.post_to("/api/undo", String::new()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        s.cluster().await.nodes.iter().all(|n| n.up),
        "the crash of S2 undone"
    );
    s.stop().await;
}

#[tokio::test]
async fn undo_steps_over_refused_commands() {
    let s = TestServer::start(Options::default()).await;
    s.leader().await;
    s.command(json!({"type": "pause"})).await;
    s.command(json!({"type": "append", "command": "add 5"}))
        .await;
    let appended = trace_of(&s).await.inputs.len() - 1;
    let (status, body) = s
        .post(
            "",
            json!({"type": "network", "loss_probability": 1.5}).to_string(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = s
        .post("", json!({"type": "restart", "node": 1}).to_string())
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(trace_of(&s).await.inputs.len(), appended + 3);

    let (status, body) = s.post_to("/api/undo", String::new()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["inputs"], appended,
        "one undo takes the append back"
    );
    let trace = trace_of(&s).await;
    assert_eq!(trace.inputs.len(), appended);
    s.stop().await;
}

#[tokio::test]
async fn a_stored_trace_naming_no_node_is_refused_clearly_and_breaks_nothing() {
    let s = TestServer::start(Options::default()).await;
    s.command(json!({"type": "pause"})).await;
    s.command(json!({"type": "crash", "node": 2})).await;
    let dir = s.stop_keeping_dir().await;
    // What an older server wrote after `{"type":"crash","node":9}`: the refused input recorded.
    let file = dir.path().join("data").join("trace.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains("\"line\":\"input\""))
        .unwrap();
    let bad = last.replace("\"node\":2", "\"node\":9");
    assert_ne!(bad, last);
    std::fs::write(&file, format!("{text}{bad}\n")).unwrap();

    let s = TestServer::start_in(dir, Options::default()).await;
    let (status, body) = get(&s, "/api/trace/markers").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&s, "/api/trace/branches").await;
    assert_eq!(status, 200, "{body}");
    let branches: Value = serde_json::from_str(&body).unwrap();
    let kept = branches["result"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(kept["reason"], "recovered", "{kept}");
    let id = kept["id"].as_u64().unwrap();
    let (status, body) = s
        .post_to(&format!("/api/trace/branches/{id}/restore"), String::new())
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("no node S9"),
        "{body}"
    );
    let (status, body) = get(&s, &format!("/api/trace/branches/{id}")).await;
    assert_eq!(status, 200, "the branch still downloads: {body}");
    let (status, body) = get(&s, "/api/trace/at?at_ms=0").await;
    assert_eq!(status, 200, "{body}");
    s.stop().await;
}

/// The markers the driver keeps from the live event stream are those a re-execution of the
/// run's trace marks (a fork's prefix included), without re-executing anything per call.
#[tokio::test]
async fn the_live_markers_are_the_replays() {
    let s = TestServer::start(Options::default()).await;
    let (leader, _) = s.leader().await;
    s.command(json!({"type": "append", "command": "add 5"}))
        .await;
    s.command(json!({"type": "crash", "node": leader.0})).await;
    common::eventually("a new leader", || async {
        common::leader_of(&s.cluster().await).filter(|(l, _)| *l != leader)
    })
    .await;
    // Back to before the crash: the marks of the election after it must go too.
    let crash = trace_of(&s).await.inputs.len() - 1;
    let (status, body) = s
        .post_to("/api/fork", json!({"before_input": crash}).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    s.command(json!({"type": "append", "command": "mul 3"}))
        .await;
    s.command(json!({"type": "pause"})).await;

    let (status, body) = get(&s, "/api/trace/markers").await;
    assert_eq!(status, 200, "{body}");
    let live: Value = serde_json::from_str(&body).unwrap();
    let trace = trace_of(&s).await;
    let timeline = shared::trace::Timeline::build(trace, 1_000).unwrap();
    let replayed = serde_json::to_value(shared::trace::answers::markers(&timeline)).unwrap();
    assert_eq!(live["result"], replayed);
    assert!(
        replayed["events"].as_array().unwrap().len() >= 3,
        "{replayed}"
    );
    s.stop().await;
}
