//! The page's HTTP calls (`fetch`) and the browser's files and clipboard, in one place for the
//! timeline, lessons and safety panel. Owns no state; of the routes it knows only which ones the
//! in-browser engine answers itself ([`api`]); errors are sentences.

use leptos::prelude::{GetUntracked, WithValue};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::state::Ctx;
use crate::transport::{EngineKind, Transport};

/// True for the routes the in-browser engine answers (engine/src/lessons.rs): the lessons.
fn engine_answers(url: &str) -> bool {
    url.trim_start_matches('/').starts_with("api/lesson")
}

/// A call to the page's API: the lesson routes go to the engine's worker when this page runs its
/// own cluster (`EngineKind::Browser`: no server; not a sandbox, whose API is the class's
/// server), everything else to the server, as [`request`].
pub async fn api(
    ctx: Ctx,
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
    let engine = match ctx.engine.get_untracked() {
        EngineKind::Browser if engine_answers(url) => ctx.connection.with_value(|c| match c {
            Some(Transport::Browser(engine)) => Some(engine.clone()),
            _ => None,
        }),
        _ => None,
    };
    match engine {
        Some(engine) => engine.api(method, url, body).await,
        None => request(method, url, body).await,
    }
}

/// One HTTP request from the page: its status and body text.
pub async fn request(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
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
