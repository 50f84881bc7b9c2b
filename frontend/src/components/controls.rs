//! The controls: the top bar (connection, virtual clock, pause/step/speed, reset, help), the
//! client panel (append with the command grammar, checked locally as you type and by the
//! server) and the network panel (isolate, heal, loss and latency). The reset dialog is
//! `reset_dialog`'s.

use crate::decimal::{fixed, Fixed};
use leptos::prelude::*;
use shared::protocol::ClientCommand;
use shared::types::{LogModel, NodeId};

use crate::components::reply::ReplyLine;
use crate::layout::{format_time_ms, slider_from_speed, snap_speed, speed_from_slider};
use crate::live::Part;
use crate::model::format_speed;
use crate::state::use_ctx;
use crate::transport::EngineKind;
use crate::ws::{ConnState, Origin};

/// Quick buttons under the append form.
const QUICK: [&str; 5] = ["add 1", "add 5", "mul 2", "set 0", "add rand"];

/// Header with playback controls.
#[component]
pub fn TopBar() -> impl IntoView {
    let ctx = use_ctx();
    let paused = move || ctx.live.paused.get();
    let speed = move || ctx.live.speed.get();
    // While the slider is dragged it shows where it is, not the server's speed.
    let dragging = RwSignal::new(None::<f64>);
    let slider_value = move || dragging.get().unwrap_or_else(|| slider_from_speed(speed()));
    let speed_label = move || match dragging.get() {
        Some(v) => format_speed(snap_speed(speed_from_slider(v))),
        None => format_speed(speed()),
    };
    // Three pieces that wrap between them, never inside one ("seed" and its number together).
    let meta = move || {
        ctx.live.read(&[Part::Cluster], |v| {
            let model = match v.log_model {
                LogModel::Command => "requests",
                LogModel::State => "state changes",
            };
            [
                format!(
                    "{} ·",
                    crate::model::count(v.nodes.len() as u64, "server", "servers")
                ),
                format!("seed {} ·", v.seed),
                format!("log {model}"),
            ]
        })
    };
    view! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">"◉"</span>
                <h1 class="name">"logscope"</h1>
            </div>
            <ConnBadge/>
            <div class="clock" data-testid="clock" title="Virtual time of the simulated cluster">
                {move || format_time_ms(ctx.now.get())}
            </div>
            <div class="playback">
                <button class="btn big" data-testid="pause" on:click=move |_| ctx.toggle_pause()
                    title="Pause or resume (space or .)">
                    {move || if paused() {
                        view! { <svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M4,2 L14,8 L4,14 Z"/></svg>"Resume" }.into_any()
                    } else {
                        view! { <svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><rect x="3" y="2" width="3.6" height="12" rx="1"/><rect x="9.4" y="2" width="3.6" height="12" rx="1"/></svg>"Pause" }.into_any()
                    }}
                </button>
                <button class="btn big" data-testid="step" title="Advance to the next event (s)"
                    on:click=move |_| ctx.send(ClientCommand::Step, Origin::Playback)>
                    <svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M2,2 L10,8 L2,14 Z"/><rect x="11" y="2" width="3" height="12" rx="1"/></svg>"Step"
                </button>
                <label class="speed">
                    <span>"speed"</span>
                    <input type="range" min="0" max="3" step="0.01" data-testid="speed"
                        aria-label="Speed, from 1/1000 to 1 times real time"
                        prop:value=move || fixed(slider_value(), 2)
                        aria-valuetext=speed_label
                        on:input=move |ev| {
                            if let Some(v) = slider_number(&ev) {
                                dragging.set(Some(v));
                            }
                        }
                        on:change=move |ev| {
                            if let Some(v) = slider_number(&ev) {
                                ctx.send(ClientCommand::Speed { speed: snap_speed(speed_from_slider(v)) }, Origin::Playback);
                            }
                            dragging.set(None);
                        }/>
                    <output data-testid="speed-label">{speed_label}</output>
                </label>
                <crate::components::auto_pause::AutoPauseToggle/>
            </div>
            <QuickAppend/>
            <div class="meta" data-testid="meta">
                {move || meta().map(|pieces| {
                    // Each piece keeps its dot (a line may end after one, never start with it);
                    // the spaces between them are where the line may break.
                    let [a, b, c] = pieces;
                    view! { <span>{a}</span>" "<span>{b}</span>" "<span>{c}</span> }
                })}
            </div>
            <div class="topbar-right">
                // Lessons are staged by the server, or by the browser's own engine (not a sandbox's).
                <Show when=move || ctx.engine.get().has_lessons()>
                    <crate::components::lessons::LessonsButton/>
                </Show>
                <button class="btn" data-testid="reset-open" on:click=move |_| ctx.reset_open.set(true)>"New cluster…"</button>
                <button class="btn" class:primary=move || ctx.presenter.get() data-testid="presenter"
                    aria-pressed=move || ctx.presenter.get().to_string()
                    title="Presenter view: large text, the whole cluster on one projector screen (p)"
                    on:click=move |_| ctx.set_presenter(!ctx.presenter.get_untracked())>
                    <svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><rect x="1" y="2" width="14" height="9" rx="1.5"/><rect x="7" y="11" width="2" height="2.5"/><rect x="4" y="13.5" width="8" height="1.5" rx="0.75"/></svg>
                    <span class="btn-label">"Present"</span>
                </button>
                <button class="btn round" data-testid="help-open" aria-label="Keyboard help (?)"
                    on:click=move |_| ctx.set_help(!ctx.help_open.get_untracked())>"?"</button>
            </div>
            <div class="topbar-reply"><ReplyLine origin=Origin::Playback errors_only=true/></div>
            <crate::components::auto_pause::AutoPauseReason/>
        </header>
    }
}

