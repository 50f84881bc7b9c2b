//! Overlays and reference: the keyboard help, the "server unreachable" panel (which says how to
//! start it and reconnects by itself), and the legend of colours and shapes.

use crate::decimal::Fixed;
use leptos::prelude::*;

use crate::layout::{term_colour, term_text_colour};
use crate::live::Part;
use crate::present::{has_presenter_token, offline_advice};
use crate::state::use_ctx;
use crate::ws::ConnState;
use shared::types::Term;

/// Keyboard shortcuts, listed once here and handled in `app` (the timeline's in
/// `components::timeline`): `(key, what it does, changes the cluster)`. A viewer's page (a
/// student's) lists only the keys that do not change the cluster: the others are refused there.
pub const SHORTCUTS: [(&str, &str, bool); 17] = [
    (
        "space  or  .",
        "pause / resume (space on a button reached with Tab presses it)",
        true,
    ),
    ("s", "step: advance to the next event", true),
    (
        "+  /  −",
        "faster / slower (one notch of the speed scale)",
        true,
    ),
    (
        "c",
        "client request to the leader (the append box's text)",
        true,
    ),
    ("k", "crash the leader; when there is none, restart a crashed server", true),
    ("p", "presenter view: large text, all on one screen", false),
    (
        "PageDown  or  n",
        "in a lesson: reveal, then next (a presentation clicker)",
        true,
    ),
    ("PageUp  or  b", "in a lesson: back", true),
    ("?", "this help", false),
    ("Esc", "close dialogs and panels, clear the highlight", false),
    ("Enter", "on a focused server: open its panel", false),
    (
        "[  /  ]",
        "timeline: one event back / forward in the past",
        false,
    ),
    ("←  /  →", "on the focused timeline: the same", false),
    (",", "one event back (while paused, or in the past)", false),
    (
        "u  or  Ctrl+Z",
        "undo the last action, or the fork, import or new cluster just made (the run left is kept as a branch)",
        true,
    ),
    ("Esc", "in the past: back to live", false),
    (
        "r",
        "in the past: resume from here (the live run is kept as a branch)",
        true,
    ),
];

