//! The WebSocket connection without a socket: [`handle_socket`] is driven through in-memory
//! futures channels (the test writes requests into one and reads what the server sends from the
//! other), against a real driver on a temp data directory. Every wait has a deadline; nothing
//! sleeps to let time pass.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::extract::ws::{close_code, Message};
use futures_channel::mpsc;
use futures_util::StreamExt;
use serde_json::{json, Value};
use shared::protocol::{ClientCommand, PROTOCOL_VERSION};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{handle_socket, Peer};
use crate::driver::{self, AppendWait, DriverConfig, DriverHandle, DriverThread};
use crate::server::access::{Access, Role};
use crate::server::{AppState, Limits};

/// Generous: the machine running the tests may be busy.
const DEADLINE: Duration = Duration::from_secs(30);

/// One connection under test, its driver, and the two ends the test holds.
struct Harness {
    /// What the "viewer" sends.
    to_server: mpsc::UnboundedSender<Result<Message, axum::Error>>,
    /// What the server sends the viewer.
    from_server: mpsc::Receiver<Message>,
    driver: DriverHandle,
    /// The server's shared state (the presenter's view state lives here).
    state: AppState,
    shutdown: CancellationToken,
    connection: JoinHandle<()>,
    driver_thread: DriverThread,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A paused three-node cluster and one connection whose outgoing channel holds
    /// `write_buffer` (+1) messages before a send blocks.
    async fn start(write_buffer: usize) -> Harness {
        Harness::start_with(write_buffer, 16, Limits::default(), Role::Presenter).await
    }

    /// As [`Harness::start`], with this broadcast capacity, these limits and this role.
    async fn start_with(
        write_buffer: usize,
        broadcast_capacity: usize,
        limits: Limits,
        role: Role,
    ) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = DriverConfig {
            broadcast_capacity,
            ..DriverConfig::three_nodes_for_tests(dir.path(), true)
        };
        let (driver, _, driver_thread) = driver::start(config).await.expect("driver starts");
        let shutdown = CancellationToken::new();
        let access = Access::new("token".into(), role == Role::Viewer, &[]);
        let state = AppState::new(
            driver.clone(),
            limits,
            shutdown.clone(),
            crate::server::PageFiles::Dir(PathBuf::from("dist")),
            access,
            100,
            Some("http://192.168.1.20:7878/".to_string()),
        );
        let (write, from_server) = mpsc::channel(write_buffer);
        let (to_server, read) = mpsc::unbounded();
        let peer = Peer {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            role,
        };
        let connection = tokio::spawn(handle_socket(write, read, state.clone(), peer));
        Harness {
            to_server,
            from_server,
            state,
            driver,
            shutdown,
            connection,
            driver_thread,
            _dir: dir,
        }
    }

    /// The next message the server sends (`None` once the connection has ended).
    async fn next(&mut self) -> Option<Message> {
        tokio::time::timeout(DEADLINE, self.from_server.next())
            .await
            .expect("the server sent nothing before the deadline")
    }

    /// The next text message, as JSON.
    async fn read(&mut self) -> Value {
        match self.next().await {
            Some(Message::Text(text)) => serde_json::from_str(&text).expect("server sends JSON"),
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Read until a message of type `kind` (skipping others, e.g. clocks), within [`DEADLINE`].
    async fn read_until(&mut self, kind: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            let message = self.read().await;
            if message["type"] == kind {
                return message;
            }
        }
        panic!("no {kind} message within {DEADLINE:?}");
    }

    /// Send one text message as the viewer.
    fn send_text(&self, text: impl Into<String>) {
        let text: String = text.into();
        self.to_server
            .unbounded_send(Ok(Message::Text(text.into())))
            .expect("the connection is reading");
    }

    /// The reply to `request_id`, skipping the stream around it.
    async fn reply_to(&mut self, request_id: u64) -> Value {
        loop {
            let reply = self.read_until("reply").await;
            if reply["request_id"] == request_id {
                return reply;
            }
        }
    }

    /// Stop reading, wait for the connection task to end, then stop the driver.
    async fn finish(self) {
        // A connection blocked on a send to a viewer that no longer reads ends at once when the
        // viewer is gone (rather than after the send timeout).
        drop(self.from_server);
        tokio::time::timeout(DEADLINE, self.connection)
            .await
            .expect("the connection ended before the deadline")
            .expect("the connection did not panic");
        self.driver.shutdown().await;
        self.driver_thread.join().await;
    }
}