/// A field that holds a suggestion ("add 5", the last request): focusing it selects its text,
/// so that typing replaces it. A student who tapped it and typed "add 7" sent "add 5add 7".
/// When a press of the mouse (or a tap) is what focuses it, its release would put the caret
/// back: that one release is let go without its default. A focus that only comes back with the
/// window (the lecturer went to the slides and back) keeps the text as it was.
#[derive(Clone, Copy)]
pub(crate) struct SuggestionField {
    pressed_to_focus: StoredValue<bool>,
    window_left: StoredValue<bool>,
}

impl SuggestionField {
    pub(crate) fn new() -> Self {
        SuggestionField {
            pressed_to_focus: StoredValue::new(false),
            window_left: StoredValue::new(false),
        }
    }

    fn is_active(input: &web_sys::HtmlInputElement) -> bool {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|a| a == ***input)
    }

    pub(crate) fn focus(self, ev: leptos::ev::FocusEvent) {
        if self.window_left.get_value() {
            self.window_left.set_value(false);
            return;
        }
        event_target::<web_sys::HtmlInputElement>(&ev).select();
    }

    /// Still the document's focused element while blurred: the whole window lost the focus.
    pub(crate) fn blur(self, ev: leptos::ev::FocusEvent) {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        self.window_left.set_value(Self::is_active(&input));
    }

    pub(crate) fn mousedown(self, ev: leptos::ev::MouseEvent) {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        self.pressed_to_focus.set_value(!Self::is_active(&input));
    }

    pub(crate) fn mouseup(self, ev: leptos::ev::MouseEvent) {
        if self.pressed_to_focus.get_value() {
            self.pressed_to_focus.set_value(false);
            ev.prevent_default();
        }
    }
}

