//! Stepping by hand: every Step a person presses shows something. A queue item can be silent on
//! its own (a leader's heartbeat due while its log is being synced waits behind the fsync), so
//! a Step processes items until one emits an event. Plain `Sim`s, not `Checked`: what is looked
//! at is what each step emits.

use shared::{Command, Sim};

/// Runs `seed` with a request every 50 items, stepping with `step`; counts the steps that
/// emitted nothing.
fn silent_steps(seed: u64, step: fn(&mut Sim) -> bool) -> usize {
    let mut sim = Sim::new(super::config(5, seed)).expect("valid config");
    sim.run_for(3_000);
    sim.take_events();
    let add: Command = "add 9".parse().expect("a command");
    let mut silent = 0;
    for i in 0..1_000 {
        if i % 50 == 0 {
            // Refused while there is no leader: fine, the next one is sent later.
            let _ = sim.propose(None, add);
            sim.take_events();
        }
        assert!(
            step(&mut sim),
            "seed {seed}: nothing scheduled in a running cluster"
        );
        if sim.take_events().is_empty() {
            silent += 1;
        }
    }
    silent
}

#[test]
fn a_step_by_hand_always_shows_an_event() {
    let seeds = 0..100;
    // The case exists: processing one item at a time is silent now and then.
    let silent_items: usize = seeds.clone().map(|s| silent_steps(s, Sim::step)).sum();
    assert!(
        silent_items > 0,
        "no silent queue item in 100 seeds: the test tests nothing"
    );
    for seed in seeds {
        assert_eq!(
            silent_steps(seed, Sim::step_to_event),
            0,
            "seed {seed}: a silent Step"
        );
    }
}

#[test]
fn a_step_with_every_node_down_says_so() {
    let mut sim = Sim::new(super::config(3, 1)).expect("valid config");
    for id in 1..=3 {
        sim.crash(id.into()).expect("a running node");
    }
    // Whatever the crashes left queued (messages to dead nodes) is dropped, then nothing is.
    while sim.step_to_event() {}
    assert!(!sim.step_to_event());
}
