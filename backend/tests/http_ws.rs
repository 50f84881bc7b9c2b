//! The real server, in-process on a free port with a temp data directory, driven over real
//! sockets: WebSocket viewers (tokio-tungstenite) watch the live cluster while commands go over
//! HTTP (reqwest) or the WebSocket. Owns no production code. Every wait polls a condition with a
//! deadline; nothing sleeps to let time pass. Limits are in `ws_limits.rs`, HTTP error handling
//! in `http_api.rs`.

mod common;

use serde_json::{json, Value};
use shared::protocol::{Event, ServerMessage, SimEvent};
use shared::{NodeId, Role};

use common::*;

#[tokio::test]
async fn hello_carries_a_snapshot_then_the_live_stream_follows_it() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    assert_eq!(v.hello.nodes.len(), 3);
    assert_eq!(v.hello.seed, 7);
    assert_eq!(v.hello.speed, 1.0);
    assert!(!v.hello.paused);
    assert!(v.hello.nodes.iter().all(|n| n.up));
    // The live stream continues the snapshot: a leader gets elected and we see it happen.
    v.read_until("a leader elected", |v| {
        v.events.iter().any(|e| {
            matches!(
                e.event,
                Event::RoleChanged {
                    role: Role::Leader,
                    ..
                }
            )
        }) || leader_of(&v.hello).is_some()
    })
    .await;
    v.read_until("a clock message", |v| v.events.len() > 10)
        .await;
    let mut saw_clock = false;
    while !saw_clock {
        saw_clock = matches!(v.read().await, ServerMessage::Clock { paused: false, .. });
    }
    assert!(
        v.events.first().is_some_and(|e| e.seq > v.hello.seq),
        "events the snapshot covers are not sent again"
    );
    assert_contiguous(&v);
    server.stop().await;
}

#[tokio::test]
async fn append_reaches_every_node_and_commits() {
    let server = TestServer::start(Options::default()).await;
    let (leader, term) = server.leader().await;
    let r = server
        .command(json!({"type": "append", "command": "add 5"}))
        .await;
    let index = r["index"].as_u64().expect("index");
    assert_eq!(r["leader"], leader.get());
    assert!(r["term"].as_u64().unwrap() >= term.get());
    let entry_term = r["term"].as_u64().unwrap();
    eventually("the entry on every node, committed", || async {
        let s = server.cluster().await;
        s.nodes
            .iter()
            .all(|n| {
                n.commit_index >= index
                    && n.log
                        .get(index as usize - 1)
                        .is_some_and(|e| e.term == entry_term && e.command == "add 5")
            })
            .then_some(())
    })
    .await;

    // wait=commit answers only once committed.
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "mul 3"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["committed"], true);
    let index = body["result"]["index"].as_u64().unwrap();
    let s = server.cluster().await;
    assert!(
        s.nodes.iter().any(|n| n.commit_index >= index),
        "committed means some node has commit_index >= {index}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_append_sent_to_a_follower_is_forwarded_and_answered_with_the_leaders_index() {
    let server = TestServer::start(Options::default()).await;
    let (leader, _) = server.leader().await;
    let follower = NodeId::all(3).find(|id| *id != leader).unwrap();
    eventually("the follower to know its leader", || async {
        let s = server.cluster().await;
        (s.nodes[follower.slot()].leader_id == Some(leader)).then_some(())
    })
    .await;
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "set 9", "node": follower}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["leader"], leader.get(), "{body}");
    assert_eq!(body["result"]["committed"], true);
    let index = body["result"]["index"].as_u64().unwrap();
    let s = server.cluster().await;
    let entry = &s.nodes[leader.slot()].log[index as usize - 1];
    assert_eq!(entry.command, "set 9");
    server.stop().await;
}

