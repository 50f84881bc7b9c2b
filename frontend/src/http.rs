//! The page's HTTP calls (`fetch`) and the browser's files and clipboard, in one place for the
//! timeline, lessons and safety panel. Owns only which engine answers the API when the page
//! runs its own cluster ([`answer_locally`]); of the routes it knows only which ones that engine
//! answers ([`request`]); errors are sentences.

use std::cell::RefCell;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::engine::BrowserEngine;

thread_local! {
    /// The engine that answers this page's API calls when the page runs its own cluster (set by
    /// `transport` for `EngineKind::Browser`; never for a sandbox, whose API is the class's
    /// server).
    static LOCAL_API: RefCell<Option<BrowserEngine>> = const { RefCell::new(None) };
}

/// From now on the routes the engine knows go to `engine` instead of a server.
pub fn answer_locally(engine: BrowserEngine) {
    LOCAL_API.with(|a| *a.borrow_mut() = Some(engine));
}

/// True for the routes the in-browser engine answers: the lessons (engine/src/lessons.rs), the
/// timeline's history routes and a log's older pages (engine/src/history.rs).
fn engine_answers(url: &str) -> bool {
    let path = url.trim_start_matches('/');
    [
        "api/lesson",
        "api/trace",
        "api/fork",
        "api/undo",
        "api/nodes/",
    ]
    .iter()
    .any(|route| path.starts_with(route))
}

/// One call to the page's API: its status and body text. When the page runs its own cluster,
/// the routes the engine knows are answered by its worker (the same JSON as a server's);
/// everything else is fetched.
pub async fn request(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
    let local = engine_answers(url)
        .then(|| LOCAL_API.with(|a| a.borrow().clone()))
        .flatten();
    match local {
        Some(engine) => engine.api(method, url, body).await,
        None => fetch(method, url, body).await,
    }
}

/// How long a request may take, answer and body, before the page gives up on it: longer than
/// the slowest answer measured (the first instant of an hour-long run, re-executed: 17 s,
/// docs/trace.md), short enough that a server that never answers does not leave "Going to
/// t=…" up for good. `?fetch_timeout_ms=N` in the address sets another (the browser tests use
/// it; 100 to 600,000).
const FETCH_TIMEOUT_MS: u32 = 120_000;

/// The timeout the address asks for, else [`FETCH_TIMEOUT_MS`].
fn fetch_timeout_ms() -> u32 {
    let search = web_sys::window().and_then(|w| w.location().search().ok());
    search
        .as_deref()
        .unwrap_or("")
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("fetch_timeout_ms=")?.parse::<u32>().ok())
        .map_or(FETCH_TIMEOUT_MS, |ms| ms.clamp(100, 600_000))
}

/// One HTTP request from the page: its status and body text. A request that takes longer than
/// [`fetch_timeout_ms`] is abandoned with a sentence that says so.
async fn fetch(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
    let js = |e: JsValue| format!("{e:?}");
    let timeout_ms = fetch_timeout_ms();
    let late = move |e: JsValue| {
        let timed_out = e
            .dyn_ref::<web_sys::DomException>()
            .is_some_and(|d| d.name() == "TimeoutError");
        if timed_out {
            let within = match timeout_ms % 1000 {
                0 => format!("{} s", timeout_ms / 1000),
                _ => format!("{timeout_ms} ms"),
            };
            format!("the server did not answer within {within}; try again")
        } else {
            "cannot reach the server".to_string()
        }
    };
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(timeout_ms)));
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(late)?
        .dyn_into()
        .map_err(js)?;
    let text = JsFuture::from(response.text().map_err(js)?)
        .await
        .map_err(late)?
        .as_string()
        .ok_or("the body is not text")?;
    Ok((response.status(), text))
}

pub async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let clipboard = window.navigator().clipboard();
    JsFuture::from(clipboard.write_text(text)).await.is_ok()
}

/// The text of a file the user picked or dropped.
pub async fn file_text(file: web_sys::File) -> Result<String, String> {
    JsFuture::from(file.text())
        .await
        .map_err(|e| format!("cannot read the file: {e:?}"))?
        .as_string()
        .ok_or_else(|| "the file is not text".to_string())
}

/// Save `text` as a download named `name` (what a link to the server's file does, for a file
/// the page has in hand: the browser engine's trace).
pub fn save_file(name: &str, text: &str) -> Result<(), String> {
    let js = |e: JsValue| format!("cannot save the file: {e:?}");
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(js)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "cannot save the file".to_string())?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url).map_err(js)
}
