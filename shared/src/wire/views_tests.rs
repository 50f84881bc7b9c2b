//! The snapshot and safety readers against what serde writes: snapshots of seeded faulty runs
//! at many instants and verdicts with a real violation (the classroom's, the replies' and bad
//! snapshots' tests are in views_more_tests.rs).

use std::cell::Cell;
use std::rc::Rc;

use crate::protocol::ServerMessage;
use crate::raft::BrokenRules;
use crate::sim::checker::Checker;
use crate::sim::checker::Violation;
use crate::sim::NetworkSettings;
use crate::{
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
pub(super) fn faulty_run(seed: u64, slow: bool) -> Vec<ClusterSnapshot> {
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
    let mut snapshot = sim.snapshot_window(crate::protocol::LOG_WINDOW);
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
pub(super) fn same_as_serde<T>(text: &str)
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
