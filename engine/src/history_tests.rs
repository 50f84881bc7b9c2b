//! The browser's history routes, driven natively: the timeline's questions about past instants,
//! fork, undo, branches and loading a trace, answered as the server answers them.

use serde_json::Value;
use shared::protocol::{ClientCommand, ClientRequest, ServerMessage};
use shared::sim::SimConfig;
use shared::NodeId;

use super::{Session, FRAME_INTERVAL_MS};

/// A session run for a while with a leader, an append and a crash; and its wall clock.
pub(super) fn recorded_run() -> (Session, f64, NodeId) {
    let config = SimConfig {
        seed: 9,
        ..SimConfig::default()
    };
    let mut s = Session::new(config, 0.0).expect("a valid cluster");
    let mut wall = 0.0;
    let send = |s: &mut Session, wall: f64, command| {
        s.request(
            ClientRequest {
                request_id: 1,
                command,
            },
            wall,
        )
    };
    send(&mut s, wall, ClientCommand::Speed { speed: 1.0 });
    while s.sim().leader().is_none() {
        wall += FRAME_INTERVAL_MS;
        s.tick(wall);
        assert!(wall < 10_000.0, "no leader");
    }
    let leader = s.sim().leader().expect("a leader");
    send(&mut s, wall, ClientCommand::Crash { node: leader });
    for _ in 0..20 {
        wall += FRAME_INTERVAL_MS;
        s.tick(wall);
    }
    (s, wall, leader)
}

pub(super) fn up(s: &Session, node: NodeId) -> bool {
    s.snapshot().nodes.iter().any(|n| n.id == node && n.up)
}

/// Ask a route; returns the status and the JSON (or `Value::Null` when not JSON).
pub(super) fn ask(
    s: &mut Session,
    method: &str,
    path: &str,
    body: Option<&str>,
    wall: f64,
) -> (u16, Value) {
    let (status, text) = s
        .history_api(method, path, body, wall)
        .unwrap_or_else(|| panic!("{method} {path} is a history route"));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn the_timeline_sees_the_inputs_and_any_past_instant() {
    let (mut s, wall, leader) = recorded_run();
    let (status, markers) = ask(&mut s, "GET", "api/trace/markers", None, wall);
    assert_eq!(status, 200);
    let inputs = markers["result"]["inputs"].as_array().expect("inputs");
    let crash = inputs
        .iter()
        .find(|i| i["text"] == format!("crash S{}", leader.0))
        .unwrap_or_else(|| panic!("the crash among {inputs:?}"));
    let crash_ms = crash["at_ms"].as_u64().expect("its instant");
    assert!(!markers["result"]["events"].as_array().unwrap().is_empty());

    // Just before the crash the leader is up; at the end it is down.
    let before = format!("/api/trace/at?at_ms={}", crash_ms - 1);
    let (status, at) = ask(&mut s, "GET", &before, None, wall);
    assert_eq!(status, 200, "{at}");
    let node = |at: &Value| at["result"]["snapshot"]["nodes"][leader.0 as usize - 1].clone();
    assert_eq!(node(&at)["up"], true);
    assert_eq!(at["result"]["snapshot"]["time_ms"], crash_ms - 1);
    let (_, end) = ask(&mut s, "GET", "api/trace/at?at_ms=999999999", None, wall);
    assert_eq!(node(&end)["up"], false);

    // One page of a log there.
    let page = format!(
        "api/trace/at/log?at_ms={}&node={}&from=1&to=5",
        crash_ms - 1,
        leader.0
    );
    let (status, log) = ask(&mut s, "GET", &page, None, wall);
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["result"]["node"], leader.0);

    // Wrong questions are refused as the server refuses them.
    let (status, e) = ask(&mut s, "GET", "api/trace/at?at_ms=5&seq=2", None, wall);
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("exactly one of"),
        "{e}"
    );
    let (status, e) = ask(&mut s, "GET", "api/trace/at?when=5", None, wall);
    assert_eq!(status, 400);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `when`"),
        "{e}"
    );
    let (status, _) = ask(&mut s, "GET", "api/trace/at/log?at_ms=5&node=9", None, wall);
    assert_eq!(status, 404, "no node 9");
    let (status, live) = ask(&mut s, "GET", "api/nodes/1/log?from=1&to=3", None, wall);
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["result"]["from"], 1);
    let (status, _) = ask(&mut s, "GET", "api/nodes/1/log?from=0", None, wall);
    assert_eq!(status, 400);
    let (status, _) = ask(&mut s, "DELETE", "api/trace", None, wall);
    assert_eq!(status, 405);
    assert!(
        s.history_api("GET", "api/lessons", None, wall).is_none(),
        "not a history route"
    );
}

