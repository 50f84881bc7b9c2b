//! The page: owns the reactive state (the view model in one signal, the animated "now", the
//! selection and highlight, the connection), wires the WebSocket and the animation-frame loop to
//! it, handles keyboard shortcuts, and lays out the components. Draws nothing itself; all Raft
//! knowledge stays in `model`.

use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::protocol::{ClientCommand, ServerMessage, PROTOCOL_VERSION};
use shared::types::NodeId;

use crate::clock::PlaybackClock;
use crate::components::controls::{ClientPanel, NetworkPanel, ResetDialog, TopBar};
use crate::components::inspector::Inspector;
use crate::components::logs::LogTable;
use crate::components::narration::NarrationPanel;
use crate::components::overlays::{ConnectionOverlay, HelpOverlay, Legend};
use crate::components::ring::ClusterRing;
use crate::model::{ClusterView, Focus, Tone};
use crate::ws::{default_url, ConnState, Connection, Origin, ReplyOutcome};

/// What the side panel inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Nothing: the side panel shows the client and network controls.
    None,
    /// A server.
    Node(NodeId),
    /// A message (in flight, or remembered after it arrived).
    Message(u64),
}

/// Everything components share. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The view model; `None` until the first `Hello`.
    pub view: RwSignal<Option<ClusterView>>,
    /// Virtual time now, extrapolated every animation frame.
    pub now: RwSignal<f64>,
    /// Connection state.
    pub conn: RwSignal<ConnState>,
    /// Wall time in whole seconds (set by the animation loop), for countdowns.
    pub wall_s: RwSignal<u64>,
    /// What the side panel shows.
    pub selection: RwSignal<Selection>,
    /// What a narration or entry click highlights.
    pub highlight: RwSignal<Focus>,
    /// Last reply per control.
    pub replies: RwSignal<BTreeMap<Origin, Result<String, String>>>,
    /// Overlays.
    pub help_open: RwSignal<bool>,
    /// Reset dialog.
    pub reset_open: RwSignal<bool>,
    /// The append form's text (shared with the "c" key and the server panel).
    pub append_text: RwSignal<String>,
    /// Set when the server speaks another protocol version (the page must be reloaded).
    pub version_mismatch: RwSignal<Option<u32>>,
    last_resync_ms: StoredValue<f64>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    clock: StoredValue<PlaybackClock>,
}

impl Ctx {
    /// Send a command; a local failure (not connected) is shown like a server error.
    pub fn send(&self, command: ClientCommand, origin: Origin) {
        let result = self.connection.with_value(|c| match c {
            Some(c) => c.send(command, origin),
            None => Err("not connected to the server".to_string()),
        });
        match result {
            Ok(_) => self.replies.update(|r| {
                r.remove(&origin);
            }),
            Err(e) => self.replies.update(|r| {
                r.insert(origin, Err(e));
            }),
        }
    }

    /// Show an error next to a control without asking the server (e.g. a typo caught locally).
    pub fn local_error(&self, origin: Origin, error: String) {
        self.replies.update(|r| {
            r.insert(origin, Err(error));
        });
    }

    /// Clear the message next to a control.
    pub fn clear_reply(&self, origin: Origin) {
        self.replies.update(|r| {
            r.remove(&origin);
        });
    }

    /// Reconnect at once.
    pub fn reconnect_now(&self) {
        self.connection.with_value(|c| {
            if let Some(c) = c {
                c.reconnect_now();
            }
        });
    }

    /// Toggle pause.
    pub fn toggle_pause(&self) {
        let paused = self.view.with_untracked(|v| v.as_ref().map(|v| v.paused));
        match paused {
            Some(true) => self.send(ClientCommand::Resume, Origin::Playback),
            Some(false) => self.send(ClientCommand::Pause, Origin::Playback),
            None => {}
        }
    }

    /// Read the view without tracking (for event handlers).
    pub fn peek<T>(&self, f: impl FnOnce(&ClusterView) -> T) -> Option<T> {
        self.view.with_untracked(|v| v.as_ref().map(f))
    }
}

/// Read the shared context.
pub fn use_ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// Least wall time between two reconnects asked for by gaps in the event stream.
const RESYNC_INTERVAL_MS: f64 = 5_000.0;

fn wall_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

