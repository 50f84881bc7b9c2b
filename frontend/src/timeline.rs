//! The timeline's decisions, pure and tested natively: which markers `GET /api/trace/markers`
//! gives and how they are drawn (lane, colour, label), how they are thinned to one per few pixels,
//! where an instant sits on the track and back, what a key does, and how a share link is written
//! and read. No Leptos and no browser: `history` (fetches) and `components::timeline` (drawing)
//! use these. Must not fetch or hold state.

use serde::Deserialize;
use shared::protocol::{Event, SimEvent};
use shared::types::{NodeId, Role, Term};

use crate::layout::term_colour;

/// `GET /api/trace/markers`'s result (docs/api.md).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MarkersReply {
    /// Where the run stood (virtual ms).
    pub end_ms: u64,
    /// Every input of the trace.
    pub inputs: Vec<InputMarker>,
    /// The notable events, as in the event stream.
    pub events: Vec<SimEvent>,
}

/// One input of the trace, as the markers route describes it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct InputMarker {
    /// 0-based index in the trace's `inputs`.
    pub index: usize,
    /// When it took effect.
    pub at_ms: u64,
    /// "crash S2", "append \"add 5\"", …
    pub text: String,
}

/// The row of the track a marker is drawn on, top to bottom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    /// A server became leader (coloured by its term).
    Leader,
    /// Crashes, power losses, restarts, storage failures, partitions and heals.
    Fault,
    /// What someone did (the inputs), and the leader's commits.
    Action,
}

/// What a marker stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum MarkerKind {
    /// `node` became leader of `term`.
    Leader { node: NodeId, term: Term },
    /// The leader committed up to an index.
    Commit,
    /// A server crashed, lost power, restarted or failed to store.
    Fault,
    /// Partitions, cuts or heals.
    Network,
    /// An input given by a person (the index into the trace's `inputs`).
    Input { index: usize },
}

/// A marker ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// When (virtual ms).
    pub at_ms: u64,
    /// What.
    pub kind: MarkerKind,
    /// The row.
    pub lane: Lane,
    /// Fill colour (the term's, for a leader).
    pub colour: &'static str,
    /// The tooltip, a short sentence.
    pub label: String,
}

/// Commits are the most frequent markers; they yield to anything else in the same pixel.
const COMMIT_COLOUR: &str = "#64748b";
const FAULT_COLOUR: &str = "#b91c1c";
const NETWORK_COLOUR: &str = "#d97706";
const INPUT_COLOUR: &str = "#1d4ed8";

/// True for the pause/resume/speed inputs: they change nothing in the cluster, so they get no
/// marker (`TraceInput::describe` words them "pause at speed …" / "run at speed …").
pub fn is_control_text(text: &str) -> bool {
    text.starts_with("pause at speed") || text.starts_with("run at speed")
}

/// The markers of a reply, in time order.
pub fn markers(reply: &MarkersReply) -> Vec<Marker> {
    let mut out: Vec<Marker> = reply.events.iter().filter_map(event_marker).collect();
    out.extend(
        reply
            .inputs
            .iter()
            .filter(|i| !is_control_text(&i.text))
            .map(|i| Marker {
                at_ms: i.at_ms,
                kind: MarkerKind::Input { index: i.index },
                lane: Lane::Action,
                colour: INPUT_COLOUR,
                label: format!("{}: {}", format_instant(i.at_ms), i.text),
            }),
    );
    out.sort_by_key(|m| m.at_ms);
    out
}

