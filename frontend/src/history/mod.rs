//! The page's side of history (docs/trace.md): whether the screen shows the live run or an
//! instant of its past, and the requests behind the timeline — markers, `GET /api/trace/at`,
//! fork, undo and import (`replace`), branches (`branches`) and share links (`share`). While the
//! past is shown, live messages update a kept copy of the live view (so "Back to live" is instant), never the screen. Owns those requests and that
//! switch; drawing is `components::timeline`'s, the pure decisions are `timeline`'s, and all Raft
//! knowledge stays in `model` (a past instant is drawn from its snapshot by the same reducer).

use crate::wire::{Fields, FromJson, Json};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::protocol::{ClusterSnapshot, ServerMessage, PROTOCOL_VERSION};

use crate::http::request;
use crate::model::{ClusterView, Tone};
use crate::state::{Ctx, Selection};
use crate::timeline::{back_target, format_instant, markers, story};
use crate::timeline::{Marker, MarkersReply};
use crate::ws::Origin;

mod branches;
mod play;
mod replace;
mod share;

pub use branches::Branches;
use replace::Expected;

/// Least wall time between two marker refreshes while the run goes on: the server re-executes
/// the run to answer, so a long run is asked less often (see `refresh_markers`).
const MARKERS_EVERY_MS: f64 = 3_000.0;
/// Sentences told from the markers when the page has none of its own for the instant shown.
const STORY_MAX: usize = 60;
/// Attempts at finding an earlier step boundary for "one event back" (1, 2, 4, … events back).
const BACK_ATTEMPTS: u32 = 6;

/// A position in the run, as the server's `at`/`fork` routes take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// After everything at or before this virtual time.
    Ms(u64),
    /// Right after the step that emitted this event.
    Seq(u64),
}

impl At {
    /// Its query string for `GET /api/trace/at` and `/api/trace/at/log`.
    pub fn query(self) -> String {
        match self {
            At::Ms(t) => format!("at_ms={t}"),
            At::Seq(s) => format!("seq={s}"),
        }
    }

    fn body(self) -> String {
        match self {
            At::Ms(t) => format!("{{\"at_ms\":{t}}}"),
            At::Seq(s) => format!("{{\"seq\":{s}}}"),
        }
    }
}

/// The instant shown instead of the live run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Past {
    /// Its virtual time.
    pub time_ms: u64,
    /// The last event before it.
    pub seq: u64,
    /// How it was asked for (a fork from here uses the same position).
    pub at: At,
}

/// The timeline's markers as last fetched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Track {
    /// Where the run stood when they were fetched.
    pub end_ms: u64,
    /// In time order.
    pub markers: Vec<Marker>,
}

/// History's state. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub struct History {
    /// `Some` while an instant of the past is shown.
    pub past: RwSignal<Option<Past>>,
    /// The markers.
    pub track: RwSignal<Track>,
    /// A fork, undo or load is under way (its buttons wait).
    pub busy: RwSignal<bool>,
    /// The last share link made, shown for copying by hand.
    pub link: RwSignal<Option<String>>,
    /// Counts the run's replacements (fork, undo, load, return to a branch, reset, a lesson's
    /// stop), made from this page or another, and new connections: what shows the branches
    /// refetches on a change; a stretch of the past being played stops at one (`play`).
    pub moves: RwSignal<u64>,
    /// Presses of `u` that came while a change was under way: each undoes once more after it.
    undos_waiting: StoredValue<u32>,
    /// The live view, kept up to date while the past is shown.
    saved: StoredValue<Option<ClusterView>, LocalStorage>,
    /// The position asked for last; an answer for any other is stale and dropped.
    wanted: StoredValue<Option<At>>,
    /// A `GET /api/trace/at` is under way (one at a time: a drag asks for its newest position
    /// when the previous answer came).
    fetching: StoredValue<bool>,
    /// The instant asked for and not shown yet, while it is still wanted. The timeline says so
    /// when it takes long (the first question on a long run re-executes it).
    pub loading: RwSignal<Option<At>>,
    /// A fork, undo or load from this page is under way, and the new run's snapshot has not
    /// come yet: it is taken as a replaced run (`ClusterView::replaced`), not a restart.
    expecting: StoredValue<Option<Expected>>,
    /// Wall time and cost of the last marker refresh.
    markers_wall: StoredValue<(f64, f64)>,
    /// A stretch of the past is being played (`play`): its button waits.
    pub playing: RwSignal<bool>,
}