/// "?" help.
#[component]
pub fn HelpOverlay() -> impl IntoView {
    let ctx = use_ctx();
    let viewer = move || ctx.role.get() == Some(shared::protocol::ConnectionRole::Viewer);
    view! {
        <Show when=move || ctx.help_open.get()>
            <div class="overlay" on:click=move |_| ctx.set_help(false)>
                <div class="dialog help" data-testid="help" role="dialog" aria-modal="true" tabindex="-1"
                    aria-label="Keyboard shortcuts" on:click=|ev| ev.stop_propagation()>
                    <crate::components::modal::ModalFocus of="help"/>
                    <h2>"Keyboard"</h2>
                    <table class="keys">
                        {move || {
                            let viewer = viewer();
                            SHORTCUTS
                                .iter()
                                .filter(move |(_, _, changes)| !(viewer && *changes))
                                .map(move |(k, what, _)| {
                                    // The presenter's help pauses the run while open; a
                                    // viewer's leaves the class's run alone.
                                    let what = if *k == "?" && !viewer {
                                        "this help (pauses the run while open)"
                                    } else {
                                        *what
                                    };
                                    view! { <tr><td><kbd>{*k}</kbd></td><td>{what}</td></tr> }
                                })
                                .collect_view()
                        }}
                    </table>
                    <h2>"Mouse and touch"</h2>
                    {move || if viewer() {
                        view! {
                            <ul class="help-list" data-testid="help-viewer">
                                <li>"You are watching the presenter's cluster: tap a server or a moving message to see its state; nothing you do changes the class's run."</li>
                                <li>"Tap a sentence under \u{201c}What happened\u{201d} to highlight what it is about."</li>
                                <li>"\u{201c}Try it yourself\u{201d} copies the cluster into this browser, for you to crash, cut and break."</li>
                            </ul>
                        }.into_any()
                    } else {
                        view! {
                            <ul class="help-list">
                                <li>"Tap a server for its state and actions: crash, restart, power loss, time out, isolate, send it a request."</li>
                                <li>"Tap a moving message to see its fields and drop it (the run pauses while you look)."</li>
                                <li>"Tap a line between two servers to cut that link; tap again to restore it."</li>
                                <li>"Tap a sentence under \u{201c}What happened\u{201d} to highlight what it is about."</li>
                            </ul>
                        }.into_any()
                    }}
                    <div class="dialog-buttons">
                        <button class="btn primary" data-testid="help-close" on:click=move |_| ctx.set_help(false)>"Close"</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// Shown while the server cannot be reached.
#[component]
pub fn ConnectionOverlay() -> impl IntoView {
    let ctx = use_ctx();
    let show = move || {
        !matches!(
            ctx.conn.get(),
            ConnState::Open | ConnState::Connecting { attempts: 0 }
        )
    };
    let retry_text = move || {
        let _ = ctx.wall_s.get();
        match ctx.conn.get() {
            ConnState::Waiting {
                retry_at_ms,
                attempts,
            } => {
                let now = web_sys::window()
                    .and_then(|w| w.performance())
                    .map(|p| p.now())
                    .unwrap_or(0.0);
                let s = ((retry_at_ms - now) / 1000.0).ceil().max(0.0);
                format!("Trying again in {} s (attempt {attempts})…", Fixed(s, 0))
            }
            _ => "Connecting…".to_string(),
        }
    };
    let url = crate::ws::default_url();
    // Who reads this decides what it says: on the machine running logscope, how to start it; on
    // a student's device, that the presenter's server is out of reach (nothing to run there).
    let advice = web_sys::window()
        .map(|w| w.location())
        .map(|l| {
            let host = l.hostname().unwrap_or_default();
            let token = has_presenter_token(
                &l.search().unwrap_or_default(),
                &l.hash().unwrap_or_default(),
            );
            offline_advice(&host, token)
        })
        .unwrap_or_else(|| offline_advice("localhost", false));
    view! {
        <Show when=show>
            <div class="overlay soft">
                <div class="dialog offline" data-testid="offline" role="alertdialog" aria-label=advice.title>
                    <h2>{advice.title}</h2>
                    <p>"It should be at "<code>{url.clone()}</code>"."</p>
                    <p data-testid="offline-advice">{advice.text}</p>
                    {advice.command.map(|c| view! { <pre class="command">{c}</pre> })}
                    <p class="hint">"This page reconnects by itself as soon as the server answers."</p>
                    <p class="retry" role="status">{retry_text}</p>
                    <div class="dialog-buttons">
                        <button class="btn primary" data-testid="retry" on:click=move |_| ctx.reconnect_now()>"Retry now"</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// What the colours and shapes mean.
#[component]
pub fn Legend() -> impl IntoView {
    let ctx = use_ctx();
    // The terms on screen: servers' current terms and the terms of the entries their rows show
    // (a log of t1, t3 and t4 colours listed only the current term), the newest few if there
    // are more than colours (an isolated server's runaway term shows up without hiding the
    // others).
    let terms_in_use = Memo::new(move |_| {
        let mut terms: Vec<Term> = ctx
            .live
            .read(&[Part::AllNodes], |v| {
                let mut terms = Vec::new();
                for n in &v.nodes {
                    terms.push(n.current_term);
                    // A log's terms never decrease: one push per run of equal terms.
                    let mut last = None;
                    for e in &n.log {
                        if last != Some(e.term) {
                            terms.push(e.term);
                            last = Some(e.term);
                        }
                    }
                }
                terms.retain(|t| *t > 0);
                terms
            })
            .unwrap_or_default();
        shared::tree::sort_small_by_key(&mut terms, |t| *t);
        terms.dedup();
        let skip = terms
            .len()
            .saturating_sub(crate::layout::TERM_COLOURS.len());
        terms.split_off(skip)
    });
    let leaders = Memo::new(move |_| {
        ctx.live
            .read(&[Part::Leaders], |v| v.leaders_by_term.clone())
            .unwrap_or_default()
    });
    let terms = move || {
        let leaders = leaders.get();
        terms_in_use
            .get()
            .into_iter()
            .map(|t| {
                let label = match leaders.get(&t) {
                    Some(l) => format!("term {t} · S{l}"),
                    None => format!("term {t}"),
                };
                let title = match leaders.get(&t) {
                    Some(l) => format!("S{l} led term {t}"),
                    None => format!("no leader seen in term {t}"),
                };
                view! {
                    <span class="chip-term" title=title
                        style=format!("background:{};color:{}", term_colour(t), term_text_colour(t))>{label}</span>
                }
            })
            .collect_view()
    };
    let open = move || ctx.legend_open.get();
    view! {
        <button class="btn chip legend-toggle" data-testid="legend-toggle"
            aria-expanded=move || open().to_string()
            on:click=move |_| ctx.legend_open.update(|o| *o = !*o)>
            {move || if open() { "Hide legend" } else { "Legend" }}
        </button>
        <section class="legend" class:folded=move || !open() aria-label="Legend" data-testid="legend">
            <div class="legend-group"><span class="legend-title">"Terms (colour) · leader"</span>{terms}</div>
            <div class="legend-group">
                <span class="legend-title">"Servers"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="9" fill="#88CCEE" stroke="#111" stroke-width="3.5"/></svg>"leader (crown, bold ring)"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><path d="M-10,6 L-10,-4 L-5,1 L0,-8 L5,1 L10,-4 L10,6 Z" fill="#d1d5db" stroke="#6b7280" stroke-width="1.5"/></svg>"old leader, not yet told"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="9" fill="#88CCEE" stroke="#111" stroke-width="2" stroke-dasharray="4 2.5"/></svg>"candidate (dots: votes)"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="9" fill="#eceef1" stroke="#9ca3af" stroke-width="2" stroke-dasharray="4 3"/></svg>"crashed"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="10" fill="none" stroke="#eceff3" stroke-width="3"/><path d="M0,-10 A10,10 0 0,1 10,0" fill="none" stroke="#475569" stroke-width="3"/></svg>"election timer left"</span>
            </div>
            <div class="legend-group">
                <span class="legend-title">"Messages"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><path d="M0,-9 L9,0 L0,9 L-9,0 Z" fill="#7b2d8e"/></svg>"RequestVote"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="9" fill="#1f4e79"/></svg>"AppendEntries"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="5.5" fill="#1f4e79"/></svg>"heartbeat"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="9" fill="#fff" stroke="#1f4e79" stroke-width="2.5"/><path d="M-4.5,0 L4.5,0 M0,-4.5 L0,4.5" stroke="#1f4e79" stroke-width="2.5"/></svg>"reply: yes"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="9" fill="#fff" stroke="#1f4e79" stroke-width="2.5"/><path d="M-4.5,0 L4.5,0" stroke="#1f4e79" stroke-width="2.5"/></svg>"reply: no"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><rect x="-8" y="-8" width="16" height="16" rx="2" fill="#a04a00"/></svg>"forwarded request"</span>
                <span class="legend-item"><svg viewBox="-12 -12 24 24" class="legend-svg"><circle r="7" fill="#1f4e79" opacity="0.4"/><path d="M-8,-8 L8,8 M8,-8 L-8,8" stroke="#c0392b" stroke-width="2.5"/></svg>"lost"</span>
            </div>
            <div class="legend-group">
                <span class="legend-title">"Log entries"</span>
                <span class="legend-cell committed synced">"committed"</span>
                <span class="legend-cell uncommitted synced">"not yet"</span>
                <span class="legend-cell uncommitted unsynced">"in memory only"</span>
                <span class="legend-item"><span class="sym">"▁"</span>"dark base: on disk"</span>
                <span class="legend-item"><span class="sym">"✓"</span>"applied to the state machine"</span>
                <span class="legend-item"><span class="sym">"┃"</span>"the server's commit index"</span>
                <span class="legend-item"><span class="sym">"▲"</span>"leader's next_index for it"</span>
                <span class="legend-item"><span class="sym">"●"</span>"leader's match_index for it"</span>
                <span class="legend-item"><span class="sym" style="color:#b45309">"3/5"</span>"servers with a leader entry on disk"</span>
                <span class="legend-item"><span class="sym" style="color:#7b2d8e">"old"</span>"older term: waits for a current-term entry"</span>
            </div>
        </section>
    }
}
