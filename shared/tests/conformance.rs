//! The checker's Figure 2 conformance rules catch what they claim to: a follower committing past
//! `min(leader_commit, last new entry)` (AppendEntries receiver rule 5), and a reply that does not
//! acknowledge exactly what its request proved. A real cluster runs with the checker on every
//! step; then the checker is shown a forged request, its delivery and what a buggy follower would
//! have done with it. Normal runs, network duplicates and crashes must not trip either rule. Owns
//! no production code.

use shared::protocol::{
    AppendEntries, AppendEntriesResponse, Event, InFlight, Message, MessageBody, SimEvent,
};
use shared::sim::checker::{Checker, Violation};
use shared::{LogIndex, MemStorage, NodeId, Role, Sim, SimConfig};

/// Forged message ids: far above anything the short runs here send.
const FORGED: u64 = 1_000_000;

/// A simulator whose every step the checker sees.
struct Watched {
    sim: Sim<MemStorage>,
    checker: Checker,
    next_id: u64,
}

impl Watched {
    /// Three nodes, a slow disk and a network that duplicates often; a leader elected and one
    /// request committed, all checked.
    fn settled(seed: u64) -> Self {
        let mut config = SimConfig {
            nodes: 3,
            seed,
            ..SimConfig::default()
        };
        config.timing.fsync_ms = 5;
        config.network.duplicate_probability = 0.3;
        let mut w = Watched {
            sim: Sim::new(config).expect("valid config"),
            checker: Checker::new(),
            next_id: FORGED,
        };
        w.drain().expect("a fresh cluster is fine");
        w.run_for(1_500).expect("a healthy election");
        let leader = w.sim.leader().expect("a leader by now");
        w.sim
            .propose(Some(leader), "set 7".parse().unwrap())
            .expect("the leader takes it");
        w.run_for(1_000).expect("a healthy commit");
        w
    }

    fn drain(&mut self) -> Result<(), Violation> {
        let events = self.sim.take_events();
        self.checker.observe(&self.sim, &events)
    }

    fn run_for(&mut self, ms: u64) -> Result<(), Violation> {
        let until = self.sim.now_ms() + ms;
        while self.sim.next_event_time().is_some_and(|t| t <= until) {
            self.sim.step();
            self.drain()?;
        }
        self.sim.run_until(until);
        Ok(())
    }

    /// Show the checker forged events, as if the simulator had emitted them now, in one step.
    fn forge(&mut self, events: Vec<Event>) -> Result<(), Violation> {
        let seq = self.sim.last_seq();
        let forged: Vec<SimEvent> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| SimEvent {
                seq: seq + 1 + i as u64,
                time_ms: self.sim.now_ms(),
                event,
            })
            .collect();
        self.checker.observe(&self.sim, &forged)
    }

    /// Two followers (neither leads, so no real AppendEntries passes between them) and the
    /// first one's commit index.
    fn followers(&self) -> (NodeId, NodeId, LogIndex) {
        let f: Vec<NodeId> = self
            .sim
            .node_ids()
            .filter(|id| {
                self.sim
                    .node(*id)
                    .is_some_and(|r| r.role() == Role::Follower)
            })
            .collect();
        let commit = self.sim.node(f[0]).expect("up").commit_index();
        assert!(commit > 0, "the request committed on S{}", f[0]);
        (f[0], f[1], commit)
    }

    /// A message from `from` to `to`, in `from`'s current term, as the network shows it.
    fn sent(&mut self, from: NodeId, to: NodeId, body: MessageBody) -> (u64, Event) {
        let id = self.next_id;
        self.next_id += 1;
        let term = self.sim.node(from).expect("up").current_term();
        let message = Message {
            from,
            to,
            term,
            body,
        };
        let event = Event::MessageSent {
            message: InFlight {
                id,
                kind: message.body.kind(),
                from,
                to,
                sent_at_ms: self.sim.now_ms(),
                deliver_at_ms: self.sim.now_ms(),
                message,
            },
        };
        (id, event)
    }

    /// An AppendEntries from `leader` to `follower`, sent and delivered.
    fn append(
        &mut self,
        leader: NodeId,
        follower: NodeId,
        prev_log_index: LogIndex,
        leader_commit: LogIndex,
    ) -> Vec<Event> {
        let prev_log_term = self
            .sim
            .node(follower)
            .expect("up")
            .log()
            .term(prev_log_index)
            .expect("held");
        let ae = AppendEntries {
            prev_log_index,
            prev_log_term,
            entries: Vec::new(),
            leader_commit,
        };
        let (id, sent) = self.sent(leader, follower, MessageBody::AppendEntries(ae));
        let delivered = Event::MessageDelivered {
            id,
            from: leader,
            to: follower,
        };
        vec![sent, delivered]
    }

    /// `follower`'s reply `r` to `leader`.
    fn reply(&mut self, follower: NodeId, leader: NodeId, r: AppendEntriesResponse) -> Event {
        self.sent(follower, leader, MessageBody::AppendEntriesResponse(r))
            .1
    }

    /// The same reply again, as the network's duplicate: the next id, identical content.
    fn duplicate(&mut self, event: &Event) -> Event {
        let Event::MessageSent { message } = event else {
            panic!("not a send")
        };
        let mut copy = message.clone();
        copy.id = self.next_id;
        self.next_id += 1;
        Event::MessageSent { message: copy }
    }
}