/// The presenter view's own append box (style.css shows it there only, on a screen wide enough):
/// the client panel folds away in that layout, and appending is the demo's most frequent click.
/// The same text as the panel's box (`c` sends it too); a refusal is said beside it.
#[component]
fn QuickAppend() -> impl IntoView {
    let ctx = use_ctx();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ctx.append(&ctx.append_text.get_untracked(), None, Origin::Append);
    };
    let field = SuggestionField::new();
    // Only in the presenter view: elsewhere the client panel has the box (and the refusal's
    // line, whose test id this one shares).
    view! {
        <Show when=move || ctx.presenter.get()>
        <form class="quick-append" data-testid="quick-append" on:submit=submit>
            <input type="text" class="text" aria-label="Request to append: add N, mul N, set N or add rand"
                data-testid="quick-append-input" placeholder="add 5" autocomplete="off" spellcheck="false"
                prop:value=move || ctx.append_text.get()
                on:focus=move |ev| field.focus(ev) on:blur=move |ev| field.blur(ev)
                on:mousedown=move |ev| field.mousedown(ev) on:mouseup=move |ev| field.mouseup(ev)
                on:input=move |ev| {
                    ctx.append_text.set(event_target_value(&ev));
                    ctx.clear_reply(Origin::Append);
                }/>
            <button class="btn primary" type="submit" data-testid="quick-append-submit">"Append"</button>
            <ReplyLine origin=Origin::Append errors_only=true/>
        </form>
        </Show>
    }
}

#[component]
fn ConnBadge() -> impl IntoView {
    let ctx = use_ctx();
    let text = move || {
        let _ = ctx.wall_s.get();
        match ctx.conn.get() {
            // Say which engine runs: with no server, the cluster is the page's own.
            ConnState::Open if ctx.engine.get() == EngineKind::Browser => {
                "Running in your browser".to_string()
            }
            ConnState::Open if matches!(ctx.engine.get(), EngineKind::Sandbox { .. }) => {
                "Your sandbox".to_string()
            }
            // "connected", not "live": the timeline's "live" is the present instant, which
            // this badge does not mean (it stays while the page shows the past).
            ConnState::Open => "connected".to_string(),
            ConnState::Connecting { .. } => "connecting…".to_string(),
            ConnState::Waiting { .. } => "offline".to_string(),
        }
    };
    let class = move || match ctx.conn.get() {
        ConnState::Open => "conn open",
        ConnState::Connecting { .. } => "conn connecting",
        ConnState::Waiting { .. } => "conn closed",
    };
    view! {
        <div class=class data-testid="conn" role="status"
            data-engine=move || match ctx.engine.get() {
                EngineKind::Browser => "browser",
                EngineKind::Sandbox { .. } => "sandbox",
                EngineKind::Server => "server",
                EngineKind::Unknown => "",
            }
            title=move || match ctx.engine.get() {
                EngineKind::Browser => "No logscope server answered, so this page runs the cluster itself; it keeps what the nodes synced in this browser",
                EngineKind::Sandbox { .. } => "A copy of the class's cluster, run by this browser alone; reload the page to go back to the class",
                _ => "Connected to the logscope server",
            }><span class="dot"></span><span class="conn-text">{text}</span></div>
    }
}

