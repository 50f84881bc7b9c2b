//! Tests of `timeline`: markers, thinning, positions, keys, the story, share links and the
//! page's reading of traces.

use super::*;
use shared::protocol::NetworkView;
use shared::trace::Trace;

fn ev(seq: u64, time_ms: u64, event: Event) -> SimEvent {
    SimEvent {
        seq,
        time_ms,
        event,
    }
}

fn leader(seq: u64, t: u64, node: u64, term: u64) -> SimEvent {
    ev(
        seq,
        t,
        Event::RoleChanged {
            node: NodeId(node),
            role: Role::Leader,
            term: Term(term),
            leader_id: Some(NodeId(node)),
        },
    )
}

fn commit(seq: u64, t: u64) -> SimEvent {
    ev(
        seq,
        t,
        Event::CommitAdvanced {
            node: NodeId(1),
            commit_index: shared::types::LogIndex(seq),
        },
    )
}

fn input(index: usize, at_ms: u64, text: &str) -> InputMarker {
    InputMarker {
        index,
        at_ms,
        text: text.to_string(),
    }
}

#[test]
fn leaders_get_their_terms_colour_and_control_inputs_no_marker() {
    let reply = MarkersReply {
        end_ms: 5_000,
        inputs: vec![
            input(0, 900, "pause at speed 0.01"),
            input(1, 1_200, "crash S2"),
            input(2, 1_300, "run at speed 0.01"),
        ],
        events: vec![
            // The start of the run, not a fault: no marker.
            ev(
                1,
                0,
                Event::NodeRestarted {
                    node: NodeId(1),
                    term: Term(0),
                    last_index: shared::types::LogIndex(0),
                },
            ),
            leader(10, 300, 1, 1),
            ev(20, 1_200, Event::NodeCrashed { node: NodeId(2) }),
            leader(30, 2_000, 3, 2),
        ],
    };
    let m = markers(&reply);
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(m[0].colour, term_colour(Term(1)));
    assert_eq!(m[0].lane, Lane::Leader);
    assert_eq!(m[0].label(), "t=0.3 s: S1 became leader of term 1");
    assert_eq!(m[1].lane, Lane::Fault);
    assert_eq!(m[2].kind, MarkerKind::Input { index: 1 });
    assert_eq!(m[2].label(), "t=1.2 s: crash S2");
    assert_eq!(m[3].colour, term_colour(Term(2)));
    assert_ne!(m[0].colour, m[3].colour);
}

#[test]
fn markers_merge_events_and_inputs_in_time_order_events_first_at_the_same_instant() {
    // Crashes every 100 ms and inputs every 70 ms (ties at 0, 700, 1,400, …), as a run lists
    // them: each list in time order.
    let events: Vec<SimEvent> = (0..30u64)
        .map(|i| {
            ev(
                i,
                i * 100,
                Event::NodeCrashed {
                    node: NodeId(1 + i % 5),
                },
            )
        })
        .collect();
    let inputs: Vec<InputMarker> = (0..40usize)
        .map(|i| input(i, i as u64 * 70, "crash S2"))
        .collect();
    let reply = MarkersReply {
        end_ms: 3_000,
        inputs,
        events,
    };
    let merged: Vec<(u64, bool)> = markers(&reply)
        .iter()
        .map(|m| (m.at_ms, matches!(m.kind, MarkerKind::Input { .. })))
        .collect();
    assert_eq!(merged.len(), 70);
    // What a stable sort of events-then-inputs by time gives.
    let mut sorted: Vec<(u64, bool)> = (0..30u64)
        .map(|i| (i * 100, false))
        .chain((0..40u64).map(|i| (i * 70, true)))
        .collect();
    sorted.sort_by_key(|m| m.0);
    assert_eq!(merged, sorted);
}

