//! The in-browser engine: the cluster run by the page itself when no server answers (or with
//! `?engine=browser`). [`Session`] is the server's driver in miniature, pure and natively tested:
//! given the page's `ClientRequest`s and wall-clock ticks, it returns the `ServerMessage`s the
//! server would send (a `Hello`, then `Events` in seq order, `Clock`s, one `Reply` per request,
//! a `Snapshot` after a reset, `Safety` when the checker finds something). The Raft core, the
//! simulator, the trace recorder and the checker all come from `shared`; this module only paces
//! time and words replies. [`Saved`] is what the browser keeps on its "disk" (each node's synced
//! state and the trace) so a reload recovers the cluster as a restarted server would.
//!
//! Must not touch the browser: `browser` (wasm32 only) owns the timer, the storage and the
//! callbacks.
//!
//! Not yet: the engine runs on the main thread (a Web Worker would keep long speed-0 runs off
//! it); its disk is `localStorage` (IndexedDB would lift the ~5 MB quota: past it, saving stops
//! silently); the timeline and lessons still call the server's HTTP API (`/api/trace*`,
//! `/api/lesson*`), which the session could answer from its `Recorded` trace and
//! `shared::lesson`.

mod commands;
mod saved;
mod session;
#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
pub mod browser;

pub use saved::{fingerprint, Fingerprint, Saved, SAVED_VERSION};
pub use session::{Session, CLOCK_INTERVAL_MS, EVENTS_PER_MESSAGE_MAX, FRAME_INTERVAL_MS};
