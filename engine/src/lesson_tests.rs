//! The lesson routes of the browser's run, driven natively as the page's API channel would:
//! what each answers (the server's envelopes and statuses) and where the cluster goes.

use serde_json::Value;
use shared::lesson::{OpenLesson, StopKind};
use shared::protocol::{ServerMessage, SPEED_DEFAULT};
use shared::sim::SimConfig;

use super::{ApiReply, Session};

fn session() -> Session {
    let mut s = Session::new(SimConfig::default(), 0.0).expect("a valid cluster");
    s.hello();
    s
}

/// Call a route; returns its status, its body parsed, and what the page heard first.
fn call(
    s: &mut Session,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Value, Vec<ServerMessage>) {
    let (ApiReply { status, body }, out) = s.api(method, path, body, 1_000.0);
    let json = serde_json::from_str(&body).expect("the body is JSON");
    (status, json, out)
}

fn snapshot_time(out: &[ServerMessage]) -> Option<u64> {
    out.iter().find_map(|m| match m {
        ServerMessage::Snapshot { snapshot, .. } => Some(snapshot.time_ms),
        _ => None,
    })
}

#[test]
fn the_list_is_every_builtin() {
    let mut s = session();
    let (status, json, out) = call(&mut s, "GET", "/api/lessons", None);
    assert_eq!(status, 200);
    assert_eq!(json["ok"], true);
    let list = json["result"].as_array().expect("a list");
    assert_eq!(list.len(), shared::lesson::BUILTIN.len());
    assert_eq!(list[0]["name"], "first-election");
    assert!(list[0]["steps"].as_u64().unwrap() > 0);
    assert!(out.is_empty(), "listing does not move the cluster");
}

#[test]
fn a_builtin_runs_through_every_stop_to_its_end() {
    let mut s = session();
    let staged = OpenLesson::builtin("first-election")
        .expect("stages")
        .staged;
    let (status, json, out) = call(&mut s, "POST", "api/lessons/first-election/open", None);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["result"]["stop"], 0);
    assert_eq!(json["result"]["stops"], staged.stops.len());
    assert_eq!(snapshot_time(&out), Some(staged.stops[0].at_ms));
    assert!(s.paused(), "a lesson's stop is paused");
    let run = s.run();

    let mut at = 0;
    let mut revealed = 0;
    loop {
        let stop = staged.stops[at];
        assert_eq!(
            s.sim().now_ms(),
            stop.at_ms,
            "the cluster stands at stop {at}"
        );
        assert_eq!(s.sim().last_seq(), stop.seq);
        let route = match stop.kind {
            StopKind::Ask => "api/lesson/reveal",
            StopKind::Shown => "api/lesson/next",
        };
        let (status, json, out) = call(&mut s, "POST", route, None);
        if at + 1 == staged.stops.len() {
            assert_eq!(status, 409);
            assert_eq!(json["error"], "the lesson is at its last step");
            assert!(out.is_empty(), "a refused move leaves the cluster");
            break;
        }
        assert_eq!(status, 200, "{json}");
        at += 1;
        let view = &json["result"];
        assert_eq!(view["stop"], at);
        assert_eq!(snapshot_time(&out), Some(staged.stops[at].at_ms));
        if stop.kind == StopKind::Ask {
            revealed += 1;
            assert_eq!(view["kind"], "shown");
            assert!(view["question"]["answer"].is_u64(), "revealed: {view}");
            assert!(view["question"]["why"].is_string());
        }
        assert!(s.paused());
    }
    assert!(revealed > 0, "first-election asks something");
    assert!(s.run() > run, "every move is a new run");

    let (status, json, _) = call(&mut s, "POST", "api/lesson/back", None);
    assert_eq!(status, 200);
    assert_eq!(json["result"]["stop"], at - 1);
    assert_eq!(
        s.sim().now_ms(),
        staged.stops[at - 1].at_ms,
        "back goes back"
    );
}

