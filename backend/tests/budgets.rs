//! Budgets fair per client: one address cannot take every WebSocket slot, every waiting-request
//! slot or the command rate of everyone, however many connections it opens; and reads are never
//! limited per address (a class behind one NAT shares one). Clients on 127.0.0.1 and 127.0.0.2
//! stand for two addresses. Owns no production code. Every wait polls a condition with a deadline.

mod common;

use backend::server::Limits;
use serde_json::json;

use common::*;
use shared::NodeId;

#[tokio::test]
async fn one_address_cannot_take_every_websocket_slot() {
    let server = TestServer::start(Options {
        limits: Limits {
            ws_connections_max: 10,
            ws_connections_per_ip_max: 2,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let _a = ws_connect_from(&server, LOOPBACK_1, "", &[])
        .await
        .expect("first");
    let _b = ws_connect_from(&server, LOOPBACK_1, "", &[])
        .await
        .expect("second");
    let Err((status, body)) = ws_connect_from(&server, LOOPBACK_1, "", &[]).await else {
        panic!("a third connection from the same address must be refused");
    };
    assert_eq!(status, 503);
    assert!(body.contains("from your address"), "{body}");
    ws_connect_from(&server, LOOPBACK_2, "", &[])
        .await
        .expect("another address still gets a slot");
    server.stop().await;
}

#[tokio::test]
async fn the_append_rate_is_per_address_across_connections_but_reads_are_not_limited() {
    let server = TestServer::start(Options {
        limits: Limits {
            appends_per_second: 0.001,
            append_burst: 3.0,
            requests_per_second: 0.001,
            request_burst: 5.0,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    server.leader().await;
    // Reads: far more than the request burst, all served.
    for _ in 0..20 {
        server.cluster().await;
    }
    // Three appends over three connections of one address use its budget up...
    for _ in 0..3 {
        let ws = ws_connect_from(&server, LOOPBACK_1, "", &[])
            .await
            .expect("open");
        let (mut v, _) = viewer_from(ws).await;
        let (ok, _, error) = v
            .request(json!({"type": "append", "command": "add 1"}))
            .await;
        assert!(ok, "{error:?}");
    }
    // ...so a fourth connection from it is refused, per address.
    let ws = ws_connect_from(&server, LOOPBACK_1, "", &[])
        .await
        .expect("open");
    let (mut v, _) = viewer_from(ws).await;
    let (ok, _, error) = v
        .request(json!({"type": "append", "command": "add 1"}))
        .await;
    assert!(!ok);
    assert!(error.unwrap().contains("per IP address"));
    // Over HTTP too.
    let (status, body) = server
        .post(
            "",
            json!({"type": "append", "command": "add 1"}).to_string(),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    // Another address has its own.
    let ws = ws_connect_from(&server, LOOPBACK_2, "", &[])
        .await
        .expect("open");
    let (mut v, _) = viewer_from(ws).await;
    let (ok, _, error) = v
        .request(json!({"type": "append", "command": "add 1"}))
        .await;
    assert!(ok, "{error:?}");
    server.stop().await;
}

#[tokio::test]
async fn one_address_cannot_fill_the_table_of_waiting_requests() {
    let server = TestServer::start(Options {
        limits: Limits {
            waiting_per_ip_max: 1,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let (leader, _) = server.leader().await;
    // Without a majority an append waits for its commit until its timeout.
    let others: Vec<NodeId> = NodeId::all(3).filter(|n| *n != leader).collect();
    for node in others {
        server.command(json!({"type": "crash", "node": node})).await;
    }
    let waiting = {
        let http = server.http.clone();
        let url = server.url("/api/commands?wait=commit&timeout_ms=20000");
        tokio::spawn(async move {
            http.post(url)
                .header("content-type", "application/json")
                .body(json!({"type": "append", "command": "add 1"}).to_string())
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    eventually("the append to be waiting", || async {
        let health: serde_json::Value = server
            .http
            .get(server.url("/api/health"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (health["waiting_requests"].as_u64()? >= 1).then_some(())
    })
    .await;
    let (status, body) = server
        .post(
            "",
            json!({"type": "append", "command": "add 2"}).to_string(),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert!(body["error"].as_str().unwrap().contains("already waiting"));
    // Another address is not held up by it.
    let ws = ws_connect_from(&server, LOOPBACK_2, "", &[])
        .await
        .expect("open");
    let (mut v, _) = viewer_from(ws).await;
    let (ok, _, error) = v.request(json!({"type": "pause"})).await;
    assert!(ok, "{error:?}");
    waiting.abort();
    server.stop().await;
}