fn wall_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

impl History {
    /// The live run shown, nothing fetched yet. Call inside the page's owner.
    pub fn new() -> History {
        History {
            past: RwSignal::new(None),
            track: RwSignal::new(Track::default()),
            busy: RwSignal::new(false),
            link: RwSignal::new(None),
            moves: RwSignal::new(0),
            undos_waiting: StoredValue::new(0),
            saved: StoredValue::new_local(None),
            wanted: StoredValue::new(None),
            fetching: StoredValue::new(false),
            loading: RwSignal::new(None),
            expecting: StoredValue::new(None),
            markers_wall: StoredValue::new((f64::MIN, 0.0)),
            playing: RwSignal::new(false),
        }
    }

    /// A message from the WebSocket: passed on while the live run is shown; while the past is
    /// shown, applied to the kept live view instead (replies and a protocol mismatch pass on).
    pub fn intercept(self, ctx: Ctx, message: ServerMessage) -> Option<ServerMessage> {
        // Every page's branch count follows a move another page made (a student's page showed
        // "Branches (0)" beside the presenter's "Branches (1)"): a replaced run says why, a
        // lesson's stop is announced, a new connection may have missed either. Not a snapshot
        // resent to a page that fell behind (at speed 0, often): the list did not change.
        if matches!(
            message,
            ServerMessage::Snapshot { moved: Some(_), .. }
                | ServerMessage::LessonChanged
                | ServerMessage::Hello { .. }
        ) {
            self.moves.update(|m| *m += 1);
        }
        let expected = self.expecting.with_value(Option::is_some);
        if expected && self.past.get_untracked().is_none() {
            if let ServerMessage::Snapshot { snapshot, .. } = message {
                let Expected { forked, answer } = self.take_expected().unwrap_or_default();
                let (time, speed, paused) =
                    (snapshot.time_ms as f64, snapshot.speed, snapshot.paused);
                ctx.live.change(|v| {
                    v.replaced(snapshot, forked);
                    if let Some(answer) = answer {
                        v.note(answer, Tone::Control);
                    }
                });
                ctx.clock
                    .update_value(|c| c.reset(time, wall_ms(), speed, paused));
                ctx.forget_replies_about_the_run();
                // Message ids start again in the new run.
                if matches!(ctx.selection.get_untracked(), Selection::Message(_)) {
                    ctx.selection.set(Selection::None);
                }
                return None;
            }
        }
        if self.past.get_untracked().is_none() {
            return Some(message);
        }
        match message {
            ServerMessage::Hello {
                protocol_version, ..
            } if protocol_version != PROTOCOL_VERSION => Some(message),
            ServerMessage::Hello { snapshot, .. } => {
                self.take_expected();
                self.saved.update_value(|v| match v {
                    Some(v) => {
                        v.resync(snapshot);
                    }
                    None => *v = Some(ClusterView::from_snapshot(snapshot)),
                });
                None
            }
            ServerMessage::Snapshot { snapshot, moved } => {
                let expected = self.take_expected();
                self.saved.update_value(|v| match (v, expected) {
                    (Some(v), Some(expected)) => v.replaced(snapshot, expected.forked),
                    (Some(v), None) => {
                        v.moved(snapshot, moved);
                    }
                    (v @ None, _) => *v = Some(ClusterView::from_snapshot(snapshot)),
                });
                None
            }
            ServerMessage::Events { events } => {
                self.saved.update_value(|v| {
                    if let Some(v) = v {
                        events.iter().for_each(|e| {
                            v.apply(e);
                        });
                    }
                });
                None
            }
            ServerMessage::Clock {
                time_ms,
                paused,
                speed,
            } => {
                self.saved.update_value(|v| {
                    if let Some(v) = v {
                        v.on_clock(time_ms, paused, speed);
                    }
                });
                None
            }
            // Neither is the run's state: the page handles them as when live.
            ServerMessage::Reply { .. }
            | ServerMessage::PresenterView(_)
            | ServerMessage::Prediction { .. }
            | ServerMessage::LessonChanged
            | ServerMessage::Safety { .. } => Some(message),
        }
    }

    /// The live run's last event and time (the kept view's while the past is shown).
    pub fn live_end(self, ctx: Ctx) -> Option<(u64, u64)> {
        let from_saved = self
            .saved
            .with_value(|v| v.as_ref().map(|v| (v.seq, v.time_ms)));
        match self.past.get_untracked() {
            Some(_) => from_saved,
            None => ctx.live.peek(|v| (v.seq, v.time_ms)),
        }
    }

