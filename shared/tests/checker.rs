//! The safety checker catches what it claims to: each property is broken once, on purpose, and
//! the checker must name it. Most tests run a real cluster with the checker on every step, then
//! either hand it one forged event (the trace a buggy node would have produced) or tamper with a
//! node's disk the way a buggy driver would. Every test fails if its check is removed. Owns no
//! production code.

use shared::protocol::{Event, InFlight, Message, MessageBody, RequestVoteResponse, SimEvent};
use shared::sim::checker::{Checker, Violation};
use shared::{
    Entry, EntryData, HardState, LogIndex, MemStorage, NodeId, Role, Sim, SimConfig, Storage, Term,
};

/// A simulator whose every step the checker sees, plus every event so far.
struct Watched<S: Storage = MemStorage> {
    sim: Sim<S>,
    checker: Checker,
    log: Vec<SimEvent>,
}

impl Watched<MemStorage> {
    fn new(config: SimConfig) -> Self {
        Watched::start(Sim::new(config).expect("valid config"))
    }
}

impl<S: Storage> Watched<S> {
    fn start(sim: Sim<S>) -> Self {
        let mut w = Watched {
            sim,
            checker: Checker::new(),
            log: Vec::new(),
        };
        w.drain().expect("a fresh cluster is fine");
        w
    }

    fn drain(&mut self) -> Result<(), Violation> {
        let events = self.sim.take_events();
        self.log.extend(events.iter().cloned());
        self.checker.observe(&self.sim, &events)
    }

    /// Run `ms` of virtual time, checking every step; the first violation, if any.
    fn run_for(&mut self, ms: u64) -> Result<(), Violation> {
        let until = self.sim.now_ms() + ms;
        while self.sim.next_event_time().is_some_and(|t| t <= until) {
            self.sim.step();
            self.drain()?;
        }
        self.sim.run_until(until);
        Ok(())
    }

    /// Do something to the cluster, then check what it emitted.
    fn with<R>(&mut self, f: impl FnOnce(&mut Sim<S>) -> R) -> Result<R, Violation> {
        let r = f(&mut self.sim);
        self.drain().map(|_| r)
    }

    /// Show the checker one forged event, as if the simulator had emitted it now.
    fn forge(&mut self, event: Event) -> Result<(), Violation> {
        let forged = SimEvent {
            seq: self.sim.last_seq() + 1,
            time_ms: self.sim.now_ms(),
            event,
        };
        self.checker.observe(&self.sim, &[forged])
    }

    fn leader(&self) -> NodeId {
        self.sim.leader().expect("a leader by now")
    }

    /// The first granted vote that left a node: (voter, candidate, term).
    fn a_granted_vote(&self) -> (NodeId, NodeId, Term) {
        self.log
            .iter()
            .find_map(|e| match &e.event {
                Event::MessageSent { message } => match message.message.body {
                    MessageBody::RequestVoteResponse(RequestVoteResponse {
                        vote_granted: true,
                    }) => Some((message.from, message.to, message.message.term)),
                    _ => None,
                },
                _ => None,
            })
            .expect("an election happened")
    }
}

/// Three nodes, a quiet network and a slow disk (so that written and synced differ for a while).
fn three(seed: u64) -> SimConfig {
    let mut config = SimConfig {
        nodes: 3,
        seed,
        ..SimConfig::default()
    };
    config.timing.fsync_ms = 5;
    config
}

/// A cluster with an elected leader and one committed request, checked all along.
fn settled(config: SimConfig) -> Watched {
    let mut w = Watched::new(config);
    w.run_for(1_500).expect("a healthy election");
    let leader = w.leader();
    w.with(|s| s.propose(Some(leader), "set 7".parse().unwrap()))
        .expect("checked")
        .expect("the leader takes it");
    w.run_for(500).expect("a healthy commit");
    assert!(!w.checker.committed().is_empty());
    w
}

fn vote_message(voter: NodeId, candidate: NodeId, term: Term) -> Event {
    let message = Message {
        from: voter,
        to: candidate,
        term,
        body: MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted: true }),
    };
    Event::MessageSent {
        message: InFlight {
            id: 1_000_000,
            kind: message.body.kind(),
            from: voter,
            to: candidate,
            sent_at_ms: 0,
            deliver_at_ms: 0,
            message,
        },
    }
}

fn property(result: Result<(), Violation>) -> &'static str {
    match result {
        Ok(()) => "(nothing: the checker accepted it)",
        Err(v) => v.property,
    }
}

fn noop(index: LogIndex, term: Term) -> Entry {
    Entry {
        index,
        term,
        data: EntryData::Noop,
    }
}

// ----- Votes -----

#[test]
fn a_second_vote_in_the_same_term_is_caught_even_after_a_power_loss() {
    let mut w = settled(three(1));
    let (voter, candidate, term) = w.a_granted_vote();
    let other = NodeId::all(3)
        .find(|c| *c != voter && *c != candidate)
        .unwrap();
    // The power loss forgets in-memory decisions, never a vote that left.
    w.with(|s| s.power_loss(voter)).unwrap().unwrap();
    w.with(|s| s.restart(voter)).unwrap().unwrap();
    assert_eq!(
        property(w.forge(vote_message(voter, other, term))),
        "one vote per term"
    );
}

