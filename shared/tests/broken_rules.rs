//! The "break Raft" lab: each rule switched off on purpose (`BrokenRules`) leads, in a staged
//! deterministic scenario, to the safety violation the checker must report — and the very same
//! scenario with the rule intact stays safe (so every test can fail). Owns no production code.

use shared::protocol::Timing;
use shared::raft::BrokenRules;
use shared::sim::checker::{Checker, Violation};
use shared::sim::NetworkSettings;
use shared::{Command, LogIndex, NodeId, Role, Sim, SimConfig};

/// A cluster whose every step the checker sees; inputs are checked too.
struct Lab {
    sim: Sim,
    checker: Checker,
}

impl Lab {
    /// `nodes` servers with timers too long to fire by themselves (the test times them out),
    /// fixed latency, and a visible fsync.
    fn new(nodes: u64, rules: BrokenRules, max_entries_per_append: u64, fsync_ms: u64) -> Self {
        let config = SimConfig {
            nodes,
            seed: 7,
            timing: Timing {
                election_timeout_ms_min: 30_000,
                election_timeout_ms_max: 40_000,
                heartbeat_interval_ms: 50,
                fsync_ms,
                max_entries_per_append,
            },
            network: NetworkSettings {
                latency_ms_min: 5,
                latency_ms_max: 5,
                loss_probability: 0.0,
                duplicate_probability: 0.0,
            },
            broken_rules: rules,
            ..SimConfig::default()
        };
        let mut lab = Lab {
            sim: Sim::new(config).expect("valid"),
            checker: Checker::new(),
        };
        lab.check().expect("a new cluster is safe");
        lab
    }

    fn check(&mut self) -> Result<(), Violation> {
        let events = self.sim.take_events();
        self.checker.observe(&self.sim, &events)
    }

    /// Do something to the cluster (it must be accepted), then check.
    fn with<R: std::fmt::Debug, E: std::fmt::Debug>(
        &mut self,
        f: impl FnOnce(&mut Sim) -> Result<R, E>,
    ) -> Result<(), Violation> {
        f(&mut self.sim).expect("the input is accepted");
        self.check()
    }

    /// Step until `cond` holds (true) or `ms` of virtual time passed (false), checking each step.
    fn until(&mut self, ms: u64, mut cond: impl FnMut(&Sim) -> bool) -> Result<bool, Violation> {
        let end = self.sim.now_ms() + ms;
        while !cond(&self.sim) {
            if self.sim.next_event_time().is_none_or(|t| t > end) {
                self.sim.run_until(end);
                return Ok(cond(&self.sim));
            }
            self.sim.step();
            self.check()?;
        }
        Ok(true)
    }

    fn run(&mut self, ms: u64) -> Result<(), Violation> {
        self.until(ms, |_| false).map(|_| ())
    }

    fn cut_both(&mut self, a: NodeId, b: NodeId) -> Result<(), Violation> {
        self.with(|s| s.cut(a, b))?;
        self.with(|s| s.cut(b, a))
    }

    /// Time `node` out and wait (briefly) until it leads.
    fn elect(&mut self, node: NodeId) -> Result<bool, Violation> {
        self.with(|s| s.force_timeout(node))?;
        self.until(100, |s| is_leader(s, node))
    }
}

fn is_leader(sim: &Sim, node: NodeId) -> bool {
    sim.node(node).is_some_and(|r| r.role() == Role::Leader)
}

fn add(n: i64) -> Command {
    format!("add {n}").parse().expect("a command")
}

