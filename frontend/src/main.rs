//! The page's entry point: mounts the Leptos app in the browser. Owns nothing else; natively it is
//! an empty program so that the workspace builds and the reducer's tests run without a browser.
//! With the `engine` feature (the static site's one module, scripts/build-static.sh) it also
//! links the in-browser engine, whose worker instantiates this same module: there `main` runs
//! too, finds no window and returns, and the worker hands its messages to the engine's `receive`.

// Linked for its `#[wasm_bindgen]` exports only (engine/src/worker.rs): nothing here calls it.
#[cfg(feature = "engine")]
use logscope_engine as _;

#[cfg(target_arch = "wasm32")]
fn main() {
    // In the engine's worker (one module for page and engine) there is no page to mount.
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        console_error_panic_hook::set_once();
        return;
    };
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_crash(&info.to_string());
    }));
    // index.html's "Loading…" placeholder.
    if let Some(boot) = document.get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(logscope_frontend::app::App);
}

/// After a panic the module is dead (wasm32 aborts): every button would silently do nothing, so
/// say so across the top of the page. The cluster itself is not lost: it runs on the server, or
/// recovers from this browser's storage, when the page is reloaded.
#[cfg(target_arch = "wasm32")]
fn show_crash(what: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let (Ok(banner), Some(body)) = (document.create_element("div"), document.body()) else {
        return;
    };
    banner.set_class_name("crashed");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("data-testid", "crashed");
    banner.set_text_content(Some(&format!(
        "logscope stopped because of a bug ({what}). Reload the page to carry on: \
         the cluster is kept."
    )));
    let _ = body.prepend_with_node_1(&banner);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
