//! The engine's Web Worker (wasm32 only): a [`Session`] ticked by the worker's own timer every
//! frame, answering the page's messages. Owns the worker's timer and the wire between worker and
//! page; must not decide anything about the run (the session does) nor keep the storage (a worker
//! has no `localStorage`: it hands the page what to save).
//!
//! The wire (`postMessage`), as frontend/src/engine.rs speaks it:
//! - page → worker: first `{type: "start", saved}` (`saved`: the [`Saved`] JSON the page found in
//!   its storage, or null) or, for a sandbox, `{type: "start", trace, at_ms}` (a class's
//!   `GET /api/trace` text and the instant to fork at, null for its end); then each command as a
//!   string, a `ClientRequest`'s JSON exactly as the page would send it over the WebSocket,
//!   `{type: "resync"}` for a fresh `Hello`, and `{type: "api", id, method, path, body}` for a
//!   call to the HTTP API the session answers itself (the lesson routes: engine/src/lessons.rs;
//!   `path` as the page would fetch it, `body` a string or null, `id` a number the page picks);
//! - worker → page: each `ServerMessage` as a string, its JSON exactly as the server's WebSocket
//!   delivers it, and `{save: <Saved JSON>}` whenever the synced state changed (at most every
//!   [`SAVE_INTERVAL_MS`] of wall time): the "disk" lags the simulated one by that much, so what
//!   a reload finds is what the nodes had synced, as after a power loss of the whole cluster.
//!   A sandbox is never saved (a reload goes back to the class), and a trace it cannot fork
//!   from gets `{error: <why>}` instead of a `Hello`. A saved cluster that cannot be recovered
//!   (damaged, cut short) gets `{warning: <why>}` after the new cluster's `Hello`. Each `api` call gets `{api: id, status,
//!   body}`: the HTTP status and the JSON text the server would answer (`{"ok":true,"result":…}`
//!   or `{"ok":false,"error":"…"}`; a route the session does not know is a 404), posted after
//!   the messages the call caused (a lesson's stop: a `Snapshot`), so the page has redrawn the
//!   cluster by the time it reads the answer.
//!
//! The worker script (scripts/build-page.sh writes it) loads this crate's module (or, on the
//! static site, the page's module, which links this crate in: the frontend's `engine` feature),
//! then hands every message to [`receive`], those that came while the module loaded first.

use std::cell::RefCell;

use shared::protocol::{ClientRequest, ServerMessage};
use shared::sim::SimConfig;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::DedicatedWorkerGlobalScope;

use crate::{fingerprint, Fingerprint, Saved, Session, FRAME_INTERVAL_MS};

/// Least wall time between two saves (ms).
pub const SAVE_INTERVAL_MS: f64 = 250.0;

struct Running {
    session: Session,
    /// False for a sandbox: nothing of it is kept.
    persist: bool,
    /// What was last handed to the page to save.
    saved: Fingerprint,
    last_save_ms: f64,
}