/// Figure 8 of the paper, with a no-op at the start of each term and one entry per AppendEntries.
fn figure_8(rules: BrokenRules) -> Result<(), Violation> {
    let mut lab = Lab::new(5, rules, 1, 2);
    assert!(lab.elect(NodeId(1))?, "S1 leads term 1");
    lab.run(200)?;
    // (a) S1 replicates index 2 to S2 only.
    for peer in [3, 4, 5] {
        lab.with(|s| s.cut(NodeId(1), NodeId(peer)))?;
    }
    lab.with(|s| s.propose(Some(NodeId(1)), add(1)))?;
    lab.run(100)?;
    // (b) S1 crashes; S5 wins term 2 with S3 and S4, and its no-op reaches nobody.
    lab.with(|s| s.crash(NodeId(1)))?;
    lab.with(|s| s.force_timeout(NodeId(5)))?;
    assert!(lab.until(100, |s| is_leader(s, NodeId(5)))?, "S5 leads");
    for peer in [2, 3, 4] {
        lab.with(|s| s.cut(NodeId(5), NodeId(peer)))?;
    }
    lab.with(|s| s.crash(NodeId(5)))?;
    lab.run(50)?;
    // (c) S1 comes back, wins a later term with S2 and S3 and copies index 2 to S3.
    for peer in [2, 3] {
        lab.with(|s| s.uncut(NodeId(1), NodeId(peer)))?;
    }
    lab.cut_both(NodeId(1), NodeId(4))?;
    lab.with(|s| s.restart(NodeId(1)))?;
    if !lab.elect(NodeId(1))? {
        assert!(lab.elect(NodeId(1))?, "S1 leads on its second try");
    }
    let one = NodeId(1);
    let committed_2 = lab.until(200, |s| {
        s.node(one).is_some_and(|r| r.commit_index() >= LogIndex(2))
    })?;
    // (d) S1 crashes at once (whatever it sent S3 after is lost); S5 returns and wins.
    lab.with(|s| s.cut(one, NodeId(3)))?;
    lab.with(|s| s.crash(one))?;
    for peer in [2, 3, 4] {
        lab.with(|s| s.uncut(NodeId(5), NodeId(peer)))?;
    }
    lab.with(|s| s.restart(NodeId(5)))?;
    for _ in 0..3 {
        if lab.elect(NodeId(5))? {
            break;
        }
    }
    lab.run(200)?;
    assert!(
        committed_2,
        "S1 committed index 2 (by counting, or with index 3)"
    );
    Ok(())
}

#[test]
fn committing_an_old_term_entry_by_counting_loses_it_figure_8() {
    let rules = BrokenRules {
        commit_old_term_by_counting: true,
        ..BrokenRules::default()
    };
    let v = figure_8(rules).expect_err("the broken rule must lead to a violation");
    assert_eq!(v.property, "leader completeness", "{v}");
    assert!(
        v.detail.contains("S5") && v.detail.contains("entry 2"),
        "{v}"
    );
    figure_8(BrokenRules::default()).expect("with §5.4.2 intact the same inputs are safe");
}

/// S2 holds a committed entry S3 lacks; S1 crashes and S3 asks S2 for its vote.
fn stale_candidate(rules: BrokenRules) -> Result<bool, Violation> {
    let mut lab = Lab::new(3, rules, 8, 2);
    assert!(lab.elect(NodeId(1))?);
    lab.run(100)?;
    lab.with(|s| s.cut(NodeId(1), NodeId(3)))?;
    lab.with(|s| s.propose(Some(NodeId(1)), add(1)))?;
    lab.run(100)?;
    assert_eq!(lab.sim.node(NodeId(1)).unwrap().commit_index(), LogIndex(2));
    lab.with(|s| s.crash(NodeId(1)))?;
    lab.elect(NodeId(3))
}

#[test]
fn voting_without_the_up_to_date_check_elects_a_leader_missing_committed_entries() {
    let rules = BrokenRules {
        vote_without_log_check: true,
        ..BrokenRules::default()
    };
    let v = stale_candidate(rules).expect_err("the broken rule must lead to a violation");
    assert_eq!(v.property, "leader completeness", "{v}");
    assert!(
        v.detail.contains("S3") && v.detail.contains("entry 2"),
        "{v}"
    );
    let won = stale_candidate(BrokenRules::default()).expect("§5.4.1 intact: safe");
    assert!(!won, "S2 refuses its vote to a stale candidate");
}