#[test]
fn the_story_of_the_past_is_told_from_markers_newest_first_up_to_the_instant() {
    let reply = MarkersReply {
        end_ms: 5_000,
        inputs: vec![input(0, 1_200, "crash S1")],
        events: vec![leader(10, 300, 1, 1), leader(30, 2_000, 3, 2)],
    };
    let m = markers(&reply);
    let told = story(&m, 1_500, 10);
    let texts: Vec<&str> = told.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts, ["Action: crash S1", "S1 became leader of term 1"]);
    assert_eq!(told[1].time_ms, 300);
    assert_eq!(told[1].tone, Tone::Leader);
    assert_eq!(told[1].focus, Focus::Node(NodeId(1)));
    assert!(told.iter().all(|n| n.id >= STORY_ID_BASE));
    assert_eq!(story(&m, 5_000, 1).len(), 1, "at most max sentences");
    assert_eq!(story(&m, 5_000, 1)[0].text, "S3 became leader of term 2");
}

#[test]
fn a_network_marker_says_partitioned_or_whole() {
    let mut net = NetworkView {
        partitions: vec![vec![NodeId(1)], vec![NodeId(2), NodeId(3)]],
        cut_links: Vec::new(),
        loss_probability: 0.0,
        duplicate_probability: 0.0,
        latency_ms_min: 5,
        latency_ms_max: 15,
    };
    let split = ev(
        1,
        10,
        Event::NetworkChanged {
            network: net.clone(),
        },
    );
    net.partitions.clear();
    let healed = ev(2, 20, Event::NetworkChanged { network: net });
    let reply = MarkersReply {
        end_ms: 100,
        inputs: Vec::new(),
        events: vec![split, healed],
    };
    let m = markers(&reply);
    assert_eq!(m[0].text, "The network is partitioned");
    assert_eq!(m[1].text, "The network is whole again");
}

#[test]
fn thinning_keeps_one_marker_per_lane_per_bucket_and_prefers_non_commits() {
    // 1000 commits over 10 s on a 100 px track with 4 px gaps: at most 25 drawn.
    let mut events: Vec<SimEvent> = (1..=1_000).map(|i| commit(i, i * 10)).collect();
    events.push(leader(2_000, 5_005, 2, 7));
    let reply = MarkersReply {
        end_ms: 10_000,
        inputs: vec![input(0, 5_001, "crash S1")],
        events,
    };
    let all = markers(&reply);
    let drawn = thin(&all, reply.end_ms, 100.0, 4.0);
    let actions: Vec<_> = drawn
        .iter()
        .filter(|(_, m)| m.lane == Lane::Action)
        .collect();
    assert!(actions.len() <= 25, "{}", actions.len());
    // The crash at 5.001 s shares a bucket with commits and wins it.
    assert!(drawn
        .iter()
        .any(|(_, m)| m.kind == MarkerKind::Input { index: 0 }));
    // The leader is on its own lane and never thinned away by commits.
    let leader = drawn.iter().find(|(_, m)| m.lane == Lane::Leader).unwrap();
    assert!((leader.0 - 0.5005).abs() < 1e-9);
    // Positions stay in order and inside the track.
    assert!(drawn.iter().all(|(x, _)| (0.0..=1.0).contains(x)));
}

#[test]
fn the_later_of_two_leaders_in_one_pixel_is_drawn() {
    let reply = MarkersReply {
        end_ms: 100_000,
        inputs: Vec::new(),
        events: vec![leader(1, 1_000, 1, 1), leader(2, 1_010, 2, 2)],
    };
    let drawn = thin(&markers(&reply), reply.end_ms, 500.0, 3.0);
    assert_eq!(drawn.len(), 1);
    assert_eq!(
        drawn[0].1.kind,
        MarkerKind::Leader {
            node: NodeId(2),
            term: Term(2)
        }
    );
}

#[test]
fn positions_map_both_ways() {
    assert_eq!(fraction(2_500.0, 10_000), 0.25);
    assert_eq!(fraction(20_000.0, 10_000), 1.0);
    assert_eq!(fraction(5.0, 0), 1.0);
    assert_eq!(time_at(150.0, 100.0, 200.0, 10_000), 2_500);
    assert_eq!(time_at(0.0, 100.0, 200.0, 10_000), 0);
    assert_eq!(time_at(999.0, 100.0, 200.0, 10_000), 10_000);
    assert_eq!(time_at(5.0, 0.0, 0.0, 7), 7);
    for t in [0u64, 1, 333, 9_999, 10_000] {
        let x = 100.0 + fraction(t as f64, 10_000) * 200.0;
        assert_eq!(time_at(x, 100.0, 200.0, 10_000), t);
    }
}

