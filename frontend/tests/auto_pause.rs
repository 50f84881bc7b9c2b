//! The teacher's "at key moments" setting (`model::auto_pause`): off, it does nothing; "pause"
//! pauses once and names why; "slow down" slows the run for a few seconds of wall time, says
//! why, then gives the teacher's speed back — unless somebody chose another speed meanwhile —
//! and a second moment while slowed extends the slowdown instead of slowing further.

use logscope_frontend::model::{slow_speed, AtKeyMoments, AutoPause, KeyMoment, SLOW_FOR_MS};
use shared::protocol::{ClientCommand, SPEED_DEFAULT, SPEED_MIN};

fn moment(why: &str) -> Option<KeyMoment> {
    Some(KeyMoment {
        seq: 1,
        time_ms: 5,
        why: why.into(),
    })
}

fn speed(speed: f64) -> Option<ClientCommand> {
    Some(ClientCommand::Speed { speed })
}

const WON: &str = "S2 won the election for term 3";

#[test]
fn off_by_default_it_does_nothing() {
    let mut setting = AutoPause::default();
    assert_eq!(setting.mode(), AtKeyMoments::CarryOn, "off by default");
    assert_eq!(setting.on_moment(moment(WON), false, 0.01, 0.0), None);
    assert_eq!(setting.label(false), None);
    assert_eq!(setting.label(true), None);
    assert!(!setting.slowing());
}

#[test]
fn pause_pauses_once_and_names_why() {
    let mut setting = AutoPause::default();
    assert_eq!(setting.set_mode(AtKeyMoments::Pause, 0.01), None);
    assert_eq!(setting.on_moment(None, false, 0.01, 0.0), None);
    assert_eq!(
        setting.on_moment(moment(WON), false, 0.01, 0.0),
        Some(ClientCommand::Pause)
    );
    assert_eq!(
        setting.label(true).as_deref(),
        Some("Paused: S2 won the election for term 3")
    );
    // Stepping the paused run: the reason follows, no second pause command.
    assert_eq!(
        setting.on_moment(moment("S4 deleted its entry 6: x"), true, 0.01, 1.0),
        None
    );
    assert_eq!(
        setting.label(true).as_deref(),
        Some("Paused: S4 deleted its entry 6: x")
    );
    // The reason shows only while the run stays paused, and resuming drops it.
    assert_eq!(setting.label(false), None);
    setting.resumed();
    assert_eq!(setting.label(true), None);
    assert!(!setting.slowing(), "pausing never slows");
}

#[test]
fn the_slow_speed_is_ten_times_slower_and_never_below_the_slowest() {
    assert_eq!(slow_speed(1.0), 0.1);
    assert_eq!(slow_speed(SPEED_DEFAULT), SPEED_MIN);
    assert_eq!(slow_speed(0.002), SPEED_MIN);
    assert_eq!(slow_speed(SPEED_MIN), SPEED_MIN);
    assert_eq!(
        slow_speed(0.0),
        SPEED_MIN,
        "as fast as possible slows to the slowest"
    );
}

#[test]
fn slow_down_slows_says_why_and_gives_the_speed_back_after_the_interval() {
    let mut setting = AutoPause::default();
    setting.set_mode(AtKeyMoments::SlowDown, 0.1);
    assert_eq!(
        setting.on_moment(moment(WON), false, 0.1, 1_000.0),
        speed(0.01)
    );
    assert!(setting.slowing());
    assert_eq!(
        setting.label(false).as_deref(),
        Some("Slowed: S2 won the election for term 3")
    );
    // The server has not applied the new speed yet, then has: nothing to send meanwhile.
    assert_eq!(setting.tick(1_500.0, 0.1), None);
    assert_eq!(setting.tick(2_000.0, 0.01), None);
    assert_eq!(setting.tick(1_000.0 + SLOW_FOR_MS - 1.0, 0.01), None);
    assert!(setting.slowing());
    // The interval is over: the teacher's speed comes back, once.
    assert_eq!(setting.tick(1_000.0 + SLOW_FOR_MS, 0.01), speed(0.1));
    assert!(!setting.slowing());
    assert_eq!(setting.label(false), None);
    assert_eq!(setting.tick(1_000.0 + SLOW_FOR_MS + 1.0, 0.01), None);
}

