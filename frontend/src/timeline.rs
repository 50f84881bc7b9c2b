//! The timeline's decisions, pure and tested natively: which markers `GET /api/trace/markers`
//! gives and how they are drawn (lane, colour, label), how they are thinned to one per few pixels,
//! where an instant sits on the track and back, what a key does, and how a share link is written
//! and read. No Leptos and no browser: `history` (fetches) and `components::timeline` (drawing)
//! use these. Must not fetch or hold state.

use crate::decimal::Fixed;
use shared::protocol::{ClientCommand, Event, SimEvent};
use shared::types::{NodeId, Role, Term};

use crate::layout::term_colour;
use crate::model::{Focus, Narration, Tone};
use crate::wire::{Fields, FromJson, Json};

// A trace's outline (its own module); here too for the timeline's callers and tests.
pub use crate::trace_view::{abandons, trace_file_name, TraceView};

/// `GET /api/trace/markers`'s result (docs/api.md).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MarkersReply {
    /// Where the run stood (virtual ms).
    pub end_ms: u64,
    /// Every input of the trace.
    pub inputs: Vec<InputMarker>,
    /// The notable events, as in the event stream.
    pub events: Vec<SimEvent>,
}

/// One input of the trace, as the markers route describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct InputMarker {
    /// 0-based index in the trace's `inputs`.
    pub index: usize,
    /// When it took effect.
    pub at_ms: u64,
    /// "crash S2", "append \"add 5\"", …
    pub text: String,
}

impl FromJson for MarkersReply {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "the markers")?;
        Ok(MarkersReply {
            end_ms: f.get("end_ms")?,
            inputs: f.get("inputs")?,
            events: f.get("events")?,
        })
    }
}

impl FromJson for InputMarker {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "an input marker")?;
        Ok(InputMarker {
            index: f.get("index")?,
            at_ms: f.get("at_ms")?,
            text: f.get("text")?,
        })
    }
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
    /// What happened, a short sentence ("S2 crashed").
    pub text: String,
}

impl Marker {
    /// The tooltip: the instant and the sentence.
    pub fn label(&self) -> String {
        format!("{}: {}", format_instant(self.at_ms), self.text)
    }

    fn tone(&self) -> Tone {
        match self.kind {
            MarkerKind::Leader { .. } => Tone::Leader,
            MarkerKind::Commit => Tone::Log,
            MarkerKind::Fault => Tone::Fault,
            MarkerKind::Network => Tone::Network,
            MarkerKind::Input { .. } => Tone::Client,
        }
    }
}

/// Narration ids for sentences made from markers start here, far above the page's own (which
/// count up from 1), so the story's keyed list never confuses the two.
const STORY_ID_BASE: u64 = 1 << 48;

/// The story up to `until_ms` told from the markers, newest first and at most `max` sentences:
/// what the past view says when the page itself did not see that part of the run (it was opened
/// later, or the run was loaded from a file or a link).
pub fn story(markers: &[Marker], until_ms: u64, max: usize) -> Vec<Narration> {
    markers
        .iter()
        .enumerate()
        .filter(|(_, m)| m.at_ms <= until_ms)
        .rev()
        .take(max)
        .map(|(i, m)| Narration {
            id: STORY_ID_BASE + i as u64,
            seq: 0,
            time_ms: m.at_ms,
            // An input is what someone did ("crash S1"); the events after it say what came of
            // it ("S1 crashed"). Said as such, the two do not read as one thing told twice.
            text: match m.kind {
                MarkerKind::Input { .. } => format!("Action: {}", m.text),
                _ => m.text.clone(),
            },
            focus: match m.kind {
                MarkerKind::Leader { node, .. } => Focus::Node(node),
                _ => Focus::None,
            },
            tone: m.tone(),
        })
        .collect()
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
    let mut inputs = reply
        .inputs
        .iter()
        .filter(|i| !is_control_text(&i.text))
        .map(|i| Marker {
            at_ms: i.at_ms,
            kind: MarkerKind::Input { index: i.index },
            lane: Lane::Action,
            colour: INPUT_COLOUR,
            text: i.text.clone(),
        })
        .peekable();
    // Events and inputs each come in time order (the run's order): merge them, an event before
    // an input at the same instant. No sort: a long run has thousands of markers.
    let mut out = Vec::with_capacity(reply.events.len() + reply.inputs.len());
    for event in reply.events.iter().filter_map(event_marker) {
        while let Some(input) = inputs.next_if(|i| i.at_ms < event.at_ms) {
            out.push(input);
        }
        out.push(event);
    }
    out.extend(inputs);
    out
}