/// Append requests.
#[component]
pub fn ClientPanel() -> impl IntoView {
    let ctx = use_ctx();
    let field = SuggestionField::new();
    let target = RwSignal::new(String::from("leader"));
    let n = ctx.live.node_count;
    // "There is no leader right now" stayed under the form long after one was elected: a
    // refusal is about the cluster as it was, and a new leader changes that.
    Effect::new(move |previous: Option<Option<NodeId>>| {
        let leader = ctx.live.leader.get();
        let refused = ctx
            .replies
            .with_untracked(|r| matches!(r.get(&Origin::Append), Some(Err(_))));
        if leader.is_some() && previous.is_some_and(|p| p != leader) && refused {
            ctx.clear_reply(Origin::Append);
        }
        leader
    });
    let parse_error = move || {
        let text = ctx.append_text.get();
        if text.trim().is_empty() {
            return None;
        }
        text.trim()
            .parse::<shared::Command>()
            .err()
            .map(|e| e.to_string())
    };
    let append = move |text: String| {
        let node: Option<NodeId> = target
            .get_untracked()
            .strip_prefix('S')
            .and_then(|s| s.parse().ok());
        ctx.append(&text, node, Origin::Append);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        append(ctx.append_text.get_untracked());
    };
    let model_hint = move || {
        match ctx.live.read(&[Part::Cluster], |v| v.log_model) {
            Some(LogModel::State) => "The leader runs the request and logs the new value, \u{201c}value = 5\u{201d} (drawn \u{201c}= 5\u{201d}): primary\u{2013}backup.",
            _ => "Every server runs the logged request itself (state-machine replication).",
        }
    };
    view! {
        <section class="panel client" aria-label="Client requests">
            <h2>"Client requests"</h2>
            <form class="append-form" on:submit=submit>
                <input type="text" class="text" class:invalid=move || parse_error().is_some()
                    data-testid="append-input" aria-label="Request: add N, mul N, set N or add rand"
                    placeholder="add 5" autocomplete="off" spellcheck="false"
                    prop:value=move || ctx.append_text.get()
                    on:focus=move |ev| field.focus(ev) on:blur=move |ev| field.blur(ev)
                on:mousedown=move |ev| field.mousedown(ev) on:mouseup=move |ev| field.mouseup(ev)
                    on:input=move |ev| {
                        ctx.append_text.set(event_target_value(&ev));
                        ctx.clear_reply(Origin::Append);
                    }/>
                <select aria-label="Send to" data-testid="append-target"
                    on:change=move |ev| target.set(event_target_value(&ev))>
                    <option value="leader" selected=true>"→ leader"</option>
                    <For each=move || NodeId::all(n.get()) key=|id| *id let:id>
                        <option value=format!("S{id}")>{format!("→ S{id}")}</option>
                    </For>
                </select>
                <button class="btn primary" type="submit" data-testid="append-submit">"Append"</button>
            </form>
            // Once Append was clicked on it, the same sentence is the reply's: shown once.
            {move || parse_error()
                .filter(|_| !ctx.replies.with(|r| matches!(r.get(&Origin::Append), Some(Err(_)))))
                .map(|e| view! { <p class="reply error" data-testid="parse-error">{e}</p> })}
            <ReplyLine origin=Origin::Append/>
            <div class="quick">
                {QUICK.iter().map(|q| {
                    let q = q.to_string();
                    let label = q.clone();
                    view! {
                        <button class="btn chip" on:click=move |_| {
                            ctx.append_text.set(q.clone());
                            append(q.clone());
                        }>{label}</button>
                    }
                }).collect_view()}
            </div>
            <p class="hint">{model_hint}</p>
        </section>
    }
}

