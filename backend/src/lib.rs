//! logscope's backend: real on-disk logs (`storage`), the tokio task that owns and paces the
//! simulator (`driver`) and the axum WebSocket + HTTP server (`server`). The Raft algorithm itself
//! lives in `shared/`; nothing here may change how it decides.

pub mod driver;
pub mod server;
pub mod storage;
