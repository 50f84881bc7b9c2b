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

/// One HTTP request from the page: its status and body text.
async fn fetch(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
    let js = |e: JsValue| format!("{e:?}");
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| "cannot reach the server".to_string())?
        .dyn_into()
        .map_err(js)?;
    let text = JsFuture::from(response.text().map_err(js)?)
        .await
        .map_err(js)?
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
