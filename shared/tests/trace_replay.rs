//! Re-executing a trace reproduces the run: the same event stream, byte for byte, over many
//! seeds and random input lists given the way the live driver gives them (between paced frames,
//! mid-millisecond at speed 0, after single steps), and the same state at every input. Also:
//! traces survive JSON, a recovered run's trace (disk start) replays too, and bad traces are
//! refused. Owns no production code.
//!
//! The number of random cases: `LOGSCOPE_TRACE_CASES` (default 200), e.g.
//! `LOGSCOPE_TRACE_CASES=5000 cargo test --release -p logscope-shared --test trace_replay`.

use shared::protocol::{ClusterSnapshot, SimEvent};
use shared::sim::NetworkSettings;
use shared::trace::{node_disk, Position, Recorded, Replay, Start, Trace, TraceError, TraceInput};
use shared::{MemStorage, NodeId, Rng, Sim, SimConfig, Storage};

const CASES_DEFAULT: u64 = 200;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {text:?}")),
        Err(_) => default,
    }
}

/// A random input of any kind (some refused on purpose: those belong in the trace too).
fn random_input(rng: &mut Rng, sim: &Sim<MemStorage>) -> TraceInput {
    let n = sim.config().nodes;
    let node = |rng: &mut Rng| NodeId(rng.range_inclusive(1, n));
    match rng.range_inclusive(0, 18) {
        0..=3 => TraceInput::Append {
            command: ["add 1", "add rand", "mul 2", "set 7"][rng.range_inclusive(0, 3) as usize]
                .parse()
                .unwrap(),
            node: rng.chance(0.5).then(|| node(rng)),
            client: rng.chance(0.3).then(|| shared::ClientSerial {
                client_id: rng.range_inclusive(1, 3),
                serial: rng.range_inclusive(1, 4),
            }),
        },
        4 => TraceInput::Crash { node: node(rng) },
        5 | 6 => TraceInput::Restart { node: node(rng) },
        7 => TraceInput::PowerLoss { node: node(rng) },
        8 => TraceInput::Timeout { node: node(rng) },
        9 => TraceInput::Partition {
            groups: vec![NodeId::all(n).filter(|_| rng.chance(0.5)).collect()],
        },
        10 => TraceInput::Cut {
            from: node(rng),
            to: node(rng),
        },
        11 => TraceInput::Uncut {
            from: node(rng),
            to: node(rng),
        },
        12 => TraceInput::Isolate { node: node(rng) },
        13 => TraceInput::Heal,
        16 => TraceInput::AlignTimers,
        17 => TraceInput::SpreadTimers,
        // Rules broken on purpose replay exactly too (the run may then break safety: replay
        // must reproduce that as well).
        18 => TraceInput::BreakRules {
            rules: shared::raft::BrokenRules {
                commit_old_term_by_counting: rng.chance(0.5),
                vote_without_log_check: rng.chance(0.5),
                forget_vote_on_restart: rng.chance(0.5),
                ack_before_fsync: rng.chance(0.5),
            },
        },
        14 => match sim.messages_in_flight().next() {
            Some(m) if rng.chance(0.8) => TraceInput::DropMessage { id: m.id },
            _ => TraceInput::DropMessage { id: 999_999 },
        },
        _ => {
            if rng.chance(0.5) {
                TraceInput::Network {
                    loss_probability: Some(rng.range_inclusive(0, 20) as f64 / 100.0),
                    duplicate_probability: None,
                    latency_ms_min: None,
                    latency_ms_max: rng.chance(0.5).then(|| rng.range_inclusive(5, 40)),
                }
            } else {
                TraceInput::Control {
                    paused: rng.chance(0.5),
                    speed: 0.01,
                }
            }
        }
    }
}

