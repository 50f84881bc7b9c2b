//! The in-browser engine on the page's main thread: a [`Session`] ticked by a timer every
//! frame, commands carried out on the next turn of the event loop (so a reply never arrives
//! inside the click that sent it, as with a socket), and the synced state kept in the browser's
//! `localStorage`, so a reload recovers the cluster. Owns the timer, the storage and the
//! callbacks; must not decide anything about the run (the session does) nor draw.
//!
//! The "disk" lags the simulated one by at most [`SAVE_INTERVAL_MS`] of wall time (and is
//! written again when the page is hidden): what a reload finds is what the nodes had synced, as
//! after a power loss of the whole cluster.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use shared::protocol::{ClientCommand, ClientRequest, ServerMessage};
use shared::sim::SimConfig;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{fingerprint, Fingerprint, Saved, Session, FRAME_INTERVAL_MS};
use crate::ws::{Origin, ReplyOutcome};

/// The `localStorage` key of the browser's cluster ([`Saved`] as JSON).
pub const SAVE_KEY: &str = "logscope.engine";
/// Least wall time between two saves (ms).
pub const SAVE_INTERVAL_MS: f64 = 250.0;

type OnMessage = Rc<dyn Fn(ServerMessage)>;
type OnReply = Rc<dyn Fn(ReplyOutcome)>;

struct Inner {
    session: Session,
    next_request_id: u64,
    pending: HashMap<u64, Origin>,
    on_message: OnMessage,
    on_reply: OnReply,
    saved: Fingerprint,
    last_save_ms: f64,
}

/// The cluster running in this page. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct BrowserEngine {
    inner: Rc<RefCell<Inner>>,
    /// True when the cluster was recovered from the browser's storage.
    pub recovered: bool,
}

fn wall_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The cluster saved by an earlier visit, if any (an unreadable one is ignored).
fn load() -> Option<Saved> {
    Saved::from_json(&storage()?.get_item(SAVE_KEY).ok()??)
}

impl BrowserEngine {
    /// Start the cluster (recovered from storage when there is one) and its timer; the first
    /// message, a `Hello`, reaches `on_message` on the next turn of the event loop.
    pub fn start(
        on_message: impl Fn(ServerMessage) + 'static,
        on_reply: impl Fn(ReplyOutcome) + 'static,
    ) -> BrowserEngine {
        let now = wall_ms();
        let recovered = load().and_then(|saved| Session::recover(&saved, now).ok());
        let is_recovered = recovered.is_some();
        let mut session = recovered.unwrap_or_else(|| {
            Session::new(SimConfig::default(), now).expect("the default cluster is valid")
        });
        let hello = session.hello();
        let engine = BrowserEngine {
            inner: Rc::new(RefCell::new(Inner {
                saved: fingerprint(session.sim()),
                session,
                next_request_id: 1,
                pending: HashMap::new(),
                on_message: Rc::new(on_message),
                on_reply: Rc::new(on_reply),
                last_save_ms: f64::MIN,
            })),
            recovered: is_recovered,
        };
        engine.save(true);
        let first = engine.clone();
        leptos::prelude::set_timeout(move || first.deliver(vec![hello]), Duration::from_millis(0));
        let ticking = engine.clone();
        // The page lives as long as the engine: the timer is never cleared.
        let _ = leptos::prelude::set_interval_with_handle(
            move || ticking.tick(),
            Duration::from_millis(FRAME_INTERVAL_MS as u64),
        );
        let leaving = engine.clone();
        let on_hide = Closure::<dyn FnMut()>::new(move || leaving.save(true));
        if let Some(w) = web_sys::window() {
            let _ =
                w.add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
        }
        on_hide.forget();
        engine
    }

    /// Send a command; it is carried out on the next turn of the event loop.
    pub fn send(&self, command: ClientCommand, origin: Origin) -> Result<u64, String> {
        let request_id = {
            let mut inner = self.inner.borrow_mut();
            let id = inner.next_request_id;
            inner.next_request_id += 1;
            inner.pending.insert(id, origin);
            id
        };
        let this = self.clone();
        leptos::prelude::set_timeout(
            move || {
                let request = ClientRequest {
                    request_id,
                    command,
                };
                let out = this.inner.borrow_mut().session.request(request, wall_ms());
                this.deliver(out);
                this.save(false);
            },
            Duration::from_millis(0),
        );
        Ok(request_id)
    }

    /// Start over from a fresh `Hello` (what a reconnect gives the page after a gap).
    pub fn resync(&self) {
        let hello = self.inner.borrow_mut().session.hello();
        self.deliver(vec![hello]);
    }

    fn tick(&self) {
        let out = self.inner.borrow_mut().session.tick(wall_ms());
        self.deliver(out);
        self.save(false);
    }

    /// Hand messages to the page, with no borrow held (a callback may send a command).
    fn deliver(&self, out: Vec<ServerMessage>) {
        if out.is_empty() {
            return;
        }
        let (on_message, on_reply) = {
            let inner = self.inner.borrow();
            (inner.on_message.clone(), inner.on_reply.clone())
        };
        for message in out {
            if let ServerMessage::Reply(reply) = &message {
                let origin = self.inner.borrow_mut().pending.remove(&reply.request_id);
                if let Some(origin) = origin {
                    let result = match &reply.outcome {
                        Ok(ok) => Ok(ok.message.clone().unwrap_or_else(|| "done".to_string())),
                        Err(error) => Err(error.clone()),
                    };
                    on_reply(ReplyOutcome { origin, result });
                }
            }
            on_message(message);
        }
    }

    /// Write the synced state to storage when it changed (at most every [`SAVE_INTERVAL_MS`],
    /// unless `now`).
    fn save(&self, now: bool) {
        let wall = wall_ms();
        let mut inner = self.inner.borrow_mut();
        if !now && wall - inner.last_save_ms < SAVE_INTERVAL_MS {
            return;
        }
        let print = fingerprint(inner.session.sim());
        if !now && print == inner.saved {
            return;
        }
        let Some(storage) = storage() else { return };
        if storage
            .set_item(SAVE_KEY, &inner.session.saved().to_json())
            .is_ok()
        {
            inner.saved = print;
            inner.last_save_ms = wall;
        }
    }
}
