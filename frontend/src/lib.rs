//! logscope's browser visualizer. `model` (the view-model reducer) and `layout` (pure geometry) are
//! plain Rust, compiled and unit-tested natively; everything that touches Leptos or the browser
//! lives behind `cfg(target_arch = "wasm32")`.

pub mod clock;
pub mod layout;
pub mod model;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod ws;