fn event_marker(ev: &SimEvent) -> Option<Marker> {
    let (kind, lane, colour, text) = match &ev.event {
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
            format!("S{node} became leader of term {term}"),
        ),
        Event::CommitAdvanced { node, commit_index } => (
            MarkerKind::Commit,
            Lane::Action,
            COMMIT_COLOUR,
            format!("Leader S{node} committed up to entry {commit_index}"),
        ),
        Event::NodeCrashed { node } => fault(format!("S{node} crashed")),
        Event::PowerLost { node, .. } => fault(format!("S{node} lost power")),
        // Every server "restarts" at 0 ms when the run begins: that is the start, not a fault.
        Event::NodeRestarted { .. } if ev.time_ms == 0 => return None,
        Event::NodeRestarted { node, .. } => fault(format!("S{node} restarted")),
        Event::StorageFailed { node, .. } => fault(format!("S{node}'s storage failed")),
        Event::NetworkChanged { network } => {
            let whole = network.partitions.is_empty() && network.cut_links.is_empty();
            let what = if whole {
                "The network is whole again"
            } else if network.partitions.is_empty() {
                "Links are cut"
            } else {
                "The network is partitioned"
            };
            (
                MarkerKind::Network,
                Lane::Fault,
                NETWORK_COLOUR,
                what.to_string(),
            )
        }
        _ => return None,
    };
    Some(Marker {
        at_ms: ev.time_ms,
        kind,
        lane,
        colour,
        text,
    })
}

fn fault(text: String) -> (MarkerKind, Lane, &'static str, String) {
    (MarkerKind::Fault, Lane::Fault, FAULT_COLOUR, text)
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
        format!("t={} s", Fixed(s, 1))
    } else {
        let m = (s / 60.0).floor();
        format!("t={} min {} s", Fixed(m, 0), Fixed(s - m * 60.0, 1))
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
    /// Make the live run the instant shown (`POST /api/fork`).
    ResumeHere,
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
/// already looking at the past), `u` and Ctrl+Z undo; from the past, Escape back to live and `r`
/// resume from there.
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
        "r" | "R" if viewing_past => Some(KeyAction::ResumeHere),
        _ => None,
    }
}

/// What an arrow key does on the focused track (`role="slider"`, so a keyboard or screen-reader
/// user expects the arrows): left or down goes one event back, right or up one forward, which
/// exists only in the past (live is the newest instant).
pub fn track_key(key: &str, viewing_past: bool) -> Option<KeyAction> {
    match key {
        "ArrowLeft" | "ArrowDown" => Some(KeyAction::StepBack),
        "ArrowRight" | "ArrowUp" if viewing_past => Some(KeyAction::StepForward),
        _ => None,
    }
}

/// Whether a finger that moved (`dx`, `dy`) CSS px since it touched the track is scrubbing
/// (moving sideways, past a tap's wobble) rather than scrolling the page.
pub fn is_sideways(dx: f64, dy: f64) -> bool {
    dx.abs() > 8.0 && dx.abs() > dy.abs()
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
        Some(t) => format!("#trace={fragment}&t={}.{:03}", t / 1000, t % 1000),
        None => format!("#trace={fragment}"),
    }
}

