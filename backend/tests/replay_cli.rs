//! `logscope replay` as a person runs it: a kept trace replays with a summary and exit 0; a
//! trace whose disks start in a state Raft can never reach (two logs disagree on an entry of the
//! same index and term) is reported as a violation with exit 1; an unreadable trace exits 2 with
//! the reason; `--until-ms` stops early. Owns no production code.

use std::process::{Command, Output};

fn replay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logscope"))
        .arg("replay")
        .args(args)
        .output()
        .expect("run logscope replay")
}

fn kept(name: &str) -> String {
    format!(
        "{}/../shared/tests/traces/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn a_kept_trace_replays_clean() {
    let out = replay(&[&kept("crash-and-restart.json"), "--check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("nodes: 3"), "{text}");
    assert!(text.contains("virtual time: 5000 ms"), "{text}");
    assert!(text.contains("violations: none"), "{text}");

    let early = replay(&[&kept("crash-and-restart.json"), "--until-ms", "1120"]);
    let text = String::from_utf8_lossy(&early.stdout);
    assert!(text.contains("virtual time: 1120 ms"), "{text}");
    assert!(text.contains("inputs applied: 2"), "{text}");
    assert!(text.contains("not run"), "{text}");
}

#[test]
fn a_violation_exits_1_and_a_bad_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |t: u64, n: i64| {
        serde_json::json!({"index": 1, "term": t, "data": {"kind": "request",
            "command": {"op": "set", "n": n}}})
    };
    let node = |id: u64, n: i64| {
        serde_json::json!({"node": id, "hard_state": {"current_term": 2, "voted_for": 1},
            "log": [entry(1, n)]})
    };
    let mut trace = serde_json::json!({
        "version": 1,
        "config": serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(kept("first-election.json")).unwrap()
        ).unwrap()["config"],
        "start": {"kind": "disk", "nodes": [node(1, 1), node(2, 2), node(3, 3)]},
        "end_ms": 3000
    });
    trace["config"]["nodes"] = 3.into();
    let bad = dir.path().join("impossible.json");
    std::fs::write(&bad, trace.to_string()).unwrap();
    let out = replay(&[bad.to_str().unwrap(), "--check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("VIOLATION: log matching"), "{text}");

    let torn = dir.path().join("torn.json");
    std::fs::write(&torn, "{\"version\":1,\"config\":{").unwrap();
    let out = replay(&[torn.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid logscope trace"));

    // QA: a start disk the core cannot recover from panicked (exit 101) instead.
    let crash = dir.path().join("crash.json");
    let text = include_str!("../../shared/tests/probes/qa-crash-trace.json");
    std::fs::write(&crash, text).unwrap();
    let out = replay(&[crash.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("entry 1 has term 5, above"), "{err}");
}