#[tokio::test]
async fn crashing_the_leader_elects_another_and_a_restarted_node_catches_up() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    let (old_leader, old_term) = server.leader().await;
    let (ok, _, error) = v
        .request(json!({"type": "crash", "node": old_leader}))
        .await;
    assert!(ok, "{error:?}");
    let (new_leader, new_term) = eventually("a new leader", || async {
        let s = server.cluster().await;
        leader_of(&s).filter(|(id, term)| *id != old_leader && *term > old_term)
    })
    .await;
    assert_ne!(new_leader, old_leader);
    assert!(new_term > old_term);

    // The cluster goes on without it.
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "add 2"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let index = body["result"]["index"].as_u64().unwrap();

    let (ok, result, error) = v
        .request(json!({"type": "restart", "node": old_leader}))
        .await;
    assert!(ok, "{error:?}");
    assert!(
        result["message"].as_str().unwrap().contains("restarted"),
        "{result}"
    );
    eventually("the restarted node caught up", || async {
        let s = server.cluster().await;
        let n = &s.nodes[old_leader.slot()];
        (n.up && n.commit_index >= index && n.log.len() as u64 >= index).then_some(())
    })
    .await;
    v.read_until("the crash and the restart in the stream", |v| {
        let crashed = v
            .events
            .iter()
            .any(|e| matches!(e.event, Event::NodeCrashed { node } if node == old_leader));
        let restarted = v
            .events
            .iter()
            .any(|e| matches!(e.event, Event::NodeRestarted { node, .. } if node == old_leader));
        crashed && restarted
    })
    .await;
    assert_contiguous(&v);
    server.stop().await;
}

#[tokio::test]
async fn two_viewers_see_the_same_events_in_the_same_order() {
    let server = TestServer::start(Options::default()).await;
    let mut a = Viewer::connect(&server).await;
    let mut b = Viewer::connect(&server).await;
    server.leader().await;
    for i in 0..3 {
        server
            .command(json!({"type": "append", "command": format!("add {i}")}))
            .await;
    }
    let target = server.cluster().await.seq + 50;
    a.read_until("events up to the target", |v| v.last_seq() >= target)
        .await;
    b.read_until("events up to the target", |v| v.last_seq() >= target)
        .await;
    assert_contiguous(&a);
    assert_contiguous(&b);
    let from = a.hello.seq.max(b.hello.seq) + 1;
    let pick = |v: &Viewer| -> Vec<SimEvent> {
        v.events
            .iter()
            .filter(|e| e.seq >= from && e.seq <= target)
            .cloned()
            .collect()
    };
    let (ea, eb) = (pick(&a), pick(&b));
    assert_eq!(ea.len() as u64, target - from + 1);
    assert_eq!(ea, eb, "both viewers must see identical events");
    server.stop().await;
}