fn event_marker(ev: &SimEvent) -> Option<Marker> {
    let at = format_instant(ev.time_ms);
    let (kind, lane, colour, label) = match &ev.event {
        Event::RoleChanged {
            node,
            role: Role::Leader,
            term,
            ..
        } => (
            MarkerKind::Leader {
                node: *node,
                term: *term,
            },
            Lane::Leader,
            term_colour(*term),
            format!("{at}: S{node} became leader of term {term}"),
        ),
        Event::CommitAdvanced { node, commit_index } => (
            MarkerKind::Commit,
            Lane::Action,
            COMMIT_COLOUR,
            format!("{at}: leader S{node} committed up to entry {commit_index}"),
        ),
        Event::NodeCrashed { node } => fault(format!("{at}: S{node} crashed")),
        Event::PowerLost { node, .. } => fault(format!("{at}: S{node} lost power")),
        Event::NodeRestarted { node, .. } => fault(format!("{at}: S{node} restarted")),
        Event::StorageFailed { node, .. } => fault(format!("{at}: S{node}'s storage failed")),
        Event::NetworkChanged { network } => {
            let whole = network.partitions.is_empty() && network.cut_links.is_empty();
            let what = if whole {
                "the network is whole"
            } else if network.partitions.is_empty() {
                "links cut"
            } else {
                "the network is partitioned"
            };
            (
                MarkerKind::Network,
                Lane::Fault,
                NETWORK_COLOUR,
                format!("{at}: {what}"),
            )
        }
        _ => return None,
    };
    Some(Marker {
        at_ms: ev.time_ms,
        kind,
        lane,
        colour,
        label,
    })
}

fn fault(label: String) -> (MarkerKind, Lane, &'static str, String) {
    (MarkerKind::Fault, Lane::Fault, FAULT_COLOUR, label)
}

/// Which of two markers in the same pixel is drawn: anything beats a commit, and otherwise the
/// later one (the leader that came out of a flurry of elections is the one to aim at).
fn outranks(new: &Marker, old: &Marker) -> bool {
    let commit = |m: &Marker| m.kind == MarkerKind::Commit;
    commit(old) || !commit(new)
}

/// The markers to draw on a track `width_px` wide spanning `0..=end_ms`: at most one per lane
/// every `min_gap_px` pixels, so a long run stays a few hundred elements. Each comes with its
/// position as a fraction of the track.
pub fn thin(markers: &[Marker], end_ms: u64, width_px: f64, min_gap_px: f64) -> Vec<(f64, Marker)> {
    let buckets = (width_px / min_gap_px.max(1.0)).floor().max(1.0);
    let mut kept: Vec<(u64, Lane, f64, Marker)> = Vec::new();
    for m in markers {
        let x = fraction(m.at_ms as f64, end_ms);
        let bucket = (x * buckets).floor().min(buckets - 1.0) as u64;
        match kept
            .iter_mut()
            .rev()
            .take(8)
            .find(|(b, lane, _, _)| *b == bucket && *lane == m.lane)
        {
            Some(slot) if outranks(m, &slot.3) => *slot = (bucket, m.lane, x, m.clone()),
            Some(_) => {}
            None => kept.push((bucket, m.lane, x, m.clone())),
        }
    }
    kept.into_iter().map(|(_, _, x, m)| (x, m)).collect()
}

/// Where virtual time `t_ms` sits on a track spanning `0..=end_ms`, from 0 to 1.
pub fn fraction(t_ms: f64, end_ms: u64) -> f64 {
    if end_ms == 0 {
        return 1.0;
    }
    (t_ms / end_ms as f64).clamp(0.0, 1.0)
}

/// The instant under a pointer at `x_px` on a track starting at `left_px`, `width_px` wide.
pub fn time_at(x_px: f64, left_px: f64, width_px: f64, end_ms: u64) -> u64 {
    if width_px <= 0.0 {
        return end_ms;
    }
    let f = ((x_px - left_px) / width_px).clamp(0.0, 1.0);
    (f * end_ms as f64).round() as u64
}

/// "t=12.3 s": an instant as the banner and tooltips say it (tenths below a minute, then
/// minutes and seconds).
pub fn format_instant(t_ms: u64) -> String {
    let s = t_ms as f64 / 1000.0;
    if s < 60.0 {
        format!("t={s:.1} s")
    } else {
        let m = (s / 60.0).floor();
        format!("t={m:.0} min {:.1} s", s - m * 60.0)
    }
}

