//! Traces that must be refused before anything runs, with a sentence saying why: start disks no
//! Raft server could have written (the core would panic recovering from them), runs longer than
//! the bounds, step counts that run past the end. And every probe an outside QA pass sent
//! (`tests/probes/`) is either refused or replays without a panic. Owns no production code.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use shared::sim::SimConfig;
use shared::trace::{NodeDisk, Position, Replay, Start, Trace, END_MS_MAX, END_STEPS_MAX};
use shared::types::{Entry, EntryData, HardState, LogIndex, NodeId, Term};

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index: LogIndex(index),
        term: Term(term),
        data: EntryData::Noop,
    }
}

fn disk(node: u64, term: u64, voted_for: Option<u64>, terms: &[u64]) -> NodeDisk {
    NodeDisk {
        node: NodeId(node),
        hard_state: HardState {
            current_term: Term(term),
            voted_for: voted_for.map(NodeId),
        },
        log: terms
            .iter()
            .enumerate()
            .map(|(i, t)| entry(i as u64 + 1, *t))
            .collect(),
    }
}

fn three_nodes(disks: Vec<NodeDisk>) -> Trace {
    let config = SimConfig {
        nodes: 3,
        ..SimConfig::default()
    };
    let mut trace = Trace::new(config, Start::Disk { nodes: disks });
    trace.end_ms = 1000;
    trace
}

/// The refusal's sentence (the test fails, saying so, when the trace is accepted).
fn refused(trace: &Trace) -> String {
    match Trace::from_json(&trace.to_json()) {
        Ok(_) => panic!("accepted: {}", trace.to_json()),
        Err(e) => e.to_string(),
    }
}

/// QA's crash: S1 at term 1 holding an entry of term 5. Once leader of term 2 it appended an
/// entry of term 2 after it and the core's "log terms must not decrease" killed the server.
#[test]
fn an_entry_above_its_nodes_term_is_refused() {
    let text = include_str!("probes/qa-crash-trace.json");
    let e = Trace::from_json(text).unwrap_err().to_string();
    assert!(
        e.contains("S1's start disk: entry 1 has term 5, above"),
        "{e}"
    );
}

#[test]
fn each_impossible_start_disk_is_refused_with_a_sentence() {
    let cases = [
        (
            vec![disk(1, 3, None, &[2, 1])],
            "terms in a log never decrease",
        ),
        (vec![disk(1, 3, None, &[0])], "has term 0"),
        (vec![disk(1, 2, Some(9), &[])], "voted for S9, but"),
        (vec![disk(1, 0, Some(1), &[])], "in term 0"),
        (
            vec![disk(4, 1, None, &[])],
            "names S4, but the cluster has 3",
        ),
        (vec![disk(0, 1, None, &[])], "names S0"),
        // A term with no room for an election: the first one overflowed (QA's 2026-12-02 probe).
        (vec![disk(1, u64::MAX, None, &[])], "above 4294967295"),
        (
            vec![disk(1, u64::MAX, None, &[u64::MAX])],
            "the highest term a disk may hold",
        ),
        (
            vec![disk(1, 1, None, &[]), disk(1, 1, None, &[])],
            "gives S1 twice",
        ),
    ];
    for (disks, says) in cases {
        let e = refused(&three_nodes(disks));
        assert!(e.contains(says), "expected '{says}' in: {e}");
    }
    // A gap: entry 1 written as index 2.
    let mut gap = three_nodes(vec![disk(1, 2, None, &[1])]);
    let Start::Disk { nodes } = &mut gap.start else {
        unreachable!()
    };
    nodes[0].log[0].index = LogIndex(2);
    assert!(refused(&gap).contains("without gaps"));
    // The last anonymous request number there is: the next one would overflow.
    let text = include_str!("probes/last-anonymous-serial.json");
    let e = Trace::from_json(text).unwrap_err().to_string();
    assert!(e.contains("no request could follow it"), "{e}");
}

/// What a recovered cluster really writes is accepted and replays.
#[test]
fn disks_raft_could_have_written_are_accepted() {
    let trace = three_nodes(vec![
        disk(1, 3, Some(1), &[1, 1, 3]),
        disk(2, 3, Some(1), &[1, 1]),
        disk(3, 2, None, &[1, 1, 2]),
    ]);
    let mut replay = Replay::new(Trace::from_json(&trace.to_json()).unwrap())
        .unwrap()
        .with_checker();
    replay.run_to(Position::End).unwrap();
    assert!(!replay.summary().leaders.is_empty());
}

#[test]
fn runs_past_the_bounds_are_refused() {
    let mut long = Trace::new(SimConfig::default(), Start::Empty);
    long.end_ms = END_MS_MAX + 1;
    assert!(refused(&long).contains("beyond the longest run a trace may hold"));
    long.end_ms = END_MS_MAX;
    Trace::from_json(&long.to_json()).expect("the bound itself is allowed");
    let mut steps = Trace::new(SimConfig::default(), Start::Empty);
    steps.end_ms = 100;
    steps.end_steps = Some(END_STEPS_MAX + 1);
    assert!(refused(&steps).contains("end_steps"));
    let big = include_str!("probes/qa-big1e10.json");
    let e = Trace::from_json(big).unwrap_err().to_string();
    assert!(e.contains("end_ms 10000000000 is beyond"), "{e}");
}

/// QA: `end_ms: 100, end_steps: 3000000` ran the cluster on to 30,000,051 ms. The replay stops
/// at `end_ms` with a sentence instead.
#[test]
fn end_steps_cannot_carry_a_replay_past_end_ms() {
    let text = include_str!("probes/qa-tn_steps.json");
    let trace = Trace::from_json(text).expect("nothing to see without running");
    let mut replay = Replay::new(trace).unwrap();
    let e = replay.run_to(Position::End).unwrap_err().to_string();
    assert!(e.contains("steps had run by 100 ms"), "{e}");
    assert!(replay.sim().now_ms() <= 100, "{}", replay.sim().now_ms());
}

