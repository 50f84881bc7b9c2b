//! The page: creates the shared state (`state`), wires the WebSocket and the animation-frame
//! loop to it, handles keyboard shortcuts, and lays out the components. Draws nothing itself;
//! all Raft knowledge stays in `model`, and what components share lives in `state`.

use std::rc::Rc;

use leptos::prelude::*;
use shared::protocol::{ClientCommand, ServerMessage, PROTOCOL_VERSION};

use crate::components::break_raft::BreakRaftPanel;
use crate::components::classroom::{self, ClassroomBar};
use crate::components::column_caption::ColumnCaption;
use crate::components::controls::{ClientPanel, NetworkPanel, TopBar};
use crate::components::inspector::Inspector;
use crate::components::keys;
use crate::components::lessons::{LessonPanel, LessonPicker, Lessons};
use crate::components::logs::LogTable;
use crate::components::narration::NarrationPanel;
use crate::components::overlays::{ConnectionOverlay, HelpOverlay, Legend};
use crate::components::reset_dialog::ResetDialog;
use crate::components::ring::ClusterRing;
use crate::components::safety::SafetyPanel;
use crate::components::timeline::Timeline;
use crate::history::History;
use crate::model::{Focus, Resync, Tone};
use crate::state::{Ctx, Selection};
use crate::transport::{EngineKind, Handlers};
use crate::ws::{ConnState, Origin, ReplyOutcome};

/// Least wall time between two reconnects asked for by gaps in the event stream.
const RESYNC_INTERVAL_MS: f64 = 5_000.0;

fn wall_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// How long a refused key or playback click stays said.
const ERROR_SHOWN_FOR: std::time::Duration = std::time::Duration::from_secs(6);