fn handle_server_message(ctx: Ctx, message: ServerMessage) {
    let wall = wall_ms();
    match message {
        ServerMessage::Hello {
            protocol_version, ..
        } if protocol_version != PROTOCOL_VERSION => {
            ctx.version_mismatch.set(Some(protocol_version));
        }
        ServerMessage::Hello { snapshot, .. } | ServerMessage::Snapshot { snapshot } => {
            ctx.version_mismatch.set(None);
            let (time, speed, paused) = (snapshot.time_ms as f64, snapshot.speed, snapshot.paused);
            ctx.view.update(|v| match v {
                Some(view) => view.resync(snapshot),
                None => {
                    let mut view = ClusterView::from_snapshot(snapshot);
                    let leader = view
                        .leader()
                        .map_or("no leader yet".to_string(), |l| format!("S{l} leads"));
                    let text = format!(
                        "Watching {} (seed {}): {leader}, {} committed entries",
                        crate::model::count(view.nodes.len() as u64, "server", "servers"),
                        view.seed,
                        view.commit_index()
                    );
                    view.note(text, Tone::Control);
                    *v = Some(view);
                }
            });
            ctx.clock
                .update_value(|c| c.reset(time, wall, speed, paused));
            match ctx.selection.get_untracked() {
                Selection::Node(id) if ctx.peek(|v| v.node(id).is_none()).unwrap_or(true) => {
                    ctx.selection.set(Selection::None)
                }
                // Message ids start again in a new run: an old selection would point elsewhere.
                Selection::Message(_) => ctx.selection.set(Selection::None),
                _ => {}
            }
        }
        ServerMessage::Events { events } => {
            if events.is_empty() {
                return;
            }
            let mut needs_resync = false;
            let mut sync = None;
            ctx.view.update(|v| {
                if let Some(view) = v {
                    for e in &events {
                        view.apply(e);
                    }
                    needs_resync = std::mem::take(&mut view.needs_resync);
                    sync = Some((view.time_ms as f64, view.speed, view.paused));
                }
            });
            if let Some((time, speed, paused)) = sync {
                ctx.clock
                    .update_value(|c| c.sync(time, wall, speed, paused));
            }
            // A fresh connection starts with a Hello carrying the full state; at most one such
            // reconnect every few seconds, so a confused stream cannot make us hammer the server.
            if needs_resync && wall - ctx.last_resync_ms.get_value() > RESYNC_INTERVAL_MS {
                ctx.last_resync_ms.set_value(wall);
                ctx.reconnect_now();
            }
        }
        ServerMessage::Clock {
            time_ms,
            paused,
            speed,
        } => {
            let changed = ctx.view.with_untracked(|v| {
                v.as_ref()
                    .is_some_and(|v| v.paused != paused || v.speed != speed)
            });
            if changed {
                ctx.view.update(|v| {
                    if let Some(v) = v {
                        v.on_clock(time_ms, paused, speed)
                    }
                });
            } else {
                // Only time moved: keep the model current without waking every component.
                ctx.view.update_untracked(|v| {
                    if let Some(v) = v {
                        v.on_clock(time_ms, paused, speed)
                    }
                });
            }
            ctx.clock
                .update_value(|c| c.sync(time_ms as f64, wall, speed, paused));
        }
        ServerMessage::Reply { .. } => {} // Routed by the connection to `on_reply`.
    }
}

fn start_animation_loop(ctx: Ctx) {
    fn frame(ctx: Ctx) {
        let wall = wall_ms();
        let now = ctx.clock.with_value(|c| c.now(wall));
        if ctx.now.get_untracked() != now {
            ctx.now.set(now);
        }
        let secs = (wall / 1000.0) as u64;
        if ctx.wall_s.get_untracked() != secs {
            ctx.wall_s.set(secs);
        }
        request_animation_frame(move || frame(ctx));
    }
    request_animation_frame(move || frame(ctx));
}

fn is_typing(ev: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| {
            let tag = el.tag_name().to_ascii_lowercase();
            tag == "input" || tag == "textarea" || tag == "select"
        })
}