#[test]
fn a_vote_decided_twice_in_memory_is_caught() {
    let mut w = settled(three(2));
    let (voter, candidate, term) = w.a_granted_vote();
    let other = NodeId::all(3)
        .find(|c| *c != voter && *c != candidate)
        .unwrap();
    let forged = Event::VoteGranted {
        voter,
        candidate: other,
        term,
    };
    assert_eq!(property(w.forge(forged)), "one vote per term");
}

#[test]
fn a_vote_counted_from_another_election_is_caught() {
    let mut w = settled(three(3));
    let (voter, candidate, term) = w.a_granted_vote();
    // Someone who did not get `voter`'s vote counts it anyway (in its own term, which is `term`
    // for every node of this quiet cluster).
    let other = NodeId::all(3)
        .find(|c| *c != voter && *c != candidate)
        .unwrap();
    assert_eq!(w.sim.node(other).unwrap().current_term(), term);
    let forged = Event::VoteReceived {
        node: other,
        from: voter,
        granted: true,
        votes: vec![other, voter],
    };
    assert_eq!(property(w.forge(forged)), "vote counting");
}

#[test]
fn a_leader_without_a_majority_of_votes_is_caught() {
    let mut w = settled(three(4));
    let follower = NodeId::all(3).find(|id| *id != w.leader()).unwrap();
    let forged = Event::RoleChanged {
        node: follower,
        role: Role::Leader,
        term: Term(99),
        leader_id: Some(follower),
    };
    assert_eq!(property(w.forge(forged)), "election safety");
}

// ----- Persistence -----

/// A disk that drops `voted_for` from every hard state it is given: the classic "vote not
/// persisted" driver bug.
#[derive(Default)]
struct ForgetsVotes(MemStorage);

impl Storage for ForgetsVotes {
    fn load(&mut self) -> Result<(HardState, Vec<Entry>), shared::storage::StorageError> {
        self.0.load()
    }
    fn set_hard_state(&mut self, hs: HardState) -> Result<(), shared::storage::StorageError> {
        self.0.set_hard_state(HardState {
            voted_for: None,
            ..hs
        })
    }
    fn truncate_from(&mut self, index: LogIndex) -> Result<(), shared::storage::StorageError> {
        self.0.truncate_from(index)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), shared::storage::StorageError> {
        self.0.append(entries)
    }
    fn sync(&mut self) -> Result<(), shared::storage::StorageError> {
        self.0.sync()
    }
    fn last_index(&self) -> LogIndex {
        self.0.last_index()
    }
    fn synced_index(&self) -> LogIndex {
        self.0.synced_index()
    }
    fn power_loss(&mut self) -> Result<(), shared::storage::StorageError> {
        self.0.power_loss()
    }
    fn durable_view(&self) -> Option<(HardState, &[Entry])> {
        self.0.durable_view()
    }
}

#[test]
fn a_vote_that_leaves_before_it_is_on_disk_is_caught_as_it_leaves() {
    let sim = Sim::with_storage(three(5), |_| ForgetsVotes::default()).unwrap();
    let mut w = Watched::start(sim);
    let result = w.run_for(2_000);
    assert_eq!(property(result), "persistence");
}

/// Crash `node` and give it back a disk holding `hard_state` and `log` (all synced).
fn replace_disk(w: &mut Watched, node: NodeId, hard_state: HardState, log: &[Entry]) {
    w.with(|s| s.crash(node)).unwrap().unwrap();
    let mut disk = MemStorage::new();
    disk.set_hard_state(hard_state).unwrap();
    disk.append(log).unwrap();
    disk.sync().unwrap();
    w.sim.replace_storage(node, disk).unwrap();
}

#[test]
fn a_vote_lost_across_a_restart_is_caught() {
    let mut w = settled(three(6));
    let (voter, _, term) = w.a_granted_vote();
    let log = w.sim.node_log(voter);
    let hs = w.sim.node(voter).unwrap().hard_state();
    assert_eq!(
        hs.current_term, term,
        "a quiet cluster stays in its first term"
    );
    let forgetful = HardState {
        voted_for: None,
        ..hs
    };
    replace_disk(&mut w, voter, forgetful, &log);
    assert_eq!(
        property(w.with(|s| s.restart(voter)).map(|_| ())),
        "persistence"
    );
}

#[test]
fn an_acknowledged_entry_lost_across_a_restart_is_caught() {
    let mut w = settled(three(7));
    let follower = NodeId::all(3).find(|id| *id != w.leader()).unwrap();
    let hs = w.sim.node(follower).unwrap().hard_state();
    let mut log = w.sim.node_log(follower);
    assert!(!log.is_empty(), "the follower acknowledged entries");
    log.pop();
    replace_disk(&mut w, follower, hs, &log);
    assert_eq!(
        property(w.with(|s| s.restart(follower)).map(|_| ())),
        "persistence"
    );
}

