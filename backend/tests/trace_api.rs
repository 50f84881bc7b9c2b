//! The history endpoints in-process: a trace loaded with `POST /api/trace` becomes the live run
//! (the same state a re-execution gives), bad traces are refused with a 400 and change nothing,
//! undo steps back over the last input, and a branch can be brought back. Owns no production
//! code. Waits poll a condition with a deadline.

mod common;

use common::{Options, TestServer};
use serde_json::{json, Value};
use shared::trace::{Position, Recorded, Replay, Start, Trace, TraceInput};
use shared::NodeId;
use shared::{Sim, SimConfig};

/// A short run of 3 nodes, made here with the in-memory simulator.
fn made_trace() -> Trace {
    let config = SimConfig {
        nodes: 3,
        seed: 99,
        ..SimConfig::default()
    };
    let sim = Sim::new(config.clone()).unwrap();
    let mut run = Recorded::new(sim, Trace::new(config, Start::Empty));
    run.run_until(1_000);
    let _ = run.input(TraceInput::Append {
        command: "add 7".parse().unwrap(),
        node: None,
        client: None,
    });
    run.run_until(1_200);
    let _ = run.input(TraceInput::Crash { node: NodeId(2) });
    run.run_until(1_500);
    run.trace()
}

async fn send(s: &TestServer, path: &str, body: String) -> (u16, Value) {
    let r = s.http.post(s.url(path)).body(body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn trace_of(s: &TestServer) -> Trace {
    let r = s.http.get(s.url("/api/trace")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    Trace::from_json(&r.text().await.unwrap()).expect("the server's trace reads back")
}

#[tokio::test]
async fn a_posted_trace_becomes_the_live_run_and_bad_ones_change_nothing() {
    let s = TestServer::start(Options::default()).await;
    s.command(json!({"type": "pause"})).await;
    let before = trace_of(&s).await;
    let good = made_trace();
    let text = good.to_json();
    for (bad, why) in [
        (
            text[..text.len() / 3].to_string(),
            "not a valid logscope trace",
        ),
        (
            text.replacen("\"version\":1", "\"version\":7", 1),
            "version 7",
        ),
        (text.replacen("\"node\":2", "\"node\":9", 1), "no node S9"),
        ("[]".to_string(), "not a valid"),
        // QA: S1 at term 1 holding an entry of term 5 made the driver panic and the process exit.
        (
            include_str!("../../shared/tests/probes/qa-crash-trace.json").to_string(),
            "entry 1 has term 5, above the node's current_term 1",
        ),
        // QA: 1e10 ms kept the simulator busy for minutes.
        (
            include_str!("../../shared/tests/probes/qa-big1e10.json").to_string(),
            "beyond the longest run a trace may hold",
        ),
    ] {
        let (status, body) = send(&s, "/api/trace", bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains(why), "{body}");
    }
    let after = trace_of(&s).await;
    assert_eq!((after.config, after.inputs), (before.config, before.inputs));

    let (status, body) = send(&s, "/api/trace", text).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["time_ms"], 1_500);
    let mut replay = Replay::new(good.clone()).unwrap();
    replay.run_to(Position::End).unwrap();
    let live = s.cluster().await;
    assert_eq!(live.nodes, replay.sim().snapshot().nodes);
    assert_eq!(live.seed, 99);
    let now = trace_of(&s).await;
    assert_eq!(now.inputs, good.inputs);
    s.stop().await;
}

/// QA: nine servers with 1 ms timers and every message duplicated, 392 bytes, within every
/// bound a trace has, held the driver (and `/api/health`) for minutes. A move is held to a
/// wall-clock budget: refused once it runs out, the live run untouched.
#[tokio::test]
async fn a_trace_too_busy_to_re_execute_in_time_is_refused_and_changes_nothing() {
    let s = TestServer::start(Options {
        replay_wall_max: std::time::Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    s.command(json!({"type": "pause"})).await;
    let before = trace_of(&s).await;
    let busy = include_str!("../../shared/tests/busy/qa-busy9.json").to_string();
    let (status, body) = send(&s, "/api/trace", busy).await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("re-executing the trace was stopped: it took more than 0.3 s"),
        "{error}"
    );
    let r = s.http.get(s.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the driver answers again");
    let after = trace_of(&s).await;
    assert_eq!((after.config, after.inputs), (before.config, before.inputs));
    s.stop().await;
}

#[tokio::test]
async fn undo_steps_back_over_the_last_input_and_a_branch_comes_back() {
    let s = TestServer::start(Options::default()).await;
    let (status, body) = send(&s, "/api/undo", String::new()).await;
    assert_eq!(status, 409, "nothing to undo yet: {body}");
    s.command(json!({"type": "pause"})).await;
    let (status, _) = send(&s, "/api/trace", made_trace().to_json()).await;
    assert_eq!(status, 200);
    assert!(s.cluster().await.nodes.iter().any(|n| !n.up), "S2 crashed");
    // An action after the load, so that Undo steps back over inputs (right after the load it
    // would undo the load itself: trace_undo.rs).
    s.command(json!({"type": "crash", "node": 3})).await;
    let (status, body) = send(&s, "/api/undo", String::new()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        trace_of(&s).await.inputs.len(),
        2,
        "the crash of S3 is undone"
    );
    // Undo after undo goes on stepping back.
    let (status, body) = send(&s, "/api/undo", String::new()).await;
    assert_eq!(status, 200, "{body}");
    let undone = s.cluster().await;
    assert!(undone.nodes.iter().all(|n| n.up), "the crash is undone");
    assert_eq!(trace_of(&s).await.inputs.len(), 1);
    let branch = body["result"]["branch_id"].as_u64().unwrap();

    let list = s
        .http
        .get(s.url("/api/trace/branches"))
        .send()
        .await
        .unwrap();
    let list: Value = list.json().await.unwrap();
    let found = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == branch);
    assert_eq!(found.unwrap()["last_input"], "crash S2");
    let (status, _) = send(
        &s,
        &format!("/api/trace/branches/{branch}/restore"),
        String::new(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        s.cluster().await.nodes.iter().any(|n| !n.up),
        "the crash is back"
    );
    let (status, _) = send(&s, "/api/trace/branches/999/restore", String::new()).await;
    assert_eq!(status, 404);
    let (status, body) = send(&s, "/api/fork", "{\"at_ms\":1,\"seq\":2}".into()).await;
    assert_eq!(status, 400, "{body}");
    // QA: an input that does not exist made a branch (docs/api.md: anything else is a 400).
    let before = trace_of(&s).await;
    let beyond = before.inputs.len();
    let (status, body) = send(
        &s,
        "/api/fork",
        json!({ "before_input": beyond }).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("there is no input"),
        "{body}"
    );
    let (status, body) = send(&s, "/api/fork", json!({ "seq": u64::MAX }).to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("there is no event"),
        "{body}"
    );
    assert_eq!(trace_of(&s).await.inputs, before.inputs, "nothing changed");
    // A past instant the run never had is the same 400.
    for path in [
        format!("/api/trace/at?before_input={beyond}"),
        format!("/api/trace/at/log?before_input={beyond}&node=1&from=1&to=5"),
    ] {
        let r = s.http.get(s.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
    }
    s.stop().await;
}

/// The scrubber's endpoints: any instant of the run without changing the live one, and the
/// markers of the whole run.
#[tokio::test]
async fn any_instant_and_the_markers_without_touching_the_live_run() {
    let s = TestServer::start(Options::default()).await;
    s.command(json!({"type": "pause"})).await;
    let trace = made_trace();
    let (status, _) = send(&s, "/api/trace", trace.to_json()).await;
    assert_eq!(status, 200);
    let live_before = s.cluster().await;
    for (query, position) in [
        ("at_ms=1100", Position::AtMs(1_100)),
        ("before_input=1", Position::BeforeInput(1)),
        ("seq=40", Position::Seq(40)),
    ] {
        let r = s
            .http
            .get(s.url(&format!("/api/trace/at?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{query}");
        let body: Value = r.json().await.unwrap();
        let mut replay = Replay::new(trace.clone()).unwrap();
        replay.run_to(position).unwrap();
        let snapshot: shared::protocol::ClusterSnapshot =
            serde_json::from_value(body["result"]["snapshot"].clone()).unwrap();
        assert_eq!(snapshot.nodes, replay.sim().snapshot().nodes, "{query}");
        assert_eq!(snapshot.time_ms, replay.sim().now_ms(), "{query}");
        assert_eq!(body["result"]["inputs_applied"], replay.inputs_applied());
    }
    // A class asking at once: more than `PAST_READS_MAX` answers wait their turn, and every
    // one is the instant asked for.
    let asks = (0..12u64).map(|i| {
        let url = s.url(&format!("/api/trace/at?at_ms={}", 1_000 + i * 40));
        let http = s.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["result"]["snapshot"]["time_ms"].clone()
        }
    });
    let times = futures_util::future::join_all(asks).await;
    for (i, t) in times.iter().enumerate() {
        assert_eq!(t, &json!(1_000 + i as u64 * 40), "answer {i}");
    }
    assert_eq!(
        s.cluster().await.nodes,
        live_before.nodes,
        "the live run did not move"
    );
    let r = s
        .http
        .get(s.url("/api/trace/at?at_ms=1&seq=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let r = s
        .http
        .get(s.url("/api/trace/markers"))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let m = &body["result"];
    assert_eq!(m["end_ms"], 1_500);
    assert_eq!(m["inputs"][1]["text"], "crash S2");
    let kinds: Vec<&str> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"role_changed") && kinds.contains(&"node_crashed"),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"commit_advanced"), "{kinds:?}");
    s.stop().await;
}

/// The live run on real files, as fast as it goes (speed 0: inputs land mid-millisecond), with
/// crashes, restarts from the files and power losses: re-executing its downloaded trace in
/// memory gives exactly the live cluster.
#[tokio::test]
async fn the_live_runs_trace_replays_to_the_live_state() {
    let s = TestServer::start(Options {
        speed: 0.0,
        ..Options::default()
    })
    .await;
    let commands = [
        json!({"type": "append", "command": "add 1", "node": 1}),
        json!({"type": "crash", "node": 1}),
        json!({"type": "append", "command": "add 2", "node": 2}),
        json!({"type": "power_loss", "node": 2}),
        json!({"type": "restart", "node": 1}),
        json!({"type": "partition", "groups": [[1], [2, 3]]}),
        json!({"type": "restart", "node": 2}),
        json!({"type": "timeout", "node": 3}),
        json!({"type": "heal"}),
        json!({"type": "append", "command": "add rand", "node": 3}),
        json!({"type": "network", "loss_probability": 0.1}),
    ];
    for c in commands {
        // Accepted or refused (a node may be down or not the leader): both are inputs.
        let _ = s.post("", c.to_string()).await;
        let t = s.cluster().await.time_ms;
        common::eventually("virtual time to move", || async {
            (s.cluster().await.time_ms > t + 50).then_some(())
        })
        .await;
    }
    s.command(json!({"type": "pause"})).await;
    let live = s.cluster().await;
    let trace = trace_of(&s).await;
    assert_eq!(trace.inputs.len(), 12, "11 commands and the pause");
    let mut replay = Replay::new(trace).unwrap().with_checker();
    replay.run_to(Position::End).unwrap();
    let replayed = replay.sim().snapshot();
    assert_eq!((replayed.time_ms, replayed.seq), (live.time_ms, live.seq));
    assert_eq!(replayed.nodes, live.nodes);
    assert_eq!(replayed.messages, live.messages);
    assert_eq!(replayed.network, live.network);
    assert!(replay.violation().is_none());
    s.stop().await;
}

#[tokio::test]
async fn wrong_methods_and_paths_get_json_errors() {
    let s = TestServer::start(Options::default()).await;
    let r = s.http.get(s.url("/api/fork")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ok"], false);
    let r = s.http.delete(s.url("/api/trace")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");
    let r = s.http.get(s.url("/api/trace/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("no such endpoint"));
    s.stop().await;
}

/// `GET /api/trace/at` windows each log like the live snapshot (the answer does not grow with
/// the run), `full=true` has every entry, and `GET /api/trace/at/log` pages through that
/// instant's log.
#[tokio::test]
async fn a_past_instant_is_windowed_and_its_log_pages_come_from_that_instant() {
    let s = TestServer::start(Options::default()).await;
    s.command(json!({"type": "pause"})).await;
    let config = SimConfig {
        nodes: 3,
        seed: 5,
        ..SimConfig::default()
    };
    let mut run = Recorded::new(
        Sim::new(config.clone()).unwrap(),
        Trace::new(config, Start::Empty),
    );
    run.run_until(1_000);
    for k in 0..260 {
        let _ = run.input(TraceInput::Append {
            command: format!("add {k}").parse().unwrap(),
            node: None,
            client: None,
        });
        run.run_until(1_000 + 40 * (k + 1));
    }
    run.run_until(12_000);
    let trace = run.trace();
    let (status, _) = send(&s, "/api/trace", trace.to_json()).await;
    assert_eq!(status, 200);
    let get = |q: String| {
        let r = s.http.get(s.url(&q)).send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let mut replay = Replay::new(trace.clone()).unwrap();
    replay.run_to(Position::AtMs(11_500)).unwrap();
    let full = replay.sim().snapshot();
    assert!(
        full.nodes[0].log.len() > 250,
        "a long enough log: {}",
        full.nodes[0].log.len()
    );

    let (status, body) = get("/api/trace/at?at_ms=11500".into()).await;
    assert_eq!(status, 200);
    let windowed: shared::protocol::ClusterSnapshot =
        serde_json::from_value(body["result"]["snapshot"].clone()).unwrap();
    assert_eq!(windowed.log_window, Some(200));
    assert_eq!(windowed.nodes, replay.sim().snapshot_window(200).nodes);
    assert_eq!(windowed.nodes[0].log.len(), 200);
    assert_eq!(windowed.nodes[0].log_len, full.nodes[0].log_len);

    let (status, body) = get("/api/trace/at?at_ms=11500&full=true".into()).await;
    assert_eq!(status, 200);
    let whole: shared::protocol::ClusterSnapshot =
        serde_json::from_value(body["result"]["snapshot"].clone()).unwrap();
    assert_eq!(whole.nodes, full.nodes);

    let (status, body) = get("/api/trace/at/log?at_ms=11500&node=1&from=3&to=12".into()).await;
    assert_eq!(status, 200, "{body}");
    let page = &body["result"];
    assert_eq!(page["log_len"], full.nodes[0].log_len.get());
    let entries: Vec<shared::protocol::LogEntryView> =
        serde_json::from_value(page["entries"].clone()).unwrap();
    assert_eq!(entries, full.nodes[0].log[2..12].to_vec());

    for bad in [
        "/api/trace/at?at_ms=1&lines=2",
        "/api/trace/at/log?at_ms=1&node=1&from=5&to=4",
        "/api/trace/at/log?node=1",
        "/api/trace/at/log?at_ms=1&node=0",
    ] {
        assert_eq!(get(bad.into()).await.0, 400, "{bad}");
    }
    assert_eq!(get("/api/trace/at/log?at_ms=1&node=9".into()).await.0, 404);
    s.stop().await;
}
