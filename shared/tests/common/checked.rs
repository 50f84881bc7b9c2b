//! The simulator with the safety checker run after every single step, so that any broken Raft
//! guarantee fails the test with the seed that reproduces it, plus waits for a leader or for an
//! index applied everywhere. Owns no production behaviour.

use shared::protocol::SimEvent;
use shared::sim::checker::Checker;
use shared::{LogIndex, NodeId, ProposeOutcome, Sim, SimConfig};

/// A simulator whose every step is checked by [`Checker`]; any violation fails the test with the
/// seed that reproduces it.
pub struct Checked {
    /// The simulator (read it freely; change it through [`Checked::with`]).
    pub sim: Sim,
    /// The checker that has seen every event so far.
    pub checker: Checker,
    /// Every event so far, in order.
    pub log: Vec<SimEvent>,
}

impl Checked {
    /// A checked simulator for `config` (panics on a bad config: tests pass good ones).
    pub fn new(config: SimConfig) -> Self {
        let mut c = Checked {
            sim: Sim::new(config).expect("valid test config"),
            checker: Checker::new(),
            log: Vec::new(),
        };
        c.drain();
        c
    }

    /// Check the events emitted since the last check.
    pub fn drain(&mut self) {
        let events = self.sim.take_events();
        if let Err(v) = self.checker.observe(&self.sim, &events) {
            panic!("seed {}: {v}", self.sim.config().seed);
        }
        self.log.extend(events);
    }

    /// Do something to the simulator (a fault, a request), then check what it emitted.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let r = f(&mut self.sim);
        self.drain();
        r
    }

    /// Run to virtual time `until_ms`, checking after every step.
    pub fn run_until(&mut self, until_ms: u64) {
        while self.sim.next_event_time().is_some_and(|t| t <= until_ms) {
            self.sim.step();
            self.drain();
        }
        self.sim.run_until(until_ms);
    }

    /// Run for `duration_ms`, checking after every step.
    pub fn run_for(&mut self, duration_ms: u64) {
        let until = self.sim.now_ms() + duration_ms;
        self.run_until(until);
    }

    /// Step (checked) until `cond` holds or `within_ms` of virtual time pass. Returns whether
    /// it holds.
    pub fn wait_for(&mut self, within_ms: u64, mut cond: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.sim.now_ms() + within_ms;
        loop {
            if cond(&self.sim) {
                return true;
            }
            match self.sim.next_event_time() {
                Some(t) if t <= deadline => {
                    self.sim.step();
                    self.drain();
                }
                _ => {
                    self.sim.run_until(deadline);
                    return cond(&self.sim);
                }
            }
        }
    }

    /// Wait (at most `within_ms`) for a leader and return it.
    pub fn await_leader(&mut self, within_ms: u64) -> NodeId {
        assert!(
            self.wait_for(within_ms, |s| s.leader().is_some()),
            "seed {}: no leader within {within_ms} ms",
            self.sim.config().seed
        );
        self.sim.leader().expect("just seen")
    }

    /// Wait (at most `within_ms`) until every running node has applied `index`.
    pub fn await_applied_everywhere(&mut self, index: LogIndex, within_ms: u64) {
        let ok = self.wait_for(within_ms, |s| {
            s.node_ids()
                .filter_map(|id| s.node(id))
                .all(|r| r.last_applied() >= index)
        });
        assert!(
            ok,
            "seed {}: index {index} not applied everywhere within {within_ms} ms",
            self.sim.config().seed
        );
    }

    /// Propose `text` to the leader and return the index it got (panics if not appended).
    pub fn propose_to_leader(&mut self, text: &str) -> LogIndex {
        let accepted = self
            .with(|s| s.propose(None, text.parse().expect("test commands parse")))
            .unwrap_or_else(|e| panic!("propose {text:?}: {e}"));
        match accepted.outcome {
            ProposeOutcome::Appended { index, .. } => index,
            other => panic!("the leader should append, got {other:?}"),
        }
    }
}
