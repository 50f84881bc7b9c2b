//! The pure Raft core (paper §5), shaped like etcd-raft's `RawNode`: inputs are `tick`, `step`,
//! `propose` and `campaign`; the output is a [`Ready`] batch. Owns the algorithm; must never touch
//! a clock, a socket, a file or a global RNG — time arrives as a number and randomness as a seeded
//! [`crate::Rng`].

mod log;
mod node;
mod ready;

pub use log::RaftLog;
pub use node::{Config, Progress, ProposeError, ProposeOutcome, RaftNode};
pub use ready::{Persisted, Ready, Unsynced};