    /// Show the instant `at`. Drags call this on every move: one request is under way at a time,
    /// and the newest position is asked for when it answers.
    pub fn show(self, ctx: Ctx, at: At) {
        self.wanted.set_value(Some(at));
        self.loading.set(Some(at));
        if self.fetching.get_value() {
            return;
        }
        self.fetching.set_value(true);
        spawn_local(async move {
            let mut asked = at;
            loop {
                let result = fetch_at(asked).await;
                if self.wanted.get_value() == Some(asked) {
                    match result {
                        Ok(snapshot) => self.draw_past(ctx, snapshot, asked),
                        Err(e) => ctx.local_error(Origin::History, e),
                    }
                }
                match self.wanted.get_value() {
                    Some(next) if next != asked => asked = next,
                    _ => break,
                }
            }
            self.fetching.set_value(false);
            self.loading.set(None);
        });
    }

    /// One event back from what is shown (the live run's last event when it is live).
    pub fn step_back(self, ctx: Ctx) {
        let Some(current) = self.shown_seq(ctx) else {
            return;
        };
        if current == 0 {
            return;
        }
        spawn_local(async move {
            // `?seq=S` lands after the whole step that emitted S: ask further back until the
            // answer is earlier than what is shown.
            for attempt in 0..BACK_ATTEMPTS {
                let at = At::Seq(back_target(current, attempt));
                match fetch_at(at).await {
                    Ok(snapshot) if snapshot.seq < current || attempt + 1 == BACK_ATTEMPTS => {
                        self.wanted.set_value(Some(at));
                        self.draw_past(ctx, snapshot, at);
                        return;
                    }
                    Ok(_) => continue,
                    Err(e) => return ctx.local_error(Origin::History, e),
                }
            }
        });
    }

    /// One event forward; past the live run's end, back to live.
    pub fn step_forward(self, ctx: Ctx) {
        let Some(current) = self.past.get_untracked().map(|p| p.seq) else {
            return;
        };
        let live_seq = self.live_end(ctx).map(|(s, _)| s).unwrap_or(0);
        if current + 1 > live_seq {
            return self.back_to_live(ctx);
        }
        self.show(ctx, At::Seq(current + 1));
    }

    fn shown_seq(self, ctx: Ctx) -> Option<u64> {
        match self.past.get_untracked() {
            Some(p) => Some(p.seq),
            None => ctx.live.peek(|v| v.seq),
        }
    }

    /// Put a past snapshot on screen through the reducer, with the story up to that instant as
    /// far as this page saw it.
    fn draw_past(self, ctx: Ctx, snapshot: ClusterSnapshot, at: At) {
        if self.past.get_untracked().is_none() {
            let live = ctx.live.peek(|v| v.clone());
            self.saved.set_value(live);
        }
        let mut view = ClusterView::from_snapshot(snapshot);
        self.saved.with_value(|saved| {
            if let Some(saved) = saved {
                view.narration = saved
                    .narration
                    .iter()
                    .filter(|n| n.seq > 0 && n.seq <= view.seq && n.time_ms <= view.time_ms)
                    .cloned()
                    .collect();
                view.speed = saved.speed;
                view.paused = saved.paused;
            }
        });
        // What came before this page's first sentence (it opened later, or the run was loaded
        // from a file or a link) is told from the markers.
        let earliest = view
            .narration
            .back()
            .map_or(view.time_ms + 1, |n| n.time_ms);
        if earliest > 0 {
            let until = (earliest - 1).min(view.time_ms);
            let told = self
                .track
                .with_untracked(|t| story(&t.markers, until, STORY_MAX));
            view.narration.extend(told);
        }
        let (time_ms, seq, speed) = (view.time_ms, view.seq, view.speed);
        // Only what differs from the instant shown before is redrawn: two nearby instants share
        // most servers, the story and the network.
        ctx.live.change(move |v| *v = view.replacing(v));
        ctx.clock
            .update_value(|c| c.reset(time_ms as f64, wall_ms(), speed, true));
        ctx.now.set(time_ms as f64);
        ctx.past_ms.set_value(Some(time_ms));
        self.past.set(Some(Past { time_ms, seq, at }));
    }

    /// No instant is wanted any more: an answer still under way is dropped when it comes.
    fn drop_wanted(self) {
        self.wanted.set_value(None);
        self.loading.set(None);
    }

