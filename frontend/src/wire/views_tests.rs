//! The snapshot, safety, classroom and reply readers against what serde writes: snapshots of
//! seeded faulty runs at many instants, verdicts with a real violation, every highlight, replies
//! of every shape, and bad input refused as serde refuses it.

use std::cell::Cell;
use std::rc::Rc;

use shared::protocol::{ClientCommand, ClientRequest, ServerMessage};
use shared::raft::BrokenRules;
use shared::sim::checker::Checker;
use shared::sim::checker::Violation;
use shared::sim::NetworkSettings;
use shared::{
    Command, Entry, HardState, LogIndex, MemStorage, NodeId, Rng, Role, Sim, SimConfig, Storage,
    StorageError,
};

use super::*;
use crate::wire::{read, reads_back};

// ----- Faulty runs -----

/// What a node's disk does on its next write (the test flips it to make a storage fail).
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    Io,
    Corrupt,
}

/// MemStorage whose operations fail while its switch is set: a full or a damaged disk.
struct FlakyStorage {
    inner: MemStorage,
    fault: Rc<Cell<Fault>>,
}

impl FlakyStorage {
    fn check(&self) -> Result<(), StorageError> {
        match self.fault.get() {
            Fault::None => Ok(()),
            Fault::Io => Err(StorageError::Io("no space left on device".into())),
            Fault::Corrupt => Err(StorageError::Corrupt("record 3 fails its checksum".into())),
        }
    }
}

impl Storage for FlakyStorage {
    fn load(&mut self) -> Result<(HardState, Vec<Entry>), StorageError> {
        self.check()?;
        self.inner.load()
    }
    fn set_hard_state(&mut self, hard_state: HardState) -> Result<(), StorageError> {
        self.check()?;
        self.inner.set_hard_state(hard_state)
    }
    fn truncate_from(&mut self, index: LogIndex) -> Result<(), StorageError> {
        self.check()?;
        self.inner.truncate_from(index)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), StorageError> {
        self.check()?;
        self.inner.append(entries)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        self.check()?;
        self.inner.sync()
    }
    fn last_index(&self) -> LogIndex {
        self.inner.last_index()
    }
    fn synced_index(&self) -> LogIndex {
        self.inner.synced_index()
    }
    fn power_loss(&mut self) -> Result<(), StorageError> {
        self.check()?;
        self.inner.power_loss()
    }
}

const NODES: u64 = 5;

/// Snapshots of one seeded run of about three virtual seconds with client load, crashes, power
/// losses, partitions, cut links, lossy and duplicating links and failing disks: one after each
/// input, whole or windowed (a window of 3, so `log_first_index` is past 1), with the speed and
/// pause a driver would fill in. A slow network (`slow`) also gives the config's warnings.
fn faulty_run(seed: u64, slow: bool) -> Vec<ClusterSnapshot> {
    let latency_ms_max = if slow { 120 } else { 30 };
    let config = SimConfig {
        nodes: NODES,
        seed,
        network: NetworkSettings {
            latency_ms_min: 2,
            latency_ms_max,
            loss_probability: 0.1,
            duplicate_probability: 0.1,
        },
        ..SimConfig::default()
    };
    let faults: Vec<Rc<Cell<Fault>>> = (0..NODES)
        .map(|_| Rc::new(Cell::new(Fault::None)))
        .collect();
    let mut sim = Sim::with_storage(config, |id| FlakyStorage {
        inner: MemStorage::new(),
        fault: faults[id.slot()].clone(),
    })
    .expect("a valid config");
    let mut rng = Rng::new(seed);
    let mut snapshots = Vec::new();
    for step in 0..60_u64 {
        sim.run_for(rng.range_inclusive(10, 90));
        let node = NodeId(rng.range_inclusive(1, NODES));
        // Refused inputs (crashing a node that is down…) are fine: the run goes on.
        match rng.range_inclusive(0, 11) {
            0..=3 => {
                let command =
                    [Command::Add(3), Command::Mul(-2), Command::Set(7)][step as usize % 3];
                let _ = sim.propose(None, command);
            }
            4 => {
                let _ = sim.crash(node);
            }
            5 | 6 => {
                // A disk is sometimes still damaged when its node restarts: it fails again.
                if rng.chance(0.7) {
                    faults[node.slot()].set(Fault::None);
                }
                let _ = sim.restart(node);
            }
            7 => {
                let (a, b): (Vec<NodeId>, Vec<NodeId>) =
                    NodeId::all(NODES).partition(|_| rng.chance(0.5));
                let _ = sim.partition(vec![a, b]);
            }
            8 => {
                let other = NodeId(rng.range_inclusive(1, NODES));
                let _ = sim.cut(node, other);
            }
            9 => sim.heal(),
            10 => {
                let fault = if rng.chance(0.5) {
                    Fault::Io
                } else {
                    Fault::Corrupt
                };
                faults[node.slot()].set(fault);
            }
            _ => {
                let _ = sim.power_loss(node);
            }
        }
        let mut snapshot = if step.is_multiple_of(2) {
            sim.snapshot()
        } else {
            sim.snapshot_window(3)
        };
        snapshot.speed = [0.0, 0.01, 1.0, 0.125][step as usize % 4];
        snapshot.paused = step.is_multiple_of(3);
        snapshots.push(snapshot);
    }
    snapshots
}