/// "12.345" seconds as 12,345 ms, rounded to the nearest ms (half up); `None` unless it is
/// digits with at most one `.` (what [`share_fragment`] writes). Read digit by digit rather than
/// through `str::parse::<f64>`: that parser's tables (~10 KB of powers of five) would be in the
/// page module for this one number.
pub fn seconds_to_ms(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let mut ms: u64 = 0;
    for b in whole.bytes() {
        ms = ms.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    // Three decimals are milliseconds; the fourth rounds.
    let mut thousandths = fraction.bytes().chain(std::iter::repeat(b'0'));
    for _ in 0..3 {
        let d = thousandths.next().unwrap_or(b'0') - b'0';
        ms = ms.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    if thousandths.next().is_some_and(|d| d >= b'5') {
        ms = ms.checked_add(1)?;
    }
    Some(ms)
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
            t_ms = seconds_to_ms(t);
        }
    }
    fragment
        .filter(|f| !f.is_empty())
        .map(|fragment| Share { fragment, t_ms })
}

/// How [`while_past`]'s refusal begins: going back to live takes such refusals away.
pub const PAST_REFUSAL: &str = "You are looking at the past";

/// While the page shows a past instant, whether a command may go to the live run. Every
/// command that changes the run (append, crash, network, pause, speed, step, reset, …) is
/// refused with a sentence saying how to act from the instant shown: the teacher is looking at
/// `past_ms`, and an action must not land unseen in the live run (RaftScope-style "act from
/// here" is one key away, `r` / Resume from here, which keeps the live run as a branch). Only
/// the classroom's broadcast of the presenter's view, which changes no run, passes.
pub fn while_past(command: &ClientCommand, past_ms: Option<u64>) -> Result<(), String> {
    match past_ms {
        Some(t) if !matches!(command, ClientCommand::PresenterView(_)) => Err(format!(
            "{PAST_REFUSAL} ({}): press Resume from here (r) to act from this instant, or Back \
             to live (Esc)",
            format_instant(t)
        )),
        _ => Ok(()),
    }
}

/// One branch of `GET /api/trace/branches` (a run set aside by a fork, undo, load, return,
/// reset or a restart of the server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchRow {
    /// Its id (`POST /api/trace/branches/{id}/restore`).
    pub id: u64,
    /// What set it aside: fork, undo, loaded, restored, reset, recovered.
    pub reason: String,
    /// Cluster size.
    pub nodes: u64,
    /// Seed.
    pub seed: u64,
    /// Inputs in its trace.
    pub inputs: usize,
    /// Where it ends (virtual ms).
    pub end_ms: u64,
    /// Its last input, described ("crash S2").
    pub last_input: Option<String>,
    /// The live run holds all of it (just brought back): returning would change nothing.
    pub live: bool,
}

impl FromJson for BranchRow {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a branch")?;
        Ok(BranchRow {
            id: f.get("id")?,
            reason: f.get("reason")?,
            nodes: f.get("nodes")?,
            seed: f.get("seed")?,
            inputs: f.get("inputs")?,
            end_ms: f.get("end_ms")?,
            last_input: f.get("last_input")?,
            live: f.or_default("live")?,
        })
    }
}

/// A branch as the list words it: "Branch 3 · before a fork · 5 servers, seed 11 · 12 inputs
/// up to t=14.2 s · last: crash S2".
pub fn branch_text(b: &BranchRow) -> String {
    let why = match b.reason.as_str() {
        "fork" => "left by Resume from here",
        "undo" => "left by an undo",
        "loaded" => "left by loading a trace",
        "restored" => "left by returning to a branch",
        "reset" => "left by a new cluster",
        "recovered" => "the run before the server restarted",
        other => other,
    };
    let last = b
        .last_input
        .as_deref()
        .map(|l| format!(" · last: {l}"))
        .unwrap_or_default();
    let inputs = match b.inputs {
        0 => "no input".to_string(),
        1 => "1 input".to_string(),
        n => format!("{n} inputs"),
    };
    let live = if b.live { " · the run you are on" } else { "" };
    format!(
        "Branch {} · {why} · {} servers, seed {} · {inputs} up to {}{last}{live}",
        b.id,
        b.nodes,
        b.seed,
        format_instant(b.end_ms)
    )
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