fn property(result: Result<(), Violation>) -> &'static str {
    match result {
        Ok(()) => "(nothing: the checker accepted it)",
        Err(v) => v.property,
    }
}

// ----- Rule 5: the follower's commit index -----

#[test]
fn a_follower_committing_past_the_last_new_entry_is_caught() {
    let mut w = Watched::settled(1);
    let (f, g, commit) = w.followers();
    // A heartbeat proving only the empty prefix, with the leader's commit index: the follower
    // may commit nothing from it, yet it "commits" up to `commit` (its log's end, say).
    let mut events = w.append(g, f, LogIndex(0), commit);
    events.push(Event::CommitAdvanced {
        node: f,
        commit_index: commit,
    });
    assert_eq!(property(w.forge(events)), "commit rule (Figure 2 rule 5)");
}

#[test]
fn a_follower_committing_past_leader_commit_is_caught() {
    let mut w = Watched::settled(2);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, commit, commit - 1);
    events.push(Event::CommitAdvanced {
        node: f,
        commit_index: commit,
    });
    assert_eq!(property(w.forge(events)), "commit rule (Figure 2 rule 5)");
}

#[test]
fn a_follower_committing_by_rule_5_passes() {
    let mut w = Watched::settled(3);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, commit, commit);
    events.push(Event::CommitAdvanced {
        node: f,
        commit_index: commit,
    });
    w.forge(events).expect("min(leader_commit, last new entry)");
}

// ----- Acknowledgements -----

#[test]
fn acknowledging_the_log_end_is_caught() {
    let mut w = Watched::settled(4);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, LogIndex(0), LogIndex(0));
    events.push(w.reply(f, g, AppendEntriesResponse::accept(commit, LogIndex(0))));
    assert_eq!(property(w.forge(events)), "acknowledgement rule");
}

#[test]
fn a_reply_naming_another_request_is_caught() {
    let mut w = Watched::settled(5);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, commit, LogIndex(0));
    events.push(w.reply(
        f,
        g,
        AppendEntriesResponse::reject(LogIndex(0), LogIndex(1), None),
    ));
    assert_eq!(property(w.forge(events)), "acknowledgement rule");
}

#[test]
fn replies_out_of_delivery_order_are_caught() {
    let mut w = Watched::settled(6);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, LogIndex(0), LogIndex(0));
    events.extend(w.append(g, f, commit, LogIndex(0)));
    events.push(w.reply(f, g, AppendEntriesResponse::accept(commit, commit)));
    assert_eq!(property(w.forge(events)), "acknowledgement rule");
}