fn on_key(ctx: Ctx, ev: web_sys::KeyboardEvent) {
    if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
        return;
    }
    let key = ev.key();
    if key == "Escape" {
        ctx.help_open.set(false);
        ctx.reset_open.set(false);
        ctx.selection.set(Selection::None);
        ctx.highlight.set(Focus::None);
        return;
    }
    if is_typing(&ev) || ctx.reset_open.get_untracked() {
        return;
    }
    match key.as_str() {
        " " | "." => {
            ev.prevent_default();
            ctx.toggle_pause();
        }
        "?" => ctx.help_open.update(|o| *o = !*o),
        "s" | "S" => ctx.send(ClientCommand::Step, Origin::Keyboard),
        "+" | "=" | "-" | "_" => {
            // One notch of the speed scale (1/1000, 1/500, 1/200, 1/100, …, 1) up or down.
            let faster = key == "+" || key == "=";
            if let Some(speed) = ctx.peek(|v| v.speed) {
                let next = crate::layout::speed_step(speed, faster);
                ctx.send(ClientCommand::Speed { speed: next }, Origin::Keyboard);
            }
        }
        "c" | "C" => {
            let text = ctx.append_text.get_untracked();
            let command = if text.trim().parse::<shared::Command>().is_ok() {
                text.trim().to_string()
            } else {
                "add 1".to_string()
            };
            ctx.send(
                ClientCommand::Append {
                    command,
                    node: None,
                },
                Origin::Keyboard,
            );
        }
        "k" | "K" => {
            // Crash the leader; with no leader, restart the lowest-numbered crashed server.
            let target = ctx.peek(|v| match v.leader() {
                Some(l) => Some(ClientCommand::Crash { node: l }),
                None => v
                    .nodes
                    .iter()
                    .find(|n| !n.up)
                    .map(|n| ClientCommand::Restart { node: n.id }),
            });
            match target.flatten() {
                Some(cmd) => ctx.send(cmd, Origin::Keyboard),
                None => ctx.local_error(
                    Origin::Keyboard,
                    "no leader to crash and no crashed server to restart".to_string(),
                ),
            }
        }
        _ => {}
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        view: RwSignal::new(None),
        now: RwSignal::new(0.0),
        conn: RwSignal::new(ConnState::Connecting { attempts: 0 }),
        wall_s: RwSignal::new(0),
        selection: RwSignal::new(Selection::None),
        highlight: RwSignal::new(Focus::None),
        replies: RwSignal::new(BTreeMap::new()),
        help_open: RwSignal::new(false),
        reset_open: RwSignal::new(false),
        append_text: RwSignal::new("add 5".to_string()),
        version_mismatch: RwSignal::new(None),
        last_resync_ms: StoredValue::new(f64::MIN),
        connection: StoredValue::new_local(None),
        clock: StoredValue::new(PlaybackClock::new()),
    };
    provide_context(ctx);

    let connection = Connection::open(
        default_url(),
        move |m| handle_server_message(ctx, m),
        move |state| {
            if state == ConnState::Open {
                ctx.view.update(|v| {
                    if let Some(v) = v {
                        v.note("Connected to the server".to_string(), Tone::Control);
                    }
                });
            } else if ctx.conn.get_untracked() == ConnState::Open {
                ctx.view.update(|v| {
                    if let Some(v) = v {
                        v.note(
                            "Lost the connection to the server; reconnecting…".to_string(),
                            Tone::Warning,
                        );
                    }
                });
            }
            ctx.conn.set(state);
        },
        move |ReplyOutcome { origin, result }| {
            ctx.replies.update(|r| {
                r.insert(origin, result);
            });
        },
    );
    ctx.connection.set_value(Some(connection));
    start_animation_loop(ctx);

    let keys = window_event_listener(leptos::ev::keydown, move |ev| on_key(ctx, ev));
    on_cleanup(move || keys.remove());

    let keyboard_reply = move || {
        ctx.replies
            .with(|r| r.get(&Origin::Keyboard).cloned())
            .and_then(|r| r.err())
    };

    view! {
        <div class="app" data-testid="app"
            data-seq=move || ctx.view.with(|v| v.as_ref().map_or(0, |v| v.seq)).to_string()
            data-paused=move || ctx.view.with(|v| v.as_ref().is_some_and(|v| v.paused)).to_string()>
            <TopBar/>
            <main class="main">
                <section class="stage" aria-label="The cluster">
                    <ClusterRing/>
                    <Legend/>
                </section>
                <aside class="side">
                    <Inspector/>
                    <Show when=move || ctx.selection.get() == Selection::None>
                        <ClientPanel/>
                        <NetworkPanel/>
                    </Show>
                    <NarrationPanel/>
                </aside>
                <section class="logs-section" aria-label="The logs">
                    <LogTable/>
                </section>
            </main>
            <Show when=move || keyboard_reply().is_some()>
                <div class="toast" role="alert" data-testid="key-error"
                    on:click=move |_| ctx.clear_reply(Origin::Keyboard)>
                    {move || keyboard_reply().unwrap_or_default()}
                </div>
            </Show>
            {move || ctx.version_mismatch.get().map(|v| view! {
                <div class="toast" role="alert">
                    {format!("The server speaks protocol version {v}; this page speaks {PROTOCOL_VERSION}. Reload the page.")}
                </div>
            })}
            <HelpOverlay/>
            <ResetDialog/>
            <ConnectionOverlay/>
        </div>
    }
}