#[tokio::test]
async fn the_first_message_is_hello_with_a_snapshot() {
    let mut h = Harness::start(64).await;
    let hello = h.read().await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["protocol_version"], PROTOCOL_VERSION);
    assert_eq!(hello["role"], "presenter", "on loopback everyone presents");
    let snapshot = &hello["snapshot"];
    assert_eq!(snapshot["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(snapshot["paused"], true);
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_command_gets_its_reply() {
    let mut h = Harness::start(64).await;
    assert_eq!(h.read().await["type"], "hello");
    h.send_text(json!({"request_id": 7, "type": "resume"}).to_string());
    let reply = h.reply_to(7).await;
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["result"]["message"], "running");
    // The command's effect is in the stream too: the control change and a clock saying so.
    let clock = h.read_until("clock").await;
    assert_eq!(clock["paused"], false);
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_bad_request_gets_an_error_reply_and_the_connection_goes_on() {
    let mut h = Harness::start(64).await;
    assert_eq!(h.read().await["type"], "hello");

    h.send_text("{not json");
    let reply = h.reply_to(0).await;
    assert_eq!(reply["ok"], false);
    let error = reply["error"].as_str().expect("an error text");
    assert!(error.starts_with("invalid JSON"), "{error}");

    h.send_text(json!({"request_id": 3, "type": "explode"}).to_string());
    let reply = h.reply_to(3).await;
    assert_eq!(reply["ok"], false);
    let error = reply["error"].as_str().expect("an error text");
    assert!(error.contains("unknown variant `explode`"), "{error}");

    // Refused by the driver (no such node), not by the parser: still an error reply.
    h.send_text(json!({"request_id": 4, "type": "crash", "node": 9}).to_string());
    let reply = h.reply_to(4).await;
    assert_eq!(reply["ok"], false, "{reply}");

    h.to_server
        .unbounded_send(Ok(Message::Binary(vec![1, 2, 3].into())))
        .expect("the connection is reading");
    let reply = h.reply_to(0).await;
    assert!(reply["error"]
        .as_str()
        .is_some_and(|e| e.contains("binary messages are not supported")));

    // Still usable.
    h.send_text(json!({"request_id": 5, "type": "pause"}).to_string());
    assert_eq!(h.reply_to(5).await["ok"], true);
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_close_frame_ends_the_connection() {
    let mut h = Harness::start(64).await;
    assert_eq!(h.read().await["type"], "hello");
    h.to_server
        .unbounded_send(Ok(Message::Close(None)))
        .expect("the connection is reading");
    // The loop returns and drops its sink: the viewer's stream ends (after any clocks).
    loop {
        match h.next().await {
            None => break,
            Some(Message::Text(text)) => assert!(text.contains("\"clock\""), "{text}"),
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
    h.finish().await;
}

#[tokio::test]
async fn shutdown_closes_the_connection_with_going_away() {
    let mut h = Harness::start(64).await;
    assert_eq!(h.read().await["type"], "hello");
    h.shutdown.cancel();
    loop {
        match h.next().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, close_code::AWAY);
                break;
            }
            Some(Message::Text(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    h.finish().await;
}

#[tokio::test]
async fn a_viewer_that_falls_behind_gets_a_fresh_snapshot_and_goes_on() {
    // The outgoing channel holds one message: the connection blocks on its second send while
    // the test is not reading, and the viewer's backlog (2,000 bytes) overflows behind it.
    let limits = Limits {
        ws_backlog_bytes_max: 2000,
        ..Limits::default()
    };
    let mut h = Harness::start_with(0, 1024, limits, Role::Presenter).await;
    let hello = h.read().await;
    assert_eq!(hello["type"], "hello");
    let hello_seq = hello["snapshot"]["seq"].as_u64().expect("seq");
    for _ in 0..20 {
        for command in [ClientCommand::Resume, ClientCommand::Pause] {
            h.driver
                .command(
                    crate::driver::Input::parse(command).expect("a valid command"),
                    AppendWait::Appended,
                )
                .await
                .expect("the driver answers");
        }
    }
    // Each pair broadcast at least four messages (two control events, two clocks): 80 > 16.
    let snapshot = h.read_until("snapshot").await["snapshot"].clone();
    let seq = snapshot["seq"].as_u64().expect("seq");
    assert!(
        seq >= hello_seq + 40,
        "the snapshot covers the missed events"
    );
    assert_eq!(snapshot["paused"], true);

    // The stream goes on right after the snapshot. The test reads meanwhile, but the
    // connection may still lag once more while it skips what the broadcast kept from before:
    // like any viewer, the test starts again from each snapshot. At real time an election
    // comes within 300 ms, so events follow soon.
    let driver = h.driver.clone();
    let commands = tokio::spawn(async move {
        for command in [ClientCommand::Speed { speed: 1.0 }, ClientCommand::Resume] {
            driver
                .command(
                    crate::driver::Input::parse(command).expect("a valid command"),
                    AppendWait::Appended,
                )
                .await
                .expect("the driver answers");
        }
    });
    let mut seq = seq;
    let deadline = Instant::now() + DEADLINE;
    let events = loop {
        assert!(Instant::now() < deadline, "no events after the snapshot");
        let message = h.read().await;
        match message["type"].as_str() {
            Some("snapshot") => seq = message["snapshot"]["seq"].as_u64().expect("seq"),
            Some("events") => {
                let events: Vec<u64> = message["events"]
                    .as_array()
                    .expect("events")
                    .iter()
                    .filter_map(|e| e["seq"].as_u64())
                    .filter(|s| *s > seq)
                    .collect();
                if !events.is_empty() {
                    break events;
                }
            }
            _ => {}
        }
    };
    commands.await.expect("the commands were answered");
    assert_eq!(events[0], seq + 1, "no event is lost after the snapshot");
    h.to_server.close_channel();
    h.finish().await;
}

/// Broadcast at least `4 * pairs` messages: resume and pause, each a control event and a clock.
async fn churn(driver: &DriverHandle, pairs: usize) {
    for _ in 0..pairs {
        for command in [ClientCommand::Resume, ClientCommand::Pause] {
            driver
                .command(
                    crate::driver::Input::parse(command).expect("a valid command"),
                    AppendWait::Appended,
                )
                .await
                .expect("the driver answers");
        }
    }
}

#[tokio::test]
async fn a_reply_overtakes_the_viewers_backlog_of_events() {
    // A big broadcast and a big byte budget: nothing is dropped, so the backlog is real.
    let limits = Limits {
        ws_backlog_bytes_max: 64 * 1024 * 1024,
        ..Limits::default()
    };
    let mut h = Harness::start_with(0, 4096, limits, Role::Presenter).await;
    assert_eq!(h.read().await["type"], "hello");
    churn(&h.driver, 200).await;
    // A request the connection answers itself (no driver round trip, so no race with how fast
    // the test reads): its reply must come next, not behind the 800 or more queued messages.
    h.send_text(json!({"request_id": 9, "type": "explode"}).to_string());
    let mut before = 0;
    loop {
        let message = h.read().await;
        if message["type"] == "reply" {
            assert_eq!(message["request_id"], 9);
            break;
        }
        before += 1;
        assert!(
            before <= 2,
            "the reply waited behind {before} stream messages"
        );
    }
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_viewer_sees_the_stream_but_its_commands_are_refused() {
    let mut h = Harness::start_with(64, 16, Limits::default(), Role::Viewer).await;
    let hello = h.read().await;
    assert_eq!(hello["role"], "viewer");
    h.send_text(json!({"request_id": 4, "type": "reset"}).to_string());
    let reply = h.reply_to(4).await;
    assert_eq!(reply["ok"], false);
    let error = reply["error"].as_str().expect("an error text");
    assert!(error.contains("read-only"), "{error}");
    // The stream still flows to it.
    churn(&h.driver, 1).await;
    h.read_until("clock").await;
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_silent_viewer_is_pinged_then_closed() {
    let limits = Limits {
        ws_ping_interval: Duration::from_millis(50),
        ws_idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let mut h = Harness::start_with(64, 16, limits, Role::Presenter).await;
    assert_eq!(h.read().await["type"], "hello");
    let mut pinged = false;
    loop {
        match h.next().await {
            Some(Message::Ping(_)) => pinged = true,
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, close_code::POLICY);
                break;
            }
            Some(Message::Text(_)) => {}
            other => panic!("expected pings then a close frame, got {other:?}"),
        }
    }
    assert!(pinged, "the server pings before it gives up");
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_presenters_view_reaches_a_viewer_newest_first_and_a_viewer_cannot_send_one() {
    let mut h = Harness::start_with(64, 16, Limits::default(), Role::Viewer).await;
    let hello = h.read().await;
    assert_eq!(hello["viewer_url"], "http://192.168.1.20:7878/");
    // Two changes before the viewer's connection looks: it gets the newest only.
    let published = h.state.inner.presenter_view.clone();
    let mut budget = super::follow::Budget::new(Instant::now());
    for node in [1, 2] {
        let view = json!({"type": "presenter_view", "selected_node": node});
        super::follow::relay(view, &mut budget, &published, Instant::now()).expect("relayed");
    }
    let view = h.read_until("presenter_view").await;
    assert_eq!(view["selected_node"], 2);
    let view = json!({"type": "presenter_view", "highlight": {"kind": "node", "node": 3}});
    super::follow::relay(view, &mut budget, &published, Instant::now()).expect("relayed");
    let view = h.read_until("presenter_view").await;
    assert_eq!(view["highlight"]["node"], 3);
    assert!(view.get("selected_node").is_none());
    // The viewer's own attempt is refused like any command.
    h.send_text(json!({"request_id": 8, "type": "presenter_view", "selected_node": 1}).to_string());
    let reply = h.reply_to(8).await;
    assert!(reply["error"].as_str().unwrap().contains("read-only"));
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_presenter_publishes_its_view_and_gets_a_reply() {
    let mut h = Harness::start(64).await;
    assert_eq!(h.read().await["type"], "hello");
    let mut watcher = h.state.inner.presenter_view.subscribe();
    h.send_text(
        json!({"request_id": 2, "type": "presenter_view", "presenter_layout": true}).to_string(),
    );
    let reply = h.reply_to(2).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let text = watcher.borrow_and_update().clone().expect("published");
    assert!(
        text.as_str().contains(r#""presenter_layout":true"#),
        "{text}"
    );
    // Over HTTP or as a cluster command it means nothing: refused with a sentence.
    let e = crate::server::parse_command(json!({"type": "presenter_view"})).unwrap_err();
    assert!(e.message.contains("relayed to viewers"), "{}", e.message);
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_viewer_answers_the_lessons_question_and_still_cannot_command() {
    let mut h = Harness::start_with(64, 16, Limits::default(), Role::Viewer).await;
    assert_eq!(h.read().await["type"], "hello");
    let predictions = h.state.inner.lessons.predictions.clone();
    let mut presenter = predictions.subscribe(true);
    let text = shared::lesson::builtin("first-election").expect("built in");
    let staged = crate::server::lessons::stage_text(text).expect("stages");
    predictions.lesson_opened();
    predictions.lesson_at(Some((&staged, 0)));
    let asked = h.read_until("prediction").await;
    let question = asked["prediction"]["question"].as_u64().expect("an id");
    assert_eq!(asked["prediction"]["choices"][0], "S1");

    h.send_text(
        json!({"request_id": 3, "type": "answer", "question": question, "choice": 1}).to_string(),
    );
    let reply = h.reply_to(3).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let text = presenter.borrow_and_update().clone().expect("published");
    let tally: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(tally["prediction"]["tally"]["answered"], 1);
    assert_eq!(tally["prediction"]["tally"]["viewers"], 1);
    // A malformed answer is refused with the shape to send; everything else stays read-only.
    h.send_text(json!({"request_id": 4, "type": "answer", "choice": "S2"}).to_string());
    let reply = h.reply_to(4).await;
    assert!(
        reply["error"].as_str().unwrap().contains("invalid answer"),
        "{reply}"
    );
    for (id, kind) in [(5, "reset"), (6, "pause"), (7, "crash")] {
        h.send_text(json!({"request_id": id, "type": kind, "node": 1}).to_string());
        let reply = h.reply_to(id).await;
        assert!(
            reply["error"].as_str().unwrap().contains("read-only"),
            "{kind}: {reply}"
        );
    }
    // The connection closes: its answer goes with it.
    h.to_server.close_channel();
    h.finish().await;
    let text = presenter.borrow_and_update().clone().expect("published");
    assert!(
        text.as_str().contains(r#""answered":0,"viewers":0"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_presenter_does_not_answer() {
    let mut h = Harness::start(64).await;
    assert_eq!(h.read().await["type"], "hello");
    h.send_text(json!({"request_id": 2, "type": "answer", "question": 1, "choice": 0}).to_string());
    let reply = h.reply_to(2).await;
    assert!(
        reply["error"].as_str().unwrap().contains("only viewers"),
        "{reply}"
    );
    let e = crate::server::parse_command(json!({"type": "answer", "question": 1, "choice": 0}));
    assert!(e.unwrap_err().message.contains("not a command"));
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_flood_of_requests_from_a_viewer_that_does_not_read_is_answered_in_order() {
    // The test sends far more requests than the connection queues replies for, and reads
    // nothing meanwhile: the connection stops hearing when its queue is full and must hear
    // again as the replies go out, or the later requests would never be answered.
    // Timers far off, so that no ping or idle check wakes the connection by chance.
    let limits = Limits {
        ws_ping_interval: Duration::from_secs(600),
        ws_idle_timeout: Duration::from_secs(6000),
        ..Limits::default()
    };
    let mut h = Harness::start_with(0, 16, limits, Role::Presenter).await;
    assert_eq!(h.read().await["type"], "hello");
    let requests = 3 * (Limits::default().ws_in_flight_max + 16) as u64;
    for id in 1..=requests {
        h.send_text(json!({"request_id": id, "type": "explode"}).to_string());
    }
    for id in 1..=requests {
        let reply = h.read_until("reply").await;
        assert_eq!(reply["request_id"], id, "{reply}");
        assert_eq!(reply["ok"], false);
    }
    h.to_server.close_channel();
    h.finish().await;
}

#[tokio::test]
async fn a_viewer_that_stops_reading_is_closed_after_the_send_timeout() {
    // The test never reads: once the outgoing channel is full the socket "takes nothing", and
    // the connection must end by itself (the test still holds its end, so it is not gone).
    let limits = Limits {
        ws_send_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let mut h = Harness::start_with(0, 1024, limits, Role::Presenter).await;
    assert_eq!(h.read().await["type"], "hello");
    churn(&h.driver, 5).await;
    tokio::time::timeout(DEADLINE, &mut h.connection)
        .await
        .expect("the connection gave up on the viewer before the deadline")
        .expect("the connection did not panic");
    h.driver.shutdown().await;
    h.driver_thread.join().await;
}
