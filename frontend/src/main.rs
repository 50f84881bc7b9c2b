//! The page's entry point: mounts the Leptos app in the browser. Owns nothing else; natively it is
//! an empty program so that the workspace builds and the reducer's tests run without a browser.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(logscope_frontend::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
