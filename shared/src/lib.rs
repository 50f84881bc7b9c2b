//! logscope's pure core: the wire protocol, the Raft state machine and the deterministic cluster
//! simulator. Everything here is a function of its inputs: no I/O, no wall clock, no threads, no
//! OS randomness and no `HashMap` iteration, so that one seed reproduces a whole run bit for bit
//! and the same code runs natively (backend, tests) and in the browser (wasm32).
#![deny(missing_docs)]

pub mod command;
pub mod lesson;
mod names;
pub mod protocol;
pub mod raft;
pub mod rng;
pub mod shortest;
pub mod sim;
pub mod state_machine;
pub mod storage;
pub mod trace;
pub mod tree;
pub mod types;
pub mod wire;

pub use command::{Command, CommandError};
pub use raft::{Config, Proposal, ProposeError, ProposeOutcome, RaftNode, Ready};
pub use rng::Rng;
pub use sim::{Sim, SimConfig};
pub use state_machine::StateMachine;
pub use storage::{MemStorage, Storage, StorageError};
pub use types::{
    ClientSerial, Entry, EntryData, HardState, LogIndex, LogModel, NodeId, Role, Term,
};
