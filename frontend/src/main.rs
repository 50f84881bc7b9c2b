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
        logscope_frontend::stopped::show(&format!(
            "logscope stopped because of a bug ({info}). Reload the page to carry on: \
             the cluster is kept."
        ));
    }));
    // index.html's "Loading…" placeholder.
    if let Some(boot) = document.get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(logscope_frontend::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
