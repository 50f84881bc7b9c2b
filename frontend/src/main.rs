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
    console_error_panic_hook::set_once();
    // In the engine's worker (one module for page and engine) there is no page to mount.
    if web_sys::window().is_none() {
        return;
    }
    leptos::mount::mount_to_body(logscope_frontend::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
