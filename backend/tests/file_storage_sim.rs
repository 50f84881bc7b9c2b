//! The simulator on `FileStorage` against the simulator on `MemStorage`: the same seeded fault
//! schedule must produce the same events, logs and files (every restart reads the node's files
//! back). Owns no production code; every run works in its own temp directory.

use backend::storage::FileStorage;
use shared::protocol::{Event, SimEvent};
use shared::sim::chaos::config_for_seed;
use shared::sim::checker::Checker;
use shared::{MemStorage, NodeId, Rng, Sim, Storage};

/// The same fault schedule applied to a `MemStorage` cluster and a `FileStorage` cluster. Every
/// restart of the file cluster first reopens the node's directory (a new process reading its
/// files back), and power losses go through the files.
struct Twin {
    mem: Sim<MemStorage>,
    file: Sim<FileStorage>,
    checker: Checker,
    dirs: Vec<std::path::PathBuf>,
}

impl Twin {
    fn step_both(&mut self, until_ms: u64) {
        while self.mem.next_event_time().is_some_and(|t| t <= until_ms) {
            self.mem.step();
            self.file.step();
            self.compare();
        }
        self.mem.run_until(until_ms);
        self.file.run_until(until_ms);
        self.compare();
    }

    fn compare(&mut self) {
        let mem: Vec<SimEvent> = self.mem.take_events();
        let file: Vec<SimEvent> = self.file.take_events();
        if let Some(failed) = file
            .iter()
            .find(|e| matches!(e.event, Event::StorageFailed { .. }))
        {
            panic!("file storage failed: {failed:?}");
        }
        assert_eq!(
            mem, file,
            "the file cluster diverged from the memory cluster"
        );
        if let Err(violation) = self.checker.observe(&self.file, &file) {
            panic!("safety violation with file storage: {violation:?}");
        }
    }

    fn restart(&mut self, id: NodeId) {
        let mem_ok = self.mem.restart(id).is_ok();
        if !self.file.is_up(id) {
            let (reopened, report) = FileStorage::open(&self.dirs[id.slot()]).unwrap();
            assert!(report.is_clean(), "S{id}: {report}");
            drop(self.file.replace_storage(id, reopened).unwrap());
        }
        assert_eq!(mem_ok, self.file.restart(id).is_ok());
    }
}

#[test]
fn the_simulator_runs_identically_on_file_storage_and_mem_storage() {
    for seed in [3, 17, 2024] {
        let root = tempfile::tempdir().unwrap();
        let config = config_for_seed(seed);
        let n = config.nodes;
        let dirs: Vec<_> = (1..=n)
            .map(|id| root.path().join(format!("node-{id}")))
            .collect();
        let file = Sim::with_storage(config.clone(), |id| {
            FileStorage::open_fresh(&dirs[id.slot()]).unwrap()
        })
        .unwrap();
        let mut twin = Twin {
            mem: Sim::new(config).unwrap(),
            file,
            checker: Checker::new(),
            dirs,
        };
        let mut rng = Rng::new(seed);
        let mut t = 0;
        let mut faults = 0;
        while t < 4_000 {
            t += rng.range_inclusive(1, 120);
            twin.step_both(t);
            let target = NodeId(rng.range_inclusive(1, n));
            match rng.range_inclusive(0, 9) {
                0..=4 => {
                    use shared::Command::{Add, AddRand, Mul, Set};
                    let text =
                        [Add(1), Mul(2), Set(7), AddRand][rng.range_inclusive(0, 3) as usize];
                    let via = rng.chance(0.5).then_some(target);
                    assert_eq!(
                        twin.mem.propose(via, text).is_ok(),
                        twin.file.propose(via, text).is_ok()
                    );
                }
                5 => {
                    faults += 1;
                    assert_eq!(
                        twin.mem.crash(target).is_ok(),
                        twin.file.crash(target).is_ok()
                    );
                }
                6 => {
                    faults += 1;
                    assert_eq!(
                        twin.mem.power_loss(target).is_ok(),
                        twin.file.power_loss(target).is_ok()
                    );
                }
                _ => twin.restart(target),
            }
            twin.compare();
        }
        for id in 1..=n {
            twin.restart(NodeId(id));
        }
        twin.step_both(t + 5_000);
        twin.checker.check_durability(&twin.file).unwrap();
        assert!(
            faults > 0 && !twin.checker.committed().is_empty(),
            "seed {seed} exercised nothing"
        );
        for id in 1..=n {
            assert_eq!(
                twin.mem.node_log(NodeId(id)),
                twin.file.node_log(NodeId(id)),
                "seed {seed}: S{id}"
            );
            let (_, on_disk) = FileStorage::open(root.path().join(format!("node-{id}")))
                .unwrap()
                .0
                .load()
                .unwrap();
            assert_eq!(
                on_disk,
                twin.mem.storage(NodeId(id)).unwrap().entries(),
                "seed {seed}: S{id} disk"
            );
        }
    }
}