/// Every part of `snapshot` reads back on its own too, so that each part's fields are removed
/// in turn as well (`reads_back` removes only the top level's).
fn parts_read_back(snapshot: &ClusterSnapshot) {
    reads_back(&snapshot.timing);
    reads_back(&snapshot.network);
    for node in &snapshot.nodes {
        reads_back(node);
        for entry in &node.log {
            reads_back(entry);
        }
        for progress in node.progress.values() {
            reads_back(progress);
        }
        if let Some(failure) = &node.storage_failure {
            reads_back(failure);
        }
    }
    for message in &snapshot.messages {
        reads_back(message);
    }
    if let Some(safety) = &snapshot.safety {
        reads_back(safety);
    }
}

#[test]
fn snapshots_of_faulty_runs_read_back() {
    let mut seen = Seen::default();
    for (seed, slow) in [(11, false), (12, true), (13, false)] {
        for snapshot in faulty_run(seed, slow) {
            reads_back(&snapshot);
            parts_read_back(&snapshot);
            seen.note(&snapshot);
        }
    }
    // The runs did show what the readers must handle (else this test proves little).
    seen.assert_everything();
}

/// What the snapshots of the faulty runs held, to check they covered every case.
#[derive(Default, Debug)]
struct Seen {
    in_flight: bool,
    leader_progress: bool,
    candidate_votes: bool,
    down: bool,
    storage_io: bool,
    storage_corrupt: bool,
    partition: bool,
    cut_link: bool,
    window_past_one: bool,
    warnings: bool,
    requests_in_logs: bool,
}

impl Seen {
    fn note(&mut self, s: &ClusterSnapshot) {
        self.in_flight |= !s.messages.is_empty();
        self.partition |= !s.network.partitions.is_empty();
        self.cut_link |= !s.network.cut_links.is_empty();
        self.warnings |= !s.warnings.is_empty();
        for n in &s.nodes {
            self.leader_progress |= !n.progress.is_empty();
            self.candidate_votes |= !n.votes.is_empty();
            self.down |= !n.up;
            let kind = n.storage_failure.as_ref().map(|f| f.kind.as_str());
            self.storage_io |= kind == Some("io");
            self.storage_corrupt |= kind == Some("corrupt");
            self.window_past_one |= n.log_first_index > LogIndex(1);
            self.requests_in_logs |= n.log.iter().any(|e| e.data.command().is_some());
        }
    }

    fn assert_everything(&self) {
        let all = [
            self.in_flight,
            self.leader_progress,
            self.candidate_votes,
            self.down,
            self.storage_io,
            self.storage_corrupt,
            self.partition,
            self.cut_link,
            self.window_past_one,
            self.warnings,
            self.requests_in_logs,
        ];
        assert!(all.iter().all(|&b| b), "{self:?}");
    }
}

// ----- Safety -----