#[tokio::test]
async fn a_viewer_that_falls_behind_gets_a_fresh_snapshot_and_goes_on() {
    // A tiny broadcast buffer and an unpaced run: a viewer that stops reading must lag.
    let server = TestServer::start(Options {
        speed: 0.0,
        broadcast_capacity: 16,
        ..Options::default()
    })
    .await;
    let mut v = Viewer::connect(&server).await;
    let start_seq = v.hello.seq;
    // Don't read while the run produces far more than socket buffers and the broadcast hold.
    eventually("the run to move far ahead", || async {
        let s: Value = server
            .http
            .get(server.url("/api/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (s["seq"].as_u64().unwrap() > start_seq + 300_000).then_some(())
    })
    .await;
    v.read_until("a resync snapshot", |v| !v.snapshots.is_empty())
        .await;
    let resync = v.snapshots[0].clone();
    assert!(
        resync.seq > start_seq + 300_000 / 2,
        "the snapshot is fresh"
    );
    // After the snapshot the stream continues without a gap. Slow the run to real time first:
    // unpaced, a 16-frame buffer can keep a reader on a loaded machine lagging for ever, and this
    // test is about what happens after one resync, not about outrunning the simulator.
    server.command(json!({"type": "speed", "speed": 1.0})).await;
    let before = v.events.len();
    v.read_until("events after the resync", |v| v.events.len() > before + 100)
        .await;
    let after: Vec<u64> = v.events[before..]
        .iter()
        .map(|e| e.seq)
        .filter(|s| *s > resync.seq)
        .collect();
    let latest_snapshot_seq = v.snapshots.last().unwrap().seq;
    if v.snapshots.len() == 1 {
        assert_eq!(
            after.first(),
            Some(&(resync.seq + 1)),
            "continues right after it"
        );
        assert!(after.windows(2).all(|w| w[1] == w[0] + 1), "contiguous");
    } else {
        // It lagged again (possible on a slow machine): each snapshot restarts the count.
        let seqs: Vec<u64> = v.snapshots.iter().map(|s| s.seq).collect();
        assert!(latest_snapshot_seq > resync.seq, "snapshot seqs {seqs:?}");
    }
    // Still a working connection.
    let (ok, _, error) = v.request(json!({"type": "pause"})).await;
    assert!(ok, "{error:?}");
    server.stop().await;
}

#[tokio::test]
async fn pause_step_resume_and_speed_are_reported_to_viewers() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    let (ok, _, _) = v.request(json!({"type": "pause"})).await;
    assert!(ok);
    v.read_until("control_changed(paused)", |v| {
        v.events
            .iter()
            .any(|e| matches!(e.event, Event::ControlChanged { paused: true, .. }))
    })
    .await;
    let before = server.cluster().await;
    assert!(before.paused);
    let (ok, result, _) = v.request(json!({"type": "step"})).await;
    assert!(ok);
    assert!(result["message"]
        .as_str()
        .unwrap()
        .starts_with("stepped to"));
    let after = server.cluster().await;
    assert!(after.paused, "step keeps the run paused");
    assert!(after.seq > before.seq, "a step shows at least one event");
    let (ok, _, error) = v.request(json!({"type": "speed", "speed": 0.5})).await;
    assert!(ok, "{error:?}");
    let (ok, _, _) = v.request(json!({"type": "resume"})).await;
    assert!(ok);
    let s = server.cluster().await;
    assert!(!s.paused);
    assert_eq!(s.speed, 0.5);
    eventually("time to move again", || async {
        (server.cluster().await.time_ms > after.time_ms).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn reset_starts_a_new_cluster_and_viewers_get_its_snapshot() {
    let server = TestServer::start(Options::default()).await;
    let mut v = Viewer::connect(&server).await;
    server.leader().await;
    server
        .command(json!({"type": "append", "command": "add 1"}))
        .await;
    let (ok, result, error) = v
        .request(json!({"type": "reset", "nodes": 5, "seed": 99, "log_model": "state"}))
        .await;
    assert!(ok, "{error:?}");
    assert!(result["message"].as_str().unwrap().contains("5 nodes"));
    v.read_until("the new cluster's snapshot", |v| !v.snapshots.is_empty())
        .await;
    let s = &v.snapshots[0];
    assert_eq!(s.nodes.len(), 5);
    assert_eq!(s.seed, 99);
    assert_eq!(s.log_model, shared::LogModel::State);
    assert!(s
        .nodes
        .iter()
        .all(|n| n.log.is_empty() || n.log[0].command == "no-op"));
    let data = server.dir.path().join("data");
    assert!(data.join("node-5").is_dir());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(data.join("cluster.json")).unwrap()).unwrap();
    assert_eq!(manifest["nodes"], 5);
    assert_eq!(manifest["seed"], 99);
    // Events of the new run follow its snapshot.
    let snap_seq = s.seq;
    v.read_until("new-run events", |v| {
        v.events.iter().any(|e| e.seq == snap_seq + 1)
    })
    .await;
    let c = server.cluster().await;
    assert_eq!(c.nodes.len(), 5);
    server.stop().await;
}

#[tokio::test]
async fn in_the_state_model_a_follower_refuses_and_names_the_leader() {
    let server = TestServer::start(Options::default()).await;
    server
        .command(json!({"type": "reset", "log_model": "state"}))
        .await;
    let (leader, _) = server.leader().await;
    let follower = NodeId::all(3).find(|id| *id != leader).unwrap();
    eventually("the follower to know its leader", || async {
        let s = server.cluster().await;
        (s.nodes[follower.slot()].leader_id == Some(leader)).then_some(())
    })
    .await;
    let (status, body) = server
        .post(
            "",
            json!({"type": "append", "command": "add 1", "node": follower}).to_string(),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains(&format!("try S{leader}")), "{error}");
    server.stop().await;
}

#[tokio::test]
async fn power_loss_keeps_only_synced_entries_and_restart_reads_them_back() {
    let server = TestServer::start(Options::default()).await;
    let (leader, _) = server.leader().await;
    let follower = NodeId::all(3).find(|id| *id != leader).unwrap();
    let (status, body) = server
        .post(
            "?wait=commit",
            json!({"type": "append", "command": "set 4"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let index = body["result"]["index"].as_u64().unwrap();
    eventually("the follower's disk to hold the entry", || async {
        let s = server.cluster().await;
        (s.nodes[follower.slot()].synced_index >= index).then_some(())
    })
    .await;
    let r = server
        .command(json!({"type": "power_loss", "node": follower}))
        .await;
    assert!(r["message"].as_str().unwrap().contains("lost power"));
    let s = server.cluster().await;
    let down = &s.nodes[follower.slot()];
    assert!(!down.up);
    assert!(
        down.log.len() as u64 >= index,
        "synced entries survive a power loss"
    );
    server
        .command(json!({"type": "restart", "node": follower}))
        .await;
    let s = server.cluster().await;
    let n = &s.nodes[follower.slot()];
    assert!(n.up);
    assert_eq!(n.log[index as usize - 1].command, "set 4");
    server.stop().await;
}