thread_local! {
    /// The cluster, once the page said `start`.
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn wall_ms() -> f64 {
    scope().performance().map(|p| p.now()).unwrap_or(0.0)
}

fn post(value: &JsValue) {
    if let Err(e) = scope().post_message(value) {
        web_sys::console::warn_2(&"logscope engine: cannot post to the page".into(), &e);
    }
}

/// Hand messages to the page as the WebSocket would: one JSON text each.
fn deliver(out: Vec<ServerMessage>) {
    for message in out {
        match serde_json::to_string(&message) {
            Ok(text) => post(&JsValue::from_str(&text)),
            Err(e) => web_sys::console::warn_1(&format!("logscope engine: {e}").into()),
        }
    }
}

/// Hand the page the synced state when it changed (at most every [`SAVE_INTERVAL_MS`], unless
/// `now`).
fn save(running: &mut Running, now: bool) {
    if !running.persist {
        return;
    }
    let wall = wall_ms();
    if !now && wall - running.last_save_ms < SAVE_INTERVAL_MS {
        return;
    }
    let print = fingerprint(running.session.sim());
    if !now && print == running.saved {
        return;
    }
    let message = js_sys::Object::new();
    let text = JsValue::from_str(&running.session.saved().to_json());
    if js_sys::Reflect::set(&message, &"save".into(), &text).is_ok() {
        post(&message);
        running.saved = print;
        running.last_save_ms = wall;
    }
}

/// One message from the page (see the module's comment for the wire).
#[wasm_bindgen]
pub fn receive(data: JsValue) {
    if let Some(text) = data.as_string() {
        match shared::wire::read::<ClientRequest>(&text) {
            Ok(request) => with_running(|r| {
                let out = r.session.request(request, wall_ms());
                deliver(out);
                save(r, false);
            }),
            Err(e) => web_sys::console::warn_1(&format!("logscope engine: {e}").into()),
        }
        return;
    }
    let kind = js_sys::Reflect::get(&data, &"type".into())
        .ok()
        .and_then(|t| t.as_string());
    match kind.as_deref() {
        Some("start") => {
            let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok();
            let saved = field("saved").and_then(|s| s.as_string());
            match field("trace").and_then(|t| t.as_string()) {
                Some(trace) => {
                    let at_ms = field("at_ms").and_then(|t| t.as_f64()).map(|t| t as u64);
                    match Session::fork(&trace, at_ms, wall_ms()) {
                        Ok(session) => start(session, false),
                        Err(e) => post_error(&format!("cannot start a sandbox from this run: {e}")),
                    }
                }
                None => {
                    let (session, warning) = recovered_or_new(saved.as_deref());
                    start(session, true);
                    // After the `Hello`, which starts the page's story afresh.
                    if let Some(warning) = warning {
                        post_warning(&warning);
                    }
                }
            }
        }
        Some("api") => with_running(|r| {
            let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok();
            let text = |name: &str| field(name).and_then(|v| v.as_string());
            let id = field("id").unwrap_or(JsValue::NULL);
            let (method, path) = (text("method").unwrap_or_default(), text("path"));
            let body = text("body");
            let (reply, out) = r.session.api(
                &method,
                path.as_deref().unwrap_or_default(),
                body.as_deref(),
                wall_ms(),
            );
            deliver(out);
            let message = js_sys::Object::new();
            let set =
                |key: &str, value: &JsValue| js_sys::Reflect::set(&message, &key.into(), value);
            if set("api", &id).is_ok()
                && set("status", &f64::from(reply.status).into()).is_ok()
                && set("body", &JsValue::from_str(&reply.body)).is_ok()
            {
                post(&message);
            }
            save(r, false);
        }),
        Some("resync") => with_running(|r| {
            let hello = r.session.hello();
            deliver(vec![hello]);
        }),
        _ => web_sys::console::warn_1(&"logscope engine: unknown message".into()),
    }
}

fn with_running(f: impl FnOnce(&mut Running)) {
    RUNNING.with(|running| match running.borrow_mut().as_mut() {
        Some(r) => f(r),
        None => web_sys::console::warn_1(&"logscope engine: a message before start".into()),
    });
}

/// Tell the page why there is no cluster.
fn post_error(text: &str) {
    let message = js_sys::Object::new();
    if js_sys::Reflect::set(&message, &"error".into(), &JsValue::from_str(text)).is_ok() {
        post(&message);
    }
}

/// The cluster `saved` describes when it is readable, else a new default one, with what to tell
/// the page when something was saved but could not be recovered (a damaged or cut-short save).
fn recovered_or_new(saved: Option<&str>) -> (Session, Option<String>) {
    let now = wall_ms();
    let recovered = saved.map(|text| match Saved::from_json(text) {
        Some(saved) => Session::recover(&saved, now),
        None => Err("it is not a cluster this logscope can read".to_string()),
    });
    let new = || Session::new(SimConfig::default(), now).expect("the default cluster is valid");
    match recovered {
        Some(Ok(session)) => (session, None),
        Some(Err(why)) => (
            new(),
            Some(format!(
                "The cluster saved in this browser could not be recovered ({why}): a new \
                 cluster was started."
            )),
        ),
        None => (new(), None),
    }
}

/// Tell the page something it should show once (the run goes on).
fn post_warning(text: &str) {
    let message = js_sys::Object::new();
    if js_sys::Reflect::set(&message, &"warning".into(), &JsValue::from_str(text)).is_ok() {
        post(&message);
    }
}

/// Run `session` (kept on the page's disk when `persist`): say `Hello`, and tick it every frame
/// from now on.
fn start(mut session: Session, persist: bool) {
    if RUNNING.with(|r| r.borrow().is_some()) {
        return;
    }
    let hello = session.hello();
    let mut running = Running {
        saved: fingerprint(session.sim()),
        session,
        persist,
        last_save_ms: f64::MIN,
    };
    deliver(vec![hello]);
    save(&mut running, true);
    RUNNING.with(|r| *r.borrow_mut() = Some(running));
    let tick = Closure::<dyn FnMut()>::new(|| {
        with_running(|r| {
            let out = r.session.tick(wall_ms());
            deliver(out);
            save(r, false);
        })
    });
    // The worker lives as long as the page: the timer is never cleared.
    let _ = scope().set_interval_with_callback_and_timeout_and_arguments_0(
        tick.as_ref().unchecked_ref(),
        FRAME_INTERVAL_MS as i32,
    );
    tick.forget();
}
