//! The timeline under the top bar: the scrubber with its markers, the "viewing the past" banner
//! (Back to live / Resume from here), and the history tools (undo, download, import by picker or
//! drag and drop, copy a share link, the branches), with their keys. Draws and wires events only: requests and
//! the live/past switch are `history`'s, positions and key meanings `timeline`'s.

use crate::decimal::{fixed, Fixed};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::branches::{BranchList, BranchesChip};
use crate::components::keys;
use crate::components::reply::ReplyLine;
use crate::history::{viewing, At, Branches, History};
use crate::http::file_text;
use crate::state::{use_ctx, Ctx};
use crate::timeline::{
    format_instant, fraction, is_sideways, key_action, thin, time_at, trace_file_name, track_key,
    KeyAction, Lane, Mods, TraceView,
};
use crate::transport::EngineKind;
use crate::ws::Origin;

/// Markers are thinned as if the track were this many units wide, one per lane every
/// `MARKER_GAP` units: a few hundred elements at most, whatever the run's length.
const TRACK_UNITS: f64 = 1_000.0;
const MARKER_GAP: f64 = 3.0;

fn on_key(ctx: Ctx, history: History, picker: Option<RwSignal<bool>>, ev: web_sys::KeyboardEvent) {
    let dialog_open = ctx.reset_open.get_untracked()
        || ctx.help_open.get_untracked()
        || picker.is_some_and(|p| p.get_untracked());
    if keys::is_typing(&ev) || dialog_open {
        return;
    }
    let mods = Mods {
        ctrl: ev.ctrl_key() || ev.meta_key(),
        alt: ev.alt_key(),
        shift: ev.shift_key(),
    };
    let paused = ctx.live.peek(|v| v.paused).unwrap_or(false);
    let past = history.past.get_untracked().is_some();
    let Some(action) = key_action(&ev.key(), mods, paused, past) else {
        return;
    };
    ev.prevent_default();
    act(ctx, history, action);
}

/// A student who looks at another instant is no longer following the presenter (whose next
/// move would pull the page back); the bar offers to follow again.
fn stop_following(ctx: Ctx) {
    if ctx.following.get_untracked()
        && ctx.role.get_untracked() == Some(shared::protocol::ConnectionRole::Viewer)
    {
        ctx.following.set(false);
    }
}

fn act(ctx: Ctx, history: History, action: KeyAction) {
    if matches!(action, KeyAction::StepBack | KeyAction::StepForward) {
        stop_following(ctx);
    }
    match action {
        KeyAction::StepBack => history.step_back(ctx),
        KeyAction::StepForward => history.step_forward(ctx),
        KeyAction::Undo => history.undo(ctx),
        KeyAction::Live => history.back_to_live(ctx),
        KeyAction::ResumeHere => history.resume_here(ctx),
    }
}

/// Load the first file of a drop or a picker.
fn load_file(ctx: Ctx, history: History, file: Option<web_sys::File>) {
    let Some(file) = file else {
        return;
    };
    spawn_local(async move {
        match file_text(file).await {
            Ok(text) => history.load(ctx, text, |_| {}),
            Err(e) => ctx.local_error(Origin::History, e),
        }
    });
}

