//! The page's JSON reader: everything the page reads (the WebSocket's `ServerMessage`s, the
//! server's and the engine's HTTP answers, a trace's outline) is parsed once into a [`Json`]
//! tree by `json.rs` and read from it by a [`FromJson`] impl per type. Owns reading only: the
//! page still *writes* its commands with serde, and the server and the engine read and write
//! with serde; must not decide what a message means (the reducer does).
//!
//! Why not serde here: serde's derived readers, its `Content` buffer for internally tagged
//! enums and serde_json's parser inlined into each were ≈ 74 KB of the page's ≈ 353 KB brotli
//! (docs/bench-frontend.md, "The page's own JSON reader"). The readers here mirror what each
//! type's `Serialize` writes, and `tests.rs` holds them to it: what serde writes, for every
//! type and every event of faulty runs, reads back equal.

mod json;
mod read;

pub use read::{invalid, parse, read, unit, unknown_variant, Fields, FromJson, Json, Number};