/// The "break Raft" lab's shortest story (shared/tests/broken_rules.rs, `vote_twice`): with
/// `forget_vote_on_restart`, S3 votes twice in term 1 and two leaders share it. Returns the
/// snapshot carrying the checker's verdict as the server builds it, violation included.
fn violated_snapshot() -> ClusterSnapshot {
    let rules = BrokenRules {
        forget_vote_on_restart: true,
        ..BrokenRules::default()
    };
    let config = SimConfig {
        nodes: 3,
        seed: 7,
        timing: Timing {
            election_timeout_ms_min: 30_000,
            election_timeout_ms_max: 40_000,
            ..Timing::default()
        },
        network: NetworkSettings {
            latency_ms_min: 5,
            latency_ms_max: 5,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
        },
        broken_rules: rules,
        ..SimConfig::default()
    };
    let mut sim: Sim = Sim::new(config).expect("valid");
    let mut checker = Checker::new();
    let (s1, s2, s3) = (NodeId(1), NodeId(2), NodeId(3));
    // S1 and S2 cannot talk; S1 wins term 1 with S3's vote; its entries never reach S3; S3
    // restarts (forgetting its vote) and S2 asks for term 1's vote. Every input and every step
    // is checked, as the server checks them, and the first violation ends the story.
    let leads =
        |id: NodeId| move |sim: &Sim| sim.node(id).is_some_and(|r| r.role() == Role::Leader);
    let never = |_: &Sim| false;
    sim.cut(s1, s2).unwrap();
    sim.cut(s2, s1).unwrap();
    sim.force_timeout(s1).unwrap();
    let mut found = run_checked(&mut sim, &mut checker, 100, leads(s1));
    // At once, before S1's first AppendEntries reaches S3: S3's log stays as empty as S2's.
    sim.cut(s1, s3).unwrap();
    found = found.or_else(|| run_checked(&mut sim, &mut checker, 50, never));
    sim.crash(s3).unwrap();
    sim.restart(s3).unwrap();
    sim.force_timeout(s2).unwrap();
    found = found.or_else(|| run_checked(&mut sim, &mut checker, 100, never));
    let v = found.expect("forgetting the vote leads to two leaders in term 1");
    let mut violation = SafetyViolation::from_checker(&v, sim.last_seq());
    // The rewinding point, as the server adds it from its list of inputs (`Sim` keeps none).
    violation.before_input = Some(4);
    violation.input = Some("restart S3".to_string());
    let mut safety = SafetyView::holding(rules, sim.last_seq());
    safety.violated(violation);
    let mut snapshot = sim.snapshot_window(shared::protocol::LOG_WINDOW);
    snapshot.safety = Some(safety);
    snapshot.paused = true;
    snapshot
}

/// Check what happened so far, then step until `done` holds or `ms` of virtual time passed,
/// checking every step; the first violation found, if any.
fn run_checked(
    sim: &mut Sim,
    checker: &mut Checker,
    ms: u64,
    done: impl Fn(&Sim) -> bool,
) -> Option<Violation> {
    let end = sim.now_ms() + ms;
    loop {
        let events = sim.take_events();
        if let Err(v) = checker.observe(&*sim, &events) {
            return Some(v);
        }
        if done(sim) {
            return None;
        }
        if sim.next_event_time().is_none_or(|t| t > end) {
            sim.run_until(end);
            return None;
        }
        sim.step();
    }
}

#[test]
fn safety_verdicts_read_back_holding_and_violated() {
    let snapshot = violated_snapshot();
    let safety = snapshot.safety.clone().expect("filled in");
    let violation = safety.violation.clone().expect("found");
    assert_eq!(violation.invariant, "election safety");
    assert!(safety.invariants.iter().any(|row| !row.holds));
    reads_back(&snapshot);
    parts_read_back(&snapshot);
    reads_back(&violation);
    for row in &safety.invariants {
        reads_back(row);
    }
    // Without the rewinding point (a verdict the engine builds), and holding, with every
    // combination of rules broken.
    reads_back(&SafetyViolation {
        before_input: None,
        input: None,
        ..violation
    });
    for bits in 0..16_u8 {
        let rules = BrokenRules {
            commit_old_term_by_counting: bits & 1 != 0,
            vote_without_log_check: bits & 2 != 0,
            forget_vote_on_restart: bits & 4 != 0,
            ack_before_fsync: bits & 8 != 0,
        };
        reads_back(&rules);
        reads_back(&SafetyView::holding(rules, u64::from(bits)));
    }
    // Messages as the server sends them, read by the page's parts (`ServerMessage` is not ours).
    let text = serde_json::to_string(&ServerMessage::Safety {
        safety: safety.clone(),
    })
    .unwrap();
    let json = crate::wire::parse(&text).unwrap();
    assert_eq!(
        SafetyView::from_json(json.get("safety").unwrap()),
        Ok(safety)
    );
}

