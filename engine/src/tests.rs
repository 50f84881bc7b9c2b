//! The browser engine's session, driven natively with a fake wall clock: what the page hears for
//! each command, in the order the server sends it.

use shared::protocol::{ClientCommand, ClientRequest, Event, ServerMessage, SimEvent};
use shared::sim::SimConfig;
use shared::{LogIndex, NodeId};

use super::{Saved, Session, CLOCK_INTERVAL_MS, FRAME_INTERVAL_MS};

/// A session and its wall clock, with everything it has sent.
struct Page {
    session: Session,
    wall: f64,
    heard: Vec<ServerMessage>,
    next_id: u64,
}

impl Page {
    fn new(seed: u64) -> Page {
        let config = SimConfig {
            seed,
            ..SimConfig::default()
        };
        Page::around(Session::new(config, 0.0).expect("a valid cluster"))
    }

    fn around(mut session: Session) -> Page {
        let hello = session.hello();
        Page {
            session,
            wall: 0.0,
            heard: vec![hello],
            next_id: 1,
        }
    }

    /// Let `wall_ms` of wall time pass, frame by frame.
    fn run(&mut self, wall_ms: f64) {
        let end = self.wall + wall_ms;
        while self.wall < end {
            self.wall += FRAME_INTERVAL_MS;
            let out = self.session.tick(self.wall);
            self.heard.extend(out);
        }
    }

    /// Run until `done` holds of the session (at most `wall_ms`); panics otherwise.
    fn run_until(&mut self, wall_ms: f64, done: impl Fn(&Session) -> bool) {
        let end = self.wall + wall_ms;
        while !done(&self.session) {
            assert!(self.wall < end, "still waiting after {wall_ms} wall ms");
            self.run(FRAME_INTERVAL_MS);
        }
    }

    /// Send a command; returns its request id and what came back at once.
    fn send(&mut self, command: ClientCommand) -> (u64, Vec<ServerMessage>) {
        let request_id = self.next_id;
        self.next_id += 1;
        let out = self.session.request(
            ClientRequest {
                request_id,
                command,
            },
            self.wall,
        );
        self.heard.extend(out.clone());
        (request_id, out)
    }

    fn reply(&self, request_id: u64) -> Option<Result<shared::protocol::CommandOk, String>> {
        self.heard.iter().find_map(|m| match m {
            ServerMessage::Reply(r) if r.request_id == request_id => Some(r.outcome.clone()),
            _ => None,
        })
    }

    fn events(&self) -> Vec<&SimEvent> {
        self.heard
            .iter()
            .flat_map(|m| match m {
                ServerMessage::Events { events } => events.iter().collect(),
                _ => Vec::new(),
            })
            .collect()
    }
}

fn leader(s: &Session) -> Option<NodeId> {
    s.sim().leader()
}

fn fast() -> ClientCommand {
    ClientCommand::Speed { speed: 1.0 }
}

#[test]
fn the_page_hears_a_hello_then_numbered_events_and_clocks() {
    let mut page = Page::new(7);
    let ServerMessage::Hello { snapshot, .. } = &page.heard[0] else {
        panic!("the first message is a hello");
    };
    assert_eq!(snapshot.nodes.len(), 5);
    let start_seq = snapshot.seq;
    page.send(fast());
    page.run_until(5_000.0, |s| leader(s).is_some());
    let seqs: Vec<u64> = page.events().iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs[0],
        start_seq + 1,
        "the stream starts right after the hello"
    );
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap, no repeat"
    );
    assert!(page
        .events()
        .iter()
        .any(|e| matches!(e.event, Event::RoleChanged { .. })));
    let clocks = page
        .heard
        .iter()
        .filter(|m| matches!(m, ServerMessage::Clock { .. }))
        .count();
    let expected = (page.wall / CLOCK_INTERVAL_MS) as usize;
    assert!(
        clocks + 2 >= expected && clocks <= expected + 2,
        "{clocks} clocks"
    );
}

#[test]
fn an_append_is_answered_after_its_events_and_then_commits() {
    let mut page = Page::new(3);
    page.send(fast());
    page.run_until(5_000.0, |s| leader(s).is_some());
    let (id, out) = page.send(ClientCommand::Append {
        command: "add 5".into(),
        node: None,
        client_id: None,
        serial: None,
    });
    let last = out.last().expect("a reply");
    assert!(matches!(last, ServerMessage::Reply(r) if r.request_id == id));
    assert!(
        matches!(&out[0], ServerMessage::Events { .. }),
        "the append's events come before its reply"
    );
    let ok = page.reply(id).expect("answered").expect("accepted");
    let index = ok.index.expect("an index");
    let l = ok.leader.expect("the leader");
    page.run_until(2_000.0, |s| {
        s.sim().node(l).is_some_and(|n| n.commit_index() >= index)
    });
    let bad = page.send(ClientCommand::Append {
        command: "add five".into(),
        node: None,
        client_id: None,
        serial: None,
    });
    let err = page.reply(bad.0).expect("answered").unwrap_err();
    assert_eq!(err, "\"five\" is not a whole number");
}

