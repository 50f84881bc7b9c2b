//! Paper tests, in the style of etcd-raft's `raft_paper_test.go`: each test checks one rule of
//! the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm",
//! extended version) and cites its section. Each is init / act / check, driving `RaftNode`
//! directly or through the small FIFO network of `tests/common`. Owns no production code.
//!
//! One test binary, one module per part of the paper (listed here in the paper's order):
//! `basics` (§5.1), `election` (§5.2), `replication` and `repair` (§5.3), `safety` (§5.4) and
//! `persistence` (Figure 2).

#[path = "../common/mod.rs"]
mod common;

mod basics;
mod election;
mod persistence;
mod repair;
mod replication;
mod safety;
