//! The trace's readers against serde: traces recorded from seeded faulty runs (from empty disks
//! and from the disks a first run left, with inputs of every kind) and every input built by
//! hand read back, and `read_trace` (`Trace::from_json`) accepts and refuses what serde did.

use crate::raft::BrokenRules;
use crate::trace::{node_disk, Recorded};
use crate::{
    ClientSerial, Command, Entry, EntryData, LogIndex, LogModel, MemStorage, NodeId, Rng, Sim, Term,
};

use super::*;
use crate::wire::{read, reads_back};

/// The position of `input`'s variant in the enum. Exhaustive on purpose: a new variant fails to
/// compile here until the tests below build it (by hand and in recorded runs).
fn variant(input: &TraceInput) -> usize {
    match input {
        TraceInput::Append { .. } => 0,
        TraceInput::Crash { .. } => 1,
        TraceInput::Restart { .. } => 2,
        TraceInput::PowerLoss { .. } => 3,
        TraceInput::Timeout { .. } => 4,
        TraceInput::Partition { .. } => 5,
        TraceInput::Cut { .. } => 6,
        TraceInput::Uncut { .. } => 7,
        TraceInput::Isolate { .. } => 8,
        TraceInput::Heal => 9,
        TraceInput::Network { .. } => 10,
        TraceInput::DropMessage { .. } => 11,
        TraceInput::AlignTimers => 12,
        TraceInput::SpreadTimers => 13,
        TraceInput::BreakRules { .. } => 14,
        TraceInput::Control { .. } => 15,
    }
}

/// An input of the variant `kind` (as numbered by [`variant`]), its fields drawn from `rng`
/// for a cluster of `nodes`; `in_flight` is a message to drop, if any.
fn input_of_kind(kind: usize, rng: &mut Rng, nodes: u64, in_flight: Option<u64>) -> TraceInput {
    let node = |rng: &mut Rng| NodeId(rng.range_inclusive(1, nodes));
    let maybe = |rng: &mut Rng, n: u64| rng.chance(0.5).then_some(n);
    match kind {
        0 => TraceInput::Append {
            command: ["add 1", "add rand", "mul -2", "set 7"][rng.range_inclusive(0, 3) as usize]
                .parse()
                .unwrap(),
            node: rng.chance(0.5).then(|| node(rng)),
            client: rng.chance(0.5).then(|| ClientSerial {
                client_id: rng.range_inclusive(1, 3),
                serial: rng.range_inclusive(1, 4),
            }),
        },
        1 => TraceInput::Crash { node: node(rng) },
        2 => TraceInput::Restart { node: node(rng) },
        3 => TraceInput::PowerLoss { node: node(rng) },
        4 => TraceInput::Timeout { node: node(rng) },
        5 => TraceInput::Partition {
            groups: vec![NodeId::all(nodes).filter(|_| rng.chance(0.5)).collect()],
        },
        6 => TraceInput::Cut {
            from: node(rng),
            to: node(rng),
        },
        7 => TraceInput::Uncut {
            from: node(rng),
            to: node(rng),
        },
        8 => TraceInput::Isolate { node: node(rng) },
        9 => TraceInput::Heal,
        10 => {
            let latency_max = rng.range_inclusive(2, 40);
            TraceInput::Network {
                loss_probability: rng
                    .chance(0.5)
                    .then(|| rng.range_inclusive(0, 30) as f64 / 100.0),
                duplicate_probability: rng.chance(0.5).then_some(0.05),
                latency_ms_min: maybe(rng, 1),
                latency_ms_max: maybe(rng, latency_max),
            }
        }
        // A message in flight, or one that is not (refused, and recorded all the same).
        11 => TraceInput::DropMessage {
            id: in_flight.filter(|_| rng.chance(0.8)).unwrap_or(999_999),
        },
        12 => TraceInput::AlignTimers,
        13 => TraceInput::SpreadTimers,
        14 => TraceInput::BreakRules {
            rules: BrokenRules {
                commit_old_term_by_counting: rng.chance(0.5),
                vote_without_log_check: rng.chance(0.5),
                forget_vote_on_restart: rng.chance(0.5),
                ack_before_fsync: rng.chance(0.5),
            },
        },
        _ => TraceInput::Control {
            paused: rng.chance(0.5),
            speed: [0.0, 0.01, 0.25, 1.0][rng.range_inclusive(0, 3) as usize],
        },
    }
}

