//! Figure 2 persistence: state is "updated on stable storage before responding to RPCs".
//! Replies leave only after their batch is synced, the vote is durable before it is sent, a
//! restart resets volatile state and replays the durable log, and a follower applies committed
//! entries only once they are durable.

use crate::common::*;
use shared::protocol::Message;
use shared::{Command, HardState, MemStorage, Role, Storage};
use shared::{LogIndex, NodeId, Term};

// ===== Persistence (Figure 2: "updated on stable storage before responding to RPCs") =====

/// Figure 2: persistent state is "updated on stable storage before responding to RPCs". The
/// Ready API makes this structural: a vote reply is visible in `pending_messages`, but the only
/// way to take it is `Unsynced::sync`, after `write`.
#[test]
fn replies_leave_only_after_their_batch_is_synced() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(1), 3);
    // S1 votes for S2, S2 wins and sends its first entry.
    node.step(request_vote(
        NodeId(2),
        NodeId(1),
        Term(1),
        LogIndex(0),
        Term(0),
    ));
    node.step(append(
        NodeId(2),
        NodeId(1),
        Term(1),
        LogIndex(0),
        Term(0),
        log_of_terms(&[1]),
        LogIndex(0),
    ));
    let ready = node.ready();
    let pending: Vec<Message> = ready.pending_messages().to_vec();
    assert_eq!(pending.len(), 2, "a vote reply and an append reply wait");
    assert!(ready.hard_state.is_some() && !ready.entries.is_empty());

    let unsynced = ready.write(&mut storage).unwrap();
    assert!(unsynced.needs_sync());
    assert_eq!(
        unsynced.pending_messages(),
        &pending[..],
        "still held back after write"
    );
    assert_eq!(storage.synced_index(), 0, "written, not durable");

    let (sent, persisted) = unsynced.sync(&mut storage).unwrap();
    assert_eq!(sent, pending, "sync hands back exactly the held messages");
    assert_eq!(storage.synced_index(), 1);
    node.advance(persisted);
    assert_eq!(node.persisted_index(), 1);
}

/// Figure 2: currentTerm and votedFor must be durable before the vote is sent, so a power loss
/// between write and sync loses both the vote and its reply, never only one of them.
#[test]
fn hard_state_is_durable_before_the_vote_is_sent() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(1), 3);
    node.step(request_vote(
        NodeId(2),
        NodeId(1),
        Term(7),
        LogIndex(0),
        Term(0),
    ));
    let ready = node.ready();
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            current_term: Term(7),
            voted_for: Some(NodeId(2))
        })
    );
    let unsynced = ready.write(&mut storage).unwrap();

    // Power lost before sync: the vote was never durable and its reply was never sent.
    let mut crashed = storage.clone();
    crashed.power_loss().unwrap();
    assert_eq!(crashed.load().unwrap().0, HardState::default());

    let (sent, _) = unsynced.sync(&mut storage).unwrap();
    assert_eq!(vote_of(&sent[0]), Some(true));
    let mut crashed = storage.clone();
    crashed.power_loss().unwrap();
    assert_eq!(
        crashed.load().unwrap().0,
        HardState {
            current_term: Term(7),
            voted_for: Some(NodeId(2))
        },
        "once the vote is out, it survives a power loss"
    );
}