/// What a key does to the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    /// Show the instant one event earlier (entering the past from the live run).
    StepBack,
    /// Show the instant one event later (back to live past the end).
    StepForward,
    /// Undo the last action (`POST /api/undo`).
    Undo,
    /// Return to the live run.
    Live,
}

/// The modifier keys held with a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mods {
    /// Ctrl (or ⌘ on a Mac).
    pub ctrl: bool,
    /// Alt.
    pub alt: bool,
    /// Shift.
    pub shift: bool,
}

/// The timeline's keys: `[`/`]` one event back/forward, `,` one back while paused (or while
/// already looking at the past), `u` and Ctrl+Z undo, Escape back to live from the past.
pub fn key_action(
    key: &str,
    mods: Mods,
    live_paused: bool,
    viewing_past: bool,
) -> Option<KeyAction> {
    if mods.alt {
        return None;
    }
    if mods.ctrl {
        return (matches!(key, "z" | "Z") && !mods.shift).then_some(KeyAction::Undo);
    }
    match key {
        "[" => Some(KeyAction::StepBack),
        "]" if viewing_past => Some(KeyAction::StepForward),
        "," if viewing_past || live_paused => Some(KeyAction::StepBack),
        "u" | "U" => Some(KeyAction::Undo),
        "Escape" if viewing_past => Some(KeyAction::Live),
        _ => None,
    }
}

/// The seq to ask for to go one event back from the snapshot at `seq`, on attempt `attempt`
/// (0, 1, …): a step can emit several events, and `?seq=S` lands after the whole step that
/// emitted S, so when that is not earlier the page asks again further back (1, 2, 4, … events).
pub fn back_target(seq: u64, attempt: u32) -> u64 {
    seq.saturating_sub(1u64 << attempt.min(40))
}

/// A share link opened in the page: the trace's fragment and where to show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// What follows `trace=`: `shared::trace::link`'s encoding.
    pub fragment: String,
    /// The instant to show (virtual ms), from `t=` in seconds.
    pub t_ms: Option<u64>,
}

/// The URL fragment of a share link: `#trace=1.…&t=12.345` (t in seconds).
pub fn share_fragment(fragment: &str, t_ms: Option<u64>) -> String {
    match t_ms {
        Some(t) => format!("#trace={fragment}&t={:.3}", t as f64 / 1000.0),
        None => format!("#trace={fragment}"),
    }
}

/// Read a share link's fragment (with or without the `#`); `None` when it carries no trace.
pub fn parse_share(hash: &str) -> Option<Share> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    let mut fragment = None;
    let mut t_ms = None;
    for part in hash.split('&') {
        if let Some(f) = part.strip_prefix("trace=") {
            fragment = Some(f.to_string());
        } else if let Some(t) = part.strip_prefix("t=") {
            t_ms = t
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(|t| (t * 1000.0).round() as u64);
        }
    }
    fragment
        .filter(|f| !f.is_empty())
        .map(|fragment| Share { fragment, t_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::NetworkView;

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
                leader(10, 300, 1, 1),
                ev(20, 1_200, Event::NodeCrashed { node: NodeId(2) }),
                leader(30, 2_000, 3, 2),
            ],
        };
        let m = markers(&reply);
        assert_eq!(m.len(), 4, "{m:?}");
        assert_eq!(m[0].colour, term_colour(Term(1)));
        assert_eq!(m[0].lane, Lane::Leader);
        assert_eq!(m[0].label, "t=0.3 s: S1 became leader of term 1");
        assert_eq!(m[1].lane, Lane::Fault);
        assert_eq!(m[2].kind, MarkerKind::Input { index: 1 });
        assert_eq!(m[2].label, "t=1.2 s: crash S2");
        assert_eq!(m[3].colour, term_colour(Term(2)));
        assert_ne!(m[0].colour, m[3].colour);
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
        assert!(
            m[0].label.ends_with("the network is partitioned"),
            "{}",
            m[0].label
        );
        assert!(
            m[1].label.ends_with("the network is whole"),
            "{}",
            m[1].label
        );
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
    }
}