#[test]
fn an_append_sent_to_a_follower_is_answered_once_the_leader_takes_it() {
    let mut page = Page::new(11);
    page.send(fast());
    page.run_until(5_000.0, |s| leader(s).is_some());
    let l = leader(&page.session).unwrap();
    let follower = NodeId(if l.get() == 1 { 2 } else { 1 });
    let (id, out) = page.send(ClientCommand::Append {
        command: "add 1".into(),
        node: Some(follower),
        client_id: None,
        serial: None,
    });
    assert!(!out.iter().any(|m| matches!(m, ServerMessage::Reply(_))));
    page.run(1_000.0);
    let ok = page.reply(id).expect("answered").expect("accepted");
    assert_eq!(ok.leader, Some(l));
}

#[test]
fn crashing_the_leader_elects_another_and_restart_brings_it_back() {
    let mut page = Page::new(5);
    page.send(fast());
    page.run_until(5_000.0, |s| leader(s).is_some());
    let old = leader(&page.session).unwrap();
    let (id, _) = page.send(ClientCommand::Crash { node: old });
    assert!(page.reply(id).unwrap().is_ok());
    page.run_until(5_000.0, |s| leader(s).is_some_and(|l| l != old));
    let (id, _) = page.send(ClientCommand::Crash { node: old });
    assert!(page.reply(id).unwrap().is_err(), "a down node cannot crash");
    let (id, _) = page.send(ClientCommand::Restart { node: old });
    assert!(page.reply(id).unwrap().is_ok());
    assert!(page.session.sim().is_up(old));
}

#[test]
fn pause_stops_time_step_moves_it_and_a_bad_speed_is_refused() {
    let mut page = Page::new(9);
    let (_, out) = page.send(ClientCommand::Pause);
    assert!(out
        .iter()
        .any(|m| matches!(m, ServerMessage::Clock { paused: true, .. })));
    let before = page.session.sim().now_ms();
    let seen = page.events().len();
    page.run(1_000.0);
    assert_eq!(page.session.sim().now_ms(), before);
    assert_eq!(page.events().len(), seen, "nothing happens while paused");
    let (id, _) = page.send(ClientCommand::Step);
    assert!(page
        .reply(id)
        .unwrap()
        .unwrap()
        .message
        .unwrap()
        .starts_with("stepped to"));
    assert!(
        page.events().len() > seen,
        "a step shows at least one event"
    );
    let (id, _) = page.send(ClientCommand::Speed { speed: 7.0 });
    assert!(page
        .reply(id)
        .unwrap()
        .unwrap_err()
        .contains("speed must be"));
    let (id, _) = page.send(ClientCommand::Resume);
    assert!(page.reply(id).unwrap().is_ok());
    assert!(!page.session.paused());
}

#[test]
fn partitions_cuts_and_drops_go_to_the_simulator() {
    let mut page = Page::new(13);
    page.send(fast());
    page.run_until(5_000.0, |s| s.sim().messages_in_flight().next().is_some());
    let (id, _) = page.send(ClientCommand::Partition {
        groups: vec![vec![NodeId(1), NodeId(2)]],
    });
    assert!(page.reply(id).unwrap().is_ok());
    assert!(!page.session.snapshot().network.partitions.is_empty());
    let (id, _) = page.send(ClientCommand::Cut {
        from: NodeId(3),
        to: NodeId(4),
    });
    assert!(page.reply(id).unwrap().is_ok());
    let (id, _) = page.send(ClientCommand::Heal);
    assert!(page.reply(id).unwrap().is_ok());
    assert!(page.session.snapshot().network.partitions.is_empty());
    page.run_until(5_000.0, |s| s.sim().messages_in_flight().next().is_some());
    let msg = page.session.sim().messages_in_flight().next().unwrap().id;
    let (id, _) = page.send(ClientCommand::DropMessage { id: msg });
    assert!(page.reply(id).unwrap().is_ok());
    let (id, _) = page.send(ClientCommand::DropMessage { id: msg });
    assert!(page.reply(id).unwrap().is_err(), "it is gone");
}

#[test]
fn reset_sends_a_new_snapshot_before_its_reply() {
    let mut page = Page::new(17);
    page.send(fast());
    page.run(2_000.0);
    let (id, out) = page.send(ClientCommand::Reset {
        nodes: Some(3),
        seed: Some(4),
        log_model: None,
        election_timeout_ms_min: None,
        election_timeout_ms_max: None,
        heartbeat_interval_ms: None,
        default_settings: false,
    });
    let at = |f: &dyn Fn(&ServerMessage) -> bool| out.iter().position(f).expect("sent");
    let snap = at(&|m| matches!(m, ServerMessage::Snapshot { .. }));
    let reply = at(&|m| matches!(m, ServerMessage::Reply(r) if r.request_id == id));
    assert!(snap < reply);
    let ServerMessage::Snapshot { snapshot, .. } = &out[snap] else {
        unreachable!()
    };
    assert_eq!(snapshot.nodes.len(), 3);
    assert_eq!(page.session.run(), 2);
    let (id, _) = page.send(ClientCommand::Reset {
        nodes: Some(99),
        seed: None,
        log_model: None,
        election_timeout_ms_min: None,
        election_timeout_ms_max: None,
        heartbeat_interval_ms: None,
        default_settings: false,
    });
    assert!(page.reply(id).unwrap().is_err());
}

