//! "Watch the step": a lesson's step played again from the run's history. The reveal moves the
//! cluster to the step's outcome in one jump, and the class never saw the candidate, the
//! RequestVotes or the votes; this shows the past instants in between, one every few tenths of a
//! second, then the live run again. Students following the presenter follow the instants too.
//! Owns the pacing; the instants are fetched and drawn as any scrub's (`History::show`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::{At, History};
use crate::state::Ctx;

/// The most instants a step is played in (a long step is played in bigger strides)…
const FRAMES_MAX: u64 = 40;
/// …and the smallest stride between two of them (virtual ms): a message's flight is a few.
const STRIDE_MS_MIN: u64 = 2;
/// Wall time each instant stays on the screen once drawn.
const FRAME_WALL_MS: i32 = 180;

impl History {
    /// Show the run's past from `from_ms` to `to_ms`, then return to the live run. Stops where
    /// it is when the person takes the timeline over (another instant, back to live).
    pub fn play(self, ctx: Ctx, from_ms: u64, to_ms: u64) {
        if to_ms <= from_ms || self.playing.get_untracked() {
            return;
        }
        self.playing.set(true);
        spawn_local(async move {
            let span = to_ms - from_ms;
            let frames = (span / STRIDE_MS_MIN).clamp(1, FRAMES_MAX);
            let mut shown = None;
            for i in 0..=frames {
                // Someone scrubbed or went back to live meanwhile: theirs is the timeline.
                if shown.is_some() && self.wanted.get_value() != shown {
                    return self.playing.set(false);
                }
                let at = At::Ms(from_ms + span * i / frames);
                self.show(ctx, at);
                shown = Some(at);
                while self.loading.get_untracked().is_some() {
                    sleep_ms(20).await;
                }
                sleep_ms(FRAME_WALL_MS).await;
            }
            if self.wanted.get_value() == shown {
                self.back_to_live(ctx);
            }
            self.playing.set(false);
        });
    }
}

/// Wait `ms` of wall time (the browser's timer).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
