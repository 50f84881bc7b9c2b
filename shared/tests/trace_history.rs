//! What a run's history keeps and how it is read back: an input naming a node the cluster does
//! not have is refused without entering the trace (so the trace stays valid and replays
//! exactly); undo's target skips refused inputs; a timeline grown with its run answers as one
//! built at once, and keeps a bounded number of checkpoints. Owns no production code.

use shared::protocol::SimEvent;
use shared::sim::SimError;
use shared::trace::{Position, Recorded, Replay, Start, Timeline, Trace, TraceInput};
use shared::trace::{CHECKPOINTS_MAX, CHECKPOINT_EVERY_MS};
use shared::{MemStorage, NodeId, Sim, SimConfig};

fn config(seed: u64) -> SimConfig {
    SimConfig {
        nodes: 3,
        seed,
        ..SimConfig::default()
    }
}

fn recorded(seed: u64) -> Recorded<MemStorage> {
    let config = config(seed);
    let sim = Sim::new(config.clone()).unwrap();
    Recorded::new(sim, Trace::new(config, Start::Empty))
}

/// Run `live` until it has a leader (a seeded cluster elects one within a few seconds).
fn until_leader(live: &mut Recorded<MemStorage>, events: &mut Vec<SimEvent>) {
    while live.leader().is_none() {
        assert!(live.now_ms() < 30_000, "no leader after 30 s");
        live.run_until(live.now_ms() + 100);
        events.extend(live.take_events());
    }
}

fn append(text: &str, node: Option<u64>) -> TraceInput {
    TraceInput::Append {
        command: text.parse().unwrap(),
        node: node.map(NodeId),
        client: None,
    }
}

/// Every kind of input that names a node: with S9 (or S0) on a 3-node cluster, each is refused
/// as naming no node, leaves nothing in the trace and nothing in the run, so the trace reads
/// back, and re-executing it gives the live run's events byte for byte (request ids included).
#[test]
fn an_input_naming_no_node_is_refused_and_left_out_of_the_trace() {
    let mut live = recorded(5);
    let mut events = live.take_events();
    until_leader(&mut live, &mut events);
    let bad = [
        append("add 1", Some(9)),
        TraceInput::Crash { node: NodeId(9) },
        TraceInput::Restart { node: NodeId(0) },
        TraceInput::PowerLoss { node: NodeId(9) },
        TraceInput::Timeout { node: NodeId(12) },
        TraceInput::Isolate { node: NodeId(4) },
        TraceInput::Cut {
            from: NodeId(1),
            to: NodeId(9),
        },
        TraceInput::Uncut {
            from: NodeId(9),
            to: NodeId(1),
        },
        TraceInput::Partition {
            groups: vec![vec![NodeId(1), NodeId(9)]],
        },
    ];
    let good = [append("add 5", None), TraceInput::Crash { node: NodeId(2) }];
    for (input, then) in bad.into_iter().zip(good.iter().cycle()) {
        let refused = live.input(input.clone());
        assert!(
            matches!(refused, Err(SimError::UnknownNode(_, 3))),
            "{input:?}: {refused:?}"
        );
        assert!(live.take_events().is_empty(), "{input:?} changed the run");
        let _ = live.input(then.clone());
        live.run_until(live.now_ms() + 300);
        events.extend(live.take_events());
    }
    let trace = live.trace();
    assert_eq!(trace.inputs.len(), 9, "only the inputs naming real nodes");
    let read = Trace::from_json(&trace.to_json()).expect("the trace stays valid");
    let mut replay = Replay::new(read).unwrap().keeping_events();
    replay.run_to(Position::End).unwrap();
    assert_eq!(replay.events(), &events[..]);
}

/// Undo's target is the last input the simulator took: not a refused one (a bad network
/// setting, restarting a running node), nor a pause. A fork re-executing the trace knows which
/// were refused too.
#[test]
fn undo_goes_back_over_the_last_input_that_changed_something() {
    let mut live = recorded(8);
    until_leader(&mut live, &mut Vec::new());
    assert!(live.input(append("add 5", None)).is_ok());
    let appended = live.inputs().len() - 1;
    let loss = TraceInput::Network {
        loss_probability: Some(1.5),
        duplicate_probability: None,
        latency_ms_min: None,
        latency_ms_max: None,
    };
    assert!(live.input(loss).is_err());
    assert!(live.input(TraceInput::Restart { node: NodeId(1) }).is_err());
    let _ = live.input(TraceInput::Control {
        paused: true,
        speed: 1.0,
    });
    assert_eq!(
        live.inputs().len(),
        appended + 4,
        "refused inputs are recorded"
    );
    assert_eq!(live.last_undoable(), Some(appended));

    let trace = live.trace();
    let mut replay = Replay::new(trace.clone()).unwrap();
    replay.run_to(Position::End).unwrap();
    assert_eq!(replay.refused_inputs(), &[appended + 1, appended + 2]);
    let refused = replay.refused_inputs().to_vec();
    let forked = Recorded::new(replay.into_sim(), trace).with_refused(&refused);
    assert_eq!(forked.last_undoable(), Some(appended));
}

/// A live run's trace taken at three moments; each is the previous one grown.
fn growing_run(seed: u64) -> Vec<Trace> {
    let mut live = recorded(seed);
    let mut traces = Vec::new();
    for stage in 0..3u64 {
        for i in 0..4u64 {
            live.run_until(live.now_ms() + 700 + 130 * i);
            let input = match (stage + i) % 4 {
                0 => append("add 2", None),
                1 => TraceInput::Crash {
                    node: NodeId(1 + (i % 3)),
                },
                2 => TraceInput::Restart {
                    node: NodeId(1 + (i % 3)),
                },
                _ => TraceInput::Timeout {
                    node: NodeId(1 + ((i + 1) % 3)),
                },
            };
            let _ = live.input(input);
            for _ in 0..i {
                live.step(); // Ends mid-millisecond too, as at speed 0.
            }
        }
        traces.push(live.trace());
    }
    traces
}

