//! The browser's WebSocket to the backend (`/ws` on the page's own host): connects, parses
//! `ServerMessage`s, reconnects by itself with a growing back-off, and numbers the commands it
//! sends so that each `Reply` finds the control that asked. Knows nothing about the view model or
//! Leptos; the app hands it callbacks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use shared::protocol::{ClientCommand, ClientRequest, ServerMessage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// Which control sent a command, so its reply is shown next to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// The append form and the quick buttons.
    Append,
    /// The server panel (crash, restart, …).
    Node,
    /// Network controls and link clicks.
    Network,
    /// Pause, step, speed.
    Playback,
    /// The reset dialog.
    Reset,
    /// The message inspector (drop).
    Message,
    /// Keyboard shortcuts.
    Keyboard,
    /// The timeline: fork, undo, import, share links.
    History,
    /// The presenter's view state, sent for viewers to follow.
    Follow,
    /// The "break Raft" lab and the safety panel.
    Lab,
}

/// The connection as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum ConnState {
    /// Opening the first connection or a new one.
    Connecting {
        /// Failed attempts in a row so far.
        attempts: u32,
    },
    /// Open.
    Open,
    /// Closed; the next attempt is scheduled.
    Waiting {
        /// Failed attempts in a row so far.
        attempts: u32,
        /// Wall time (ms, `performance.now()`) of the next attempt.
        retry_at_ms: f64,
    },
}

/// The answer to one command.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyOutcome {
    /// Which control asked.
    pub origin: Origin,
    /// Ok(message to show) or Err(error to show).
    pub result: Result<String, String>,
}

type OnMessage = Rc<dyn Fn(ServerMessage)>;
type OnState = Rc<dyn Fn(ConnState)>;
type OnReply = Rc<dyn Fn(ReplyOutcome)>;

struct Inner {
    url: String,
    socket: Option<WebSocket>,
    attempts: u32,
    next_request_id: u64,
    pending: HashMap<u64, Origin>,
    on_message: OnMessage,
    on_state: OnState,
    on_reply: OnReply,
    // The socket's callbacks, kept alive as long as the socket is ours.
    closures: Vec<Closure<dyn FnMut(JsValue)>>,
    /// Bumped for every new socket, so callbacks of an old one are ignored.
    generation: u64,
}

/// A self-healing connection. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
}