/// A live-like run: time advances the three ways the driver advances it, inputs land between.
/// Returns the trace, every event, and the state right before each input.
fn live_run(
    case: u64,
    start: Start,
    config: SimConfig,
) -> (Trace, Vec<SimEvent>, Vec<ClusterSnapshot>) {
    let mut rng = Rng::new(case ^ 0x7EA5_CE00);
    let sim = Sim::with_storage(config.clone(), |id| start.storage_for(id)).unwrap();
    let mut live = Recorded::new(sim, Trace::new(config, start));
    let mut events = live.take_events();
    let mut before = Vec::new();
    for _ in 0..rng.range_inclusive(5, 60) {
        match rng.range_inclusive(0, 3) {
            // A paced frame: everything up to a virtual time, the clock set to it.
            0 | 1 => {
                let t = live.now_ms() + rng.range_inclusive(0, 150);
                live.run_until(t);
            }
            // A speed-0 chunk: a number of steps, stopping mid-millisecond.
            2 => {
                for _ in 0..rng.range_inclusive(1, 40) {
                    live.step();
                }
            }
            // The `step` command.
            _ => {
                live.step();
            }
        }
        events.extend(live.take_events());
        before.push(live.snapshot());
        let input = random_input(&mut rng, &live);
        let _ = live.input(input);
        events.extend(live.take_events());
    }
    live.run_until(live.now_ms() + rng.range_inclusive(0, 500));
    events.extend(live.take_events());
    (live.trace(), events, before)
}

fn config_for(case: u64) -> SimConfig {
    let mut rng = Rng::new(case);
    SimConfig {
        nodes: rng.range_inclusive(1, 7),
        seed: case,
        network: NetworkSettings {
            latency_ms_min: 1,
            latency_ms_max: rng.range_inclusive(1, 30),
            loss_probability: 0.02,
            duplicate_probability: 0.02,
        },
        ..SimConfig::default()
    }
}

fn json(events: &[SimEvent]) -> String {
    serde_json::to_string(events).unwrap()
}

#[test]
fn replaying_a_trace_gives_the_same_events_byte_for_byte() {
    let cases = env_u64("LOGSCOPE_TRACE_CASES", CASES_DEFAULT);
    for case in 0..cases {
        let (trace, live_events, before) = live_run(case, Start::Empty, config_for(case));
        // Through JSON, as a downloaded trace would be.
        let trace = Trace::from_json(&trace.to_json()).expect("a recorded trace reads back");
        let mut replay = Replay::new(trace.clone()).unwrap().keeping_events();
        replay
            .run_to(Position::End)
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        let (a, b) = (json(&live_events), json(replay.events()));
        if a != b {
            let k = live_events
                .iter()
                .zip(replay.events())
                .position(|(x, y)| x != y)
                .unwrap_or(live_events.len().min(replay.events().len()));
            panic!("case {case}: the replay diverges at event {k}");
        }
        // Every instant just before an input is reached exactly (what fork and undo use).
        let mut rng = Rng::new(case);
        let k = rng.range_inclusive(0, before.len() as u64 - 1) as usize;
        let mut to_input = Replay::new(trace).unwrap();
        to_input.run_to(Position::BeforeInput(k)).unwrap();
        assert_eq!(
            to_input.sim().snapshot(),
            before[k],
            "case {case}, input {k}"
        );
    }
}

/// A server recovered from disk starts a trace from what its disks held: that replays too.
#[test]
fn a_trace_that_starts_from_disk_replays() {
    for case in 0..20 {
        let config = config_for(case);
        let (first, _, _) = live_run(case, Start::Empty, config.clone());
        let mut replay = Replay::new(first).unwrap();
        replay.run_to(Position::End).unwrap();
        let sim = replay.into_sim();
        let disks: Vec<_> = (1..=config.nodes)
            .map(|id| {
                let mut s: MemStorage = sim.storage(NodeId(id)).unwrap().clone();
                node_disk(NodeId(id), &mut s).unwrap()
            })
            .collect();
        let start = Start::Disk { nodes: disks };
        let (second, events, _) = live_run(case + 1000, start, config);
        let mut replay = Replay::new(second).unwrap().keeping_events();
        replay.run_to(Position::End).unwrap();
        assert!(
            json(&events) == json(replay.events()),
            "case {case}: the replay diverges"
        );
    }
}