#[test]
fn answers_are_the_shared_views_in_the_servers_envelope() {
    let mut s = session();
    let (reply, _) = s.api("POST", "/api/lessons/split-vote/open", None, 0.0);
    let open = OpenLesson::builtin("split-vote").expect("stages");
    let view = serde_json::to_string(&open.view()).unwrap();
    assert_eq!(reply.body, format!(r#"{{"ok":true,"result":{view}}}"#));
    let (reply, _) = s.api("GET", "/api/lesson", None, 0.0);
    assert_eq!(reply.body, format!(r#"{{"ok":true,"result":{view}}}"#));
    if open.stop().kind == StopKind::Ask {
        assert!(view.contains(r#""answer":null,"why":null"#), "{view}");
    }
}

#[test]
fn reveal_only_at_a_question() {
    let mut s = session();
    let (status, json, _) = call(&mut s, "POST", "api/lesson/reveal", None);
    assert_eq!((status, json["ok"].clone()), (404, Value::Bool(false)));
    assert!(json["error"]
        .as_str()
        .unwrap()
        .starts_with("no lesson is open"));
    let (_, json, _) = call(&mut s, "POST", "api/lessons/first-election/open", None);
    assert_eq!(json["result"]["kind"], "ask", "first-election asks first");
    let (status, json, _) = call(&mut s, "POST", "api/lesson/reveal", None);
    assert_eq!(status, 200);
    assert_eq!(json["result"]["kind"], "shown");
    let (status, json, _) = call(&mut s, "POST", "api/lesson/reveal", None);
    assert_eq!(status, 409);
    assert_eq!(
        json["error"],
        "there is no question to reveal here: use next"
    );
}

#[test]
fn a_teachers_file_with_an_error_names_the_line_and_changes_nothing() {
    let mut s = session();
    let text = "title Mine\nnodes 3\nseed 2\n\nstep Crash it\ncrsh S1\n";
    let (status, json, out) = call(&mut s, "POST", "/api/lesson", Some(text));
    assert_eq!(status, 400);
    let error = json["error"].as_str().expect("a sentence");
    assert!(error.starts_with("line 6: "), "{error}");
    assert!(error.contains("crash"), "suggests the command: {error}");
    assert!(out.is_empty() && !s.paused(), "nothing moved");
    assert_eq!(
        call(&mut s, "GET", "api/lesson", None).1["result"],
        Value::Null
    );

    let good = "title Mine\nnodes 3\nseed 2\n\nstep Elect\nsay Watch.\nrun until leader elected\n";
    let (status, json, out) = call(&mut s, "POST", "/api/lesson", Some(good));
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["result"]["name"], "uploaded");
    assert_eq!(json["result"]["title"], "Mine");
    assert!(snapshot_time(&out).is_some());
}

#[test]
fn close_keeps_the_cluster_where_the_lesson_left_it() {
    let mut s = session();
    call(&mut s, "POST", "api/lessons/first-election/open", None);
    call(&mut s, "POST", "api/lesson/reveal", None);
    let now = s.sim().now_ms();
    let (status, json, out) = call(&mut s, "POST", "api/lesson/close", None);
    assert_eq!((status, json["result"].clone()), (200, Value::Bool(true)));
    assert!(out.is_empty());
    assert_eq!(s.sim().now_ms(), now);
    assert_eq!(
        call(&mut s, "GET", "api/lesson", None).1["result"],
        Value::Null
    );
    assert_eq!(
        call(&mut s, "POST", "api/lesson/close", None).1["result"],
        false
    );
    // The cluster is the page's again: it runs on when resumed.
    let out = s.request(
        shared::protocol::ClientRequest {
            request_id: 1,
            command: shared::protocol::ClientCommand::Resume,
        },
        2_000.0,
    );
    assert!(!s.paused() && s.speed() == SPEED_DEFAULT, "{out:?}");
    s.tick(3_000.0);
    assert!(s.sim().now_ms() > now, "time moves again");
}

#[test]
fn other_routes_are_not_the_browsers() {
    let mut s = session();
    // (The history routes are the browser's too: history_tests.rs.)
    for (method, path) in [
        ("GET", "/api/health"),
        ("POST", "/api/commands"),
        ("POST", "/api/lessons/no-such-lesson/open"),
        ("DELETE", "/api/lesson"),
    ] {
        let (status, json, _) = call(&mut s, method, path, None);
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(json["ok"], false);
        assert!(json["error"].is_string());
    }
}

#[test]
fn a_break_raft_lesson_ends_on_its_violation_and_back_clears_it() {
    let mut s = session();
    let staged = OpenLesson::builtin("broken-vote-check")
        .expect("stages")
        .staged;
    let expected = staged
        .violation
        .clone()
        .expect("the lesson leads to a violation");
    call(&mut s, "POST", "api/lessons/broken-vote-check/open", None);
    assert!(
        s.snapshot().safety.unwrap().violation.is_none(),
        "not yet at the start"
    );
    let last = staged.stops.len() - 1;
    for _ in 0..last {
        let (status, json, _) = call(&mut s, "POST", "api/lesson/next", None);
        assert_eq!(status, 200, "{json}");
    }
    let (_, json, out) = call(&mut s, "GET", "api/lesson", None);
    assert_eq!(json["result"]["stop"], last);
    assert!(
        out.is_empty(),
        "asking where the lesson stands moves nothing"
    );
    let found = s
        .snapshot()
        .safety
        .unwrap()
        .violation
        .expect("the checker saw it");
    assert_eq!(found.property, expected.property);
    assert_eq!(found.property, "leader completeness");

    // Back before the step that breaks it: the run is re-executed without it.
    call(&mut s, "POST", "api/lesson/back", None);
    assert!(s.snapshot().safety.unwrap().violation.is_none());
}