#[test]
fn a_speed_chosen_during_the_slowdown_stays() {
    let mut setting = AutoPause::default();
    setting.set_mode(AtKeyMoments::SlowDown, SPEED_DEFAULT);
    assert_eq!(
        setting.on_moment(moment(WON), false, SPEED_DEFAULT, 0.0),
        speed(SPEED_MIN)
    );
    assert_eq!(setting.tick(1_000.0, SPEED_MIN), None);
    // The teacher drags the slider to 1/50: the slowdown ends at once and nothing is restored.
    assert_eq!(setting.tick(2_000.0, 0.02), None);
    assert!(!setting.slowing());
    assert_eq!(setting.label(false), None);
    assert_eq!(setting.tick(SLOW_FOR_MS + 1.0, 0.02), None);

    // Changed before the slow speed was even seen: at the end of the interval, theirs stays too.
    setting.on_moment(moment(WON), false, 0.02, 10_000.0);
    assert_eq!(setting.tick(10_000.0 + SLOW_FOR_MS, 0.5), None);
    assert!(!setting.slowing());
}

#[test]
fn a_second_moment_while_slowed_extends_rather_than_stacks() {
    let mut setting = AutoPause::default();
    setting.set_mode(AtKeyMoments::SlowDown, 1.0);
    assert_eq!(setting.on_moment(moment(WON), false, 1.0, 0.0), speed(0.1));
    assert_eq!(setting.tick(1_000.0, 0.1), None);
    // A second moment 3 s in: no slower speed, the new reason, and the clock starts again.
    let second = "the first entry of term 3 committed: entry 1";
    assert_eq!(setting.on_moment(moment(second), false, 0.1, 3_000.0), None);
    assert_eq!(
        setting.label(false).as_deref(),
        Some("Slowed: the first entry of term 3 committed: entry 1")
    );
    assert_eq!(setting.tick(SLOW_FOR_MS, 0.1), None, "extended");
    // The speed given back is the teacher's, not the slowed one.
    assert_eq!(setting.tick(3_000.0 + SLOW_FOR_MS, 0.1), speed(1.0));
}

#[test]
fn slow_down_leaves_a_paused_or_already_slowest_run_alone() {
    let mut setting = AutoPause::default();
    setting.set_mode(AtKeyMoments::SlowDown, SPEED_MIN);
    // Paused (stepping): Step already tells each event.
    assert_eq!(setting.on_moment(moment(WON), true, 0.01, 0.0), None);
    assert!(!setting.slowing());
    // At the slowest speed: nothing to send, the reason shows for the interval, nothing to restore.
    assert_eq!(setting.on_moment(moment(WON), false, SPEED_MIN, 0.0), None);
    assert!(setting.label(false).is_some());
    assert_eq!(setting.tick(SLOW_FOR_MS, SPEED_MIN), None);
    assert!(!setting.slowing());
}

#[test]
fn leaving_slow_down_mid_slowdown_gives_the_speed_back_at_once() {
    let mut setting = AutoPause::default();
    setting.set_mode(AtKeyMoments::SlowDown, 0.5);
    assert_eq!(setting.on_moment(moment(WON), false, 0.5, 0.0), speed(0.05));
    assert_eq!(setting.set_mode(AtKeyMoments::Pause, 0.05), speed(0.5));
    assert!(!setting.slowing());
    // Switched off while slowed, after somebody chose another speed: theirs stays.
    setting.set_mode(AtKeyMoments::SlowDown, 0.5);
    setting.on_moment(moment(WON), false, 0.5, 0.0);
    assert_eq!(setting.set_mode(AtKeyMoments::CarryOn, 0.2), None);
    assert_eq!(setting.mode(), AtKeyMoments::CarryOn);
}