// ----- Entries -----

#[test]
fn one_index_and_term_naming_two_entries_is_caught() {
    let mut w = Watched::new(three(8));
    let first = Event::EntriesAppended {
        node: NodeId(1),
        entries: vec![noop(LogIndex(1), Term(7))],
    };
    w.forge(first).unwrap();
    let mut other = noop(LogIndex(1), Term(7));
    other.data = EntryData::Request {
        command: shared::Command::Add(1),
        client: None,
    };
    let second = Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![other],
    };
    assert_eq!(property(w.forge(second)), "log matching");
}

#[test]
fn one_index_and_term_after_two_predecessors_is_caught() {
    let mut w = Watched::new(three(9));
    let first = Event::EntriesAppended {
        node: NodeId(1),
        entries: vec![noop(LogIndex(1), Term(6)), noop(LogIndex(2), Term(7))],
    };
    w.forge(first).unwrap();
    let second = Event::EntriesAppended {
        node: NodeId(2),
        entries: vec![noop(LogIndex(1), Term(5)), noop(LogIndex(2), Term(7))],
    };
    assert_eq!(property(w.forge(second)), "log matching");
}

#[test]
fn a_commit_before_a_majority_synced_is_caught() {
    let mut config = three(10);
    config.timing.fsync_ms = 50;
    let mut w = settled(config);
    let leader = w.leader();
    let accepted = w
        .with(|s| s.propose(Some(leader), "add 1".parse().unwrap()))
        .unwrap()
        .unwrap();
    let shared::ProposeOutcome::Appended { index, .. } = accepted.outcome else {
        panic!("the leader appends");
    };
    // Written on the leader only, synced nowhere: committing it now is the bug.
    let forged = Event::CommitAdvanced {
        node: leader,
        commit_index: index,
    };
    assert_eq!(property(w.forge(forged)), "committed on a synced majority");
}

#[test]
fn a_leader_committing_an_older_terms_entry_by_counting_is_caught() {
    let mut w = settled(three(15));
    let old_leader = w.leader();
    w.with(|s| s.crash(old_leader)).unwrap().unwrap();
    w.run_for(2_000).expect("a healthy re-election");
    let leader = w.leader();
    let raft = w.sim.node(leader).unwrap();
    let older = raft
        .log()
        .entries()
        .iter()
        .find(|e| e.term < raft.current_term())
        .expect("entries of the first term")
        .index;
    // What Figure 8's leader does: count replicas of an entry from an earlier term.
    let forged = Event::CommitAdvanced {
        node: leader,
        commit_index: older,
    };
    assert_eq!(property(w.forge(forged)), "leader commit rule");
}

#[test]
fn match_index_moving_back_is_caught() {
    let mut w = settled(three(11));
    let leader = w.leader();
    let peer = NodeId::all(3).find(|id| *id != leader).unwrap();
    let (next_index, match_index) = w.sim.node(leader).unwrap().peer_progress(peer).unwrap();
    assert!(match_index > 0);
    let forged = Event::ProgressUpdated {
        leader,
        peer,
        next_index,
        match_index: match_index - 1,
    };
    assert_eq!(property(w.forge(forged)), "leader progress");
}

#[test]
fn match_index_past_what_the_follower_holds_is_caught() {
    let mut config = three(12);
    config.timing.fsync_ms = 50;
    let mut w = settled(config);
    let leader = w.leader();
    let peer = NodeId::all(3).find(|id| *id != leader).unwrap();
    w.with(|s| s.propose(Some(leader), "add 1".parse().unwrap()))
        .unwrap()
        .unwrap();
    let last = w.sim.node(leader).unwrap().log().last_index();
    // The follower has not even received it yet.
    let forged = Event::ProgressUpdated {
        leader,
        peer,
        next_index: last + 1,
        match_index: last,
    };
    assert_eq!(property(w.forge(forged)), "leader progress");
}

// ----- State machines -----

#[test]
fn an_entry_applied_twice_in_one_life_is_caught() {
    let mut w = settled(three(13));
    let node = w.leader();
    let applied = w.sim.node(node).unwrap().last_applied();
    let value = w.sim.node(node).unwrap().value();
    assert!(applied >= 2);
    let forged = Event::EntryApplied {
        node,
        index: applied,
        value,
    };
    assert_eq!(property(w.forge(forged)), "apply order");
}

#[test]
fn an_applied_value_that_is_not_the_replay_is_caught() {
    let mut w = settled(three(14));
    let node = NodeId::all(3).find(|id| *id != w.leader()).unwrap();
    // A fresh life replays from index 1 (the leader's no-op: the register stays 0).
    w.with(|s| s.crash(node)).unwrap().unwrap();
    w.with(|s| s.restart(node)).unwrap().unwrap();
    assert_eq!(w.sim.node(node).unwrap().last_applied(), 0);
    let forged = Event::EntryApplied {
        node,
        index: LogIndex(1),
        value: 12_345,
    };
    assert_eq!(property(w.forge(forged)), "state machine replay");
}
