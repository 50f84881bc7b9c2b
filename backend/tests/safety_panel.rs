//! The live safety panel over HTTP: the snapshot carries the checker's verdict, `break_rules`
//! switches a rule off, a staged scenario breaks election safety live (the run pauses and the
//! verdict names the invariant, the nodes and the input to rewind to), and forking to before
//! that input brings back a run where everything holds. Owns no production code. Waits poll a
//! condition with a deadline.

mod common;

use common::{eventually, Options, TestServer};
use serde_json::json;
use shared::{NodeId, Role};

/// S1 leads term 1 with S3's vote; S1 and S2 cannot talk; S1's AppendEntries never reach S3.
const SETUP: &str = include_str!("../../e2e/fixtures/vote-twice-setup.json");

#[tokio::test]
async fn a_broken_rule_turns_the_panel_red_pauses_and_a_fork_rewinds() {
    let server = TestServer::start(Options::default()).await;
    let safety = server
        .cluster()
        .await
        .safety
        .expect("the server fills in safety");
    assert!(safety.violation.is_none() && safety.invariants.iter().all(|r| r.holds));
    assert_eq!(safety.invariants.len(), 6, "{safety:?}");

    let (status, body) = server.post_to("/api/trace", SETUP.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let s = server.cluster().await;
    assert_eq!(s.nodes[0].role, Role::Leader, "the setup elects S1");

    server
        .command(json!({"type": "break_rules", "rules": {"forget_vote_on_restart": true}}))
        .await;
    let safety = server.cluster().await.safety.unwrap();
    assert!(safety.broken_rules.forget_vote_on_restart && safety.violation.is_none());

    server.command(json!({"type": "crash", "node": 3})).await;
    server.command(json!({"type": "restart", "node": 3})).await;
    server.command(json!({"type": "timeout", "node": 2})).await;
    let (snapshot, v) = eventually("the violation", || async {
        let s = server.cluster().await;
        let v = s.safety.as_ref()?.violation.clone()?;
        Some((s, v))
    })
    .await;
    assert_eq!(v.invariant, "election safety", "{v:?}");
    assert!(
        v.nodes.contains(&NodeId(1)) && v.nodes.contains(&NodeId(2)),
        "{v:?}"
    );
    assert_eq!(v.input.as_deref(), Some("timeout S2"), "{v:?}");
    assert!(snapshot.paused, "the run pauses at a violation");
    let row = snapshot.safety.unwrap().invariants;
    assert!(row.iter().any(|r| r.name == "election safety" && !r.holds));

    let before = v.before_input.expect("an input led there");
    let (status, body) = server
        .post_to("/api/fork", json!({ "before_input": before }).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    let safety = server.cluster().await.safety.unwrap();
    assert!(safety.violation.is_none(), "{safety:?}");
    assert!(
        safety.broken_rules.forget_vote_on_restart,
        "the switch is part of the run"
    );
    server.stop().await;
}
