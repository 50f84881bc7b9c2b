//! The teacher's "pause at key moments" toggle in the top bar, and the reason of the pause it
//! made ("Paused: S2 won the election for term 3"). Off by default. The reducer notices the
//! moments (`model::moments`); after each batch of events `on_events` sends the existing pause
//! command when the setting is on. Owns the toggle and the reason line; must not judge what a
//! key moment is.

use leptos::prelude::*;
use shared::protocol::ClientCommand;

use crate::model::KeyMoment;
use crate::state::{use_ctx, Ctx};
use crate::ws::Origin;

/// After a batch of events: pause at its first key moment when the setting is on.
pub fn on_events(ctx: Ctx, moment: Option<KeyMoment>, paused: bool) {
    if moment.is_none() || !ctx.auto_pause.with_untracked(|a| a.on) {
        return;
    }
    let mut send = false;
    ctx.auto_pause
        .update(|a| send = a.on_moment(moment, paused));
    if send {
        ctx.send(ClientCommand::Pause, Origin::Playback);
    }
}

/// The toggle (in the playback controls).
#[component]
pub fn AutoPauseToggle() -> impl IntoView {
    let ctx = use_ctx();
    let on = move || ctx.auto_pause.with(|a| a.on);
    // The reason holds only while the run stays paused where it stopped.
    Effect::new(move |was_paused: Option<bool>| {
        let paused = ctx.live.paused.get();
        if was_paused == Some(true) && !paused {
            ctx.auto_pause.update(|a| a.resumed());
        }
        paused
    });
    view! {
        <button class="btn auto-pause" class:primary=on data-testid="auto-pause"
            aria-pressed=move || on().to_string()
            title="Pause automatically at key moments: an election won, entries truncated by log repair, the first commit of a new term"
            on:click=move |_| ctx.auto_pause.update(|a| {
                a.on = !a.on;
                a.resumed();
            })>
            {move || if on() { "Auto-pause: on" } else { "Auto-pause: off" }}
        </button>
    }
}

/// "Paused: …" while the run is paused at a key moment.
#[component]
pub fn AutoPauseReason() -> impl IntoView {
    let ctx = use_ctx();
    let label = move || {
        ctx.live
            .paused
            .get()
            .then(|| ctx.auto_pause.with(|a| a.label()))
            .flatten()
    };
    move || {
        label().map(|text| {
            view! { <div class="auto-pause-why" data-testid="auto-pause-why" role="status">{text}</div> }
        })
    }
}
