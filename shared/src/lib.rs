//! logscope's pure core: the wire protocol, the Raft state machine and the deterministic cluster
//! simulator. Everything here is a function of its inputs: no I/O, no wall clock, no threads, no
//! OS randomness and no `HashMap` iteration, so that one seed reproduces a whole run bit for bit
//! and the same code runs natively (backend, tests) and in the browser (wasm32).
#![deny(missing_docs)]

pub mod command;
pub mod protocol;
pub mod raft;
pub mod rng;
pub mod sim;
pub mod storage;
pub mod types;

pub use command::{Command, CommandError, StateMachine};
pub use raft::{Config, ProposeError, ProposeOutcome, RaftNode, Ready};
pub use rng::Rng;
pub use sim::{Sim, SimConfig};
pub use storage::{MemStorage, Storage, StorageError};
pub use types::{Entry, EntryData, HardState, LogIndex, LogModel, NodeId, Role, Term};
