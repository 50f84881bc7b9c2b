//! The one seam between the page and whatever runs the cluster: the server over its WebSocket
//! ([`Connection`]), or the browser's own engine ([`BrowserEngine`], a Web Worker loaded only
//! then) when no server answers or when the address asks for it (`?engine=browser`). Both speak
//! the same `ServerMessage`s, so the app sends to and hears from a [`Transport`] without knowing
//! which. Owns the choice; must not interpret messages (the app does).

use std::rc::Rc;

use shared::protocol::{ClientCommand, ServerMessage};

use crate::engine::{worker_url, BrowserEngine};
use crate::ws::{default_url, ConnState, Connection, Origin, ReplyOutcome};

/// Which engine runs the cluster the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// Not decided yet (the page is asking the server).
    Unknown,
    /// The logscope server this page came from.
    Server,
    /// This browser, with nothing else running (the engine's worker).
    Browser,
}

/// Where commands go and messages come from.
#[derive(Clone)]
pub enum Transport {
    /// The server's WebSocket.
    Server(Connection),
    /// The engine's worker in this browser.
    Browser(BrowserEngine),
}

impl Transport {
    /// Send a command; returns its request id, or an error to show.
    pub fn send(&self, command: ClientCommand, origin: Origin) -> Result<u64, String> {
        match self {
            Transport::Server(c) => c.send(command, origin),
            Transport::Browser(e) => e.send(command, origin),
        }
    }

    /// Start again from a fresh state (a new connection, or a new `Hello` from the engine).
    pub fn reconnect_now(&self) {
        match self {
            Transport::Server(c) => c.reconnect_now(),
            Transport::Browser(e) => e.resync(),
        }
    }
}

/// What the address asks for: `?engine=browser` or `?engine=server`, else `None` (decide).
fn asked_for() -> Option<EngineKind> {
    let search = web_sys::window()?.location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| match pair {
            "engine=browser" => Some(EngineKind::Browser),
            "engine=server" => Some(EngineKind::Server),
            _ => None,
        })
}

/// True when a logscope server answers `api/health` next to this page (a static host answers
/// 404, or a page that is not JSON).
async fn server_answers() -> bool {
    match crate::http::request("GET", "api/health", None).await {
        Ok((200, body)) => serde_json::from_str::<serde_json::Value>(&body)
            .is_ok_and(|v| v.get("time_ms").is_some()),
        _ => false,
    }
}

/// Decide which engine runs (asking the server when the address does not say), start it, and
/// hand it to `ready` with its kind. The callbacks are the app's, as for [`Connection::open`].
pub fn open(
    on_message: impl Fn(ServerMessage) + 'static,
    on_state: impl Fn(ConnState) + 'static,
    on_reply: impl Fn(ReplyOutcome) + 'static,
    ready: impl FnOnce(Transport, EngineKind) + 'static,
) {
    let on_message = Rc::new(on_message);
    let on_state = Rc::new(on_state);
    let on_reply = Rc::new(on_reply);
    wasm_bindgen_futures::spawn_local(async move {
        let mut kind = match asked_for() {
            Some(kind) => kind,
            None if server_answers().await => EngineKind::Server,
            None => EngineKind::Browser,
        };
        let (m, r) = (on_message.clone(), on_reply.clone());
        let engine = match (kind, worker_url()) {
            (EngineKind::Browser, Some(url)) => {
                match BrowserEngine::start(&url, move |x| m(x), move |x| r(x)) {
                    Ok(engine) => Some(engine),
                    Err(e) => {
                        web_sys::console::error_1(&e.into());
                        None
                    }
                }
            }
            (EngineKind::Browser, None) => {
                // `trunk serve` builds the page alone (README): only a server can run the cluster.
                let text = "logscope: this build has no in-browser engine (scripts/build-page.sh \
                            adds it); waiting for a server";
                web_sys::console::warn_1(&text.into());
                None
            }
            _ => None,
        };
        let transport = match engine {
            Some(engine) => Transport::Browser(engine),
            None => {
                kind = EngineKind::Server;
                let (m, r, s) = (on_message.clone(), on_reply.clone(), on_state.clone());
                Transport::Server(Connection::open(
                    default_url(),
                    move |x| m(x),
                    move |x| s(x),
                    move |x| r(x),
                ))
            }
        };
        ready(transport, kind);
        if kind == EngineKind::Browser {
            // Nothing to connect to: the page's own cluster is there at once.
            on_state(ConnState::Open);
        }
    });
}
