//! The lesson endpoints in-process: the list, opening a built-in lesson (the live cluster is its
//! run at the first pause point, paused), reveal and next and back moving the cluster to the
//! staged instants, a teacher's bad file refused with its line, and every WebSocket connection
//! hearing of each lesson change (a close included, which sends no snapshot). Owns no
//! production code.

mod common;

use common::{Options, TestServer, Viewer, DEADLINE};
use serde_json::Value;
use shared::lesson;
use shared::protocol::ServerMessage;
use shared::trace::{Position, Replay};

async fn get(s: &TestServer, path: &str) -> (u16, Value) {
    let r = s.http.get(s.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn post(s: &TestServer, path: &str, body: &str) -> (u16, Value) {
    let r = s
        .http
        .post(s.url(path))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_lesson_opens_paused_at_its_question_and_reveal_runs_to_the_staged_outcome() {
    let s = TestServer::start(Options::default()).await;
    let (status, list) = get(&s, "/api/lessons").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), lesson::BUILTIN.len());
    assert!(names.contains(&"first-election"));

    let staged =
        lesson::stage(&lesson::parse(lesson::builtin("first-election").unwrap()).unwrap()).unwrap();
    let (status, v) = post(&s, "/api/lessons/first-election/open", "").await;
    assert_eq!(status, 200, "{v}");
    let v = &v["result"];
    assert_eq!(v["kind"], "ask");
    assert_eq!(
        v["question"]["answer"],
        Value::Null,
        "no answer before the reveal"
    );
    assert_eq!(v["question"]["choices"][0], "S1");
    let live = s.cluster().await;
    assert!(live.paused, "a lesson opens paused");
    assert_eq!(live.time_ms, staged.stops[0].at_ms);

    let (status, v) = post(&s, "/api/lesson/reveal", "").await;
    assert_eq!(status, 200, "{v}");
    let v = &v["result"];
    assert_eq!(v["kind"], "shown");
    assert_eq!(v["question"]["answer"], 0);
    assert!(v["question"]["why"].as_str().unwrap().contains("S1"));
    let stop = staged.stops[1];
    let mut replay = Replay::new(staged.trace_to(&stop)).unwrap();
    replay.run_to(Position::End).unwrap();
    let live = s.cluster().await;
    assert_eq!(live.time_ms, stop.at_ms);
    assert_eq!(
        live.nodes,
        replay.sim().snapshot().nodes,
        "the live run is the staged one"
    );

    // Nothing to reveal at a shown stop; next goes on, back comes back.
    assert_eq!(post(&s, "/api/lesson/reveal", "").await.0, 409);
    let (status, v) = post(&s, "/api/lesson/next", "").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["step"], 1);
    assert_eq!(
        post(&s, "/api/lesson/next", "").await.0,
        409,
        "the last step"
    );
    let (status, v) = post(&s, "/api/lesson/back", "").await;
    assert_eq!((status, &v["result"]["stop"]), (200, &Value::from(1)));
    assert_eq!(s.cluster().await.time_ms, stop.at_ms);
    let (_, v) = get(&s, "/api/lesson").await;
    assert_eq!(v["result"]["stop"], 1);
    assert_eq!(post(&s, "/api/lesson/close", "").await.1["result"], true);
    assert_eq!(get(&s, "/api/lesson").await.1["result"], Value::Null);
    assert_eq!(post(&s, "/api/lesson/next", "").await.0, 404);
    s.stop().await;
}

#[tokio::test]
async fn a_teachers_file_is_opened_or_refused_with_its_line() {
    let s = TestServer::start(Options::default()).await;
    let bad = "title Mine\nnodes 3\n\nstep One\ncrsh S1\n";
    let (status, v) = post(&s, "/api/lesson", bad).await;
    assert_eq!(status, 400, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(e.starts_with("line 5: unknown command 'crsh'"), "{e}");
    assert_eq!(get(&s, "/api/lesson").await.1["result"], Value::Null);
    // QA: this froze the whole server (SIGTERM included) while it staged the lesson.
    let endless = include_str!("../../shared/tests/probes/qa-inf.lesson");
    let (status, v) = post(&s, "/api/lesson", endless).await;
    assert_eq!(status, 400, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.starts_with("line 3: run 18446744073709551615 ms is longer"),
        "{e}"
    );

    let good = "title Mine\nnodes 3\nseed 4\n\nstep One\nsay Watch.\nrun until leader elected\n";
    let (status, v) = post(&s, "/api/lesson", good).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["name"], "uploaded");
    assert_eq!(v["result"]["caption"], "Watch.");
    assert!(s.cluster().await.paused);
    assert_eq!(post(&s, "/api/lessons/nope/open", "").await.0, 404);
    s.stop().await;
}