/// A run recorded as the server and the engine record one (`Recorded`, over a simulator
/// started from `start`): time moves on by paced frames and single steps, an input of each
/// kind in turn lands between, and the run is left with whatever it did. Returns the trace
/// and the simulator (whose disks a later run may start from).
fn recorded_run(case: u64, start: Start, config: SimConfig) -> (Trace, Recorded<MemStorage>) {
    let mut rng = Rng::new(case ^ 0x5EED);
    let sim = Sim::with_storage(config.clone(), |id| start.storage_for(id)).unwrap();
    let mut live = Recorded::new(sim, Trace::new(config, start));
    for i in 0..40 {
        if rng.chance(0.5) {
            let t = live.now_ms() + rng.range_inclusive(0, 200);
            live.run_until(t);
        } else {
            for _ in 0..rng.range_inclusive(1, 30) {
                live.step();
            }
        }
        let nodes = live.config().nodes;
        let in_flight = live.messages_in_flight().next().map(|m| m.id);
        let input = input_of_kind(i % 16, &mut rng, nodes, in_flight);
        // Refused inputs are recorded too (see `crate::trace::apply`).
        let _ = live.input(input);
        live.take_events();
    }
    live.run_until(live.now_ms() + 300);
    (live.trace(), live)
}

/// A faulty cluster: lossy, duplicating, of varying size, some with rules broken on purpose.
fn config_for(case: u64) -> SimConfig {
    let mut config = SimConfig {
        nodes: 1 + case % 7,
        seed: case,
        log_model: if case.is_multiple_of(2) {
            LogModel::Command
        } else {
            LogModel::State
        },
        ..SimConfig::default()
    };
    config.network.loss_probability = 0.05;
    config.network.duplicate_probability = 0.03;
    config.network.latency_ms_max = 5 + case * 3;
    if case.is_multiple_of(3) {
        config.broken_rules.ack_before_fsync = true;
        config.broken_rules.forget_vote_on_restart = true;
    }
    config
}

/// What every part of `trace` must do: read back as serde writes it, as a whole and part by
/// part, and the text read by ours and by serde (and by `read_trace` and serde's reference)
/// give equal traces.
fn check_trace(trace: &Trace) {
    reads_back(trace);
    reads_back(&trace.config);
    reads_back(&trace.config.network);
    reads_back(&trace.start);
    if let Start::Disk { nodes } = &trace.start {
        for disk in nodes {
            reads_back(disk);
            reads_back(&disk.hard_state);
        }
    }
    for input in &trace.inputs {
        reads_back(input);
        reads_back(&input.input);
    }
    let text = trace.to_json();
    let serdes: Trace = serde_json::from_str(&text).unwrap();
    assert_eq!(read::<Trace>(&text).as_ref(), Ok(&serdes));
    let checked = serde_reference(&text).expect("a recorded trace is valid");
    assert_eq!(read_trace(&text), Ok(checked));
}

#[test]
fn recorded_traces_read_back_from_empty_and_from_disk() {
    let mut kinds = [false; INPUT_TYPES.len()];
    let mut disk_starts = 0;
    for case in 0..12 {
        let config = config_for(case);
        let (first, sim) = recorded_run(case, Start::Empty, config.clone());
        check_trace(&first);
        // A second run from the disks the first left, as a server recovered from its files
        // (or the engine from the browser's storage) records it.
        let disks: Vec<_> = NodeId::all(config.nodes)
            .map(|id| {
                let mut storage = sim.storage(id).unwrap().clone();
                node_disk(id, &mut storage).unwrap()
            })
            .collect();
        if disks.iter().any(|d| !d.log.is_empty()) {
            disk_starts += 1;
        }
        let (second, _) = recorded_run(case + 100, Start::Disk { nodes: disks }, config);
        check_trace(&second);
        for input in first.inputs.iter().chain(&second.inputs) {
            kinds[variant(&input.input)] = true;
            let written = serde_json::to_value(&input.input).unwrap();
            assert_eq!(written["type"], INPUT_TYPES[variant(&input.input)]);
        }
    }
    assert!(
        kinds.iter().all(|k| *k),
        "a kind was never recorded: {kinds:?}"
    );
    assert!(disk_starts > 0, "no run left a log on disk to start from");
}

/// Every input, with its optional fields given and left out.
fn every_input() -> Vec<TraceInput> {
    let mut inputs = vec![
        TraceInput::Append {
            command: Command::AddRand,
            node: None,
            client: None,
        },
        TraceInput::Append {
            command: Command::Mul(-3),
            node: Some(NodeId(2)),
            client: Some(ClientSerial {
                client_id: 4,
                serial: u64::MAX,
            }),
        },
        TraceInput::Partition { groups: vec![] },
        TraceInput::Network {
            loss_probability: None,
            duplicate_probability: None,
            latency_ms_min: None,
            latency_ms_max: None,
        },
        TraceInput::Network {
            loss_probability: Some(0.125),
            duplicate_probability: Some(1.0),
            latency_ms_min: Some(0),
            latency_ms_max: Some(10_000),
        },
        TraceInput::BreakRules {
            rules: BrokenRules::default(),
        },
    ];
    let mut rng = Rng::new(7);
    inputs.extend((0..INPUT_TYPES.len()).map(|kind| input_of_kind(kind, &mut rng, 5, Some(3))));
    inputs
}

