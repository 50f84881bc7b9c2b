//! Every trace kept in `shared/tests/traces/` is a regression test: each is re-executed under
//! the safety checker, must reach its end with no violation, and must elect a leader and commit.
//! Owns no production code. Add a trace there (a file from `GET /api/trace`, or written by hand
//! as docs/trace.md shows) and CI runs it.

use std::path::PathBuf;

use shared::trace::{Position, Replay, Trace};

fn traces() -> Vec<(PathBuf, Trace)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/traces");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/traces exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let trace = Trace::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, trace)
        })
        .collect()
}

#[test]
fn every_kept_trace_replays_under_the_checker() {
    let all = traces();
    assert!(all.len() >= 4, "the kept traces are missing");
    for (path, trace) in all {
        let end_ms = trace.end_ms;
        let inputs = trace.inputs.len();
        let mut replay = Replay::new(trace).unwrap().with_checker();
        replay
            .run_to(Position::End)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let summary = replay.summary();
        let name = path.display();
        assert!(summary.violation.is_none(), "{name}:\n{summary}");
        assert_eq!(
            (summary.time_ms, summary.inputs),
            (end_ms, inputs),
            "{name}"
        );
        assert!(!summary.leaders.is_empty(), "{name}: no leader\n{summary}");
        assert!(
            inputs == 0 || summary.commits > 0,
            "{name}: nothing committed\n{summary}"
        );
    }
}

/// The same trace replayed twice gives the same summary (and the same events: see
/// `trace_replay.rs`).
#[test]
fn kept_traces_replay_the_same_every_time() {
    for (path, trace) in traces() {
        let run = |t: Trace| {
            let mut r = Replay::new(t).unwrap().keeping_events();
            r.run_to(Position::End).unwrap();
            serde_json::to_string(r.events()).unwrap()
        };
        assert!(run(trace.clone()) == run(trace), "{}", path.display());
    }
}
