//! Snapshots that do not grow with the log, and health that tells the truth, through the real
//! server: `GET /api/cluster` and the WebSocket hello carry a window of each log, `?full=true`
//! every entry, `GET /api/nodes/{id}/log` pages by index range with clear errors, and
//! `/api/health` names what is down and why. Owns no production code; waits poll with a deadline.

mod common;

use common::{Options, TestServer, Viewer};
use serde_json::{json, Value};
use shared::protocol::LOG_WINDOW;

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let r = server.http.get(server.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON"))
}

/// A 3-node server at speed 0 with `count` committed appends.
async fn server_with_entries(count: usize) -> TestServer {
    let mut options = Options {
        speed: 0.0,
        ..Options::default()
    };
    options.limits.appends_per_second = 100_000.0;
    options.limits.append_burst = 100_000.0;
    options.limits.requests_per_second = 100_000.0;
    options.limits.request_burst = 100_000.0;
    let server = TestServer::start(options).await;
    server.leader().await;
    for _ in 0..count {
        let (status, body) = server
            .post(
                "?wait=commit",
                json!({"type":"append","command":"add 1"}).to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    server
}

#[tokio::test]
async fn snapshots_carry_a_window_and_older_entries_come_by_range() {
    let count = LOG_WINDOW as usize + 50;
    let server = server_with_entries(count).await;

    let snap = server.cluster().await;
    assert_eq!(snap.log_window, Some(LOG_WINDOW));
    for n in &snap.nodes {
        assert!(n.log_len > LOG_WINDOW, "S{}: {} entries", n.id, n.log_len);
        assert_eq!(n.log.len() as u64, LOG_WINDOW, "S{}: only the window", n.id);
        assert_eq!(n.log_first_index, n.log_len - LOG_WINDOW + 1);
        assert_eq!(n.log[0].index, n.log_first_index);
    }

    let viewer = Viewer::connect(&server).await;
    assert_eq!(viewer.hello.log_window, Some(LOG_WINDOW));
    assert!(viewer
        .hello
        .nodes
        .iter()
        .all(|n| n.log.len() as u64 == LOG_WINDOW && n.log_len > LOG_WINDOW));

    let (status, full) = get(&server, "/api/cluster?full=true").await;
    assert_eq!(status, 200);
    assert!(full.get("log_window").is_none(), "the full form is whole");
    let log = full["nodes"][0]["log"].as_array().unwrap();
    assert_eq!(
        log.len() as u64,
        full["nodes"][0]["log_len"].as_u64().unwrap()
    );
    assert_eq!(log[0]["index"], 1);

    let (status, page) = get(&server, "/api/nodes/2/log?from=3&to=12").await;
    assert_eq!(status, 200, "{page}");
    let result = &page["result"];
    let indexes: Vec<u64> = result["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (3..=12).collect::<Vec<_>>());
    assert!(result["log_len"].as_u64().unwrap() > LOG_WINDOW);
    assert_eq!(
        log[2], result["entries"][0],
        "the same entry as in the full form"
    );

    let (_, past) = get(&server, "/api/nodes/1/log?from=100000").await;
    assert_eq!(past["result"]["entries"], json!([]), "past the end: none");

    for (path, status, words) in [
        ("/api/nodes/1/log?from=0", 400, "from must be a log index"),
        ("/api/nodes/1/log?from=x", 400, "from must be a log index"),
        ("/api/nodes/1/log?from=9&to=3", 400, "below from"),
        (
            "/api/nodes/1/log?from=1&to=1001",
            400,
            "at most 1000 entries",
        ),
        ("/api/nodes/1/log?form=1", 400, "unknown query parameter"),
        ("/api/nodes/9/log", 404, "there is no node 9"),
        ("/api/nodes/one/log", 404, "there is no node"),
        ("/api/cluster?full=yes", 400, "full must be true or false"),
        (
            "/api/cluster?ful=true",
            400,
            "unknown query parameter \"ful\"",
        ),
    ] {
        let (got, body) = get(&server, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["ok"], false);
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(words), "{path}: {error}");
    }
    server.stop().await;
}

#[tokio::test]
async fn health_names_what_is_down_and_appends_say_no_leader_can_be_elected() {
    let server = server_with_entries(3).await;
    let (_, health) = get(&server, "/api/health").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["majority"], 2);
    assert_eq!(health["nodes_down"], json!([]));

    server.command(json!({"type":"crash","node":1})).await;
    let (_, health) = get(&server, "/api/health").await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["nodes_down"], json!([1]));

    // S2 loses its hard state while crashed: its restart is refused and it shows as failed.
    server.command(json!({"type":"crash","node":2})).await;
    std::fs::remove_file(server.dir.path().join("data/node-2/hard_state")).unwrap();
    let (status, body) = server
        .post("", json!({"type":"restart","node":2}).to_string())
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("lost its files"));
    server.command(json!({"type":"crash","node":3})).await;

    let (status, health) = get(&server, "/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "down", "{health}");
    assert_eq!(health["nodes_up"], 0);
    assert_eq!(health["nodes_down"], json!([1, 2, 3]));
    let failed = health["failed_nodes"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{health}");
    assert_eq!(failed[0]["node"], 2);
    assert_eq!(failed[0]["kind"], "lost_files");
    assert!(
        failed[0]["current_term"].as_u64().unwrap() > 0,
        "its last term, not 0"
    );
    assert!(
        failed[0]["last_index"].as_u64().unwrap() >= 3,
        "its last log"
    );
    let summary = health["summary"].as_str().unwrap();
    assert!(summary.contains("every node is down"), "{summary}");
    assert!(summary.contains("S2's storage failed"), "{summary}");

    let snap = server.cluster().await;
    let s2 = &snap.nodes[1];
    assert_eq!(s2.storage_failure.as_ref().unwrap().kind, "lost_files");

    let (status, body) = server
        .post("", json!({"type":"append","command":"add 1"}).to_string())
        .await;
    assert_eq!(status, 409);
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("every node is down"), "{error}");

    server.command(json!({"type":"restart","node":3})).await;
    let (_, health) = get(&server, "/api/health").await;
    assert_eq!(health["status"], "no_quorum");
    let (_, body) = server
        .post("", json!({"type":"append","command":"add 1"}).to_string())
        .await;
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("none can be elected"), "{error}");
    server.stop().await;
}