#[test]
fn instants_read_in_seconds_then_minutes() {
    assert_eq!(format_instant(12_345), "t=12.3 s");
    assert_eq!(format_instant(0), "t=0.0 s");
    assert_eq!(format_instant(125_500), "t=2 min 5.5 s");
}

#[test]
fn keys_do_what_the_help_says() {
    let none = Mods::default();
    let ctrl = Mods {
        ctrl: true,
        ..Mods::default()
    };
    assert_eq!(
        key_action("[", none, false, false),
        Some(KeyAction::StepBack)
    );
    assert_eq!(
        key_action("]", none, false, false),
        None,
        "nothing after live"
    );
    assert_eq!(
        key_action("]", none, false, true),
        Some(KeyAction::StepForward)
    );
    assert_eq!(
        key_action(",", none, false, false),
        None,
        "only while paused"
    );
    assert_eq!(
        key_action(",", none, true, false),
        Some(KeyAction::StepBack)
    );
    assert_eq!(
        key_action(",", none, false, true),
        Some(KeyAction::StepBack)
    );
    assert_eq!(key_action("u", none, false, false), Some(KeyAction::Undo));
    assert_eq!(key_action("z", ctrl, false, false), Some(KeyAction::Undo));
    let redo = Mods {
        shift: true,
        ..ctrl
    };
    assert_eq!(key_action("Z", redo, false, false), None);
    assert_eq!(key_action("c", ctrl, false, false), None, "copy stays copy");
    assert_eq!(
        key_action("Escape", none, false, true),
        Some(KeyAction::Live)
    );
    assert_eq!(key_action("Escape", none, false, false), None);
    let alt = Mods {
        alt: true,
        ..Mods::default()
    };
    assert_eq!(key_action("[", alt, false, false), None);
}

#[test]
fn stepping_back_asks_further_each_attempt() {
    assert_eq!(back_target(100, 0), 99);
    assert_eq!(back_target(100, 1), 98);
    assert_eq!(back_target(100, 3), 92);
    assert_eq!(back_target(3, 5), 0);
    assert_eq!(back_target(3, 200), 0);
}

#[test]
fn share_links_round_trip() {
    let f = share_fragment("1.abc-_", Some(12_345));
    assert_eq!(f, "#trace=1.abc-_&t=12.345");
    let s = parse_share(&f).unwrap();
    assert_eq!(s.fragment, "1.abc-_");
    assert_eq!(s.t_ms, Some(12_345));
    let s = parse_share("trace=1.x").unwrap();
    assert_eq!(s.t_ms, None);
    assert_eq!(parse_share("#t=3"), None);
    assert_eq!(parse_share("#trace="), None);
    assert_eq!(parse_share("#trace=1.x&t=-4").unwrap().t_ms, None);
    assert_eq!(parse_share("#trace=1.x&t=nope").unwrap().t_ms, None);
    assert_eq!(share_fragment("x", Some(7)), "#trace=x&t=0.007");
    assert_eq!(share_fragment("x", Some(60_000)), "#trace=x&t=60.000");
}

#[test]
fn share_instants_read_as_decimals() {
    // Every instant a link can carry comes back as it was written.
    for ms in [0, 1, 7, 999, 1_000, 12_345, 60_000, 3_599_999, 43_200_000] {
        let f = share_fragment("x", Some(ms));
        assert_eq!(parse_share(&f).unwrap().t_ms, Some(ms), "{f}");
    }
    // Hand-written ones: fewer or more decimals, rounded half up at the fourth.
    assert_eq!(seconds_to_ms("3"), Some(3_000));
    assert_eq!(seconds_to_ms("5."), Some(5_000));
    assert_eq!(seconds_to_ms(".5"), Some(500));
    assert_eq!(seconds_to_ms("1.2"), Some(1_200));
    assert_eq!(seconds_to_ms("0.0005"), Some(1));
    assert_eq!(seconds_to_ms("1.0004"), Some(1_000));
    assert_eq!(seconds_to_ms("2.99951"), Some(3_000));
    // Not a plain decimal, or too large for a u64 of ms: no instant.
    for bad in [
        "",
        ".",
        "-4",
        "+4",
        "1e3",
        "inf",
        "1.2.3",
        " 1",
        "18446744073709552",
    ] {
        assert_eq!(seconds_to_ms(bad), None, "{bad:?}");
    }
}

