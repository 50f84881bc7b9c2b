//! The WebSocket's protection of the server over real sockets: specific errors for bad input,
//! per-connection rate limits, the hard message size, the connection cap and closing viewers at
//! shutdown. Owns no production code. Every wait polls a condition with a deadline.

mod common;

use std::time::Instant;

use backend::server::Limits;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use shared::protocol::ServerMessage;
use tokio_tungstenite::tungstenite::Message;

use common::*;

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
        if let ServerMessage::Reply(reply) = v.read().await {
            replies.insert(reply.request_id, reply.outcome.err());
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
    // Other clients (another address) are not affected.
    let ws = ws_connect_from(&server, LOOPBACK_2, "", &[])
        .await
        .expect("open");
    let (mut other, _) = viewer_from(ws).await;
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
