//! "Try it yourself": a viewer's private sandbox — the class's run (`GET /api/trace`) forked at
//! the instant the page shows and run on by the in-browser engine (engine/), so the student can
//! break it freely while the server holds nothing for it. Owns the hand-over of the page from
//! the server to the sandbox; must not draw (components::classroom does) nor run the cluster
//! (the engine's worker does).
//!
//! The class goes on showing until the sandbox's first message (its `Hello`) arrives: only then
//! is the server's socket closed and the page's transport swapped, so a trace the engine refuses
//! leaves the viewer where they were, with the reason. "Back to the class" reloads the page.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use shared::protocol::ServerMessage;

use crate::engine::{worker_url, BrowserEngine, Start};
use crate::history::History;
use crate::state::Ctx;
use crate::transport::{EngineKind, Transport};
use crate::ws::ConnState;

/// Said when the page was built without the engine (`trunk serve`).
const NO_ENGINE: &str = "This page was built without the in-browser engine (scripts/build-page.sh \
                         adds it), so it cannot run a sandbox.";

/// Start a sandbox from the instant the page shows now (the live end, or the past instant the
/// timeline shows). Progress and refusals are told through `ctx.sandbox_status`.
pub fn start(ctx: Ctx, history: Option<History>) {
    begin(ctx, history, None);
}

/// A share link opened on a viewer's page: the class's run is the presenter's to change, so the
/// link's run (`trace`, a trace's JSON) opens in the student's own sandbox, at the link's
/// instant `at_ms` (its end when `None`): a sandbox has no timeline to show the instant in, so
/// it starts there, as "Try it yourself" starts at the instant shown. Before, the page asked the
/// server to load it and was refused ("only the presenter can change it").
pub fn start_from_link(ctx: Ctx, history: Option<History>, trace: String, at_ms: Option<u64>) {
    begin(ctx, history, Some((trace, at_ms)));
}

/// A sandbox of `given` (a link's trace and the instant to start at), or of the class's run at
/// the instant the page shows.
fn begin(ctx: Ctx, history: Option<History>, given: Option<(String, Option<u64>)>) {
    if ctx.sandbox_busy.get_untracked() {
        return;
    }
    let (Some(url), Some(handlers)) = (worker_url(), ctx.handlers.get_value()) else {
        ctx.sandbox_status.set(Some(NO_ENGINE.to_string()));
        return;
    };
    let link = given.is_some();
    let at_ms = match &given {
        Some((_, at_ms)) => *at_ms,
        None => ctx.past_ms.get_value(),
    };
    ctx.sandbox_busy.set(true);
    ctx.sandbox_status.set(Some(
        if given.is_some() {
            "Opening the link's run in your own sandbox…"
        } else {
            "Copying the class's cluster…"
        }
        .to_string(),
    ));
    let fail = move |text: String| {
        ctx.sandbox_busy.set(false);
        ctx.sandbox_status.set(Some(text));
    };
    wasm_bindgen_futures::spawn_local(async move {
        let fetched = match given {
            Some((trace, _)) => Ok((200, trace)),
            None => crate::http::request("GET", "api/trace", None).await,
        };
        let trace = match fetched {
            Ok((200, body)) => body,
            Ok((status, body)) => {
                let why = crate::lesson::read_reply::<crate::wire::Json>(&body)
                    .err()
                    .unwrap_or_default();
                return fail(format!(
                    "The server did not give a copy of the run (HTTP {status}) {why}"
                ));
            }
            Err(e) => return fail(format!("Could not copy the class's run: {e}")),
        };
        // Filled once the worker exists; its first message hands the page over to it.
        let slot: Rc<RefCell<Option<BrowserEngine>>> = Rc::new(RefCell::new(None));
        let mut own = handlers.clone();
        let taken = slot.clone();
        let on_message = handlers.on_message.clone();
        own.on_message = Rc::new(move |message: ServerMessage| {
            if let Some(engine) = taken.borrow_mut().take() {
                let at = match &message {
                    ServerMessage::Hello { snapshot, .. } => snapshot.time_ms,
                    _ => at_ms.unwrap_or(0),
                };
                take_over(ctx, history, engine, at, link);
                (handlers.on_state)(ConnState::Open);
            }
            on_message(message);
        });
        let engine = match BrowserEngine::start(&url, Start::Sandbox { trace, at_ms }, &own) {
            Ok(engine) => engine,
            Err(e) => return fail(e),
        };
        let stop = engine.clone();
        engine.on_error(move |e| {
            stop.terminate();
            fail(format!("{e}. You are still watching the class."));
        });
        *slot.borrow_mut() = Some(engine);
    });
}

/// The sandbox speaks: the server is let go and the page becomes the sandbox's.
fn take_over(ctx: Ctx, history: Option<History>, engine: BrowserEngine, at_ms: u64, link: bool) {
    ctx.connection.with_value(|c| {
        if let Some(c) = c {
            c.close();
        }
    });
    ctx.connection.set_value(Some(Transport::Browser(engine)));
    if let Some(history) = history {
        history.forget_past(ctx);
    }
    ctx.following.set(false);
    // The projector's layout (followed from the presenter) hides the controls a sandbox is for.
    ctx.presenter.set(false);
    ctx.sandbox_busy.set(false);
    ctx.sandbox_status.set(None);
    ctx.engine.set(EngineKind::Sandbox { at_ms, link });
}

/// Leave the sandbox: the page starts again as the viewer it was.
pub fn back_to_class() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}
