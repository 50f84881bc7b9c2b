//! Crashes and restarts: a leader crash elects a new leader in a higher term, a follower far
//! behind catches up after its restart, a restart replays the durable log to the same value,
//! and a power loss loses only unsynced entries, never committed ones.

use super::{a_follower, config, propose_many};
use crate::common::Checked;
use shared::protocol::{Event, Timing};
use shared::{Command, LogIndex, NodeId, Role, Storage};

/// §5.2: when the leader crashes, the followers' election timers fire and a new leader is
/// elected in a higher term; it holds every committed entry, and the old leader rejoins as a
/// follower of the new term.
#[test]
fn leader_crash_elects_a_new_leader_in_a_higher_term() {
    let mut c = Checked::new(config(5, 11));
    let old = c.await_leader(3_000);
    let old_term = c.sim.node(old).unwrap().current_term();
    let index = c.propose_to_leader("add 5");
    c.await_applied_everywhere(index, 2_000);

    c.with(|s| s.crash(old)).unwrap();
    assert!(
        c.wait_for(3_000, |s| s.leader().is_some_and(|l| l != old)),
        "no new leader after S{old} crashed"
    );
    let new = c.sim.leader().unwrap();
    let new_term = c.sim.node(new).unwrap().current_term();
    assert!(
        new_term > old_term,
        "new term {new_term} must exceed {old_term}"
    );
    let entry = c.sim.node(new).unwrap().log().get(index).cloned();
    assert_eq!(
        entry.and_then(|e| e.data.command()),
        Some(Command::Add(5)),
        "the new leader holds the committed entry"
    );

    c.with(|s| s.restart(old)).unwrap();
    let rejoined = c.wait_for(2_000, |s| {
        let r = s.node(old).unwrap();
        r.role() == Role::Follower && r.current_term() >= new_term && r.leader_id().is_some()
    });
    assert!(rejoined, "S{old} must come back as a follower");
    let index = c.propose_to_leader("add 1");
    c.await_applied_everywhere(index, 2_000);
    for id in 1..=5 {
        assert_eq!(c.sim.node(NodeId(id)).unwrap().value(), 6, "S{id}");
    }
}

/// §5.3: "the leader … forces the followers' logs to duplicate its own": a follower that was down
/// while more than a hundred entries were committed catches up after its restart, in batches.
#[test]
fn a_follower_far_behind_catches_up_after_restart() {
    let mut c = Checked::new(config(5, 31));
    let leader = c.await_leader(3_000);
    let laggard = a_follower(&c, leader);
    c.with(|s| s.crash(laggard)).unwrap();
    let last = propose_many(&mut c, "add 1", 120);
    let running: Vec<NodeId> = NodeId::all(5).filter(|id| *id != laggard).collect();
    let applied = c.wait_for(3_000, |s| {
        running
            .iter()
            .all(|id| s.node(*id).unwrap().last_applied() >= last)
    });
    assert!(
        applied,
        "the four running servers commit without S{laggard}"
    );
    let behind = c.sim.node_log(laggard).len() as u64;
    assert!(
        last - behind >= 100,
        "S{laggard} should be 100+ entries behind"
    );

    c.with(|s| s.restart(laggard)).unwrap();
    c.await_applied_everywhere(last, 5_000);
    assert_eq!(c.sim.node_log(laggard), c.sim.node_log(leader));
    assert_eq!(c.sim.node(laggard).unwrap().value(), 120);
    assert_eq!(
        c.sim.storage(laggard).unwrap().synced_entries(),
        &c.sim.node_log(leader)[..]
    );
}

