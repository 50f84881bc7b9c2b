//! The teacher's "at key moments" setting in the top bar — two toggles, **Auto-slow** and
//! **Auto-pause**, at most one on, both off by default — and the line saying what it did
//! ("Slowed: S2 won the election for term 3", "Paused: …"). The reducer notices the moments
//! (`model::moments`), `model::auto_pause` decides; this file only sends the commands it names
//! (the ordinary speed and pause commands, so every page sees them) and ticks it once a second.
//! Owns the toggles and the reason line; must not judge what a key moment is or what to do.

use leptos::prelude::*;
use shared::protocol::ClientCommand;

use crate::model::{AtKeyMoments, KeyMoment};
use crate::state::{use_ctx, Ctx};
use crate::ws::Origin;

fn wall_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

fn send(ctx: Ctx, command: Option<ClientCommand>) {
    if let Some(command) = command {
        ctx.send(command, Origin::Playback);
    }
}

/// After a batch of events: slow down or pause at its first key moment, as the setting says.
pub fn on_events(ctx: Ctx, moment: Option<KeyMoment>, paused: bool, speed: f64) {
    if moment.is_none() || ctx.auto_pause.with_untracked(|a| a.mode()) == AtKeyMoments::CarryOn {
        return;
    }
    let mut command = None;
    ctx.auto_pause
        .update(|a| command = a.on_moment(moment, paused, speed, wall_ms()));
    send(ctx, command);
}

/// One of the two toggles: on, it sets `mode`; on again, it switches the setting off.
#[component]
fn ModeToggle(
    mode: AtKeyMoments,
    testid: &'static str,
    class: &'static str,
    title: &'static str,
    label: &'static str,
) -> impl IntoView {
    let ctx = use_ctx();
    let on = move || ctx.auto_pause.with(|a| a.mode() == mode);
    view! {
        <button class=format!("btn {class}") class:primary=on data-testid=testid
            aria-pressed=move || on().to_string() title=title
            on:click=move |_| {
                let was_on = ctx.auto_pause.with_untracked(|a| a.mode() == mode);
                let next = if was_on { AtKeyMoments::CarryOn } else { mode };
                let speed = ctx.live.speed.get_untracked();
                let mut command = None;
                ctx.auto_pause.update(|a| command = a.set_mode(next, speed));
                send(ctx, command);
            }>
            {label}
        </button>
    }
}

/// The two toggles (in the playback controls).
#[component]
pub fn AutoPauseToggle() -> impl IntoView {
    let ctx = use_ctx();
    // The reason of a pause holds only while the run stays paused where it stopped.
    Effect::new(move |was_paused: Option<bool>| {
        let paused = ctx.live.paused.get();
        if was_paused == Some(true) && !paused {
            ctx.auto_pause.update(|a| a.resumed());
        }
        paused
    });
    // A slowdown ends on time (checked once a second) or as soon as somebody picks a speed.
    Effect::new(move |_| {
        ctx.wall_s.track();
        let speed = ctx.live.speed.get();
        if ctx.auto_pause.with_untracked(|a| a.slowing()) {
            let mut command = None;
            ctx.auto_pause
                .update(|a| command = a.tick(wall_ms(), speed));
            send(ctx, command);
        }
    });
    view! {
        <ModeToggle mode=AtKeyMoments::SlowDown testid="auto-slow" class="auto-slow"
            title="Slow the run down for a few seconds at key moments (an election won, entries truncated by log repair, the first commit of a new term), then go back to the chosen speed"
            label="Auto-slow"/>
        <ModeToggle mode=AtKeyMoments::Pause testid="auto-pause" class="auto-pause"
            title="Pause automatically at key moments: an election won, entries truncated by log repair, the first commit of a new term"
            label="Auto-pause"/>
    }
}

/// "Paused: …" while the run is paused at a key moment, "Slowed: …" while it is slowed there.
#[component]
pub fn AutoPauseReason() -> impl IntoView {
    let ctx = use_ctx();
    let label = move || {
        let paused = ctx.live.paused.get();
        ctx.auto_pause.with(|a| a.label(paused))
    };
    move || {
        label().map(|text| {
            view! { <div class="auto-pause-why" data-testid="auto-pause-why" role="status">{text}</div> }
        })
    }
}
