//! logscope's browser visualizer. `model` (the view-model reducer), `layout` (geometry, colours,
//! the speed scale), `present` (what the ring's centre and the offline screen say), `clock`
//! (the animated "now", reconnect back-off), `timeline` (the scrubber's markers, positions, keys
//! and share links), `follow` (follow mode's highlight, the QR code), `math` and `decimal` (the
//! browser's `Math`, numbers printed without `core`'s float printer) are plain Rust, compiled
//! and unit-tested natively; everything that touches Leptos or the browser (`app`, `state`,
//! `live`, `components`, `ws`, `transport`, `sandbox`, `older`, `history`, `http`, `stopped`) lives behind `cfg(target_arch = "wasm32")`,
//! so native builds never compile Leptos.
//! `engine` (wasm32 only) is the page's side of the cluster run by the browser itself when no
//! server answers: a client of the `logscope-engine` crate's Web Worker (engine/), which the page
//! loads only then, so the simulator is not part of this module — except with the `engine`
//! feature (the static site's one module, main.rs), which links it in for the worker's sake.
//! Imports run one way: `app` → `components` → `state` → `live` → `model`.

pub mod clock;
pub mod decimal;
pub mod follow;
pub mod layout;
pub mod lesson;
pub mod math;
pub mod model;
pub mod predict;
pub mod present;
pub mod timeline;
pub mod trace_view;
/// The JSON reader (shared/src/wire/), as `crate::wire` for the page's own readers.
pub use shared::wire;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod engine;
#[cfg(target_arch = "wasm32")]
pub mod history;
#[cfg(target_arch = "wasm32")]
pub mod http;
#[cfg(target_arch = "wasm32")]
pub mod live;
#[cfg(target_arch = "wasm32")]
pub mod older;
#[cfg(target_arch = "wasm32")]
pub mod sandbox;
#[cfg(target_arch = "wasm32")]
pub mod state;
#[cfg(target_arch = "wasm32")]
pub mod stopped;
#[cfg(target_arch = "wasm32")]
pub mod transport;
#[cfg(target_arch = "wasm32")]
pub mod ws;
