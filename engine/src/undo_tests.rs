//! Undo in the browser's run, driven natively as in `history_tests`: right after a fork
//! ("Resume from here") or a reset it brings back the run that was left, without keeping the
//! forked run (a prefix of it) as one more branch; after an action, or after a lesson's move, it
//! steps back over inputs as it always did. The same rule as the server's (`shared::trace::undo`).

use serde_json::{json, Value};
use shared::trace::TracedInput;
use shared::NodeId;

use super::history_tests::{ask, command, frames_for, recorded_run, up};
use super::Session;

/// Where the live run stands: virtual time, last event and inputs.
fn stands(s: &Session) -> (u64, u64, Vec<TracedInput>) {
    (
        s.sim().now_ms(),
        s.sim().last_seq(),
        s.sim().inputs().to_vec(),
    )
}

fn branch_ids(s: &mut Session, wall: f64) -> Vec<u64> {
    let (status, list) = ask(s, "GET", "api/trace/branches", None, wall);
    assert_eq!(status, 200, "{list}");
    let list = list["result"].as_array().expect("a list").clone();
    list.iter().map(|b| b["id"].as_u64().unwrap()).collect()
}

fn message(reply: &Value) -> &str {
    reply["result"]["message"].as_str().unwrap_or_default()
}

/// A run with two actions: the leader's crash (`recorded_run`), then another server's, some
/// time later; returns the session, the wall clock, the two servers and the instant between.
fn run_with_two_crashes() -> (Session, f64, NodeId, NodeId, u64) {
    let (mut s, wall, leader) = recorded_run();
    // Just before the second crash (a fork to its very instant would keep it).
    let between = s.sim().now_ms() - 1;
    let other = NodeId(leader.0 % 5 + 1);
    command(&mut s, wall, json!({"type": "crash", "node": other.0}));
    let wall = frames_for(&mut s, wall, 1_000.0);
    (s, wall, leader, other, between)
}