/// Read until the `lesson_changed` notice comes; true if a snapshot came on the way.
async fn hear_lesson_change(page: &mut Viewer) -> bool {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut snapshot = false;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no lesson_changed notice"
        );
        match page.read().await {
            ServerMessage::LessonChanged => return snapshot,
            ServerMessage::Snapshot { .. } => snapshot = true,
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_connected_page_hears_of_a_lesson_change_even_a_close() {
    let s = TestServer::start(Options::default()).await;
    let mut first = Viewer::connect(&s).await;
    let (status, v) = post(&s, "/api/lessons/first-election/open", "").await;
    assert_eq!(status, 200, "{v}");
    hear_lesson_change(&mut first).await;
    // A page that joins now learns where the lesson stands from GET /api/lesson after its
    // hello; the notices it hears are the changes from then on.
    let mut second = Viewer::connect(&s).await;
    assert_eq!(post(&s, "/api/lesson/reveal", "").await.0, 200);
    hear_lesson_change(&mut second).await;
    hear_lesson_change(&mut first).await;

    // Closing leaves the cluster where it is (no snapshot), yet both pages hear of it, and the
    // lesson they then read is none.
    assert_eq!(post(&s, "/api/lesson/close", "").await.1["result"], true);
    assert!(
        !hear_lesson_change(&mut second).await,
        "a close sends no snapshot"
    );
    assert_eq!(get(&s, "/api/lesson").await.1["result"], Value::Null);
    hear_lesson_change(&mut first).await;
    s.stop().await;
}

/// Every page hears why the run was replaced (`moved` on the `Snapshot`), so one that did not
/// ask tells a loaded trace from the same run taken back; a lesson's stop carries none (the
/// lesson tells it).
#[tokio::test]
async fn every_page_hears_why_the_run_was_replaced_but_not_for_a_lesson_stop() {
    use shared::trace::answers::Reason;
    let s = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&s).await;
    let trace = get(&s, "/api/trace").await.1;
    let mut seen = 0;
    for (path, body, why) in [
        (
            "/api/fork",
            r#"{"at_ms": 0}"#.to_string(),
            Some(Reason::Fork),
        ),
        ("/api/trace", trace.to_string(), Some(Reason::Loaded)),
        ("/api/lessons/first-election/open", String::new(), None),
    ] {
        let (status, answer) = post(&s, path, &body).await;
        assert_eq!(status, 200, "{path}: {answer}");
        seen += 1;
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while v.moves.len() < seen {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no snapshot after {path}"
            );
            v.read().await;
        }
        assert_eq!(v.moves[seen - 1], why, "{path}");
    }
}

/// A lecturer's own run outlives a lesson: each of a lesson's stops nobody acted in takes the
/// place of the last such stop in the branch list, instead of filling it (20 branches) and
/// pushing out the runs people made. A stop somebody acted in is kept like any run.
#[tokio::test]
async fn a_lessons_stops_do_not_push_the_lecturers_run_out_of_the_branches() {
    let s = TestServer::start(Options::default()).await;
    s.leader().await;
    s.command(serde_json::json!({"type": "crash", "node": 2}))
        .await;
    for name in ["first-election", "leader-crash", "catch-up"] {
        let (status, v) = post(&s, &format!("/api/lessons/{name}/open"), "").await;
        assert_eq!(status, 200, "{name}: {v}");
        // Every stop of the lesson, then back and forth once.
        for path in ["reveal", "next", "reveal", "next", "back", "next"] {
            post(&s, &format!("/api/lesson/{path}"), "").await;
        }
        post(&s, "/api/lesson/close", "").await;
    }
    let kept = kept_crashes(&s).await;
    assert!(
        kept.iter().any(|c| c == &[2]),
        "the lecturer's run is kept: {kept:?}"
    );
    assert!(
        kept.len() <= 2,
        "the lecturer's run and the last lesson stop only: {kept:?}"
    );
    // Acting in a stop keeps it beside the others.
    post(&s, "/api/lessons/first-election/open", "").await;
    s.command(serde_json::json!({"type": "crash", "node": 3}))
        .await;
    post(&s, "/api/lesson/reveal", "").await;
    let kept = kept_crashes(&s).await;
    assert!(kept.iter().any(|c| c == &[2]), "{kept:?}");
    assert!(kept.iter().any(|c| c.contains(&3)), "{kept:?}");
    s.stop().await;
}

/// The servers crashed in each kept branch, one list per branch.
async fn kept_crashes(s: &TestServer) -> Vec<Vec<u64>> {
    let list = get(s, "/api/trace/branches").await.1["result"].clone();
    let mut kept = Vec::new();
    for branch in list.as_array().unwrap() {
        let id = branch["id"].as_u64().unwrap();
        let trace = get(s, &format!("/api/trace/branches/{id}")).await.1;
        let inputs = trace["inputs"].as_array().cloned().unwrap_or_default();
        kept.push(
            inputs
                .iter()
                .filter(|i| i["input"]["type"] == "crash")
                .filter_map(|i| i["input"]["node"].as_u64())
                .collect(),
        );
    }
    kept
}
