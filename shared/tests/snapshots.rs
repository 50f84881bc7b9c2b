//! Snapshots as the live server sends them: a window of each node's log whose size does not grow
//! with the log, older entries by index range, a node whose storage failed shown with what it last
//! had (not term 0 and an empty log), and a refused append that says why no leader can exist.
//! Owns no production code.

use shared::NodeId;
use std::cell::Cell;
use std::rc::Rc;

use shared::protocol::LOG_WINDOW;
use shared::sim::SimConfig;
use shared::{Command, Entry, HardState, LogIndex, MemStorage, Sim, Storage, StorageError};

fn config(nodes: u64, seed: u64) -> SimConfig {
    SimConfig {
        nodes,
        seed,
        ..SimConfig::default()
    }
}

/// Run until a leader exists, then have it append `count` entries and let them replicate.
fn with_entries<S: Storage>(sim: &mut Sim<S>, count: usize) {
    for _ in 0..100 {
        if sim.leader().is_some() {
            break;
        }
        sim.run_for(100);
    }
    for _ in 0..count {
        sim.propose(None, Command::Add(1))
            .expect("a leader appends");
    }
    sim.run_for(2_000);
}

fn snapshot_bytes<S: Storage>(sim: &Sim<S>) -> usize {
    serde_json::to_string(&sim.snapshot_window(LOG_WINDOW))
        .unwrap()
        .len()
}

#[test]
fn a_windowed_snapshot_does_not_grow_with_the_log() {
    let mut sim = Sim::new(config(3, 5)).unwrap();
    with_entries(&mut sim, 300);
    let small = snapshot_bytes(&sim);
    with_entries(&mut sim, 1_500);
    let large = snapshot_bytes(&sim);
    // Same window, same number of nodes: only numbers in it grow by a digit or so.
    assert!(
        large < small + small / 10,
        "windowed snapshot grew from {small} to {large} bytes"
    );
    let full = serde_json::to_string(&sim.snapshot()).unwrap().len();
    assert!(full > 5 * large, "the full form holds every entry ({full})");

    let snap = sim.snapshot_window(LOG_WINDOW);
    assert_eq!(snap.log_window, Some(LOG_WINDOW));
    for n in &snap.nodes {
        let len = LogIndex::of_len(sim.node_log(n.id).len());
        assert!(len > 2 * LOG_WINDOW, "S{} has the entries", n.id);
        assert_eq!(n.log_len, len);
        assert_eq!(n.log.len() as u64, LOG_WINDOW);
        assert_eq!(n.log_first_index, len - LOG_WINDOW + 1);
        assert_eq!(
            n.log[0].index, n.log_first_index,
            "log[0] is log_first_index"
        );
        assert_eq!(n.log.last().unwrap().index, len);
        assert_eq!(n.last_index(), len);
    }
}

#[test]
fn a_short_log_is_whole_in_a_windowed_snapshot_and_older_entries_come_by_range() {
    let mut sim = Sim::new(config(3, 6)).unwrap();
    with_entries(&mut sim, 20);
    let snap = sim.snapshot_window(LOG_WINDOW);
    let n = &snap.nodes[0];
    assert_eq!(n.log_first_index, 1);
    assert_eq!(LogIndex::of_len(n.log.len()), n.log_len);
    assert_eq!(
        serde_json::to_value(sim.snapshot()).unwrap()["nodes"][0]["log"],
        serde_json::to_value(&snap).unwrap()["nodes"][0]["log"],
        "short logs are the same in both forms"
    );

    let last = n.log_len;
    let (entries, len) = sim
        .node_log_range(NodeId(1), LogIndex(3), LogIndex(7))
        .unwrap();
    assert_eq!(len, last);
    assert_eq!(
        entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 7]
    );
    let (past_end, _) = sim.node_log_range(NodeId(1), last, last + 50).unwrap();
    assert_eq!(past_end.len(), 1, "clamped to the log");
    assert!(sim
        .node_log_range(NodeId(1), last + 1, last + 9)
        .unwrap()
        .0
        .is_empty());
    assert!(
        sim.node_log_range(NodeId(9), LogIndex(1), LogIndex(2))
            .is_none(),
        "unknown node"
    );
}

/// MemStorage whose writes start failing when the shared switch is on (a full disk).
struct FailingStorage {
    inner: MemStorage,
    broken: Rc<Cell<bool>>,
}