fn handle_server_message(ctx: Ctx, message: ServerMessage) {
    let wall = wall_ms();
    classroom::on_message(ctx, &message);
    // A `Snapshot` comes on a connection that stayed open: the run was replaced or resent,
    // never recovered by a restarted server (a new connection starts with a `Hello`).
    let connected = matches!(message, ServerMessage::Hello { .. });
    let why = match &message {
        ServerMessage::Snapshot { moved, .. } => *moved,
        _ => None,
    };
    match message {
        ServerMessage::Hello {
            protocol_version, ..
        } if protocol_version != PROTOCOL_VERSION => {
            ctx.version_mismatch.set(Some(protocol_version));
        }
        ServerMessage::Hello { snapshot, .. } | ServerMessage::Snapshot { snapshot, .. } => {
            ctx.version_mismatch.set(None);
            ctx.safety.update(|s| s.load(snapshot.safety.clone()));
            let (time, speed, paused) = (snapshot.time_ms as f64, snapshot.speed, snapshot.paused);
            let kind = match ctx.engine.get_untracked() {
                // The sandbox's one `Hello`: the class's run forked at the instant shown, run
                // by this browser. Neither a reconnection ("resynchronised with the server")
                // nor a restart: the class's story up to that instant stays, then says so.
                EngineKind::Sandbox { at_ms, link } if connected => {
                    ctx.live.change(|v| {
                        v.replaced(snapshot, true);
                        v.note(crate::present::sandbox_notice(at_ms, link), Tone::Control);
                    });
                    Resync::Same
                }
                _ => ctx.live.load(snapshot, connected, why),
            };
            if ctx.live.snapshots.get_untracked() == 1
                && matches!(ctx.engine.get_untracked(), EngineKind::Browser)
            {
                ctx.live.change(|v| v.note_recovered_in_browser());
            }
            if !connected {
                ctx.forget_replies_about_the_run();
            }
            if kind == Resync::NewCluster {
                // The old run's answers ("appended as entry 7") are about a cluster that is gone.
                ctx.replies
                    .update(|r| r.retain(|origin, _| *origin == Origin::Reset));
                ctx.highlight.set(Focus::None);
            }
            ctx.clock
                .update_value(|c| c.reset(time, wall, speed, paused));
            match ctx.selection.get_untracked() {
                Selection::Node(id) if ctx.live.peek(|v| v.node(id).is_none()).unwrap_or(true) => {
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
            // One change for the whole batch: each part wakes at most once.
            let sync = ctx.live.change(|view| {
                for e in &events {
                    view.apply(e);
                }
                let needs_resync = std::mem::take(&mut view.needs_resync);
                let moment = view.take_key_moment();
                (
                    view.time_ms as f64,
                    view.speed,
                    view.paused,
                    needs_resync,
                    moment,
                )
            });
            let Some((time, speed, paused, needs_resync, moment)) = sync else {
                return;
            };
            crate::components::auto_pause::on_events(ctx, moment, paused, speed);
            ctx.clock
                .update_value(|c| c.sync(time, wall, speed, paused));
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
            // Only what the tick changed wakes (usually nothing: time alone is not drawn from
            // the model, the animation loop extrapolates it).
            ctx.live.change(|v| v.on_clock(time_ms, paused, speed));
            ctx.clock
                .update_value(|c| c.sync(time_ms as f64, wall, speed, paused));
        }
        ServerMessage::Safety { safety } => ctx.safety.update(|s| s.load(Some(safety))),
        ServerMessage::Reply { .. } => {} // Routed by the connection to `on_reply`.
        ServerMessage::PresenterView(_) => {} // Follow mode, in `classroom::on_message`.
        ServerMessage::Prediction { .. } => {} // The tally, in `classroom::on_message`.
        ServerMessage::LessonChanged => {} // Handled before: the lesson panel re-reads.
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

fn on_key(ctx: Ctx, lessons: Lessons, ev: web_sys::KeyboardEvent) {
    if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
        return;
    }
    let key = ev.key();
    if key == "Tab" {
        keys::tab_pressed();
    }
    if key == "Escape" {
        let dialog_open = ctx.help_open.get_untracked()
            || ctx.reset_open.get_untracked()
            || lessons.picker.get_untracked();
        if dialog_open {
            // This Escape is the dialog's: the timeline's own listener, next, must not also
            // take it as "back to live".
            ev.stop_immediate_propagation();
        }
        ctx.set_help(false);
        ctx.reset_open.set(false);
        lessons.picker.set(false);
        ctx.selection.set(Selection::None);
        ctx.highlight.set(Focus::None);
        return;
    }
    if keys::is_typing(&ev) || ctx.reset_open.get_untracked() || lessons.picker.get_untracked() {
        return;
    }
    // Behind the open help, a letter must not crash the leader: only `?` (which closes it) acts.
    if ctx.help_open.get_untracked() && key != "?" {
        return;
    }
    match key.as_str() {
        // Space on a control reached by Tab presses it (`keys::space_presses_control`).
        " " if keys::space_presses_control(&ev) => {}
        " " | "." => {
            ev.prevent_default();
            ctx.toggle_pause();
        }
        "?" => ctx.set_help(!ctx.help_open.get_untracked()),
        "p" | "P" => ctx.set_presenter(!ctx.presenter.get_untracked()),
        "s" | "S" => ctx.send(ClientCommand::Step, Origin::Keyboard),
        "+" | "=" | "-" | "_" => {
            // One notch of the speed scale (1/1000, 1/500, 1/200, 1/100, …, 1) up or down.
            let faster = key == "+" || key == "=";
            if let Some(speed) = ctx.live.peek(|v| v.speed) {
                let next = crate::layout::speed_step(speed, faster);
                ctx.send(ClientCommand::Speed { speed: next }, Origin::Keyboard);
            }
        }
        "c" | "C" => {
            let text = ctx.append_text.get_untracked();
            let command = if text.trim().parse::<shared::Command>().is_ok() {
                text.as_str()
            } else {
                "add 1"
            };
            ctx.append(command, None, Origin::Keyboard);
        }
        // A presentation clicker sends PageDown / PageUp: it drives an open lesson (a
        // viewer's page has no lesson buttons, and its keys change nothing).
        "PageDown" | "n" | "N" | "PageUp" | "b" | "B" => {
            let forward = matches!(key.as_str(), "PageDown" | "n" | "N");
            if !ctx.may_control() || !ctx.engine.get_untracked().has_lessons() {
                return;
            }
            let moved = if forward {
                lessons.forward()
            } else {
                lessons.backward()
            };
            if moved {
                ev.prevent_default();
            }
        }
        "k" | "K" => {
            // Crash the leader; with no leader, restart the lowest-numbered crashed server.
            let target = ctx.live.peek(|v| match v.leader() {
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
    let ctx = Ctx::new();
    provide_context(ctx);
    let lessons = Lessons::new();
    provide_context(lessons);
    // While the timeline shows the past, live messages go to its kept copy of the live view.
    let history = History::new();
    provide_context(history);

    let handlers = Handlers {
        on_message: Rc::new(move |m| {
            if matches!(
                m,
                ServerMessage::Snapshot { .. }
                    | ServerMessage::Hello { .. }
                    | ServerMessage::LessonChanged
            ) && ctx.engine.get_untracked().is_server()
            {
                lessons.refresh(); // Another page may have moved or closed the lesson.
            }
            if let Some(m) = history.intercept(ctx, m) {
                handle_server_message(ctx, m)
            }
        }),
        on_state: Rc::new(move |state| {
            if state == ConnState::Open {
                let text = match ctx.engine.get_untracked() {
                    EngineKind::Browser => {
                        Some("No server answered: the cluster runs in your browser")
                    }
                    // Its `Hello` says it, after the class's story (it was said twice).
                    EngineKind::Sandbox { .. } => None,
                    _ => Some("Connected to the server"),
                };
                if let Some(text) = text {
                    ctx.live.change(|v| v.note(text.to_string(), Tone::Control));
                }
            } else if ctx.conn.get_untracked() == ConnState::Open {
                let text = "Lost the connection to the server; reconnecting…".to_string();
                ctx.live.change(|v| v.note(text, Tone::Warning));
            }
            ctx.conn.set(state);
        }),
        on_reply: Rc::new(move |ReplyOutcome { origin, result }| {
            // What a server did is a fact of an instant: dated, it stays true after log repair
            // takes the entry away, or while the timeline shows an earlier instant. The live
            // run's time (not the past instant on the screen).
            let result = match result {
                Ok(m) if matches!(origin, Origin::Append | Origin::Node) => {
                    let at = history.live_end(ctx).map_or(0, |(_, t)| t);
                    Ok(format!("At {}: {m}", crate::timeline::format_instant(at)))
                }
                other => other,
            };
            ctx.replies.update(|r| {
                r.insert(origin, result);
            });
        }),
        on_warning: Rc::new(move |text| {
            ctx.live.change(|v| v.note(text, Tone::Warning));
        }),
    };
    ctx.handlers.set_value(Some(handlers.clone()));
    crate::transport::open(handlers, move |transport, kind| {
        ctx.connection.set_value(Some(transport));
        ctx.engine.set(kind);
    });
    start_animation_loop(ctx);
    classroom::start_broadcast(ctx);

    let shortcuts = window_event_listener(leptos::ev::keydown, move |ev| on_key(ctx, lessons, ev));
    let pointer = window_event_listener(leptos::ev::pointerdown, |_| keys::pointer_pressed());
    on_cleanup(move || {
        shortcuts.remove();
        pointer.remove();
    });

    let keyboard_reply = move || {
        ctx.replies
            .with(|r| r.get(&Origin::Keyboard).cloned())
            .and_then(|r| r.err())
    };
    // A refused key or playback click ("read-only", "no leader to crash") is said for a few
    // seconds, then goes: left up, the toast covered the story for as long as nobody clicked it.
    for origin in [Origin::Keyboard, Origin::Playback] {
        let error = move || {
            ctx.replies
                .with(|r| r.get(&origin).cloned())
                .and_then(|r| r.err())
        };
        Effect::new(move |_| {
            if let Some(shown) = error() {
                set_timeout(
                    move || {
                        let still = ctx.replies.with_untracked(
                            |r| matches!(r.get(&origin), Some(Err(e)) if *e == shown),
                        );
                        if still {
                            ctx.clear_reply(origin);
                        }
                    },
                    ERROR_SHOWN_FOR,
                );
            }
        });
    }

    view! {
        <div class="app" class:presenter=move || ctx.presenter.get() data-testid="app"
            class:viewer=move || ctx.role.get() == Some(shared::protocol::ConnectionRole::Viewer)
            data-seq=move || ctx.live.seq.get().to_string()
            data-paused=move || ctx.live.paused.get().to_string()>
            <TopBar/>
            // The timeline and its tools ask `/api/trace*`: the server's, or the page's own
            // engine's (`EngineKind::has_timeline`).
            <Show when=move || ctx.engine.get().has_timeline()>
                <Timeline/>
            </Show>
            <ClassroomBar/>
            <main class="main">
                <section class="stage" aria-label="The cluster">
                    <ClusterRing/>
                    <crate::components::ring::Announcer/>
                    <Legend/>
                </section>
                <aside class="side">
                    <SafetyPanel/>
                    <LessonPanel/>
                    <Inspector/>
                    // The controls stay while a server or message is inspected: mid-demo, the
                    // next click is often "isolate" or "append", not "close this panel".
                    <ClientPanel/>
                    <NetworkPanel/>
                    // The story before the break-Raft lab: at 1920x1080 the column shows down
                    // to here without scrolling, and the story is read in every demo, the lab
                    // in a few.
                    <NarrationPanel/>
                    <BreakRaftPanel/>
                </aside>
                <section class="logs-section" aria-label="The logs">
                    <LogTable/>
                    <ColumnCaption/>
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
            <LessonPicker/>
            <ResetDialog/>
            <ConnectionOverlay/>
        </div>
    }
}