#[test]
fn a_reload_recovers_what_was_synced_and_power_loss_loses_the_rest() {
    let mut page = Page::new(21);
    page.send(fast());
    page.run_until(5_000.0, |s| leader(s).is_some());
    for i in 0..3 {
        page.send(ClientCommand::Append {
            command: format!("add {i}"),
            node: None,
            client_id: None,
            serial: None,
        });
    }
    let l = leader(&page.session).unwrap();
    page.run_until(3_000.0, |s| {
        s.sim()
            .node(l)
            .is_some_and(|n| n.commit_index() >= LogIndex(4))
    });
    // A request the leader has written but not synced yet is lost with its power.
    page.send(ClientCommand::Pause);
    page.send(ClientCommand::Append {
        command: "add 100".into(),
        node: None,
        client_id: None,
        serial: None,
    });
    let written = page.session.sim().storage(l).unwrap().entries().len();
    let saved = Saved::from_json(&page.session.saved().to_json()).expect("readable");
    let disk = saved.nodes.iter().find(|d| d.node == l).unwrap();
    assert!(disk.log.len() < written, "the unsynced tail is not saved");
    assert!(disk.log.len() >= 4);

    let mut again = Page::around(Session::recover(&saved, 0.0).expect("recovers"));
    let ServerMessage::Hello { snapshot, .. } = &again.heard[0] else {
        panic!("a hello")
    };
    let node = snapshot.nodes.iter().find(|n| n.id == l).unwrap();
    assert_eq!(node.log_len.get() as usize, disk.log.len());
    assert!(snapshot.nodes.iter().all(|n| n.up));
    again.send(fast());
    again.run_until(5_000.0, |s| {
        s.sim()
            .node_ids()
            .any(|id| s.sim().node(id).unwrap().commit_index() >= LogIndex(4))
    });
    assert!(Saved::from_json("{\"version\":99}").is_none());
}

#[test]
fn a_sandbox_forked_from_a_recorded_run_is_that_run_at_the_instant_asked() {
    // The class's run: an election, an append, a crash.
    let mut class = Page::new(21);
    class.send(fast());
    class.run_until(5_000.0, |s| leader(s).is_some());
    class.send(ClientCommand::Append {
        command: "add 5".into(),
        node: None,
        client_id: None,
        serial: None,
    });
    class.run(400.0);
    let (middle_ms, middle) = (class.session.sim().now_ms(), class.session.snapshot());
    let old_leader = leader(&class.session).expect("a leader");
    // (An input at `middle_ms` itself would belong to that instant: the crash comes later.)
    class.run(100.0);
    class.send(ClientCommand::Crash { node: old_leader });
    class.run_until(10_000.0, |s| leader(s).is_some_and(|l| l != old_leader));
    let trace = class.session.sim().trace().to_json();

    // At the end: the same cluster, paused, its own from now on.
    let end = Session::fork(&trace, None, 0.0).expect("a sandbox at the end");
    assert!(end.paused(), "a sandbox starts paused");
    assert_eq!(end.sim().now_ms(), class.session.sim().now_ms());
    assert_eq!(end.snapshot().nodes, class.session.snapshot().nodes);

    // In the middle: the cluster as the class saw it then (before the crash).
    let mut sandbox = Page::around(Session::fork(&trace, Some(middle_ms), 0.0).expect("a fork"));
    assert_eq!(sandbox.session.snapshot().nodes, middle.nodes);
    assert_eq!(leader(&sandbox.session), Some(old_leader));
    // It runs on by itself: resuming and appending work, and touch nothing of the class's run.
    sandbox.send(ClientCommand::Resume);
    sandbox.send(fast());
    let (id, _) = sandbox.send(ClientCommand::Append {
        command: "add 7".into(),
        node: None,
        client_id: None,
        serial: None,
    });
    sandbox.run(1_000.0);
    assert!(
        sandbox.reply(id).is_some_and(|r| r.is_ok()),
        "the append is taken"
    );
}

#[test]
fn a_damaged_trace_gives_no_sandbox_but_says_why() {
    let error = Session::fork("{\"version\": 1, \"config\": 7}", None, 0.0)
        .err()
        .expect("refused");
    assert!(error.contains("trace"), "{error}");
    assert!(Session::fork("not json", None, 0.0).is_err());
}