#[test]
fn fork_and_undo_change_the_run_and_keep_the_old_one_as_a_branch() {
    let (mut s, wall, leader) = recorded_run();
    let end_ms = s.sim().now_ms();
    let run = s.run();

    // Undo takes back the crash.
    let (status, undo) = ask(&mut s, "POST", "/api/undo", None, wall);
    assert_eq!(status, 200, "{undo}");
    assert!(undo["result"]["message"]
        .as_str()
        .unwrap()
        .starts_with("undid the last input"));
    assert_eq!(s.run(), run + 1);
    assert!(up(&s, leader), "the crash is taken back");
    let heard = s.tick(wall);
    assert!(
        heard
            .iter()
            .any(|m| matches!(m, ServerMessage::Snapshot { .. })),
        "the page hears the new run"
    );

    // Fork to an instant: there, with the undone run kept as branch 1.
    let half = s.sim().now_ms() / 2;
    let body = format!(r#"{{"at_ms": {half}}}"#);
    let (status, fork) = ask(&mut s, "POST", "api/fork", Some(&body), wall);
    assert_eq!(status, 200, "{fork}");
    assert_eq!(s.sim().now_ms(), half);
    let (_, branches) = ask(&mut s, "GET", "api/trace/branches", None, wall);
    let list = branches["result"].as_array().expect("a list");
    assert_eq!(
        list.iter()
            .map(|b| b["reason"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["undo", "fork"]
    );

    // Back to the first branch: the run as it was before the undo, crash and all.
    let first = list[0]["id"].as_u64().unwrap();
    let (status, trace) = ask(
        &mut s,
        "GET",
        &format!("api/trace/branches/{first}"),
        None,
        wall,
    );
    assert_eq!(status, 200);
    assert_eq!(trace["end_ms"], end_ms);
    let restore = format!("api/trace/branches/{first}/restore");
    let (status, _) = ask(&mut s, "POST", &restore, None, wall);
    assert_eq!(status, 200);
    assert_eq!(s.sim().now_ms(), end_ms);
    assert!(!up(&s, leader), "crashed again");

    // Refusals change nothing.
    let (status, _) = ask(&mut s, "POST", "api/fork", Some("{}"), wall);
    assert_eq!(status, 400);
    let body = format!("{{\"before_input\": {}}}", s.sim().inputs().len());
    let (status, reply) = ask(&mut s, "POST", "api/fork", Some(&body), wall);
    assert_eq!(status, 400, "{reply}");
    assert!(reply.to_string().contains("there is no input"), "{reply}");
    let (status, _) = ask(&mut s, "POST", "api/trace/branches/77/restore", None, wall);
    assert_eq!(status, 404);
    assert_eq!(s.sim().now_ms(), end_ms);
}

#[test]
fn a_trace_loads_into_the_browser_and_a_bad_one_changes_nothing() {
    let (mut s, wall, _) = recorded_run();
    let (status, text) = s.history_api("GET", "api/trace", None, wall).unwrap();
    assert_eq!(status, 200);
    let mut other = Session::new(SimConfig::default(), 0.0).unwrap();
    let before = other.sim().now_ms();
    let (status, e) = ask(
        &mut other,
        "POST",
        "api/trace",
        Some("{\"version\": 1}"),
        0.0,
    );
    assert_eq!(status, 400, "{e}");
    assert_eq!(other.sim().now_ms(), before);
    let (status, loaded) = ask(&mut other, "POST", "api/trace", Some(&text), 0.0);
    assert_eq!(status, 200, "{loaded}");
    assert_eq!(other.sim().now_ms(), s.sim().now_ms());
    assert_eq!(other.snapshot().nodes, s.snapshot().nodes);
}

pub(super) fn command(s: &mut Session, wall: f64, json: Value) {
    let command: ClientCommand = serde_json::from_value(json).expect("a command");
    s.request(
        ClientRequest {
            request_id: 7,
            command,
        },
        wall,
    );
}

/// A command naming a node the cluster does not have is refused and not recorded: the
/// timeline, the downloaded trace and undo keep working (they refused the trace before).
#[test]
fn a_command_naming_no_node_leaves_the_history_usable() {
    let (mut s, wall, _) = recorded_run();
    let before = s.sim().inputs().len();
    for bad in [
        r#"{"type":"crash","node":9}"#,
        r#"{"type":"restart","node":12}"#,
        r#"{"type":"append","command":"add 5","node":9}"#,
        r#"{"type":"isolate","node":0}"#,
        r#"{"type":"cut","from":1,"to":6}"#,
    ] {
        command(&mut s, wall, serde_json::from_str(bad).unwrap());
    }
    assert_eq!(
        s.sim().inputs().len(),
        before,
        "nothing recorded: {:?}",
        s.sim().inputs()
    );
    let (status, markers) = ask(&mut s, "GET", "api/trace/markers", None, wall);
    assert_eq!(status, 200, "{markers}");
    let (status, text) = s.history_api("GET", "api/trace", None, wall).unwrap();
    assert_eq!(status, 200);
    shared::trace::Trace::from_json(&text).expect("the trace reads back");
    let (status, undo) = ask(&mut s, "POST", "/api/undo", None, wall);
    assert_eq!(status, 200, "{undo}");
}

/// Undo takes back the last command that changed something, not the refused ones after it.
#[test]
fn undo_steps_over_refused_commands() {
    let (mut s, wall, leader) = recorded_run();
    command(
        &mut s,
        wall,
        serde_json::json!({"type": "restart", "node": leader.0}),
    );
    let appended = s.sim().inputs().len() - 1;
    assert!(up(&s, leader));
    command(
        &mut s,
        wall,
        serde_json::json!({"type": "network", "loss_probability": 1.5}),
    );
    command(
        &mut s,
        wall,
        serde_json::json!({"type": "restart", "node": leader.0}),
    );
    assert_eq!(
        s.sim().inputs().len(),
        appended + 3,
        "refused, and recorded"
    );
    let (status, undo) = ask(&mut s, "POST", "/api/undo", None, wall);
    assert_eq!(status, 200, "{undo}");
    assert_eq!(undo["result"]["inputs"], appended, "{undo}");
    assert!(!up(&s, leader), "the restart is undone");
}

/// Tick `s` frame by frame for `ms` of wall time from `wall`; the wall time reached.
pub(super) fn frames_for(s: &mut Session, mut wall: f64, ms: f64) -> f64 {
    let until = wall + ms;
    while wall < until {
        wall += FRAME_INTERVAL_MS;
        s.tick(wall);
    }
    wall
}

/// How far the timeline kept between questions reaches, if there is one.
fn warm_end_ms(s: &Session) -> Option<u64> {
    s.history.timeline.as_ref().map(|t| t.trace().end_ms)
}

#[test]
fn a_paced_run_keeps_its_timeline_warm_and_speed_0_does_not() {
    let (mut s, mut wall, _) = recorded_run();
    // Nobody has asked about the past: two seconds of wall time later the timeline is there
    // anyway, and reaches (nearly) the end of the run.
    wall = frames_for(&mut s, wall, 2_500.0);
    let end = warm_end_ms(&s).expect("a timeline built without a question");
    assert!(
        end + 2_500 >= s.sim().now_ms(),
        "{end} is far behind {}",
        s.sim().now_ms()
    );
    // It grows with the run.
    wall = frames_for(&mut s, wall, 2_500.0);
    assert!(
        warm_end_ms(&s).expect("still there") > end,
        "the timeline grew"
    );
    // At speed 0 the worker's thread is the run's: no re-executing behind its back, also not
    // once it is paced again after more than the warming takes at once.
    let before = warm_end_ms(&s);
    let speed = |s: &mut Session, wall: f64, speed: f64| {
        s.request(
            ClientRequest {
                request_id: 2,
                command: ClientCommand::Speed { speed },
            },
            wall,
        )
    };
    speed(&mut s, wall, 0.0);
    let paced_until = wall + 2_500.0;
    while s.sim().now_ms() < before.unwrap_or(0) + 60_000 || wall < paced_until {
        wall += FRAME_INTERVAL_MS;
        s.tick(wall);
    }
    assert_eq!(warm_end_ms(&s), before, "not warmed at speed 0");
    speed(&mut s, wall, 1.0);
    wall = frames_for(&mut s, wall, 2_500.0);
    assert_eq!(
        warm_end_ms(&s),
        before,
        "a long stretch is left to the first question"
    );
    // Which builds it (a question about an instant the old timeline does not reach), and
    // warming goes on from there.
    let recent = format!("api/trace/at?at_ms={}", s.sim().now_ms() - 100);
    let (status, _) = ask(&mut s, "GET", &recent, None, wall);
    assert_eq!(status, 200);
    let asked = warm_end_ms(&s).expect("built by the question");
    frames_for(&mut s, wall, 2_500.0);
    assert!(
        warm_end_ms(&s).expect("kept") > asked,
        "warming goes on after the question"
    );
}

/// QA: nine servers with 1 ms timers, 392 bytes within every bound a trace has, re-executed for
/// minutes. Held to a wall-clock budget, the move is refused with the reason.
#[test]
fn a_trace_too_busy_to_re_execute_in_time_is_refused() {
    use shared::trace::{Position, Trace};
    let busy = include_str!("../../shared/tests/busy/qa-busy9.json");
    let trace = Trace::from_json(busy).expect("a valid trace");
    let refused = super::history::replayed_within(trace, Position::End, 50.0)
        .err()
        .expect("refused");
    let why = refused.to_string();
    assert!(
        why.contains("re-executing the trace was stopped: it took more than 0.05 s"),
        "{why}"
    );
}
