//! Who may do what, over real sockets: other sites are refused (`Origin` on `/ws` and on
//! commands, `Host` against DNS rebinding), and with a presenter token a connection without it
//! is read-only. Owns no production code. Every wait polls a condition with a deadline.

mod common;

use serde_json::json;

use common::*;

const TOKEN: &str = "presenter-secret-1";

#[tokio::test]
async fn another_sites_page_cannot_use_the_websocket_or_post_commands() {
    let server = TestServer::start(Options::default()).await;
    let evil = [("Origin", "http://evil.example")];
    let refused = ws_connect_from(&server, LOOPBACK_1, "", &evil).await;
    let Err((status, body)) = refused else {
        panic!("a WebSocket from another origin must be refused");
    };
    assert_eq!(status, 403);
    assert!(body.contains("cross-origin"), "{body}");

    // The "simple request" a browser sends cross-site without a preflight.
    let r = server
        .http
        .post(server.url("/api/commands"))
        .header("content-type", "text/plain")
        .header("origin", "http://evil.example")
        .body(json!({"type": "crash", "node": 1}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let snapshot = server.cluster().await;
    assert!(snapshot.nodes.iter().all(|n| n.up), "no node was crashed");

    // The server's own page, and scripts that send no Origin, are served.
    let own = format!("http://{}", server.handle.local_addr());
    let ws = ws_connect_from(&server, LOOPBACK_1, "", &[("Origin", own.as_str())]).await;
    assert!(ws.is_ok(), "same origin is allowed");
    let (status, body) = server.post("", json!({"type": "heal"}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_request_for_another_host_name_is_refused_unless_allowed() {
    let server = TestServer::start(Options {
        allowed_hosts: vec!["lab-pc".into()],
        ..Options::default()
    })
    .await;
    let get = |host: &str| {
        format!("GET /api/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    let (status, text) = raw_http(&server, &get("attacker.example:7878")).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("--allow-host"), "{text}");
    let (status, _) = raw_http(&server, &get("lab-pc:7878")).await;
    assert_eq!(status, 200);
    let (status, _) = raw_http(&server, &get("localhost:7878")).await;
    assert_eq!(status, 200);
    // A name the check cannot read, and a second Host after an allowed one, were let through
    // (QA, 2026-12-02): refused now.
    let (status, text) = raw_http(&server, &get("\u{e9}vil.example")).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("once, in ASCII"), "{text}");
    let twice = "GET /api/health HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\
                 Connection: close\r\n\r\n";
    let (status, text) = raw_http(&server, twice).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("once, in ASCII"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn with_a_token_only_the_presenter_controls_and_viewers_watch() {
    let server = TestServer::start(Options {
        token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    // HTTP: no token, a wrong one, then the right one in either header.
    let crash = json!({"type": "crash", "node": 2}).to_string();
    let (status, body) = server.post("", crash.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
    let post = |header: &'static str, value: String| {
        server
            .http
            .post(server.url("/api/commands"))
            .header("content-type", "application/json")
            .header(header, value)
            .body(crash.clone())
            .send()
    };
    let r = post("authorization", "Bearer wrong-token-00".into())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post("authorization", format!("Bearer {TOKEN}"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post("x-logscope-token", TOKEN.into()).await.unwrap();
    assert_eq!(
        r.status(),
        409,
        "past the token check: the driver says S2 is down already"
    );
    // Reads need no token.
    server.cluster().await;

    // WebSocket: without the token a viewer, whose commands (reset above all) are refused.
    let ws = ws_connect_from(&server, LOOPBACK_1, "", &[])
        .await
        .expect("open");
    let (mut viewer, hello) = viewer_from(ws).await;
    assert_eq!(hello["role"], "viewer");
    let (ok, _, error) = viewer.request(json!({"type": "reset"})).await;
    assert!(!ok);
    assert!(error.unwrap().contains("read-only"));
    // With it, the presenter.
    let query = format!("?token={TOKEN}");
    let ws = ws_connect_from(&server, LOOPBACK_1, &query, &[])
        .await
        .expect("open");
    let (mut presenter, hello) = viewer_from(ws).await;
    assert_eq!(hello["role"], "presenter");
    let (ok, _, error) = presenter
        .request(json!({"type": "restart", "node": 2}))
        .await;
    assert!(ok, "{error:?}");
    // The presenter URL leaves the token in a same-site cookie, which the page's WebSocket
    // then carries by itself.
    let r = server
        .http
        .get(server.url(&format!("/?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("SameSite=Strict") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let ws = ws_connect_from(&server, LOOPBACK_1, "", &[("Cookie", pair.as_str())])
        .await
        .expect("open");
    assert_eq!(viewer_from(ws).await.1["role"], "presenter");
    let r = server
        .http
        .get(server.url("/?token=wrong-token-00"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no cookie for a wrong token"
    );
    // The viewer sees what the presenter did.
    viewer
        .read_until("the restart", |v| {
            v.events
                .iter()
                .any(|e| serde_json::to_string(e).unwrap().contains("restart"))
        })
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_restarted_server_keeps_the_presenters_token_from_its_data_directory() {
    let first = TestServer::start(Options::default()).await;
    let token = first.handle.token().to_string();
    assert!(backend::server::is_token(&token), "{token}");
    let dir = first.stop_keeping_dir().await;
    let file = dir.path().join("data").join(backend::server::TOKEN_FILE);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the token file is its owner's only ({mode:o})"
        );
    }
    // The presenter's open page and printed link still work after a restart.
    let again = TestServer::start_in(dir, Options::default()).await;
    assert_eq!(again.handle.token(), token);
    let dir = again.stop_keeping_dir().await;
    // A damaged file is replaced by a new token; a given --token wins and changes no file.
    std::fs::write(&file, "no").unwrap();
    let fresh = TestServer::start_in(dir, Options::default()).await;
    let new_token = fresh.handle.token().to_string();
    assert_ne!(new_token, token);
    assert!(backend::server::is_token(&new_token));
    let dir = fresh.stop_keeping_dir().await;
    let given = Options {
        token: Some(TOKEN.to_string()),
        ..Options::default()
    };
    let with_token = TestServer::start_in(dir, given).await;
    assert_eq!(with_token.handle.token(), TOKEN);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), new_token);
    with_token.stop().await;
}
