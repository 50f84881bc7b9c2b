//! [`Saved`]: what the browser keeps of its cluster between page loads — the cluster's settings,
//! each node's *synced* state (hard state and the synced prefix of its log, exactly what would
//! survive a power loss) and the trace of the run so far. Owns that JSON and the rule that
//! nothing unsynced is kept; must not touch the browser's storage (the page does, in
//! frontend/src/engine.rs: the worker hands it this JSON to keep).
//!
//! A reload is a power loss of the whole cluster: every node restarts from what it had synced,
//! as a server restarted on its data directory does.

use serde::{Deserialize, Serialize};
use shared::sim::SimConfig;
use shared::storage::MemStorage;
use shared::trace::{NodeDisk, Recorded, Start, Trace};
use shared::wire::{Fields, FromJson, Json};
use shared::{HardState, LogIndex, Storage, Term};

/// Format version of [`Saved`]; a save with another one is ignored (a new cluster starts).
pub const SAVED_VERSION: u32 = 1;

/// The browser's "disk".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// [`SAVED_VERSION`].
    pub version: u32,
    /// The cluster (with the network settings and rules as they are now).
    pub config: SimConfig,
    /// Each node's synced hard state and log, in node order.
    pub nodes: Vec<NodeDisk>,
    /// The run so far (the timeline's material), from the last reload or reset.
    pub trace: Trace,
}

impl FromJson for Saved {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a saved cluster")?;
        Ok(Saved {
            version: f.get("version")?,
            config: f.get("config")?,
            nodes: f.get("nodes")?,
            trace: f.get("trace")?,
        })
    }
}

/// Cheap summary of the synced state: when it is unchanged there is nothing new to save. Equal
/// last index and term mean equal logs (Log Matching, for one node's own history: a log only
/// changes by truncating and appending, which moves one or the other).
pub type Fingerprint = Vec<(HardState, LogIndex, Term, u64)>;

impl Saved {
    /// What `sim`'s nodes have synced, and its trace.
    pub fn of(sim: &Recorded<MemStorage>) -> Saved {
        let nodes = sim
            .node_ids()
            .filter_map(|id| {
                let (hard_state, log) = sim.storage(id)?.durable_view()?;
                Some(NodeDisk {
                    node: id,
                    hard_state,
                    log: log.to_vec(),
                })
            })
            // An empty disk is no state (as the server's trace start says).
            .filter(|d| !d.log.is_empty() || d.hard_state != HardState::default())
            .collect();
        Saved {
            version: SAVED_VERSION,
            config: sim.config().clone(),
            nodes,
            trace: sim.trace(),
        }
    }

    /// Where a recovered run starts: the synced disks.
    pub fn start(&self) -> Start {
        if self.nodes.is_empty() {
            Start::Empty
        } else {
            Start::Disk {
                nodes: self.nodes.clone(),
            }
        }
    }

    /// Read a save; `None` when it is unreadable or of another version (start afresh).
    pub fn from_json(text: &str) -> Option<Saved> {
        // By `shared::wire`, as `Trace::from_json` reads a trace: the engine's module carries no
        // serde reader for the trace's types (docs/bench-frontend.md).
        shared::wire::read::<Saved>(text)
            .ok()
            .filter(|s| s.version == SAVED_VERSION)
    }

    /// The save as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a save always serializes")
    }
}

/// The synced state's [`Fingerprint`], plus the number of inputs (a new input is worth saving).
pub fn fingerprint(sim: &Recorded<MemStorage>) -> Fingerprint {
    sim.node_ids()
        .filter_map(|id| {
            let (hard, log) = sim.storage(id)?.durable_view()?;
            let last = log
                .last()
                .map_or((LogIndex(0), Term(0)), |e| (e.index, e.term));
            Some((hard, last.0, last.1, sim.inputs().len() as u64))
        })
        .collect()
}