/// Figure 2: commitIndex and lastApplied are "volatile state on all servers … (initialized to
/// 0)". A restarted server recovers term, vote and log from storage, starts with nothing
/// committed or applied, and re-applies its durable log once the leader tells it the commit.
#[test]
fn volatile_state_resets_on_restart_and_the_durable_log_is_replayed() {
    let mut net = Network::new(3);
    assert!(net.elect(NodeId(1), 1));
    for n in [5, 7] {
        net.propose(NodeId(1), Command::Add(n)).unwrap();
        net.deliver_all();
    }
    net.tick_all(net.node(NodeId(1)).next_deadline_ms());
    net.deliver_all();
    let before = (
        net.node(NodeId(2)).hard_state(),
        net.log(NodeId(2)),
        net.node(NodeId(2)).value(),
    );
    assert_eq!(net.node(NodeId(2)).commit_index(), 3);
    assert_eq!(before.2, 12);

    net.crash(NodeId(2));
    net.restart(NodeId(2));
    let s2 = net.node(NodeId(2));
    assert_eq!(
        (s2.hard_state(), s2.log().entries().to_vec()),
        (before.0, before.1.clone())
    );
    assert_eq!(
        (s2.commit_index(), s2.last_applied(), s2.value()),
        (LogIndex(0), LogIndex(0), 0)
    );
    assert_eq!(s2.role(), Role::Follower);
    assert_eq!(s2.leader_id(), None);

    net.tick(NodeId(1), net.node(NodeId(1)).next_deadline_ms());
    net.deliver_all();
    let s2 = net.node(NodeId(2));
    assert_eq!(
        (s2.commit_index(), s2.last_applied(), s2.value()),
        (LogIndex(3), LogIndex(3), 12)
    );
}

/// §5.3 with Figure 2's persistence rule: a follower applies only entries it has durably
/// stored, so a power loss can never take back an entry it already executed.
#[test]
fn a_follower_applies_committed_entries_only_once_they_are_durable() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(2), 3);
    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
        log_of_terms(&[1, 1]),
        LogIndex(2),
    ));
    assert_eq!(node.commit_index(), 2, "the leader says both are committed");
    assert_eq!(node.last_applied(), 0, "but nothing is on disk yet");
    let unsynced = node.ready().write(&mut storage).unwrap();
    let (_, persisted) = unsynced.sync(&mut storage).unwrap();
    node.advance(persisted);
    assert_eq!(node.last_applied(), 2);
}

/// Recovery refuses a log no Raft node could have written: terms never decrease along a log
/// (each leader appends entries of its own term after what it has), so a recovered log whose
/// terms do is corrupt storage, not something to run on.
#[test]
#[should_panic(expected = "recovered log has decreasing terms at index 3")]
fn a_recovered_log_with_decreasing_terms_is_refused() {
    shared::raft::RaftLog::from_entries(log_of_terms(&[1, 2, 1]));
}

/// The recovered log's last term is what the node's first RequestVote carries (§5.4.1).
#[test]
fn a_restarted_node_campaigns_with_its_recovered_last_term() {
    let mut node = node_with(config(NodeId(1), 3), hs(Term(3)), log_of_terms(&[1, 3]));
    node.campaign();
    let (out, _) = persist(
        &mut node,
        &mut storage_with(hs(Term(3)), &log_of_terms(&[1, 3])),
    );
    assert!(!out.is_empty());
    for m in &out {
        assert_eq!(
            m.body,
            shared::protocol::MessageBody::RequestVote(shared::protocol::RequestVote {
                last_log_index: LogIndex(2),
                last_log_term: Term(3)
            })
        );
    }
}

/// A truncation takes back durability: the entry that replaces a truncated one is not on disk
/// until its own batch syncs, so a follower must not apply it (nor count it as persisted) before
/// then, even when the leader says it is committed.
#[test]
fn an_entry_replacing_a_truncated_one_is_not_durable_until_synced() {
    let durable = log_of_terms(&[1, 1, 1]);
    let mut storage = storage_with(hs(Term(1)), &durable);
    let mut follower = node_with(config(NodeId(2), 3), hs(Term(1)), durable);
    assert_eq!(follower.persisted_index(), 3);
    // Leader of term 2 replaces index 2 and says it is committed.
    follower.step(append(
        NodeId(1),
        NodeId(2),
        Term(2),
        LogIndex(1),
        Term(1),
        vec![entry(LogIndex(2), Term(2))],
        LogIndex(2),
    ));
    assert_eq!(
        follower.persisted_index(),
        1,
        "index 2 now holds an unsynced entry"
    );
    assert_eq!(follower.commit_index(), 2);
    assert_eq!(
        follower.last_applied(),
        1,
        "only the durable entry 1 is applied"
    );
    persist(&mut follower, &mut storage);
    assert_eq!(follower.persisted_index(), 2);
    assert_eq!(follower.last_applied(), 2);
}
