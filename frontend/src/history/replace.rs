//! Replacing the live run from this page — "Resume from here" (a fork), undo, a loaded trace —
//! and waiting for the new run's snapshot, which the server sends apart from its answer. Owns
//! those requests and what is expected of the snapshot; must not draw (`components::timeline`)
//! nor judge the story (`ClusterView::replaced`).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{error_of, parse_result, History};
use crate::http::request;
use crate::model::Tone;
use crate::state::Ctx;
use crate::wire::{Fields, FromJson, Json};
use crate::ws::Origin;

/// Presses of `u` kept while an undo is under way (a held key must not queue a hundred).
const UNDOS_WAITING_MAX: u32 = 5;

/// A fork, undo or load from this page whose new run's snapshot has not come yet.
#[derive(Clone, Debug, Default)]
pub(super) struct Expected {
    /// This run taken back to an earlier instant (a fork or an undo), not another run (a
    /// loaded trace): the story after that instant is then dropped.
    pub forked: bool,
    /// The server's answer, when it came before the snapshot (they travel apart): said once
    /// the snapshot is taken, so that it is stamped with the new run's instant and a fork's
    /// trimming of the story (`ClusterView::forget_after`) does not take it too.
    pub answer: Option<String>,
}

impl History {
    /// What was expected of the next snapshot, now that it came (or the connection started
    /// again): nothing is expected after it.
    pub(super) fn take_expected(self) -> Option<Expected> {
        self.expecting.try_update_value(Option::take).flatten()
    }

    /// "Resume from here": the live cluster becomes the instant shown.
    pub fn resume_here(self, ctx: Ctx) {
        let Some(past) = self.past.get_untracked() else {
            return;
        };
        self.replace_run(ctx, "/api/fork", Some(past.at.body()));
    }

    /// Undo the last action (a fork just before it), or bring back the run a fork, a load or a
    /// reset just left (`shared::trace::undo`).
    pub fn undo(self, ctx: Ctx) {
        if self.busy.get_untracked() {
            // `u u` undoes twice: the second press waits for the first undo's answer (the new
            // run's snapshot may be drawn before it comes).
            self.undos_waiting
                .update_value(|n| *n = (*n + 1).min(UNDOS_WAITING_MAX));
            return;
        }
        self.replace_run(ctx, "/api/undo", None);
    }

    /// Load a trace (a file or a share link): the cluster becomes that run. A refusal changes
    /// nothing and is shown as the server words it. `then` runs after the answer, told whether
    /// the run was replaced.
    pub fn load(self, ctx: Ctx, text: String, then: impl FnOnce(bool) + 'static) {
        self.replace_run_then(ctx, "/api/trace".to_string(), Some(text), then);
    }

    fn replace_run(self, ctx: Ctx, url: &str, body: Option<String>) {
        self.replace_run_then(ctx, url.to_string(), body, |_| {});
    }

    /// POST something that replaces the live run (fork, undo, load) and show the answer. On
    /// success the screen returns to live: the server sends the new run's snapshot. `then` runs
    /// after the answer (after the refusal is shown, on a refusal), told whether it was a success.
    pub(super) fn replace_run_then(
        self,
        ctx: Ctx,
        url: String,
        body: Option<String>,
        then: impl FnOnce(bool) + 'static,
    ) {
        // A student's `u` or Ctrl+Z (a viewer has no history buttons): said as a refused key,
        // which goes by itself; the server would refuse it in a developer's words.
        if !ctx.may_control() {
            return ctx.local_error(Origin::Keyboard, crate::state::READ_ONLY.to_string());
        }
        if self.busy.get_untracked() {
            let text = "wait a moment: the last change to the run is still being made";
            return ctx.local_error(Origin::History, text.to_string());
        }
        self.busy.set(true);
        self.expecting.set_value(Some(Expected {
            forked: url == "/api/fork" || url == "/api/undo",
            answer: None,
        }));
        ctx.clear_reply(Origin::History);
        spawn_local(async move {
            let answer = request("POST", &url, body).await;
            self.busy.set(false);
            if !matches!(answer, Ok((200, _))) {
                self.expecting.set_value(None);
                self.undos_waiting.set_value(0); // Nothing more to take back after a refusal.
            }
            match answer {
                Ok((200, text)) => {
                    let message = parse_result::<ForkResult>(&text)
                        .map(|r| r.message)
                        .unwrap_or_else(|e| e);
                    self.back_to_live(ctx);
                    // The new run's snapshot may still be on its way: then this is said after it.
                    let said_later = self
                        .expecting
                        .try_update_value(|e| e.as_mut().map(|e| e.answer = Some(message.clone())))
                        .flatten()
                        .is_some();
                    if !said_later {
                        ctx.live.change(|v| v.note(message.clone(), Tone::Control));
                    }
                    ctx.replies.update(|r| {
                        r.insert(Origin::History, Ok(message));
                    });
                    self.refresh_markers(true);
                    self.moves.update(|m| *m += 1);
                    then(true);
                    if self.undos_waiting.get_value() > 0 {
                        self.undos_waiting.update_value(|n| *n -= 1);
                        self.undo(ctx);
                    }
                }
                Ok((_, text)) => {
                    ctx.local_error(Origin::History, error_of(&text));
                    then(false);
                }
                Err(e) => {
                    ctx.local_error(Origin::History, e);
                    then(false);
                }
            }
        });
    }
}

/// A fork's, an undo's or a load's result: what the server says it did.
struct ForkResult {
    message: String,
}

impl FromJson for ForkResult {
    fn from_json(json: &Json) -> Result<Self, String> {
        Ok(ForkResult {
            message: Fields::of(json, "a fork's result")?.get("message")?,
        })
    }
}