#[test]
fn correct_replies_pass_with_network_duplicates() {
    let mut w = Watched::settled(7);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, LogIndex(0), LogIndex(0));
    events.extend(w.append(g, f, commit, LogIndex(0)));
    let first = w.reply(
        f,
        g,
        AppendEntriesResponse::accept(LogIndex(0), LogIndex(0)),
    );
    let copy = w.duplicate(&first);
    events.extend([first, copy]);
    events.push(w.reply(f, g, AppendEntriesResponse::accept(commit, commit)));
    w.forge(events).expect("a duplicated send is one reply");
}

#[test]
fn two_identical_replies_to_identical_requests_pass() {
    // Both answers released by one fsync look exactly like one reply and its network duplicate.
    let mut w = Watched::settled(8);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, LogIndex(0), LogIndex(0));
    events.extend(w.append(g, f, LogIndex(0), LogIndex(0)));
    events.extend(w.append(g, f, commit, LogIndex(0)));
    let first = w.reply(
        f,
        g,
        AppendEntriesResponse::accept(LogIndex(0), LogIndex(0)),
    );
    let second = w.duplicate(&first);
    events.extend([first, second]);
    events.push(w.reply(f, g, AppendEntriesResponse::accept(commit, commit)));
    w.forge(events).expect("two real replies");
}

#[test]
fn a_rejection_after_two_identical_replies_passes() {
    // Seen in a real run: a duplicated request answered twice (one fsync releases both
    // answers), then a stale-term rejection of a third request with the same prev_log_index,
    // which the first request's pairing would also accept. Only "the copy was a reply" fits
    // the reply after it.
    let mut w = Watched::settled(11);
    let (f, g, commit) = w.followers();
    let mut events = w.append(g, f, LogIndex(0), LogIndex(0));
    events.extend(w.append(g, f, LogIndex(0), LogIndex(0)));
    events.extend(w.append(g, f, LogIndex(0), LogIndex(0)));
    events.extend(w.append(g, f, commit, LogIndex(0)));
    let first = w.reply(
        f,
        g,
        AppendEntriesResponse::accept(LogIndex(0), LogIndex(0)),
    );
    let second = w.duplicate(&first);
    events.extend([first, second]);
    events.push(w.reply(
        f,
        g,
        AppendEntriesResponse::reject(LogIndex(0), LogIndex(0), None),
    ));
    events.push(w.reply(f, g, AppendEntriesResponse::accept(commit, commit)));
    w.forge(events)
        .expect("the copy was the second request's reply");
}

#[test]
fn a_crash_takes_the_unsent_replies_away() {
    let mut w = Watched::settled(9);
    let (f, g, commit) = w.followers();
    let events = w.append(g, f, LogIndex(0), LogIndex(0));
    w.forge(events).expect("delivered");
    w.sim.crash(f).expect("up");
    w.sim.restart(f).expect("down");
    w.drain().expect("a crash and a restart");
    // The request delivered before the crash is owed nothing now: this reply answers a new one.
    let mut events = w.append(g, f, commit, LogIndex(0));
    events.push(w.reply(f, g, AppendEntriesResponse::accept(commit, commit)));
    w.forge(events).expect("the crash dropped the first reply");
}

#[test]
fn a_long_run_with_duplicates_loss_and_crashes_passes_both_rules() {
    let mut w = Watched::settled(10);
    w.sim
        .set_network(Some(0.1), Some(0.3), Some(1), Some(30))
        .expect("valid");
    w.drain().expect("checked");
    for round in 0..20u64 {
        let leader = w.sim.leader();
        let _ = w
            .sim
            .propose(leader, format!("add {round}").parse().unwrap());
        if round % 7 == 3 {
            let victim = NodeId(1 + round % 3);
            if w.sim.is_up(victim) {
                w.sim.power_loss(victim).expect("up");
            }
        }
        if round % 7 == 5 {
            for id in w.sim.node_ids().collect::<Vec<_>>() {
                if !w.sim.is_up(id) {
                    w.sim.restart(id).expect("down");
                }
            }
        }
        w.drain().expect("checked");
        w.run_for(400).expect("a correct core conforms");
    }
}
