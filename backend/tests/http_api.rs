//! The HTTP API over real sockets: specific errors (status and JSON envelope) for bad input, the
//! static frontend or the page explaining its absence, and commit waits that time out. Owns no
//! production code. Every wait polls a condition with a deadline.

mod common;

use std::path::Path;

use backend::server::Limits;
use serde_json::{json, Value};

use common::*;
use shared::NodeId;

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
        (
            "",
            r#"{"type":"reset","node":3}"#.into(),
            400,
            "unknown field \"node\" for reset: it takes default_settings, election_timeout_ms_max",
        ),
        (
            "",
            r#"{"type":"heal","nodes":3}"#.into(),
            400,
            "heal: it takes no fields",
        ),
        ("", r#"{"type":7}"#.into(), 400, "\"type\" must be a string"),
        // serde_json keeps the last of two equal keys: this crashed S2 (QA, 2026-12-02).
        (
            "",
            r#"{"type":"crash","node":1,"node":2}"#.into(),
            400,
            "the key \"node\" is given twice",
        ),
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
async fn a_commit_wait_without_a_majority_times_out_and_says_the_entry_may_still_commit() {
    let server = TestServer::start(Options::default()).await;
    let (leader, _) = server.leader().await;
    for id in NodeId::all(3).filter(|id| *id != leader) {
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
    let l = &s.nodes[leader.slot()];
    let index = l.log.len() as u64;
    assert_eq!(l.log.last().unwrap().command, "add 1");
    assert!(l.commit_index < index);
    let follower = NodeId::all(3).find(|id| *id != leader).unwrap();
    server
        .command(json!({"type": "restart", "node": follower}))
        .await;
    eventually("the entry committed once a majority is back", || async {
        let s = server.cluster().await;
        (s.nodes[leader.slot()].commit_index >= index).then_some(())
    })
    .await;
    server.stop().await;
}