/// Positions by time and by seq land where the live run was.
#[test]
fn positions_by_time_and_seq() {
    let (trace, events, _) = live_run(3, Start::Empty, config_for(3));
    let mid = events[events.len() / 2].clone();
    let mut by_seq = Replay::new(trace.clone()).unwrap();
    by_seq.run_to(Position::Seq(mid.seq)).unwrap();
    assert!(by_seq.sim().last_seq() >= mid.seq);
    assert!(by_seq.sim().now_ms() == mid.time_ms);
    let mut by_time = Replay::new(trace.clone()).unwrap().keeping_events();
    by_time.run_to(Position::AtMs(mid.time_ms)).unwrap();
    assert_eq!(by_time.sim().now_ms(), mid.time_ms);
    let last = by_time.events().last().unwrap();
    assert!(last.time_ms <= mid.time_ms);
    // Every event at that millisecond (and nothing later) has happened.
    assert!(events
        .iter()
        .filter(|e| e.time_ms <= mid.time_ms)
        .all(|e| e.seq <= last.seq));
    // Going further from there is the same as going there at once.
    by_time.run_to(Position::End).unwrap();
    let mut whole = Replay::new(trace).unwrap().keeping_events();
    whole.run_to(Position::End).unwrap();
    assert!(json(by_time.events()) == json(whole.events()));
}

/// A hand-written trace (no `steps`) places each input after everything due by its time.
#[test]
fn a_hand_written_trace_replays() {
    let text = r#"{"version":1,
        "config":{"nodes":3,"seed":4,"log_model":"command",
          "timing":{"election_timeout_ms_min":150,"election_timeout_ms_max":300,
                    "heartbeat_interval_ms":50,"fsync_ms":2,"max_entries_per_append":8},
          "network":{"latency_ms_min":5,"latency_ms_max":15,"loss_probability":0.0,
                     "duplicate_probability":0.0}},
        "inputs":[{"at_ms":1000,"input":{"type":"append","command":"add 5"}},
                  {"at_ms":1200,"input":{"type":"crash","node":1}}],
        "end_ms":3000}"#;
    let trace = Trace::from_json(text).unwrap();
    let mut replay = Replay::new(trace).unwrap().with_checker();
    replay.run_to(Position::End).unwrap();
    let summary = replay.summary();
    assert_eq!(summary.time_ms, 3000);
    assert_eq!(summary.inputs, 2);
    assert!(summary.violation.is_none());
    assert!(
        !summary.leaders.is_empty() && summary.commits > 0,
        "{summary}"
    );
}

#[test]
fn bad_traces_are_refused_with_a_reason() {
    let (trace, _, _) = live_run(5, Start::Empty, config_for(5));
    let text = trace.to_json();
    let cut = Trace::from_json(&text[..text.len() / 2]).unwrap_err();
    assert!(matches!(cut, TraceError::Malformed(_)), "{cut}");
    let future = text.replacen("\"version\":1", "\"version\":2", 1);
    let err = Trace::from_json(&future).unwrap_err();
    assert_eq!(err, TraceError::FutureVersion { found: 2 });
    assert!(err.to_string().contains("upgrade"));
    let no_version = text.replacen("\"version\":1,", "", 1);
    assert!(matches!(
        Trace::from_json(&no_version),
        Err(TraceError::Malformed(_))
    ));
    let mut bad_node = trace.clone();
    bad_node.inputs.push(shared::trace::TracedInput {
        at_ms: bad_node.end_ms,
        after_seq: None,
        steps: None,
        input: TraceInput::Crash { node: NodeId(42) },
    });
    assert!(matches!(bad_node.check(), Err(TraceError::Inconsistent(_))));
    let mut bad_config = trace.clone();
    bad_config.config.nodes = 0;
    assert!(matches!(bad_config.check(), Err(TraceError::Config(_))));
    let unknown = text.replacen("\"type\":\"", "\"type\":\"explode", 1);
    if unknown != text {
        assert!(matches!(
            Trace::from_json(&unknown),
            Err(TraceError::Malformed(_))
        ));
    }
    // A trace edited so that it no longer matches its own run is caught while replaying.
    if let Some(first) = trace.inputs.first() {
        let mut edited = trace.clone();
        edited.inputs[0].after_seq = Some(first.after_seq.unwrap() + 1);
        let mut replay = Replay::new(edited).unwrap();
        assert!(matches!(
            replay.run_to(Position::End),
            Err(TraceError::Diverged(_))
        ));
    }
}