fn wall_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// `ws://host/ws` (or `wss://` on https), for the host that served the page.
pub fn default_url() -> String {
    let location = web_sys::window().map(|w| w.location());
    let (protocol, host) = match location {
        Some(l) => (
            l.protocol().unwrap_or_else(|_| "http:".into()),
            l.host().unwrap_or_else(|_| "127.0.0.1:7878".into()),
        ),
        None => ("http:".into(), "127.0.0.1:7878".into()),
    };
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

impl Connection {
    /// Start connecting to `url`; callbacks run on the browser's event loop.
    pub fn open(
        url: String,
        on_message: impl Fn(ServerMessage) + 'static,
        on_state: impl Fn(ConnState) + 'static,
        on_reply: impl Fn(ReplyOutcome) + 'static,
    ) -> Connection {
        let conn = Connection {
            inner: Rc::new(RefCell::new(Inner {
                url,
                socket: None,
                attempts: 0,
                next_request_id: 1,
                pending: HashMap::new(),
                on_message: Rc::new(on_message),
                on_state: Rc::new(on_state),
                on_reply: Rc::new(on_reply),
                closures: Vec::new(),
                generation: 0,
            })),
        };
        conn.connect();
        conn
    }

    /// Send a command. Returns its request id, or an error to show if there is no connection.
    pub fn send(&self, command: ClientCommand, origin: Origin) -> Result<u64, String> {
        let mut inner = self.inner.borrow_mut();
        let Some(socket) = inner
            .socket
            .as_ref()
            .filter(|s| s.ready_state() == WebSocket::OPEN)
        else {
            return Err("not connected to the server: the command was not sent".to_string());
        };
        let request_id = inner.next_request_id;
        let json = serde_json::to_string(&ClientRequest {
            request_id,
            command,
        })
        .map_err(|e| format!("could not encode the command: {e}"))?;
        socket
            .send_with_str(&json)
            .map_err(|_| "the connection refused the command".to_string())?;
        inner.next_request_id += 1;
        inner.pending.insert(request_id, origin);
        Ok(request_id)
    }

    /// Drop the current socket and connect again at once (the "retry now" button, or to get a
    /// fresh snapshot after a gap in the events).
    pub fn reconnect_now(&self) {
        let old = {
            let mut inner = self.inner.borrow_mut();
            inner.generation += 1;
            inner.closures.clear();
            inner.socket.take()
        };
        if let Some(s) = old {
            detach(&s);
            let _ = s.close();
        }
        self.connect();
    }

    /// Close the socket for good: no more messages, no reconnect (a sandbox took the page
    /// over); commands still waiting for an answer will not get one.
    pub fn close(&self) {
        let old = {
            let mut inner = self.inner.borrow_mut();
            // Every callback and retry timer checks the generation: none of them acts again.
            inner.generation += 1;
            inner.closures.clear();
            inner.pending.clear();
            inner.socket.take()
        };
        if let Some(s) = old {
            detach(&s);
            let _ = s.close();
        }
    }

    fn connect(&self) {
        let (url, generation, on_state, attempts) = {
            let mut inner = self.inner.borrow_mut();
            inner.generation += 1;
            (
                inner.url.clone(),
                inner.generation,
                inner.on_state.clone(),
                inner.attempts,
            )
        };
        on_state(ConnState::Connecting { attempts });
        let socket = match WebSocket::new(&url) {
            Ok(s) => s,
            Err(_) => {
                self.schedule_retry(generation);
                return;
            }
        };
        let weak = Rc::downgrade(&self.inner);
        let this = move || weak.upgrade().map(|inner| Connection { inner });

        let on_open = {
            let this = this.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
                let Some(c) = this() else { return };
                let on_state = {
                    let mut inner = c.inner.borrow_mut();
                    if inner.generation != generation {
                        return;
                    }
                    inner.attempts = 0;
                    inner.on_state.clone()
                };
                on_state(ConnState::Open);
            })
        };
        let on_message = {
            let this = this.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let Some(c) = this() else { return };
                let Ok(ev) = ev.dyn_into::<MessageEvent>() else {
                    return;
                };
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                c.dispatch(generation, &text);
            })
        };
        let on_close = {
            let this = this.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let _ = ev.dyn_into::<CloseEvent>();
                let Some(c) = this() else { return };
                c.schedule_retry(generation);
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut inner = self.inner.borrow_mut();
        inner.closures = vec![on_open, on_message, on_close];
        inner.socket = Some(socket);
    }

    fn dispatch(&self, generation: u64, text: &str) {
        let (on_message, on_reply) = {
            let inner = self.inner.borrow();
            if inner.generation != generation {
                return;
            }
            (inner.on_message.clone(), inner.on_reply.clone())
        };
        let pending = |id| self.inner.borrow_mut().pending.remove(&id);
        dispatch(text, pending, &*on_message, &*on_reply);
    }

    fn schedule_retry(&self, generation: u64) {
        let (attempts, on_state) = {
            let mut inner = self.inner.borrow_mut();
            if inner.generation != generation {
                return;
            }
            // Invalidate this socket's callbacks; unanswered commands will never be answered.
            inner.generation += 1;
            if let Some(s) = inner.socket.take() {
                detach(&s);
            }
            inner.closures.clear();
            inner.pending.clear();
            inner.attempts += 1;
            (inner.attempts, inner.on_state.clone())
        };
        let delay = crate::clock::reconnect_backoff_ms(attempts, js_sys::Math::random());
        on_state(ConnState::Waiting {
            attempts,
            retry_at_ms: wall_ms() + delay,
        });
        let weak = Rc::downgrade(&self.inner);
        let expected = generation + 1;
        leptos::prelude::set_timeout(
            move || {
                if let Some(inner) = weak.upgrade() {
                    let c = Connection { inner };
                    if c.inner.borrow().generation == expected {
                        c.connect();
                    }
                }
            },
            Duration::from_millis(delay as u64),
        );
    }
}

fn detach(socket: &WebSocket) {
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
}

/// Hand one message's JSON `text` to the app, and a `Reply` also to the control that asked
/// (`pending` takes the origin of a request id out of the sender's book). The WebSocket and the
/// engine's worker (`engine`) both deliver through here, so the page reads them alike. No borrow
/// may be held across it: a callback may send a command.
pub fn dispatch(
    text: &str,
    pending: impl Fn(u64) -> Option<Origin>,
    on_message: &dyn Fn(ServerMessage),
    on_reply: &dyn Fn(ReplyOutcome),
) {
    let message = match crate::wire::read::<ServerMessage>(text) {
        Ok(m) => m,
        Err(e) => {
            web_sys::console::warn_1(&format!("logscope: unreadable message: {e}").into());
            return;
        }
    };
    if let ServerMessage::Reply(reply) = &message {
        if let Some(origin) = pending(reply.request_id) {
            let result = match &reply.outcome {
                Ok(ok) => Ok(ok.message.clone().unwrap_or_else(|| "done".to_string())),
                Err(error) => Err(error.clone()),
            };
            on_reply(ReplyOutcome { origin, result });
        }
    }
    on_message(message);
}