impl FailingStorage {
    fn check(&self) -> Result<(), StorageError> {
        if self.broken.get() {
            Err(StorageError::Io("no space left on device".into()))
        } else {
            Ok(())
        }
    }
}

impl Storage for FailingStorage {
    fn load(&mut self) -> Result<(HardState, Vec<Entry>), StorageError> {
        self.check()?;
        self.inner.load()
    }
    fn set_hard_state(&mut self, hard_state: HardState) -> Result<(), StorageError> {
        self.check()?;
        self.inner.set_hard_state(hard_state)
    }
    fn truncate_from(&mut self, index: LogIndex) -> Result<(), StorageError> {
        self.check()?;
        self.inner.truncate_from(index)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), StorageError> {
        self.check()?;
        self.inner.append(entries)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        self.check()?;
        self.inner.sync()
    }
    fn last_index(&self) -> LogIndex {
        self.inner.last_index()
    }
    fn synced_index(&self) -> LogIndex {
        self.inner.synced_index()
    }
    fn power_loss(&mut self) -> Result<(), StorageError> {
        self.check()?;
        self.inner.power_loss()
    }
}

#[test]
fn nodes_whose_storage_failed_show_what_they_last_had_and_appends_say_why_no_leader() {
    let broken = Rc::new(Cell::new(false));
    let mut sim = Sim::with_storage(config(3, 7), |_| FailingStorage {
        inner: MemStorage::new(),
        broken: broken.clone(),
    })
    .unwrap();
    with_entries(&mut sim, 10);
    let before = sim.snapshot_window(LOG_WINDOW);
    let (term, len) = (before.nodes[0].current_term, before.nodes[0].log_len);
    assert!(term > 0 && len >= 10);

    // The disk fills up: the next write of every node fails.
    broken.set(true);
    sim.propose(None, Command::Add(1))
        .expect("the leader takes it");
    sim.run_for(2_000);
    let snap = sim.snapshot_window(LOG_WINDOW);
    for n in &snap.nodes {
        assert!(!n.up, "S{} is down", n.id);
        let failure = n.storage_failure.as_ref().expect("marked failed");
        assert_eq!(failure.kind, "io");
        assert!(failure.error.contains("no space left"), "{}", failure.error);
        assert!(n.current_term >= term, "S{}: term {}", n.id, n.current_term);
        assert!(
            n.log_len >= len,
            "S{}: the log it had, not an empty one",
            n.id
        );
        assert_eq!(
            sim.storage_failure(n.id).map(|(_, e)| !e.is_empty()),
            Some(true)
        );
    }
    let err = sim
        .propose(None, Command::Add(1))
        .expect_err("nobody can lead")
        .to_string();
    assert!(err.contains("every node is down"), "{err}");
    assert!(!err.contains("stands for election"), "{err}");
    assert!(!err.contains("wait for an election timer"), "{err}");

    // The disk is back: a restart clears the mark.
    broken.set(false);
    sim.restart(NodeId(1)).unwrap();
    let snap = sim.snapshot_window(LOG_WINDOW);
    assert!(snap.nodes[0].up && snap.nodes[0].storage_failure.is_none());
    let err = sim.propose(None, Command::Add(1)).unwrap_err().to_string();
    assert!(err.contains("only 1 of 3 nodes run"), "{err}");
    assert!(err.contains("a leader needs 2"), "{err}");
}

/// With a majority running and no leader, a refused append says what the servers are doing:
/// waiting for a timer before the first election, then the candidate and its term.
#[test]
fn a_refused_append_says_whether_an_election_is_under_way() {
    let mut sim: Sim<MemStorage> = Sim::new(config(3, 7)).unwrap();
    let err = sim.propose(None, Command::Add(1)).unwrap_err().to_string();
    assert!(
        err.contains("the servers wait for an election timer to run out"),
        "{err}"
    );
    // Step until a candidate stands (before it wins, no leader yet).
    let mut stepped = 0;
    let (id, term) = loop {
        if let Some(c) = sim.candidate() {
            break c;
        }
        assert!(sim.step(), "the simulator runs on");
        stepped += 1;
        assert!(stepped < 10_000, "a candidate within 10,000 steps");
    };
    assert!(sim.leader().is_none());
    let err = sim.propose(None, Command::Add(1)).unwrap_err().to_string();
    assert!(
        err.contains(&format!("S{id} stands for election in term {term}")),
        "{err}"
    );
}