/// Figure 2: the log is persistent and commitIndex/lastApplied are volatile. A restarted server
/// comes back with its whole durable log, nothing applied, and — once the leader tells it what is
/// committed — replays the log to the same value as everyone else. Also for a whole-cluster
/// restart.
#[test]
fn restart_replays_the_durable_log_to_the_same_value() {
    let mut c = Checked::new(config(3, 41));
    let leader = c.await_leader(3_000);
    let mut last = LogIndex(0);
    for text in ["set 3", "mul 4", "add 5"] {
        last = c.propose_to_leader(text);
    }
    c.await_applied_everywhere(last, 2_000);
    let follower = a_follower(&c, leader);
    let before = c.sim.node_log(follower);

    c.with(|s| s.crash(follower)).unwrap();
    c.with(|s| s.restart(follower)).unwrap();
    let r = c.sim.node(follower).unwrap();
    assert_eq!(
        r.log().entries(),
        &before[..],
        "the log comes back from storage"
    );
    assert_eq!(
        (r.commit_index(), r.last_applied(), r.value()),
        (LogIndex(0), LogIndex(0), 0)
    );
    c.await_applied_everywhere(last, 2_000);
    assert_eq!(c.sim.node(follower).unwrap().value(), 17);

    // Everyone at once: the cluster comes back with the same committed history.
    for id in 1..=3 {
        c.with(|s| s.crash(NodeId(id))).unwrap();
    }
    for id in NodeId::all(3) {
        c.with(|s| s.restart(id)).unwrap();
    }
    c.await_leader(3_000);
    let last = c.propose_to_leader("add 1");
    c.await_applied_everywhere(last, 2_000);
    for id in 1..=3 {
        assert_eq!(c.sim.node(NodeId(id)).unwrap().value(), 18, "S{id}");
    }
}

/// What survives a power loss: exactly the synced prefix of the log. With a slow fsync (50 ms)
/// there are written-but-unsynced entries to lose; none of them can be committed, because a
/// leader counts only durable copies (its own and its followers' acknowledgements, which leave
/// only after their fsync).
#[test]
fn power_loss_loses_only_unsynced_entries_never_committed_ones() {
    let mut cfg = config(5, 53);
    cfg.timing = Timing {
        fsync_ms: 50,
        ..Timing::default()
    };
    let mut c = Checked::new(cfg);
    let leader = c.await_leader(3_000);
    let index = c.propose_to_leader("set 1");
    c.await_applied_everywhere(index, 3_000);

    // One follower loses power while it has unsynced entries.
    propose_many(&mut c, "add 1", 5);
    let victim = a_follower(&c, leader);
    let caught = c.wait_for(1_000, |s| {
        let st = s.storage(victim).unwrap();
        st.last_index() > st.synced_index()
    });
    assert!(caught, "S{victim} never had unsynced entries");
    let synced = c.sim.storage(victim).unwrap().synced_entries().to_vec();
    let written = c.sim.storage(victim).unwrap().last_index();
    c.with(|s| s.power_loss(victim)).unwrap();
    assert_eq!(
        c.sim.node_log(victim),
        synced,
        "exactly the synced prefix survives"
    );
    let lost = c.log.iter().rev().find_map(|e| match e.event {
        Event::PowerLost {
            node, lost_entries, ..
        } if node == victim => Some(lost_entries),
        _ => None,
    });
    assert_eq!(lost, Some((written - synced.len() as u64).get()));
    assert!(lost.unwrap() > 0);

    // Now the whole cluster loses power at once, mid-replication.
    c.with(|s| s.restart(victim)).unwrap();
    propose_many(&mut c, "add 1", 5);
    let caught = c.wait_for(1_000, |s| {
        s.node_ids().any(|id| {
            let st = s.storage(id).unwrap();
            st.last_index() > st.synced_index()
        })
    });
    assert!(caught, "someone should have unsynced entries");
    for id in NodeId::all(5) {
        c.with(|s| s.power_loss(id)).unwrap();
    }
    let committed = c.checker.committed().to_vec();
    assert!(committed.len() as u64 >= index.get());
    for e in &committed {
        let holders = NodeId::all(5)
            .filter(|id| c.sim.node_log(*id).get(e.index.slot()) == Some(e))
            .count();
        assert!(
            holders >= 3,
            "committed entry {} survives on only {holders} servers",
            e.index
        );
    }
    for id in NodeId::all(5) {
        c.with(|s| s.restart(id)).unwrap();
    }
    let leader = c.await_leader(3_000);
    let last = c.propose_to_leader("add 0");
    c.await_applied_everywhere(last, 3_000);
    let log = c.sim.node_log(leader);
    for e in &committed {
        assert_eq!(
            log.get(e.index.slot()),
            Some(e),
            "committed entry {} lost",
            e.index
        );
    }
}
