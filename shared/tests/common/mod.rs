//! Test support shared by the integration tests: builders for configs and logs, a helper that
//! persists one node's `Ready` the way a driver must, an in-test network of `RaftNode`s in the
//! style of etcd-raft's `network` (send, drop, cut, isolate, deliver until quiet), and a wrapper
//! that runs the simulator with the safety checker after every single step. Owns no production
//! behaviour: it only drives the public API of `shared`. Everything is re-exported here, so a
//! test binary needs only `mod common;` and `use common::*;`.
#![allow(dead_code)] // Each test binary uses a different part of this module.

mod builders;
mod checked;
mod network;

// Re-exported so that `use common::*` keeps working; a binary that needs only part of them
// would otherwise warn about the rest, as with `dead_code` above.
#[allow(unused_imports)]
pub use builders::*;
#[allow(unused_imports)]
pub use checked::*;
#[allow(unused_imports)]
pub use network::*;