#[test]
fn every_input_built_by_hand_reads_back() {
    let mut seen = [false; INPUT_TYPES.len()];
    for (i, input) in every_input().into_iter().enumerate() {
        seen[variant(&input)] = true;
        let written = serde_json::to_value(&input).unwrap();
        assert_eq!(written["type"], INPUT_TYPES[variant(&input)], "{written}");
        reads_back(&input);
        for (after_seq, steps) in [(None, None), (Some(i as u64), Some(3 * i as u64))] {
            reads_back(&TracedInput {
                at_ms: 10 * i as u64,
                after_seq,
                steps,
                input: input.clone(),
            });
        }
    }
    assert!(seen.iter().all(|s| *s), "a variant is never read back");
}

#[test]
fn starts_and_configurations_built_by_hand_read_back() {
    let entry = |index, term, data| Entry {
        index: LogIndex(index),
        term: Term(term),
        data,
    };
    let disk = NodeDisk {
        node: NodeId(2),
        hard_state: HardState {
            current_term: Term(3),
            voted_for: Some(NodeId(1)),
        },
        log: vec![
            entry(1, 1, EntryData::Noop),
            entry(
                2,
                3,
                EntryData::Request {
                    command: Command::Add(5),
                    client: None,
                },
            ),
        ],
    };
    let empty_disk = NodeDisk {
        node: NodeId(1),
        hard_state: HardState::default(),
        log: vec![],
    };
    for start in [
        Start::Empty,
        Start::Disk { nodes: vec![] },
        Start::Disk {
            nodes: vec![empty_disk.clone(), disk.clone()],
        },
    ] {
        reads_back(&start);
    }
    reads_back(&disk);
    reads_back(&disk.hard_state);
    reads_back(&empty_disk.hard_state);
    let broken = SimConfig {
        broken_rules: BrokenRules {
            commit_old_term_by_counting: true,
            ..BrokenRules::default()
        },
        ..SimConfig::default()
    };
    for config in [SimConfig::default(), broken.clone()] {
        reads_back(&config);
        reads_back(&config.network);
        let mut trace = Trace::new(config, Start::Empty);
        reads_back(&trace);
        trace.end_seq = Some(4);
        trace.end_steps = Some(9);
        trace.end_ms = 100;
        reads_back(&trace);
    }
}

/// Both readers accept `text` and read it alike, or both refuse it.
fn agree<T>(text: &str)
where
    T: FromJson + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let ours = read::<T>(text);
    let serdes = serde_json::from_str::<T>(text);
    match (&ours, &serdes) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{text}: ours {ours:?}, serde's {serdes:?}"),
    }
}

#[test]
fn odd_and_bad_parts_are_read_or_refused_as_serde_does() {
    for text in [
        r#"{"type":"append","command":"add 5"}"#,
        r#"{"type":"append","command":"add rand","node":null,"client":null}"#,
        r#"{"type":"append","command":"div 2"}"#,
        r#"{"type":"append","command":5}"#,
        r#"{"type":"append","command":null}"#,
        r#"{"type":"append"}"#,
        r#"{"type":"append","command":"set 1","client":{"client_id":1}}"#,
        r#"{"type":"heal","node":1}"#,
        r#"{"type":"break_rules"}"#,
        r#"{"type":"break_rules","rules":{}}"#,
        r#"{"type":"break_rules","rules":{"typo":true}}"#,
        r#"{"type":"control","paused":true,"speed":1}"#,
        r#"{"type":"control","paused":true}"#,
        r#"{"type":"control","paused":1,"speed":1}"#,
        r#"{"type":"network","latency_ms_min":-5}"#,
        r#"{"type":"pause"}"#,
        r#"{"node":1}"#,
        "null",
    ] {
        agree::<TraceInput>(text);
    }
    for text in [
        r#"{"kind":"empty"}"#,
        r#"{"kind":"empty","nodes":[1]}"#,
        r#"{"kind":"disk"}"#,
        r#"{"kind":"disk","nodes":[]}"#,
        r#"{"kind":"disk","nodes":[{"node":1,"hard_state":{"current_term":0},"log":[]}]}"#,
        r#"{"kind":"disk","nodes":[{"node":1,"hard_state":{"voted_for":1},"log":[]}]}"#,
        r#"{"kind":"disk","nodes":[{"node":1,"hard_state":{"current_term":0}}]}"#,
        r#"{"kind":"Disk","nodes":[]}"#,
        r#"{}"#,
    ] {
        agree::<Start>(text);
    }
    for text in [
        r#"{"latency_ms_min":1,"latency_ms_max":2,"loss_probability":0,"duplicate_probability":0.5}"#,
        r#"{"latency_ms_min":1,"latency_ms_max":2,"loss_probability":0}"#,
        r#"{"latency_ms_min":1.5,"latency_ms_max":2,"loss_probability":0,"duplicate_probability":0}"#,
    ] {
        agree::<NetworkSettings>(text);
    }
}