#[test]
fn undo_right_after_a_fork_brings_back_the_run_left_without_a_new_branch() {
    let (mut s, wall, leader, other, between) = run_with_two_crashes();
    let before = stands(&s);
    let before_nodes = s.snapshot().nodes;

    let body = format!(r#"{{"at_ms": {between}}}"#);
    let (status, fork) = ask(&mut s, "POST", "api/fork", Some(&body), wall);
    assert_eq!(status, 200, "{fork}");
    let left = fork["result"]["branch_id"].as_u64().unwrap();
    assert!(up(&s, other), "forked before the second crash");
    // The forked run goes on idle a while, and is paused: no action.
    let wall = frames_for(&mut s, wall, 500.0);
    command(&mut s, wall, json!({"type": "pause"}));
    let after_fork = branch_ids(&mut s, wall);

    let (status, undo) = ask(&mut s, "POST", "api/undo", None, wall);
    assert_eq!(status, 200, "{undo}");
    assert!(
        message(&undo).starts_with("undid the fork: back to the run you left, at t="),
        "{undo}"
    );
    assert!(message(&undo).contains("not kept as a branch"), "{undo}");
    assert_eq!(undo["result"]["branch_id"], left, "{undo}");
    assert_eq!(
        stands(&s),
        before,
        "time, seq and inputs as before the fork"
    );
    assert_eq!(s.snapshot().nodes, before_nodes);
    assert!(!up(&s, leader) && !up(&s, other), "both crashes are back");
    assert_eq!(
        branch_ids(&mut s, wall),
        after_fork,
        "the forked run, a prefix of the run left, is not kept as a branch"
    );

    // Undo again steps back over the last action, as after any undo.
    let (status, undo) = ask(&mut s, "POST", "api/undo", None, wall);
    assert_eq!(status, 200, "{undo}");
    assert!(message(&undo).starts_with("undid the last input"), "{undo}");
    assert!(up(&s, other), "the second crash is taken back");
    assert!(!up(&s, leader));
}

#[test]
fn undo_after_a_fork_and_a_new_action_takes_the_action_back() {
    let (mut s, wall, leader, other, between) = run_with_two_crashes();
    let before = stands(&s);
    let body = format!(r#"{{"at_ms": {between}}}"#);
    let (status, fork) = ask(&mut s, "POST", "api/fork", Some(&body), wall);
    assert_eq!(status, 200, "{fork}");
    let forked = s.sim().inputs().to_vec();
    let wall = frames_for(&mut s, wall, 200.0);
    let third = NodeId(other.0 % 5 + 1);
    assert_ne!(third, leader);
    command(&mut s, wall, json!({"type": "crash", "node": third.0}));
    let branches = branch_ids(&mut s, wall);

    let (status, undo) = ask(&mut s, "POST", "api/undo", None, wall);
    assert_eq!(status, 200, "{undo}");
    assert!(message(&undo).starts_with("undid the last input"), "{undo}");
    assert!(up(&s, third), "the new crash is taken back");
    assert!(up(&s, other), "still the forked run");
    assert_eq!(s.sim().inputs(), forked);
    assert!(stands(&s).0 < before.0, "not the run the fork left");
    let mut grown = branches;
    grown.push(undo["result"]["branch_id"].as_u64().unwrap());
    assert_eq!(
        branch_ids(&mut s, wall),
        grown,
        "the undone run is a branch"
    );
}

/// A reset is undone too: the old cluster comes back, and the new one (another size, so not a
/// prefix of the old) is kept as a branch.
#[test]
fn undo_right_after_a_reset_brings_back_the_old_cluster() {
    let (mut s, wall, leader) = recorded_run();
    let before = stands(&s);
    command(
        &mut s,
        wall,
        json!({"type": "reset", "nodes": 3, "seed": 4, "log_model": "command"}),
    );
    assert_eq!(s.sim().config().nodes, 3);
    let (status, undo) = ask(&mut s, "POST", "api/undo", None, wall);
    assert_eq!(status, 200, "{undo}");
    assert!(
        message(&undo).starts_with("undid the reset: back to the run you left"),
        "{undo}"
    );
    assert!(
        message(&undo).contains("the new cluster is kept as branch"),
        "{undo}"
    );
    assert_eq!(s.sim().config().nodes, 5);
    assert_eq!(stands(&s), before);
    assert!(!up(&s, leader));
}

/// A lesson's move replaces the run without setting it aside (as the server's lessons do not
/// let Undo take them back): Undo then does not bring back the run before the fork made earlier.
#[test]
fn a_lesson_move_after_a_fork_is_not_undone_as_the_fork() {
    let (mut s, wall, _, _, between) = run_with_two_crashes();
    let body = format!(r#"{{"at_ms": {between}}}"#);
    let (status, fork) = ask(&mut s, "POST", "api/fork", Some(&body), wall);
    assert_eq!(status, 200, "{fork}");
    let (opened, _) = s.api("POST", "api/lessons/first-election/open", None, wall);
    assert_eq!(opened.status, 200, "{}", opened.body);
    let (_, undo) = ask(&mut s, "POST", "api/undo", None, wall);
    assert!(!message(&undo).contains("undid the fork"), "{undo}");
}

#[test]
fn nothing_to_undo_is_a_conflict_as_on_the_server() {
    let mut s = Session::new(shared::SimConfig::default(), 0.0).expect("a valid cluster");
    let wall = frames_for(&mut s, 0.0, 200.0);
    let (status, refusal) = ask(&mut s, "POST", "api/undo", None, wall);
    // 409, as `POST /api/undo` answers on the server: the request is fine, the run has nothing.
    assert_eq!(status, 409, "{refusal}");
    assert_eq!(refusal["ok"], Value::Bool(false));
}

#[test]
fn runs_in_which_nobody_did_anything_are_kept_one_at_a_time() {
    let (mut s, wall, _) = recorded_run();
    for seed in [21, 22, 23] {
        command(
            &mut s,
            wall,
            json!({"type": "reset", "nodes": 3, "seed": seed}),
        );
    }
    assert_eq!(
        branch_seeds(&mut s, wall),
        vec![9, 22],
        "the recorded run, and the newest empty one"
    );
    // Undo brings back the empty seed-22 run and keeps the seed-23 one it leaves, in its place.
    let (status, _) = ask(&mut s, "POST", "api/undo", None, wall);
    assert_eq!(status, 200);
    assert_eq!(s.sim().trace().config.seed, 22);
    assert_eq!(branch_seeds(&mut s, wall), vec![9, 23]);
}

/// The seeds of the branch list, oldest first.
fn branch_seeds(s: &mut Session, wall: f64) -> Vec<u64> {
    let (status, list) = ask(s, "GET", "api/trace/branches", None, wall);
    assert_eq!(status, 200, "{list}");
    let list = list["result"].as_array().expect("a list").clone();
    list.iter().map(|b| b["seed"].as_u64().unwrap()).collect()
}