fn assert_same(grown: &Timeline, built: &Timeline, what: &str) {
    assert_eq!(grown.markers(), built.markers(), "{what}: markers");
    let trace = built.trace();
    let mut positions = vec![Position::End, Position::Seq(1)];
    for t in (0..=trace.end_ms).step_by(337) {
        positions.push(Position::AtMs(t));
    }
    for n in 0..=trace.inputs.len() {
        positions.push(Position::BeforeInput(n));
    }
    for p in positions {
        let (a, b) = (grown.at(p).unwrap(), built.at(p).unwrap());
        assert_eq!(a.sim().snapshot(), b.sim().snapshot(), "{what}: {p:?}");
        assert_eq!(a.inputs_applied(), b.inputs_applied(), "{what}: {p:?}");
    }
}

/// Extending a timeline with its run's later trace re-executes only what was added and answers
/// exactly as a timeline built from that trace at once; another run is not taken for a growth.
#[test]
fn a_grown_timeline_answers_as_one_built_at_once() {
    for seed in [1, 2, 3] {
        let traces = growing_run(seed);
        let mut grown = Timeline::build(traces[0].clone(), 500).unwrap();
        for (i, trace) in traces.iter().enumerate().skip(1) {
            assert!(
                grown.extend(trace.clone()).unwrap(),
                "seed {seed}: a growth"
            );
            let built = Timeline::build(trace.clone(), 500).unwrap();
            assert_eq!(grown.len(), built.len());
            assert_same(&grown, &built, &format!("seed {seed}, stage {i}"));
        }
        // A fork (fewer inputs) or another seed is another run: rebuilt, not extended.
        let mut other = Timeline::build(traces[2].clone(), 500).unwrap();
        assert!(!other.extend(traces[1].clone()).unwrap());
        assert!(!other.extend(growing_run(seed + 10)[2].clone()).unwrap());
        let updated = Timeline::update(Some(other), traces[1].clone(), 500).unwrap();
        assert_eq!(updated.trace(), &traces[1]);
    }
}

/// However long the run and however close the checkpoints asked for, a timeline keeps at most
/// `CHECKPOINTS_MAX` (their spacing widens), and still reaches every instant exactly.
#[test]
fn a_long_runs_timeline_keeps_a_bounded_number_of_checkpoints() {
    let traces = growing_run(4);
    let trace = traces.last().unwrap().clone();
    let every_ms = (trace.end_ms / (3 * CHECKPOINTS_MAX as u64)).max(1);
    let dense = Timeline::build(trace.clone(), every_ms).unwrap();
    assert!(
        dense.len() <= CHECKPOINTS_MAX,
        "{} checkpoints",
        dense.len()
    );
    assert!(dense.len() > CHECKPOINTS_MAX / 4);
    let mut grown = Timeline::build(traces[0].clone(), every_ms).unwrap();
    assert!(grown.extend(trace.clone()).unwrap());
    assert!(grown.len() <= CHECKPOINTS_MAX);
    let plain = Timeline::build(trace, CHECKPOINT_EVERY_MS).unwrap();
    assert_same(&dense, &plain, "dense");
    assert_same(&grown, &plain, "grown");
}

/// A run whose logs grow long: many requests, so later checkpoints each copy a long log. Its
/// trace after the first tenth of them, and at the end.
fn many_requests(seed: u64, requests: u64) -> (Trace, Trace) {
    let mut live = recorded(seed);
    let mut events = Vec::new();
    until_leader(&mut live, &mut events);
    let mut early = None;
    for i in 0..requests {
        if i == requests / 10 {
            early = Some(live.trace());
        }
        let _ = live.input(append(&format!("add {}", i % 7 + 1), None));
        live.run_until(live.now_ms() + 20);
    }
    live.run_until(live.now_ms() + 500);
    (early.unwrap(), live.trace())
}

/// Each checkpoint copies every log, so a long run with many requests keeps fewer of them:
/// their estimated memory stays within the bound (the spacing widens), the bound is not met by
/// dropping them all, and every instant is still reached exactly. The same run without the
/// bound keeps more memory than it: the bound is what holds it.
#[test]
fn a_timeline_of_long_logs_keeps_its_checkpoints_within_a_memory_bound() {
    let (early, trace) = many_requests(7, 400);
    let every_ms = 100;
    let free = Timeline::build(trace.clone(), every_ms).unwrap();
    let bytes_max = free.bytes() / 8;
    assert!(bytes_max > 0);
    let bounded = Timeline::build_within(trace.clone(), every_ms, bytes_max).unwrap();
    assert!(
        bounded.bytes() <= bytes_max,
        "{} B of checkpoints, the bound is {bytes_max}",
        bounded.bytes()
    );
    assert!(bounded.len() > 1, "only the start was kept");
    assert!(bounded.every_ms() > every_ms, "the spacing widened");
    assert!(free.len() > bounded.len());
    // Grown from an early part of the run, it keeps the bound too.
    let mut grown = Timeline::build_within(early, every_ms, bytes_max).unwrap();
    assert!(grown.extend(trace.clone()).unwrap(), "the same run grown");
    assert!(grown.bytes() <= bytes_max);
    assert_same(&grown, &free, "grown within the bound");
    assert_same(&bounded, &free, "bounded");
}