/// The timeline row.
#[component]
pub fn Timeline() -> impl IntoView {
    let ctx = use_ctx();
    let history = expect_context::<History>();

    // Markers follow the run: at most every few seconds while events come (rate-limited inside),
    // and at once when a snapshot may have replaced the run (a lesson's pause point is paused:
    // no events would come to refresh them).
    Effect::new(move |before: Option<u64>| {
        let snapshots = ctx.live.snapshots.get();
        let _ = ctx.live.seq.get();
        if history.past.get_untracked().is_none() {
            history.refresh_markers(before.is_some_and(|b| b != snapshots));
        }
        snapshots
    });
    history.open_share_link(ctx);

    // The lesson picker, a dialog: the timeline's keys wait while it is open.
    let picker = use_context::<crate::components::lessons::Lessons>().map(|l| l.picker);
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        on_key(ctx, history, picker, ev)
    });
    // Drag and drop a trace file anywhere on the page.
    let dropping = RwSignal::new(false);
    let over = window_event_listener(leptos::ev::dragover, move |ev| {
        ev.prevent_default();
        dropping.set(true);
    });
    let leave = window_event_listener(leptos::ev::dragleave, move |_| dropping.set(false));
    let drop = window_event_listener(leptos::ev::drop, move |ev| {
        ev.prevent_default();
        dropping.set(false);
        let file = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0));
        load_file(ctx, history, file);
    });
    on_cleanup(move || {
        keys.remove();
        over.remove();
        leave.remove();
        drop.remove();
    });
    // The controls act on the live run: dimmed while the past is shown (see timeline.css).
    Effect::new(move |_| {
        let past = history.past.get().is_some();
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.class_list().toggle_with_force("viewing-past", past);
        }
    });

    let span = move || history.track.with(|t| t.end_ms).max(1);
    let drawn = Memo::new(move |_| {
        history
            .track
            .with(|t| thin(&t.markers, t.end_ms.max(1), TRACK_UNITS, MARKER_GAP))
    });
    let shown_ms = move || match history.past.get() {
        Some(p) => p.time_ms as f64,
        None => ctx.now.get(),
    };
    let head = move || format!("left: {}%", Fixed(fraction(shown_ms(), span()) * 100.0, 3));
    // Where the live run is: the clock while it is shown; while the past is, the kept live view's
    // time (the clock then shows the past, and the end said "t=9.5 s" where it had said 11.3).
    let live_end_ms = move || match history.past.get() {
        Some(_) => history.live_end(ctx).map_or(0, |(_, t)| t),
        None => ctx.now.get() as u64,
    };

    let dragging = StoredValue::new(false);
    let track_ref = NodeRef::<leptos::html::Div>::new();
    let scrub_to = move |client_x: f64| {
        let Some(el) = track_ref.get_untracked() else {
            return;
        };
        let rect = el.get_bounding_client_rect();
        let t = time_at(client_x, rect.left(), rect.width(), span());
        stop_following(ctx);
        history.show(ctx, At::Ms(t));
    };
    // A finger on the track may be scrolling the page (the track lets the browser pan
    // vertically): it scrubs only once it has moved sideways, or on a tap. A mouse or a pen
    // scrubs from the press.
    let touch_start = StoredValue::new(None::<(f64, f64)>);

    let past_text = move || history.past.get().map(viewing).unwrap_or_default();
    let branches = Branches::new();
    let busy = move || history.busy.get();
    view! {
        <section class="timeline" data-testid="timeline" aria-label="Timeline of the run">
            <Show when=move || history.past.get().is_some()>
                <div class="past-banner" role="status" data-testid="past-banner">
                    <span class="past-text" data-testid="past-time">{past_text}</span>
                    <span class="hint">{move || if ctx.live.paused.get() {
                        "— the live run stays paused meanwhile"
                    } else {
                        "— the live run goes on meanwhile"
                    }}</span>
                    // A student who leaves the presenter's instant for the live run is no
                    // longer following (the bar says so, and offers to follow again).
                    <button class="btn" data-testid="back-to-live"
                        on:click=move |_| {
                            if ctx.role.get_untracked() == Some(shared::protocol::ConnectionRole::Viewer) {
                                ctx.following.set(false);
                            }
                            history.back_to_live(ctx)
                        }>"Back to live"</button>
                    <button class="btn primary" data-testid="resume-here" disabled=busy
                        title="Make the live cluster this instant (r; the run after it is kept as a branch)"
                        on:click=move |_| history.resume_here(ctx)>"Resume from here"</button>
                </div>
            </Show>
            <div class="timeline-row">
                <span class="tl-end">"0 s"</span>
                <div class="track" node_ref=track_ref data-testid="track" tabindex="0"
                    role="slider" aria-label="Instant shown: drag to look at the past (the arrows, [ and ] step)"
                    aria-valuemin="0" aria-valuemax=move || span().to_string()
                    aria-valuenow=move || fixed(shown_ms(), 0)
                    aria-valuetext=move || format_instant(shown_ms() as u64)
                    on:keydown=move |ev| {
                        let past = history.past.get_untracked().is_some();
                        if let Some(action) = track_key(&ev.key(), past) {
                            // The page's own keys must not act on it a second time.
                            ev.prevent_default();
                            ev.stop_propagation();
                            act(ctx, history, action);
                        }
                    }
                    data-end-ms=move || span().to_string()
                    on:pointerdown=move |ev| {
                        if ev.pointer_type() == "touch" {
                            touch_start.set_value(Some((ev.client_x() as f64, ev.client_y() as f64)));
                            return;
                        }
                        dragging.set_value(true);
                        if let Some(el) = track_ref.get_untracked() {
                            let _ = el.set_pointer_capture(ev.pointer_id());
                        }
                        scrub_to(ev.client_x() as f64);
                    }
                    on:pointermove=move |ev| {
                        let (x, y) = (ev.client_x() as f64, ev.client_y() as f64);
                        if let Some((x0, y0)) = touch_start.get_value().filter(|_| !dragging.get_value()) {
                            if !is_sideways(x - x0, y - y0) {
                                return;
                            }
                            dragging.set_value(true);
                            if let Some(el) = track_ref.get_untracked() {
                                let _ = el.set_pointer_capture(ev.pointer_id());
                            }
                        }
                        if dragging.get_value() {
                            scrub_to(x);
                        }
                    }
                    on:pointerup=move |_| {
                        // A tap: the instant under the finger.
                        if let Some((x0, _)) = touch_start.get_value().filter(|_| !dragging.get_value()) {
                            scrub_to(x0);
                        }
                        touch_start.set_value(None);
                        dragging.set_value(false);
                    }
                    on:pointercancel=move |_| {
                        // The browser took the finger to scroll the page: nothing is shown.
                        touch_start.set_value(None);
                        dragging.set_value(false);
                    }>
                    <div class="lane-line"></div>
                    <For each=move || drawn.get().into_iter().enumerate()
                        key=|(i, (x, m))| (*i, m.at_ms, (*x * 1e6) as u64)
                        let:item>
                        {
                            let (x, m) = item.1;
                            let lane = match m.lane {
                                Lane::Leader => "leader",
                                Lane::Fault => "fault",
                                Lane::Action => "action",
                            };
                            let kind = match m.kind {
                                crate::timeline::MarkerKind::Commit => "commit",
                                crate::timeline::MarkerKind::Input { .. } => "input",
                                crate::timeline::MarkerKind::Leader { .. } => "leader",
                                crate::timeline::MarkerKind::Network => "network",
                                crate::timeline::MarkerKind::Fault => "fault",
                            };
                            view! {
                                <span class=format!("mark lane-{lane} kind-{kind}")
                                    data-testid=format!("mark-{kind}") data-at-ms=m.at_ms.to_string()
                                    title=m.label()
                                    style=format!("left: {}%; background: {}", Fixed(x * 100.0, 3), m.colour)></span>
                            }
                        }
                    </For>
                    <div class="playhead" class:past=move || history.past.get().is_some() style=head></div>
                    // Shown only when an answer is slow (CSS delays it): the first question on a
                    // long run re-executes the run, and the click must not look ignored.
                    <Show when=move || history.loading.get().is_some()>
                        <span class="tl-loading" role="status" data-testid="timeline-loading">
                            {move || history.loading.get().map(going_to).unwrap_or_default()}
                        </span>
                    </Show>
                </div>
                // The run's end as the clock has it: the track's span follows the markers,
                // which are asked for every few seconds, and the label lagged the clock by as
                // much (a student read "t=0.0 s" next to a clock at 2.6 s).
                <span class="tl-end" data-testid="track-end">
                    {move || format_instant(span().max(live_end_ms()))}
                </span>
            </div>
            <div class="timeline-tools">
                <button class="btn chip" data-testid="undo" disabled=busy
                    title="Undo the last action: the cluster goes back to just before it; right after Resume from here, an import or a new cluster, back to the run left (u, Ctrl+Z)"
                    on:click=move |_| history.undo(ctx)>"Undo"</button>
                <a class="btn chip" href="/api/trace" download="" data-testid="download-trace"
                    title="Save this run as a file (load it again with Import, or logscope replay)"
                    on:click=move |ev| {
                        // No server to download from: the page's own engine hands the trace.
                        if ctx.engine.get_untracked() == EngineKind::Browser {
                            ev.prevent_default();
                            download_local(ctx);
                        }
                    }>"Download trace"</a>
                <label class="btn chip import" title="Load a run from a trace file (or drop one on the page)">
                    "Import…"
                    <input type="file" accept=".json,application/json" class="visually-hidden"
                        data-testid="import-file"
                        on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            load_file(ctx, history, input.files().and_then(|f| f.get(0)));
                            input.set_value("");
                        }/>
                </label>
                <button class="btn chip" data-testid="copy-link"
                    title="A link that opens this run at the instant shown"
                    on:click=move |_| history.make_link(ctx)>"Copy link"</button>
                <BranchesChip branches=branches/>
                {move || history.link.get().map(|url| view! {
                    <input class="text share-link" readonly data-testid="share-link" prop:value=url
                        aria-label="Share link" on:focus=|ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            input.select();
                        }/>
                })}
            </div>
            <BranchList branches=branches/>
            <ReplyLine origin=Origin::History/>
            <Show when=move || dropping.get()>
                <div class="drop-hint" data-testid="drop-hint">"Drop a trace file to load that run"</div>
            </Show>
        </section>
    }
}

/// "Download trace" when the page runs its own cluster: the engine's trace, saved as the server
/// names it (`logscope-seed<seed>-<end_ms>ms.json`).
fn download_local(ctx: Ctx) {
    leptos::task::spawn_local(async move {
        let saved = match crate::http::request("GET", "/api/trace", None).await {
            Ok((200, text)) => match TraceView::from_json(&text) {
                Ok(trace) => crate::http::save_file(&trace_file_name(&trace), &text),
                Err(e) => Err(e.to_string()),
            },
            Ok((_, text)) => Err(text),
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            ctx.local_error(Origin::History, e);
        }
    });
}

/// What the timeline says while an instant is on its way.
fn going_to(at: At) -> String {
    match at {
        At::Ms(t) => format!("Going to {}…", format_instant(t)),
        At::Seq(_) => "Loading that instant…".to_string(),
    }
}
