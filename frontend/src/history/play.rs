//! "Watch the step": a lesson's step played again from the run's history. The reveal moves the
//! cluster to the step's outcome in one jump, and the class never saw the candidate, the
//! RequestVotes or the votes; this shows the instants in between, event after event (a quiet
//! stretch of waiting for a timer is skipped, as it has none), a few a second, then the live run
//! again. Students following the presenter follow the instants too. Owns the pacing; the
//! instants are fetched and drawn as any scrub's (`History::show`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::{At, History};
use crate::state::Ctx;

/// The most instants a step is played in: a longer step is played in bigger strides of events.
const FRAMES_MAX: u64 = 60;
/// Wall time each instant stays on the screen once drawn.
const FRAME_WALL_MS: i32 = 180;
/// Longest wait for one instant's answer before the playing stops.
const ANSWER_WAIT_MS: i32 = 5_000;

impl History {
    /// Show the run's past from `from_ms` up to the live run's end (where the step ended), then
    /// the live run again. Stops where it is when the person takes the timeline over (another
    /// instant, back to live), when the run is replaced (the lesson's Next or Back, another
    /// page's move), or when an instant cannot be shown.
    pub fn play(self, ctx: Ctx, from_ms: u64) {
        let Some((end_seq, _)) = self.live_end(ctx) else {
            return;
        };
        if self.playing.get_untracked() || self.past.get_untracked().is_some() {
            return;
        }
        self.playing.set(true);
        let moves = self.moves.get_untracked();
        spawn_local(async move {
            let ours = move |at: At| {
                self.moves.get_untracked() == moves
                    && self.past.get_untracked().is_some_and(|p| p.at == at)
            };
            let start = At::Ms(from_ms);
            if self.shown(ctx, start).await && ours(start) {
                let first_seq = self.past.get_untracked().map_or(end_seq, |p| p.seq);
                let events = end_seq.saturating_sub(first_seq);
                let frames = events.min(FRAMES_MAX);
                let mut all_shown = true;
                for i in 1..=frames {
                    let at = At::Seq(first_seq + events * i / frames);
                    if !(self.shown(ctx, at).await && ours(at)) {
                        all_shown = false;
                        break;
                    }
                }
                if all_shown {
                    self.back_to_live(ctx);
                }
            }
            self.playing.set(false);
        });
    }

    /// Ask for instant `at`, wait for it to be drawn and leave it on the screen a moment; false
    /// when no answer came in time.
    async fn shown(self, ctx: Ctx, at: At) -> bool {
        self.show(ctx, at);
        let mut waited = 0;
        while self.loading.get_untracked().is_some() {
            if waited >= ANSWER_WAIT_MS {
                return false;
            }
            sleep_ms(20).await;
            waited += 20;
        }
        sleep_ms(FRAME_WALL_MS).await;
        true
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
