//! How long reading a server message takes: serde_json's derived readers (what the server and
//! tests use) against `shared::wire` (what the page and the engine use), natively, on the events
//! and the snapshot of a seeded 20-second run with a lossy network. A measurement for
//! docs/bench-frontend.md, not a test: `cargo run --release -p logscope-tools --bin wire-speed`.

use std::time::Instant;

use shared::protocol::ServerMessage;
use shared::sim::{Sim, SimConfig};
use shared::Command;

/// Readings of each message; the mean is printed.
const ROUNDS: u32 = 20;

fn main() {
    let mut sim = Sim::new(SimConfig {
        seed: 3,
        ..SimConfig::default()
    })
    .expect("the default configuration is valid");
    sim.set_network(Some(0.1), Some(0.1), None, None)
        .expect("valid probabilities");
    for i in 0..400 {
        let _ = sim.propose(None, Command::Add(i));
        sim.run_for(50);
    }
    let events = ServerMessage::Events {
        events: sim.take_events(),
    };
    let snapshot = ServerMessage::Snapshot {
        snapshot: sim.snapshot(),
        moved: None,
    };
    for (what, message) in [("events", events), ("snapshot", snapshot)] {
        let text = serde_json::to_string(&message).expect("a message serializes");
        let by_serde: ServerMessage = serde_json::from_str(&text).expect("serde reads it");
        let by_wire: ServerMessage = shared::wire::read(&text).expect("wire reads it");
        assert!(by_serde == message && by_wire == message);
        let start = Instant::now();
        for _ in 0..ROUNDS {
            std::hint::black_box(serde_json::from_str::<ServerMessage>(&text).ok());
        }
        let serde = start.elapsed() / ROUNDS;
        let start = Instant::now();
        for _ in 0..ROUNDS {
            std::hint::black_box(shared::wire::read::<ServerMessage>(&text).ok());
        }
        let wire = start.elapsed() / ROUNDS;
        println!(
            "{what}: {} bytes; serde_json {serde:?}, wire {wire:?}",
            text.len()
        );
    }
}
