//! logscope's backend: real on-disk logs (`storage`), the tokio task that owns and paces the
//! simulator (`driver`), the axum WebSocket + HTTP server (`server`) and headless trace replay (`replay`). The Raft algorithm itself
//! lives in `shared/`; nothing here may change how it decides.

pub mod driver;
pub mod replay;
pub mod server;
pub mod storage;