/// The storage a trace's disk start gives holds exactly that state.
#[test]
fn a_disk_start_gives_synced_storage() {
    let mut s = MemStorage::new();
    let start = Start::Empty;
    assert_eq!(
        start.storage_for(NodeId(1)).load().unwrap(),
        s.load().unwrap()
    );
}

/// Reaching an instant from a checkpoint gives exactly what re-executing from the start gives.
#[test]
fn a_timeline_reaches_every_instant_as_a_full_replay_does() {
    for case in 0..10 {
        let (trace, events, _) = live_run(case, Start::Empty, config_for(case));
        let timeline = shared::trace::Timeline::build(trace.clone(), 300).unwrap();
        assert!(timeline.len() >= 2, "case {case}: checkpoints were kept");
        let mut rng = Rng::new(case + 77);
        for _ in 0..5 {
            let position = match rng.range_inclusive(0, 2) {
                0 => Position::AtMs(rng.range_inclusive(0, trace.end_ms)),
                1 => Position::Seq(
                    events[rng.range_inclusive(0, events.len() as u64 - 1) as usize].seq,
                ),
                _ => {
                    Position::BeforeInput(rng.range_inclusive(0, trace.inputs.len() as u64) as usize)
                }
            };
            let mut full = Replay::new(trace.clone()).unwrap();
            full.run_to(position).unwrap();
            let fast = timeline.at(position).unwrap();
            assert_eq!(
                fast.sim().snapshot(),
                full.sim().snapshot(),
                "case {case}, {position:?}"
            );
            assert_eq!(fast.inputs_applied(), full.inputs_applied());
        }
    }
}

/// A timeline's markers are the notable events of the run, in stream order.
#[test]
fn a_timeline_marks_leaders_commits_and_faults() {
    let (trace, events, _) = live_run(11, Start::Empty, config_for(11));
    let timeline = shared::trace::Timeline::build(trace.clone(), 500).unwrap();
    let markers = timeline.markers();
    assert!(markers.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(
        markers.iter().all(|m| events.iter().any(|e| e == m)),
        "markers come from the run"
    );
    let wanted = |e: &SimEvent| {
        matches!(
            e.event,
            shared::protocol::Event::RoleChanged {
                role: shared::Role::Leader,
                ..
            } | shared::protocol::Event::NodeCrashed { .. }
                | shared::protocol::Event::NetworkChanged { .. }
        )
    };
    let marked = markers.iter().filter(|e| wanted(e)).count();
    assert!(marked > 0, "the run had a leader at least");
    assert_eq!(marked, events.iter().filter(|e| wanted(e)).count());
    assert!(timeline.covers(Position::AtMs(trace.end_ms)));
    assert!(!timeline.covers(Position::AtMs(trace.end_ms + 1)));
}

/// Past its cap a recorder stops recording; its trace stays an exact prefix of the run, ending
/// at the last input it kept.
#[test]
fn a_full_recorder_keeps_an_exact_prefix() {
    let config = config_for(21);
    let sim = Sim::new(config.clone()).unwrap();
    let mut live = Recorded::with_cap(sim, Trace::new(config, Start::Empty), 3);
    let mut at_third = None;
    for i in 0..5 {
        live.run_until(live.now_ms() + 200);
        let _ = live.input(TraceInput::Timeout { node: NodeId(1) });
        assert_eq!(live.is_full(), i >= 3);
        if i == 2 {
            at_third = Some(live.snapshot());
        }
    }
    let trace = live.trace();
    assert_eq!(trace.inputs.len(), 3);
    assert!(live.last_input().is_none());
    let mut replay = Replay::new(trace).unwrap();
    replay.run_to(Position::End).unwrap();
    assert_eq!(Some(replay.sim().snapshot()), at_third);
}
