//! The one seam between the page and whatever runs the cluster: the server over its WebSocket
//! ([`Connection`]), or the browser's own engine ([`BrowserEngine`], a Web Worker loaded only
//! then) when no server answers or when the address asks for it (`?engine=browser`). Both speak
//! the same `ServerMessage`s, so the app sends to and hears from a [`Transport`] without knowing
//! which. Owns the choice; must not interpret messages (the app does).

use std::rc::Rc;

use shared::protocol::{ClientCommand, ServerMessage};

use crate::engine::{worker_url, BrowserEngine, Start};
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
    /// A viewer's private copy of the class's cluster ("Try it yourself"), run by the engine's
    /// worker in this browser: `at_ms` is the instant it was forked at. With `link`, the run of
    /// a share link the viewer opened instead, forked at the link's instant.
    Sandbox { at_ms: u64, link: bool },
}

impl EngineKind {
    /// True when the page talks to a logscope server (its HTTP API is there: the timeline,
    /// lessons). A sandbox's server is still there, but its API answers for the class's run.
    pub fn is_server(self) -> bool {
        matches!(self, EngineKind::Server | EngineKind::Unknown)
    }

    /// True when lessons are offered: a server stages them, and so does the browser's own engine
    /// (`http::request`). A sandbox is the student's own copy: the class's lesson goes on
    /// without it.
    pub fn has_lessons(self) -> bool {
        self.is_server() || self == EngineKind::Browser
    }

    /// True when the timeline is offered: the server's run has one, and so has the browser's
    /// own (its engine answers the history routes). Not while the engine is unknown (a share
    /// link read then would go to the wrong one), nor in a sandbox (the class's server would
    /// answer for the class's run, not the student's copy).
    pub fn has_timeline(self) -> bool {
        matches!(self, EngineKind::Server | EngineKind::Browser)
    }
}

/// The app's callbacks, kept so that a sandbox can be started later on the same ones.
#[derive(Clone)]
pub struct Handlers {
    pub on_message: Rc<dyn Fn(ServerMessage)>,
    pub on_state: Rc<dyn Fn(ConnState)>,
    pub on_reply: Rc<dyn Fn(ReplyOutcome)>,
    /// Something the user should know that is no message of the run (the browser's storage
    /// is full).
    pub on_warning: Rc<dyn Fn(String)>,
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

    /// Stop talking to the server for good (a sandbox takes over the page); nothing more is
    /// heard from it and it is not reconnected.
    pub fn close(&self) {
        match self {
            Transport::Server(c) => c.close(),
            Transport::Browser(_) => {}
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

/// The static site (scripts/build-static.sh) says in its index.html that no server is there:
/// asking `api/health` anyway only logged a 404 in every visitor's console.
fn static_site() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("meta[name=logscope-static]")
                .ok()
                .flatten()
        })
        .is_some()
}

/// True when a logscope server answers `api/health` next to this page (a static host answers
/// 404, or a page that is not JSON).
async fn server_answers() -> bool {
    match crate::http::request("GET", "api/health", None).await {
        Ok((200, body)) => crate::wire::parse(&body).is_ok_and(|v| v.get("time_ms").is_some()),
        _ => false,
    }
}

/// Decide which engine runs (asking the server when the address does not say), start it, and
/// hand it to `ready` with its kind. The handlers are the app's, as for [`Connection::open`].
pub fn open(handlers: Handlers, ready: impl FnOnce(Transport, EngineKind) + 'static) {
    wasm_bindgen_futures::spawn_local(async move {
        let mut kind = match asked_for() {
            Some(kind) => kind,
            None if static_site() => EngineKind::Browser,
            None if server_answers().await => EngineKind::Server,
            None => EngineKind::Browser,
        };
        let engine = match (kind, worker_url()) {
            (EngineKind::Browser, Some(url)) => {
                match BrowserEngine::start(&url, Start::Saved, &handlers) {
                    Ok(engine) => {
                        // Its lessons and timeline answer the page's API calls.
                        crate::http::answer_locally(engine.clone());
                        Some(engine)
                    }
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
                let Handlers {
                    on_message: m,
                    on_state: s,
                    on_reply: r,
                    ..
                } = handlers.clone();
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
            (handlers.on_state)(ConnState::Open);
        }
    });
}
