//! The page's side of the in-browser engine: the cluster runs in a Web Worker of its own wasm
//! module (the `logscope-engine` crate, engine/), loaded only when the engine is used, so a page
//! with a server never downloads the simulator; the static site links the engine into this module
//! instead (the `engine` feature, scripts/build-static.sh) and its worker instantiates it too,
//! which changes nothing here (the worker speaks the same wire). Creates the worker, posts it the
//! page's commands and the API calls it answers itself (the lesson and history routes,
//! [`BrowserEngine::api`], chosen by `http::request`), hears its messages through the same parse
//! path as the WebSocket's (`ws::dispatch`), and keeps what it hands over to save in the browser's
//! `localStorage` (a worker has none), so a reload recovers the cluster. Owns the worker and the
//! storage; must not decide anything about the run (the worker does) nor draw. The wire is
//! described in engine/src/worker.rs.
//!
//! The worker script's address comes from the page: `<meta name="logscope-engine" content=…>`,
//! written by scripts/build-page.sh (relative to the document, so a static site works from any
//! directory). A page without it (`trunk serve`) has no engine.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use shared::protocol::{ClientCommand, ClientRequest, ServerMessage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::transport::Handlers;
use crate::ws::{dispatch, Origin, ReplyOutcome};

/// The `localStorage` key of the browser's cluster (`Saved` as JSON, engine/src/saved.rs).
pub const SAVE_KEY: &str = "logscope.engine";

type OnMessage = Rc<dyn Fn(ServerMessage)>;
type OnReply = Rc<dyn Fn(ReplyOutcome)>;
type OnError = Rc<dyn Fn(String)>;

/// What the engine starts from.
pub enum Start {
    /// The cluster this browser kept from an earlier visit (a new one when there is none).
    Saved,
    /// A sandbox: the run a class's `GET /api/trace` answered, forked at virtual time `at_ms`
    /// (its end when `None`). Never saved: a reload goes back to the class.
    Sandbox { trace: String, at_ms: Option<u64> },
}

struct Inner {
    worker: Worker,
    next_request_id: u64,
    pending: HashMap<u64, Origin>,
    on_message: OnMessage,
    on_reply: OnReply,
    /// Told when the worker cannot start (a sandbox from a trace it refuses).
    on_error: Option<OnError>,
    /// Told when the browser's storage refuses a save (full).
    on_warning: OnError,
    /// The last save was refused.
    save_failed: bool,
    /// The API calls waiting for the worker's answer: each one's promise's `resolve`, by id.
    api_waiting: HashMap<u64, js_sys::Function>,
    next_api_id: u64,
}

/// The cluster running in this browser. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct BrowserEngine {
    inner: Rc<RefCell<Inner>>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The worker script's address as this page names it, if it was built with the engine.
pub fn worker_url() -> Option<String> {
    let meta = web_sys::window()?
        .document()?
        .query_selector("meta[name=logscope-engine]")
        .ok()??;
    meta.get_attribute("content").filter(|url| !url.is_empty())
}