#[test]
fn r_resumes_from_the_past_only() {
    let none = Mods::default();
    assert_eq!(
        key_action("r", none, false, true),
        Some(KeyAction::ResumeHere)
    );
    assert_eq!(key_action("r", none, true, false), None, "live: nothing");
}

#[test]
fn commands_wait_while_the_past_is_shown() {
    use shared::protocol::ClientCommand;
    let crash = ClientCommand::Crash { node: NodeId(2) };
    assert_eq!(while_past(&crash, None), Ok(()), "live: everything goes");
    for command in [
        crash,
        ClientCommand::Append {
            command: "add 1".into(),
            node: None,
            client_id: None,
            serial: None,
        },
        ClientCommand::Pause,
        ClientCommand::Resume,
        ClientCommand::Step,
        ClientCommand::Heal,
    ] {
        let refused = while_past(&command, Some(12_300)).expect_err("refused in the past");
        assert!(refused.contains("t=12.3 s"), "{refused}");
        assert!(refused.contains("Resume from here (r)"), "{refused}");
        assert!(refused.contains("Back to live (Esc)"), "{refused}");
    }
}

/// A trace of seed `seed` holding `actions`, written by `shared::trace`'s own writer (as the
/// server and the engine write them), then read as the page reads it.
fn trace_with_seed(seed: u64, actions: &[&str]) -> (Trace, TraceView) {
    let mut t = Trace::from_json(
        r#"{"version":1,"config":{"nodes":3,"seed":1,"log_model":"command",
        "timing":{"election_timeout_ms_min":150,"election_timeout_ms_max":300,
        "heartbeat_interval_ms":50,"fsync_ms":2,"max_entries_per_append":8},
        "network":{"latency_ms_min":5,"latency_ms_max":15,"loss_probability":0.0,
        "duplicate_probability":0.0}},"start":{"kind":"empty"},"inputs":[],"end_ms":5000}"#,
    )
    .expect("a valid trace");
    t.config.seed = seed;
    for (k, a) in actions.iter().enumerate() {
        let input = match *a {
            "pause" => r#"{"type":"control","paused":true,"speed":1.0}"#.to_string(),
            crash if crash.starts_with("crash") => {
                format!(r#"{{"type":"crash","node":{}}}"#, &crash[5..])
            }
            cmd => format!(r#"{{"type":"append","command":"{cmd}"}}"#),
        };
        t.inputs.push(
            serde_json::from_str(&format!(
                r#"{{"at_ms":{},"input":{input}}}"#,
                1_000 + 100 * k as u64
            ))
            .expect("a valid input"),
        );
    }
    let view = TraceView::from_json(&t.to_json()).expect("the page reads what the writer wrote");
    (t, view)
}

fn trace_with(actions: &[&str]) -> TraceView {
    trace_with_seed(1, actions).1
}

#[test]
fn a_return_asks_only_when_it_would_leave_actions_behind() {
    let branch = trace_with(&["add 1", "crash2", "add 3"]);
    // Right after an undo or a fork: the current run is the start of the branch.
    assert!(!abandons(&trace_with(&["add 1", "crash2"]), &branch));
    assert!(!abandons(&trace_with(&[]), &branch));
    assert!(!abandons(&branch, &branch));
    // Pause and speed changes are not actions.
    assert!(!abandons(&trace_with(&["add 1", "pause"]), &branch));
    assert!(!abandons(&trace_with(&["pause"]), &trace_with(&[])));
    // An action the branch does not hold.
    assert!(abandons(&trace_with(&["add 1", "add 9"]), &branch));
    assert!(abandons(&trace_with(&["crash2"]), &branch));
    assert!(abandons(
        &trace_with(&["add 1", "crash2", "add 3", "add 4"]),
        &branch
    ));
    // The same actions at other instants are other actions.
    let (mut later, _) = trace_with_seed(1, &["add 1"]);
    later.inputs[0].at_ms += 1;
    let later = TraceView::from_json(&later.to_json()).expect("a trace");
    assert!(abandons(&later, &branch));
    // Another cluster.
    assert!(abandons(&trace_with_seed(2, &["add 1"]).1, &branch));
    // Another start (the disks of a restarted server).
    let (other_start, _) = trace_with_seed(1, &["add 1"]);
    let text = other_start.to_json().replace(
        r#""start":{"kind":"empty"}"#,
        r#""start":{"kind":"disks","nodes":[]}"#,
    );
    assert_ne!(text, other_start.to_json(), "the start was replaced");
    let other_start = TraceView::from_json(&text).expect("an outline");
    assert!(abandons(&other_start, &branch));
}

#[test]
fn the_page_reads_a_traces_outline_and_names_its_file_as_the_server_does() {
    let (trace, view) = trace_with_seed(42, &["add 1"]);
    assert_eq!(trace.end_ms, 5000);
    assert_eq!(trace_file_name(&view), "logscope-seed42-5000ms.json");
    // Fields this page does not know are ignored.
    let more = trace.to_json().replacen('{', r#"{"later_field":[1,2],"#, 1);
    assert_eq!(TraceView::from_json(&more).expect("an outline"), view);
    // Refused, in shared::trace's words, before anything is posted.
    let refused = |text: &str| TraceView::from_json(text).expect_err(text).to_string();
    assert!(refused("not json").starts_with("not a valid logscope trace"));
    assert!(refused(r#"{"config":{},"end_ms":1}"#).contains("\"version\""));
    assert!(refused(r#"{"version":"1","config":{},"end_ms":1}"#).contains("not a valid"));
    assert!(refused(r#"{"version":1,"end_ms":1}"#).contains("config"));
    assert!(refused(r#"{"version":1,"config":{}}"#).contains("end_ms"));
    assert!(refused(r#"{"version":1,"config":{},"end_ms":1,"inputs":3}"#).contains("not a"));
    let future = refused(r#"{"version":2}"#);
    assert!(future.contains("format version 2"), "{future}");
}

#[test]
fn a_branch_says_why_it_was_kept_and_where_it_ends() {
    let row = BranchRow {
        id: 3,
        reason: "fork".into(),
        nodes: 5,
        seed: 11,
        inputs: 12,
        end_ms: 14_200,
        last_input: Some("crash S2".into()),
        live: false,
    };
    assert_eq!(
        branch_text(&row),
        "Branch 3 · left by Resume from here · 5 servers, seed 11 · 12 inputs up to t=14.2 s \
         · last: crash S2"
    );
    let one = BranchRow {
        inputs: 1,
        last_input: None,
        ..row.clone()
    };
    assert!(branch_text(&one).ends_with("· 1 input up to t=14.2 s"));
    // Just brought back (Return, or an undone fork): the list says so.
    let live = BranchRow { live: true, ..row };
    assert!(branch_text(&live).ends_with("· last: crash S2 · the run you are on"));
}

#[test]
fn the_tracks_arrows_step_like_the_brackets() {
    for key in ["ArrowLeft", "ArrowDown"] {
        assert_eq!(track_key(key, false), Some(KeyAction::StepBack));
        assert_eq!(track_key(key, true), Some(KeyAction::StepBack));
    }
    for key in ["ArrowRight", "ArrowUp"] {
        assert_eq!(track_key(key, false), None, "nothing is newer than live");
        assert_eq!(track_key(key, true), Some(KeyAction::StepForward));
    }
    assert_eq!(track_key("a", true), None);
}

#[test]
fn a_finger_scrubs_only_when_it_moves_sideways() {
    assert!(!is_sideways(0.0, 0.0), "a touch alone");
    assert!(!is_sideways(5.0, 1.0), "a tap's wobble");
    assert!(!is_sideways(12.0, 30.0), "a scroll of the page");
    assert!(!is_sideways(-12.0, -30.0), "a scroll the other way");
    assert!(is_sideways(12.0, 3.0));
    assert!(is_sideways(-20.0, 10.0));
}