/// How `Trace::from_json` read a trace with serde before it used this reader: the reference
/// the reader is held to (the version first, then the fields, then the checks).
fn serde_reference(text: &str) -> Result<Trace, TraceError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| TraceError::Malformed(e.to_string()))?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v > u64::from(crate::trace::TRACE_VERSION) => {
            return Err(TraceError::FutureVersion {
                found: u32::try_from(v).unwrap_or(u32::MAX),
            })
        }
        Some(_) => {}
        None => {
            return Err(TraceError::Malformed(
                "missing or non-numeric \"version\"".into(),
            ))
        }
    }
    let trace: Trace =
        serde_json::from_value(value).map_err(|e| TraceError::Malformed(e.to_string()))?;
    trace.check()?;
    trace.check_bounds()?;
    Ok(trace)
}

/// The kind of a trace's refusal (the wording of a `Malformed` differs: serde's or ours).
fn kind(result: &Result<Trace, TraceError>) -> Result<&Trace, std::mem::Discriminant<TraceError>> {
    result.as_ref().map_err(std::mem::discriminant)
}

#[test]
fn read_trace_accepts_and_refuses_what_serde_did() {
    let (trace, _) = recorded_run(5, Start::Empty, config_for(5));
    let good = serde_json::to_value(&trace).unwrap();
    // The recorded trace with one change made to its JSON.
    let changed = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut value = good.clone();
        change(&mut value);
        value.to_string()
    };
    let mut texts = vec![
        good.to_string(),
        changed(&|v| v["version"] = 2.into()),
        changed(&|v| v["version"] = u64::MAX.into()),
        changed(&|v| v["version"] = 0.into()),
        changed(&|v| v["version"] = "1".into()),
        changed(&|v| v["version"] = (1u64 << 33).into()),
        changed(&|v| {
            v.as_object_mut().unwrap().remove("version");
        }),
        // A future trace with a field this version does not read is still "future".
        changed(&|v| {
            v["version"] = 2.into();
            v["config"] = "new".into();
        }),
        changed(&|v| v["config"]["nodes"] = 0.into()),
        changed(&|v| v["config"]["network"]["loss_probability"] = 1.5.into()),
        changed(&|v| v["config"]["broken_rules"] = serde_json::json!({"typo": true})),
        changed(&|v| v["end_ms"] = 0.into()),
        changed(&|v| v["end_ms"] = (crate::trace::END_MS_MAX + 1).into()),
        changed(&|v| v["end_steps"] = (crate::trace::END_STEPS_MAX + 1).into()),
        changed(&|v| v["inputs"][0]["input"]["type"] = "explode".into()),
        changed(&|v| v["inputs"][1]["at_ms"] = (u64::MAX / 2).into()),
        changed(&|v| v["inputs"][0]["input"] = serde_json::json!({"type":"crash","node":99})),
        changed(&|v| v["start"] = serde_json::Value::Null),
        changed(&|v| v["inputs"] = serde_json::Value::Null),
        changed(&|v| {
            v["start"] = serde_json::json!({"kind":"disk","nodes":[
                {"node":1,"hard_state":{"current_term":1},"log":[
                    {"index":2,"term":1,"data":{"kind":"noop"}}]}]})
        }),
        changed(&|v| {
            v.as_object_mut().unwrap().remove("start");
            v.as_object_mut().unwrap().remove("inputs");
        }),
    ];
    texts.extend(["", "[]", "null", r#"{"version":1}"#, "{\"version\":1,"].map(String::from));
    for text in texts {
        let ours = read_trace(&text);
        let theirs = serde_reference(&text);
        assert_eq!(kind(&ours), kind(&theirs), "{text}: {ours:?} / {theirs:?}");
        if let (Err(a), Err(b)) = (&ours, &theirs) {
            if !matches!(a, TraceError::Malformed(_)) {
                assert_eq!(a, b, "{text}");
            }
        }
    }
}

/// A key written twice is refused (serde's `Value`, which the trace was read through before,
/// kept the last one silently: an uploaded trace must not mean two things).
#[test]
fn a_trace_with_a_key_written_twice_is_refused() {
    let (trace, _) = recorded_run(3, Start::Empty, config_for(3));
    let text = trace.to_json();
    let twice = text.replacen("\"end_ms\":", "\"end_ms\":0,\"end_ms\":", 1);
    assert_ne!(twice, text);
    match read_trace(&twice) {
        Err(TraceError::Malformed(why)) => assert_eq!(why, "duplicate field `end_ms`"),
        other => panic!("{other:?}"),
    }
}