    /// Drop the past instant shown and the live view kept meanwhile, without going back to
    /// the live run (a sandbox replaces it: its `Hello` brings the whole state).
    pub fn forget_past(self, ctx: Ctx) {
        self.drop_wanted();
        ctx.past_ms.set_value(None);
        self.saved.set_value(None);
        self.past.set(None);
    }

    /// Show the live run again, as it is now.
    pub fn back_to_live(self, ctx: Ctx) {
        // Also when the live run is still shown: an instant asked for and not come yet (a
        // first, slow answer) must not replace it when it comes.
        self.drop_wanted();
        if self.past.get_untracked().is_none() {
            return;
        }
        ctx.past_ms.set_value(None);
        self.past.set(None);
        // "You are looking at the past…" is no longer true: not left up for its few seconds.
        ctx.replies.update(|r| {
            r.retain(
                |_, reply| !matches!(reply, Err(e) if e.starts_with(crate::timeline::PAST_REFUSAL)),
            )
        });
        let Some(view) = self.saved.try_update_value(|v| v.take()).flatten() else {
            ctx.reconnect_now();
            return;
        };
        let (time_ms, speed, paused) = (view.time_ms as f64, view.speed, view.paused);
        let needs_resync = view.needs_resync;
        ctx.live.change(move |v| *v = view.replacing(v));
        ctx.clock
            .update_value(|c| c.reset(time_ms, wall_ms(), speed, paused));
        if needs_resync {
            ctx.reconnect_now();
        }
        self.refresh_markers(true);
    }

    /// Fetch the markers again, unless the last fetch was recent (`force` on a new run or after
    /// an action). The server re-executes the run to answer, so a run whose answer took long is
    /// asked proportionally less often.
    pub fn refresh_markers(self, force: bool) {
        let (last, cost) = self.markers_wall.get_value();
        let now = wall_ms();
        if !force && now - last < MARKERS_EVERY_MS.max(cost * 20.0) {
            return;
        }
        self.markers_wall.set_value((now, cost));
        spawn_local(async move {
            let started = wall_ms();
            match request("GET", "/api/trace/markers", None).await {
                Ok((200, text)) => match parse_result::<MarkersReply>(&text) {
                    Ok(reply) => self.track.set(Track {
                        end_ms: reply.end_ms,
                        markers: markers(&reply),
                    }),
                    Err(e) => leptos::logging::warn!("markers: {e}"),
                },
                Ok((_, text)) => leptos::logging::warn!("markers: {}", error_of(&text)),
                Err(e) => leptos::logging::warn!("markers: {e}"),
            }
            self.markers_wall.set_value((started, wall_ms() - started));
        });
    }
}

impl Default for History {
    fn default() -> History {
        History::new()
    }
}

/// `GET /api/trace/at`'s result: the cluster at that instant.
struct AtResult {
    snapshot: ClusterSnapshot,
}

impl FromJson for AtResult {
    fn from_json(json: &Json) -> Result<Self, String> {
        Ok(AtResult {
            snapshot: Fields::of(json, "an instant")?.get("snapshot")?,
        })
    }
}

/// The history routes' envelope: `{"ok": true, "result": …}` or `{"ok": false, "error": …}`.
struct Envelope<T> {
    result: Option<T>,
    error: Option<String>,
}

impl<T: FromJson> FromJson for Envelope<T> {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "an answer")?;
        Ok(Envelope {
            result: f.get("result")?,
            error: f.get("error")?,
        })
    }
}

fn parse_result<T: FromJson>(text: &str) -> Result<T, String> {
    let envelope: Envelope<T> = crate::wire::read(text)?;
    envelope.result.ok_or_else(|| {
        envelope
            .error
            .unwrap_or_else(|| "no result in the answer".into())
    })
}

/// The server's sentence in an error answer (or the body itself when it is not one).
fn error_of(text: &str) -> String {
    crate::wire::parse(text)
        .ok()
        .and_then(|json| json.get("error")?.as_str().map(str::to_string))
        .unwrap_or_else(|| text.chars().take(300).collect())
}

async fn fetch_at(at: At) -> Result<ClusterSnapshot, String> {
    let url = format!("/api/trace/at?{}", at.query());
    match request("GET", &url, None).await? {
        (200, text) => parse_result::<AtResult>(&text).map(|r| r.snapshot),
        (_, text) => Err(error_of(&text)),
    }
}

/// The banner's words for an instant.
pub fn viewing(past: Past) -> String {
    format!("Viewing {}", format_instant(past.time_ms))
}