/// Every probe is refused or replays (its first 20 s of virtual time) without a panic.
#[test]
fn no_probe_panics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/probes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/probes exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the probes are missing");
    for path in files {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let trace = Trace::from_json(&text).map_err(|e| e.to_string())?;
            let until = trace.end_ms.min(20_000);
            let mut replay = Replay::new(trace)
                .map_err(|e| e.to_string())?
                .with_checker();
            replay
                .run_to(Position::AtMs(until))
                .map_err(|e| e.to_string())
        }));
        let Ok(result) = outcome else {
            panic!("{} panicked", path.display());
        };
        if let Err(e) = result {
            assert!(!e.is_empty() && !e.contains("panick"), "{}", path.display());
        }
    }
}

/// Seeded random start disks: every one the check accepts replays without a panic, under the
/// checker, through elections and appends (the core asserts Raft's properties as it goes).
#[test]
fn random_accepted_start_disks_never_panic_the_core() {
    let mut rng = shared::Rng::new(7);
    let (mut accepted, mut tried) = (0, 0);
    while accepted < 150 && tried < 20_000 {
        tried += 1;
        let nodes = rng.range_inclusive(1, 5);
        let mut disks = Vec::new();
        for node in 1..=nodes {
            if rng.chance(0.2) {
                continue;
            }
            let term = rng.range_inclusive(0, 4);
            let vote = (term > 0 && rng.chance(0.5)).then(|| rng.range_inclusive(1, nodes));
            let mut terms = Vec::new();
            let mut t = 1;
            for _ in 0..rng.range_inclusive(0, 4) {
                t = rng.range_inclusive(t, term.max(1));
                terms.push(t);
            }
            disks.push(disk(node, term, vote, &terms));
        }
        let config = SimConfig {
            nodes,
            seed: rng.next_u64(),
            ..SimConfig::default()
        };
        let mut trace = Trace::new(config, Start::Disk { nodes: disks });
        trace.end_ms = 3000;
        for (i, at_ms) in [400u64, 900, 1500, 2200].into_iter().enumerate() {
            trace.inputs.push(shared::trace::TracedInput {
                at_ms,
                after_seq: None,
                steps: None,
                input: shared::trace::TraceInput::Append {
                    command: shared::Command::Add(i as i64),
                    node: None,
                    client: None,
                },
            });
        }
        if Trace::from_json(&trace.to_json()).is_err() {
            continue;
        }
        accepted += 1;
        let json = trace.to_json();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut replay = Replay::new(trace).unwrap().with_checker();
            replay.run_to(Position::End).unwrap();
        }));
        assert!(outcome.is_ok(), "panicked: {json}");
    }
    assert!(accepted >= 150, "only {accepted} of {tried} accepted");
}

/// QA: `POST /api/fork {"before_input": 999}` on a run with no inputs made a branch. An instant
/// the run never had is refused (the server, the engine and `GET /api/trace/at` ask this).
#[test]
fn a_fork_names_an_instant_the_run_had() {
    let mut trace = Trace::new(SimConfig::default(), Start::Empty);
    trace.end_ms = 500;
    trace.end_seq = Some(40);
    let e = trace.reaches(Position::BeforeInput(999)).unwrap_err();
    assert_eq!(e, "there is no input 999: this run has had no input yet");
    trace.inputs.push(shared::trace::TracedInput {
        at_ms: 100,
        after_seq: None,
        steps: None,
        input: shared::trace::TraceInput::Heal,
    });
    assert!(trace.reaches(Position::BeforeInput(0)).is_ok());
    let e = trace.reaches(Position::BeforeInput(1)).unwrap_err();
    assert!(
        e.contains("this run has 1 (before_input counts from 0 to 0)"),
        "{e}"
    );
    assert!(trace.reaches(Position::Seq(40)).is_ok());
    let e = trace.reaches(Position::Seq(41)).unwrap_err();
    assert_eq!(e, "there is no event 41: this run has reached event 40");
    assert!(
        trace.reaches(Position::AtMs(u64::MAX)).is_ok(),
        "a time is clamped"
    );
}

/// A trace that does not say how many steps its run took is held to a step budget
/// (`END_STEPS_MAX`, 20 million, about ten seconds of CPU): QA's busy hand-written traces could
/// otherwise make 12 virtual hours cost minutes. Here with a small budget.
#[test]
fn a_trace_without_end_steps_is_held_to_the_step_budget() {
    let mut trace = Trace::new(SimConfig::default(), Start::Empty);
    trace.end_ms = 60_000;
    let mut replay = Replay::new(trace.clone()).unwrap().with_steps_max(1_000);
    let e = replay.run_to(Position::End).unwrap_err().to_string();
    assert!(
        e.contains("its run takes more than 1000 steps before"),
        "{e}"
    );
    assert_eq!(replay.sim().stats().steps, 1_000);
    // A trace that gives its steps is held to them instead (a recorded run says).
    let mut whole = Replay::new(trace).unwrap();
    whole.run_to(Position::End).unwrap();
    let mut recorded = whole.trace().clone();
    recorded.end_steps = Some(whole.sim().stats().steps);
    let mut again = Replay::new(recorded).unwrap().with_steps_max(1_000);
    again
        .run_to(Position::End)
        .expect("its own count is its bound");
    assert_eq!(END_STEPS_MAX, 20_000_000);
}