impl BrowserEngine {
    /// Start the worker at `url` on `start`; its first message, a `Hello`, reaches the handlers'
    /// `on_message` when the module has loaded (their `on_state` is the caller's to call).
    pub fn start(url: &str, start: Start, handlers: &Handlers) -> Result<BrowserEngine, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(url, &options)
            .map_err(|e| format!("cannot start the engine's worker: {e:?}"))?;
        let engine = BrowserEngine {
            inner: Rc::new(RefCell::new(Inner {
                worker: worker.clone(),
                next_request_id: 1,
                pending: HashMap::new(),
                on_message: handlers.on_message.clone(),
                on_reply: handlers.on_reply.clone(),
                on_error: None,
                on_warning: handlers.on_warning.clone(),
                save_failed: false,
                api_waiting: HashMap::new(),
                next_api_id: 1,
            })),
        };
        let weak = Rc::downgrade(&engine.inner);
        // The page lives as long as the worker: the callbacks are never removed.
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(inner) = weak.upgrade() else { return };
            BrowserEngine { inner }.heard(ev.data());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        // A worker that fails to load, or whose module aborts (a panic), is gone for good: the
        // page must say so rather than show a cluster that silently stopped.
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            web_sys::console::error_2(&"logscope: the engine's worker failed".into(), &e);
            let why = e
                .dyn_ref::<web_sys::ErrorEvent>()
                .map(|e| e.message())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "its file did not load".to_string());
            crate::stopped::show(&format!(
                "The cluster running in this browser stopped ({why}). Reload the page to carry \
                 on: it recovers what its servers had synced."
            ));
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();

        let message = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&message, &key.into(), value);
        let _ = set("type", &"start".into());
        match start {
            Start::Saved => {
                let saved = storage()
                    .and_then(|s| s.get_item(SAVE_KEY).ok().flatten())
                    .map_or(JsValue::NULL, |text| JsValue::from_str(&text));
                let _ = set("saved", &saved);
            }
            Start::Sandbox { trace, at_ms } => {
                let _ = set("trace", &JsValue::from_str(&trace));
                let _ = set("at_ms", &at_ms.map_or(JsValue::NULL, |t| (t as f64).into()));
            }
        }
        worker
            .post_message(&message)
            .map_err(|e| format!("cannot start the engine: {e:?}"))?;
        Ok(engine)
    }

    /// Be told why the worker could not start (it then says nothing else).
    pub fn on_error(&self, f: impl Fn(String) + 'static) {
        self.inner.borrow_mut().on_error = Some(Rc::new(f));
    }

    /// Stop the worker (a sandbox that could not start, or is left).
    pub fn terminate(&self) {
        self.inner.borrow().worker.terminate();
    }

    /// Send a command; the worker carries it out and replies as the server would.
    pub fn send(&self, command: ClientCommand, origin: Origin) -> Result<u64, String> {
        let mut inner = self.inner.borrow_mut();
        let request_id = inner.next_request_id;
        let text = serde_json::to_string(&ClientRequest {
            request_id,
            command,
        })
        .map_err(|e| e.to_string())?;
        inner
            .worker
            .post_message(&JsValue::from_str(&text))
            .map_err(|e| format!("cannot reach the engine: {e:?}"))?;
        inner.next_request_id += 1;
        inner.pending.insert(request_id, origin);
        Ok(request_id)
    }

    /// Start over from a fresh `Hello` (what a reconnect gives the page after a gap).
    pub fn resync(&self) {
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"type".into(), &"resync".into());
        let _ = self.inner.borrow().worker.post_message(&message);
    }

    /// Call the HTTP API the worker answers itself (the lesson routes): the status and body
    /// the server would answer. The messages the call causes (a lesson's stop: a `Snapshot`)
    /// reach the handlers first.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, String), String> {
        let id = {
            let mut inner = self.inner.borrow_mut();
            inner.next_api_id += 1;
            inner.next_api_id - 1
        };
        let mut resolve = None;
        let answered = js_sys::Promise::new(&mut |yes, _no| resolve = Some(yes));
        if let Some(resolve) = resolve {
            self.inner.borrow_mut().api_waiting.insert(id, resolve);
        }
        let message = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&message, &key.into(), value);
        let _ = set("type", &"api".into());
        let _ = set("id", &(id as f64).into());
        let _ = set("method", &method.into());
        let _ = set("path", &path.into());
        let _ = set(
            "body",
            &body.map_or(JsValue::NULL, |b| JsValue::from_str(&b)),
        );
        if let Err(e) = self.inner.borrow().worker.post_message(&message) {
            self.inner.borrow_mut().api_waiting.remove(&id);
            return Err(format!("cannot reach the engine: {e:?}"));
        }
        let answer = wasm_bindgen_futures::JsFuture::from(answered)
            .await
            .map_err(|e| format!("the engine did not answer: {e:?}"))?;
        let get = |key: &str| js_sys::Reflect::get(&answer, &key.into()).ok();
        let status = get("status").and_then(|s| s.as_f64()).unwrap_or(500.0) as u16;
        let body = get("body").and_then(|b| b.as_string()).unwrap_or_default();
        Ok((status, body))
    }

    /// One message from the worker: a `ServerMessage`'s JSON text, `{api}`, `{save}` or
    /// `{error}`.
    fn heard(&self, data: JsValue) {
        if let Some(text) = data.as_string() {
            let (on_message, on_reply) = {
                let inner = self.inner.borrow();
                (inner.on_message.clone(), inner.on_reply.clone())
            };
            // No borrow held: a callback may send a command.
            let pending = |id| self.inner.borrow_mut().pending.remove(&id);
            dispatch(&text, pending, &*on_message, &*on_reply);
            return;
        }
        let id = js_sys::Reflect::get(&data, &"api".into())
            .ok()
            .and_then(|id| id.as_f64());
        if let Some(id) = id {
            let resolve = self.inner.borrow_mut().api_waiting.remove(&(id as u64));
            if let Some(resolve) = resolve {
                let _ = resolve.call1(&JsValue::NULL, &data);
            }
            return;
        }
        let field = |name: &str| {
            js_sys::Reflect::get(&data, &name.into())
                .ok()
                .and_then(|s| s.as_string())
        };
        if let Some(error) = field("error") {
            let on_error = self.inner.borrow().on_error.clone();
            match on_error {
                Some(f) => f(error),
                None => web_sys::console::error_1(&error.into()),
            }
            return;
        }
        if let Some(warning) = field("warning") {
            let on_warning = self.inner.borrow().on_warning.clone();
            on_warning(warning);
            return;
        }
        let (Some(text), Some(storage)) = (field("save"), storage()) else {
            return;
        };
        // Past the quota the cluster runs on, but a reload would find it as last saved: say so
        // once (and again if it happens after a save went through).
        let failed = storage.set_item(SAVE_KEY, &text).is_err();
        let warn = {
            let mut inner = self.inner.borrow_mut();
            let first = failed && !inner.save_failed;
            inner.save_failed = failed;
            first.then(|| inner.on_warning.clone())
        };
        if let Some(on_warning) = warn {
            on_warning(format!(
                "This browser's storage refused the cluster's state ({} KB): it runs on, but a \
                 reload would find it as it was last saved. New cluster… starts small again.",
                text.len() / 1024
            ));
        }
    }
}
