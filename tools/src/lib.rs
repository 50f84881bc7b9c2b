//! `tools`: what the three experiment commands (`sim-bench`, `figure16`, `simulate`) share — the
//! command-line plumbing ([`cli`]) and the small statistics their summaries print ([`stats`]).
//! Must not hold an experiment itself, and must not reach into the core beyond its public API:
//! the commands drive `shared` exactly as the backend's driver does, so they measure what runs.
//!
//! The commands live here rather than in `shared/` so that the pure core (which builds for
//! wasm32 and has no I/O) does not carry a command-line parser it never uses.

pub mod cli;
pub mod stats;