#[test]
fn broken_rules_are_read_as_serde_reads_them() {
    // `default`: any switch may be left out; `deny_unknown_fields`: a typo is refused.
    for text in [
        "{}",
        r#"{"ack_before_fsync":true}"#,
        r#"{"vote_without_log_check":false,"forget_vote_on_restart":true}"#,
        r#"{"ack_before_fsycn":true}"#,
        r#"{"ack_before_fsync":null}"#,
        r#"{"ack_before_fsync":1}"#,
        "true",
    ] {
        same_as_serde::<BrokenRules>(text);
    }
    assert_eq!(
        read::<BrokenRules>(r#"{"ack_before_fsycn":true}"#).unwrap_err(),
        "unknown field `ack_before_fsycn`, expected one of `commit_old_term_by_counting`, \
         `vote_without_log_check`, `forget_vote_on_restart`, `ack_before_fsync`"
    );
    // Inside a verdict, left out: no rule broken.
    let verdict: SafetyView = read(r#"{"invariants":[],"checked_seq":4}"#).unwrap();
    assert_eq!(verdict.broken_rules, BrokenRules::default());
}

/// `text` reads with our reader exactly when it reads with serde's, to the same value.
fn same_as_serde<T>(text: &str)
where
    T: serde::de::DeserializeOwned + FromJson + PartialEq + std::fmt::Debug,
{
    let ours = read::<T>(text);
    let serdes = serde_json::from_str::<T>(text);
    match (&ours, &serdes) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{text}: ours {ours:?}, serde's {serdes:?}"),
    }
}

// ----- The classroom -----

#[test]
fn connection_roles_have_serde_s_names() {
    // Exhaustive: a new role is a compile error here until `ALL` (and this test) has it.
    let position = |role: ConnectionRole| match role {
        ConnectionRole::Presenter => 0,
        ConnectionRole::Viewer => 1,
    };
    assert_eq!(ConnectionRole::ALL.len(), ConnectionRole::NAMES.len());
    for (i, role) in ConnectionRole::ALL.iter().enumerate() {
        assert_eq!(position(*role), i);
        let written = serde_json::to_string(role).unwrap();
        assert_eq!(written, format!("\"{}\"", ConnectionRole::NAMES[i]));
        reads_back(role);
    }
    assert_eq!(
        read::<ConnectionRole>(r#""teacher""#).unwrap_err(),
        "unknown variant `teacher`, expected one of `presenter`, `viewer`"
    );
}

fn highlights() -> [Highlight; 5] {
    [
        Highlight::Node { node: NodeId(2) },
        Highlight::Entry { index: LogIndex(9) },
        Highlight::NodeEntry {
            node: NodeId(3),
            index: LogIndex(4),
        },
        Highlight::Message { message: 17 },
        Highlight::Link {
            a: NodeId(1),
            b: NodeId(5),
        },
    ]
}

#[test]
fn presenter_views_read_back_with_each_highlight() {
    reads_back(&PresenterView::default());
    for (i, highlight) in highlights().into_iter().enumerate() {
        reads_back(&highlight);
        let i = i as u64;
        let view = PresenterView {
            selected_node: i.is_multiple_of(2).then_some(NodeId(i + 1)),
            selected_message: (i % 2 == 1).then_some(100 + i),
            highlight: Some(highlight),
            presenter_layout: i.is_multiple_of(3),
            scrub_seq: (i > 1).then_some(40 + i),
            scrub_ms: (i > 2).then_some(1_500 + i),
        };
        reads_back(&view);
        // As relayed inside a `presenter_view` server message (its fields beside `type`).
        let text = serde_json::to_string(&ServerMessage::PresenterView(view.clone())).unwrap();
        assert_eq!(read::<PresenterView>(&text), Ok(view.clone()));
        // And as the presenter's request, beside `request_id`.
        let request = ClientRequest {
            request_id: 9,
            command: ClientCommand::PresenterView(view.clone()),
        };
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(read::<PresenterView>(&text), Ok(view));
    }
}

#[test]
fn bad_highlights_are_refused_as_shared_s_reader_refuses_them() {
    let texts = [
        r#"{"kind":"node","node":4,"from_a_newer_page":true}"#,
        r#"{"kind":"link","a":1}"#,
        r#"{"kind":"link","a":1,"b":null}"#,
        r#"{"kind":"glow"}"#,
        r#"{"node":1}"#,
        r#"{"kind":3,"node":1}"#,
        "7",
        r#"{"kind":"node","node":"two"}"#,
        r#"{"kind":"node","node":1,"index":"x"}"#,
        r#"{"kind":"entry","index":2,"a":-1}"#,
        r#"{"kind":"node_entry","node":1}"#,
        r#"{"kind":"message","message":null}"#,
    ];
    for text in texts {
        same_as_serde::<Highlight>(text);
    }
    let error = |text: &str| read::<Highlight>(text).unwrap_err();
    assert_eq!(error(r#"{"kind":"link","a":1}"#), "missing field `b`");
    assert_eq!(error(r#"{"node":1}"#), "missing field `kind`");
    assert_eq!(
        error(r#"{"kind":"glow"}"#),
        "unknown variant `glow`, expected one of `node`, `entry`, `node_entry`, `message`, `link`"
    );
    assert_eq!(
        error("7"),
        "invalid type: a number, expected a highlight (a JSON object with its `kind`)"
    );
}

#[test]
fn predictions_read_back_asked_and_revealed() {
    let asked = PredictionView {
        question: 3,
        text: "Who wins the election of term 4?".into(),
        choices: vec!["S1".into(), "S2".into(), "nobody: a split vote".into()],
        open: true,
        answer: None,
        why: None,
        tally: Some(Tally {
            counts: vec![1, 0, 4],
            answered: 5,
            viewers: 25,
        }),
    };
    let revealed = PredictionView {
        open: false,
        answer: Some(2),
        why: Some("They timed out together.".into()),
        ..asked.clone()
    };
    let viewers = PredictionView {
        tally: None,
        ..asked.clone()
    };
    for p in [&asked, &revealed, &viewers] {
        reads_back(p);
    }
    reads_back(&Tally::default());
    reads_back(&asked.tally.clone().unwrap());
    assert_eq!(
        read::<PredictionView>(r#"{"question":1,"text":"?","open":true}"#).unwrap_err(),
        "missing field `choices`"
    );
    same_as_serde::<Tally>(r#"{"counts":[1],"answered":1}"#);
    same_as_serde::<Tally>(r#"{"counts":[-1],"answered":1,"viewers":2}"#);
}

// ----- Replies -----

#[test]
fn replies_read_back_ok_and_error() {
    let replies = [
        Reply {
            request_id: 1,
            outcome: Ok(CommandOk::default()),
        },
        Reply {
            request_id: 2,
            outcome: Ok(CommandOk::appended(
                NodeId(3),
                LogIndex(12),
                shared::Term(4),
                Some(true),
            )),
        },
        Reply {
            request_id: 3,
            outcome: Ok(CommandOk::appended(
                NodeId(1),
                LogIndex(2),
                shared::Term(1),
                None,
            )),
        },
        Reply {
            request_id: 4,
            outcome: Ok(CommandOk::duplicate(
                NodeId(2),
                LogIndex(7),
                shared::Term(3),
            )),
        },
        Reply {
            request_id: u64::MAX,
            outcome: Err("S9 is down".into()),
        },
        Reply {
            request_id: 0,
            outcome: Err(String::new()),
        },
    ];
    for reply in &replies {
        reads_back(reply);
        if let Ok(ok) = &reply.outcome {
            reads_back(ok);
        }
        // As the server sends it: `{"type":"reply", …}`, the reply's fields beside `type`.
        let text = serde_json::to_string(&ServerMessage::Reply(reply.clone())).unwrap();
        assert_eq!(read::<Reply>(&text).as_ref(), Ok(reply));
    }
}

#[test]
fn every_shape_of_reply_is_taken_or_refused_as_reply_wire_does() {
    // Every combination of `ok`, `result` and `error` (absent, null or given): ours and serde's
    // `TryFrom<ReplyWire>` agree on each, with the same sentence when refused.
    for ok in ["", r#","ok":true"#, r#","ok":false"#] {
        for result in ["", r#","result":null"#, r#","result":{"index":4}"#] {
            for error in ["", r#","error":null"#, r#","error":"S2 is down""#] {
                let text = format!(r#"{{"request_id":5{ok}{result}{error}}}"#);
                same_as_serde::<Reply>(&text);
                if let (Err(ours), Err(serdes)) =
                    (read::<Reply>(&text), serde_json::from_str::<Reply>(&text))
                {
                    assert!(
                        serdes.to_string().starts_with(&ours),
                        "{text}: {ours} / {serdes}"
                    );
                }
            }
        }
    }
    assert_eq!(
        read::<Reply>(r#"{"request_id":4,"ok":true,"error":"x"}"#).unwrap_err(),
        "a reply with ok=true must carry no error"
    );
    assert_eq!(
        read::<Reply>(r#"{"request_id":4,"ok":false,"result":{},"error":"x"}"#).unwrap_err(),
        "a reply with ok=false must carry an error and no result"
    );
    assert_eq!(
        read::<Reply>(r#"{"ok":true}"#).unwrap_err(),
        "missing field `request_id`"
    );
}

// ----- Bad snapshots -----

#[test]
fn bad_snapshots_are_refused_with_a_sentence() {
    let snapshot = faulty_run(21, false).pop().expect("a snapshot");
    let good = serde_json::to_value(&snapshot).unwrap();
    // One change at a time, each refused by serde too.
    let mut cases: Vec<(serde_json::Value, &str)> = Vec::new();
    let mut bad = good.clone();
    bad["log_model"] = "paper".into();
    cases.push((
        bad,
        "log_model: unknown variant `paper`, expected one of `command`, `state`",
    ));
    let mut bad = good.clone();
    bad["nodes"][0].as_object_mut().unwrap().remove("role");
    cases.push((bad, "nodes: [0]: missing field `role`"));
    let mut bad = good.clone();
    bad["nodes"][0]["role"] = "king".into();
    cases.push((
        bad,
        "nodes: [0]: role: unknown variant `king`, expected one of `follower`, `candidate`, \
         `leader`",
    ));
    let mut bad = good.clone();
    bad["nodes"][1].as_object_mut().unwrap().remove("progress");
    cases.push((bad, "nodes: [1]: missing field `progress`"));
    let mut bad = good.clone();
    bad["nodes"][1]["progress"] = serde_json::json!({"two": {"next_index": 1, "match_index": 0}});
    cases.push((bad, "nodes: [1]: progress: invalid node id `two`"));
    let mut bad = good.clone();
    bad["network"]["cut_links"] = serde_json::json!([[1, 2, 3]]);
    cases.push((
        bad,
        "network: cut_links: [0]: invalid length 3, expected an array of length 2",
    ));
    let mut bad = good.clone();
    bad["timing"].as_object_mut().unwrap().remove("fsync_ms");
    cases.push((bad, "timing: missing field `fsync_ms`"));
    let mut bad = good.clone();
    bad["safety"] = serde_json::json!({"invariants": [], "checked_seq": 1,
        "broken_rules": {"ack_before_fsink": true}});
    cases.push((
        bad,
        "safety: broken_rules: unknown field `ack_before_fsink`, expected one of \
         `commit_old_term_by_counting`, `vote_without_log_check`, `forget_vote_on_restart`, \
         `ack_before_fsync`",
    ));
    for (bad, sentence) in cases {
        let text = bad.to_string();
        assert!(
            serde_json::from_str::<ClusterSnapshot>(&text).is_err(),
            "{sentence}"
        );
        assert_eq!(read::<ClusterSnapshot>(&text).unwrap_err(), sentence);
    }
    // A message in flight needs one (the run has some at its end).
    let mut bad = good.clone();
    let messages = bad["messages"].as_array_mut().unwrap();
    assert!(
        !messages.is_empty(),
        "messages in flight at the end of the run"
    );
    messages[0]["kind"] = "Gossip".into();
    let error = read::<ClusterSnapshot>(&bad.to_string()).unwrap_err();
    assert!(
        error.starts_with("messages: [0]: kind: unknown variant `Gossip`"),
        "{error}"
    );
    assert_eq!(
        read::<ClusterSnapshot>("[]").unwrap_err(),
        "invalid type: an array, expected a cluster snapshot"
    );
}
