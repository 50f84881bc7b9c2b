//! The in-browser engine: the cluster run by the browser itself when no server answers (or with
//! `?engine=browser`), inside a Web Worker loaded only then. For the page the server sends it is a
//! wasm module of its own, so a page with a server never downloads the simulator; the static site,
//! where it always runs, links it into the page's module instead (the frontend's `engine` feature,
//! scripts/build-static.sh) and the worker instantiates that one module. [`Session`] is the
//! server's driver in miniature, pure and natively tested (`cargo test -p logscope-engine`): given
//! the page's `ClientRequest`s and wall-clock ticks, it returns the `ServerMessage`s the server
//! would send (a `Hello`, then `Events` in seq order, `Clock`s, one `Reply` per request, a
//! `Snapshot` after a reset, `Safety` when the checker finds something). It also answers the lesson
//! routes of the server's HTTP API (`lessons.rs`, over the worker's API channel) and the history
//! routes of the timeline (`history.rs`), so lessons and the timeline run with no server. The Raft
//! core, the simulator, the trace recorder, the checker and the lessons all come from `shared`;
//! this crate only paces time and words replies. [`Saved`] is what the browser keeps on its "disk"
//! (each node's synced state and the trace) so a reload recovers the cluster as a restarted server
//! would.
//!
//! Must not touch the browser outside `worker` (wasm32 only), which owns the worker's timer and
//! its messages; the page (frontend/src/engine.rs) owns the storage, since a worker has no
//! `localStorage`.
//!
//! Not yet: the disk is `localStorage` (IndexedDB would lift the ~5 MB quota: past it, saving
//! stops and the page says so once); the timeline answers the history routes over the same API
//! channel as the lessons (`history`), but its branches live in memory only, and an open lesson
//! is not kept across a reload (the cluster is).

mod commands;
mod history;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod lesson_tests;
mod lessons;
mod saved;
mod session;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod undo_tests;

#[cfg(target_arch = "wasm32")]
pub mod worker;

pub use lessons::ApiReply;
pub use saved::{fingerprint, Fingerprint, Saved, SAVED_VERSION};
pub use session::{Session, CLOCK_INTERVAL_MS, EVENTS_PER_MESSAGE_MAX, FRAME_INTERVAL_MS};