/// S3 votes for S1 in term 1, restarts, then S2 asks for its term-1 vote.
fn vote_twice(rules: BrokenRules) -> Result<bool, Violation> {
    let mut lab = Lab::new(3, rules, 8, 2);
    lab.cut_both(NodeId(1), NodeId(2))?;
    lab.with(|s| s.force_timeout(NodeId(1)))?;
    assert!(
        lab.until(100, |s| is_leader(s, NodeId(1)))?,
        "S1 leads term 1"
    );
    // Its first AppendEntries to S3 is lost, so S3's log stays as empty as S2's.
    lab.with(|s| s.cut(NodeId(1), NodeId(3)))?;
    lab.run(50)?;
    lab.with(|s| s.crash(NodeId(3)))?;
    lab.with(|s| s.restart(NodeId(3)))?;
    lab.elect(NodeId(2))
}

#[test]
fn forgetting_the_vote_on_restart_makes_two_leaders_in_one_term() {
    let rules = BrokenRules {
        forget_vote_on_restart: true,
        ..BrokenRules::default()
    };
    let v = vote_twice(rules).expect_err("the broken rule must lead to a violation");
    assert_eq!(v.property, "election safety", "{v}");
    assert!(
        v.detail.contains("S1 and S2") && v.detail.contains("term 1"),
        "{v}"
    );
    let won = vote_twice(BrokenRules::default()).expect("votedFor persistent: safe");
    assert!(!won, "S3 remembers its term-1 vote for S1");
}

/// S1 commits index 2 on S2's acknowledgement; S2 then loses power.
fn power_loss_after_ack(rules: BrokenRules) -> Result<(), Violation> {
    // fsync (20 ms) is slower than a round trip (10 ms): an early ack really is early.
    let mut lab = Lab::new(3, rules, 8, 20);
    assert!(lab.elect(NodeId(1))?);
    lab.run(200)?;
    lab.with(|s| s.cut(NodeId(1), NodeId(3)))?;
    lab.with(|s| s.propose(Some(NodeId(1)), add(1)))?;
    let one = NodeId(1);
    let committed = lab.until(200, |s| {
        s.node(one).is_some_and(|r| r.commit_index() >= LogIndex(2))
    })?;
    assert!(committed, "S1 commits index 2 with S2");
    lab.with(|s| s.power_loss(NodeId(2)))?;
    lab.run(100)
}

#[test]
fn acknowledging_before_fsync_loses_a_committed_entry_on_power_loss() {
    let rules = BrokenRules {
        ack_before_fsync: true,
        ..BrokenRules::default()
    };
    let v = power_loss_after_ack(rules).expect_err("the broken rule must lead to a violation");
    assert_eq!(v.property, "durability", "{v}");
    assert!(v.detail.contains("entry 2"), "{v}");
    power_loss_after_ack(BrokenRules::default()).expect("fsync before ack: safe");
}

#[test]
fn align_timers_makes_every_follower_time_out_together_and_spread_separates_them() {
    let mut lab = Lab::new(5, BrokenRules::default(), 8, 2);
    lab.with(|s| -> Result<(), ()> {
        s.align_timers();
        Ok(())
    })
    .unwrap();
    let deadlines: Vec<u64> = (1..=5)
        .map(|i| lab.sim.node(NodeId(i)).unwrap().election_deadline_ms())
        .collect();
    assert!(deadlines.windows(2).all(|w| w[0] == w[1]), "{deadlines:?}");
    lab.sim.spread_timers();
    lab.check().unwrap();
    let spread: Vec<u64> = (1..=5)
        .map(|i| lab.sim.node(NodeId(i)).unwrap().election_deadline_ms())
        .collect();
    assert!(
        spread.windows(2).all(|w| w[1] >= w[0] + 2_000),
        "{spread:?}"
    );
}