/// Partitions, loss and latency.
#[component]
pub fn NetworkPanel() -> impl IntoView {
    let ctx = use_ctx();
    let n = ctx.live.node_count;
    let network = Memo::new(move |_| ctx.live.read(&[Part::Network], |v| v.network.clone()));
    let loss = move || network.get().map_or(0.0, |n| n.loss_probability);
    let duplication = move || network.get().map_or(0.0, |n| n.duplicate_probability);
    let lat_min = move || network.get().map_or(0, |n| n.latency_ms_min);
    let lat_max = move || network.get().map_or(0, |n| n.latency_ms_max);
    let faults = move || {
        network
            .get()
            .is_some_and(|n| !n.partitions.is_empty() || !n.cut_links.is_empty())
    };
    // The classic demonstrations (the Secret Lives of Data's partition scene): split the cluster
    // in two with the leader on one side; the other side holds the rest.
    let split = move |leader_with_majority: bool| {
        let Some((leader, n)) = ctx.live.peek(|v| (v.leader(), v.nodes.len() as u64)) else {
            return;
        };
        let Some(leader) = leader.filter(|_| n >= 3) else {
            ctx.local_error(
                Origin::Network,
                "a split needs a leader and at least 3 servers".to_string(),
            );
            return;
        };
        let minority = (n as usize - 1) / 2; // the largest group that is not a majority
        let size = if leader_with_majority {
            n as usize - minority
        } else {
            minority
        };
        let mut group = vec![leader];
        group.extend(NodeId::all(n).filter(|id| *id != leader).take(size - 1));
        ctx.send(
            ClientCommand::Partition {
                groups: vec![group],
            },
            Origin::Network,
        );
    };
    let split_minority = move |_| split(false);
    let split_majority = move |_| split(true);
    view! {
        <section class="panel network" aria-label="Network">
            <h2>"Network" <span class="hint">"click a line on the ring to cut it"</span></h2>
            <div class="row-buttons">
                <span class="label">"Isolate"</span>
                <For each=move || NodeId::all(n.get()) key=|id| *id let:id>
                    <button class="btn chip" data-testid=format!("isolate-{id}")
                        on:click=move |_| ctx.send(ClientCommand::Isolate { node: id }, Origin::Network)>
                        {format!("S{id}")}
                    </button>
                </For>
                // The main action only when something is cut (then ringed too).
                <button class="btn" class:primary=faults class:attention=faults data-testid="heal"
                    on:click=move |_| ctx.send(ClientCommand::Heal, Origin::Network)>"Heal network"</button>
            </div>
            <div class="row-buttons split">
                <span class="label">"Split"</span>
                <button class="btn chip" data-testid="split-minority" on:click=split_minority
                    title="Cut the cluster in two, with the leader on the minority side">
                    "leader in minority"
                </button>
                <button class="btn chip" data-testid="split-majority" on:click=split_majority
                    title="Cut the cluster in two, with the leader on the majority side">
                    "leader in majority"
                </button>
            </div>
            <label class="slider">
                <span>"Message loss"</span>
                <input type="range" min="0" max="0.5" step="0.01" data-testid="loss"
                    prop:value=move || fixed(loss(), 2)
                    aria-valuetext=move || format!("{}%", Fixed(loss() * 100.0, 0))
                    on:change=move |ev| {
                        if let Some(p) = slider_number(&ev) {
                            ctx.send(ClientCommand::Network { loss_probability: Some(p), duplicate_probability: None, latency_ms_min: None, latency_ms_max: None }, Origin::Network);
                        }
                    }/>
                <output>{move || format!("{}%", Fixed(loss() * 100.0, 0))}</output>
            </label>
            <label class="slider">
                <span>"Duplication"</span>
                <input type="range" min="0" max="0.5" step="0.01" data-testid="duplication"
                    prop:value=move || fixed(duplication(), 2)
                    aria-valuetext=move || format!("{}%", Fixed(duplication() * 100.0, 0))
                    on:change=move |ev| {
                        if let Some(p) = slider_number(&ev) {
                            ctx.send(ClientCommand::Network { loss_probability: None, duplicate_probability: Some(p), latency_ms_min: None, latency_ms_max: None }, Origin::Network);
                        }
                    }/>
                <output>{move || format!("{}%", Fixed(duplication() * 100.0, 0))}</output>
            </label>
            <label class="slider">
                <span>"Latency min"</span>
                <input type="range" min="0" max="200" step="1" data-testid="latency-min"
                    prop:value=move || lat_min().to_string()
                    aria-valuetext=move || format!("{} ms", lat_min())
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<u64>() {
                            ctx.send(ClientCommand::Network { loss_probability: None, duplicate_probability: None, latency_ms_min: Some(v), latency_ms_max: None }, Origin::Network);
                        }
                    }/>
                <output>{move || format!("{} ms", lat_min())}</output>
            </label>
            <label class="slider">
                <span>"Latency max"</span>
                <input type="range" min="0" max="200" step="1" data-testid="latency-max"
                    prop:value=move || lat_max().to_string()
                    aria-valuetext=move || format!("{} ms", lat_max())
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<u64>() {
                            ctx.send(ClientCommand::Network { loss_probability: None, duplicate_probability: None, latency_ms_min: None, latency_ms_max: Some(v) }, Origin::Network);
                        }
                    }/>
                <output>{move || format!("{} ms", lat_max())}</output>
            </label>
            <ReplyLine origin=Origin::Network/>
        </section>
    }
}

/// A range input's value as the browser reads it (`valueAsNumber`): the page then needs no float
/// parser of its own (`str::parse::<f64>` brings ~10 KB of tables into the module).
fn slider_number(ev: &leptos::ev::Event) -> Option<f64> {
    let n = event_target::<web_sys::HtmlInputElement>(ev).value_as_number();
    n.is_finite().then_some(n)
}
