//! The teacher's "at key moments" setting: carry on (the default), slow the run down for a few
//! seconds, or pause it — and the sentence saying why ("Slowed: S2 won the election for term
//! 3"). Pure decisions: each method says which command, if any, the page should send; the page
//! (`components::auto_pause`) sends it and calls `tick` as wall time passes. Owns when to slow,
//! when to give the teacher's speed back and when to pause; must not judge what a key moment is
//! (`model::moments`) nor send anything itself.

use shared::protocol::{ClientCommand, SPEED_MIN};

use super::KeyMoment;

/// Wall time a key moment slows the run for (ms): long enough to read the sentence and see the
/// cluster move, short enough that the lesson goes on by itself.
pub const SLOW_FOR_MS: f64 = 5_000.0;

/// How much slower the run goes at a key moment.
const SLOW_FACTOR: f64 = 10.0;

/// What the run does at a key moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AtKeyMoments {
    /// Nothing: the run goes on (the default).
    #[default]
    CarryOn,
    /// The run slows down for [`SLOW_FOR_MS`] of wall time, then goes back to its speed.
    SlowDown,
    /// The run pauses until the teacher resumes it.
    Pause,
}

/// A slowdown in progress.
#[derive(Clone, Debug, PartialEq)]
struct Slowdown {
    /// The last key moment met: "S2 won the election for term 3".
    why: String,
    /// Wall time (ms) at which the teacher's speed comes back.
    until_ms: f64,
    /// The speed this slowdown asked for.
    slow: f64,
    /// The teacher's speed to give back; `None` when the run was already that slow.
    restore: Option<f64>,
    /// The cluster was seen running at `slow`: from then on, another speed means somebody chose
    /// it (this page's slider, a key, another page), and theirs stays.
    seen_slow: bool,
}

/// The setting, the reason of the pause it made and the slowdown it runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoPause {
    mode: AtKeyMoments,
    /// Why the run stopped, while it stays paused there.
    why: Option<String>,
    slowdown: Option<Slowdown>,
}

/// The speed a key moment slows a run going at `speed` to: ten times slower, never below the
/// slowest speed the speed control offers ("as fast as possible", 0, slows to that slowest).
pub fn slow_speed(speed: f64) -> f64 {
    if speed <= 0.0 {
        SPEED_MIN
    } else {
        (speed / SLOW_FACTOR).max(SPEED_MIN)
    }
}

/// Speeds travel as JSON numbers; a tiny tolerance keeps a round trip from looking like a change.
fn same_speed(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-9)
}

impl AutoPause {
    /// What the run does at a key moment.
    pub fn mode(&self) -> AtKeyMoments {
        self.mode
    }

    /// The teacher picked `mode` while the cluster runs at `speed`. Leaving "slow down" in the
    /// middle of a slowdown gives the teacher's speed back at once: the command to send, if any.
    pub fn set_mode(&mut self, mode: AtKeyMoments, speed: f64) -> Option<ClientCommand> {
        self.mode = mode;
        self.why = None;
        if mode == AtKeyMoments::SlowDown {
            return None;
        }
        self.slowdown.take().and_then(|s| s.give_back(speed))
    }

    /// Events were applied and `moment` is the first key moment among them; the cluster runs at
    /// `speed` (paused or not) and the wall clock reads `wall_ms`. The command to send, if any:
    /// - pause: `Pause`, unless already paused (a moment met while stepping only updates the
    ///   reason);
    /// - slow down: the slow speed, unless a slowdown is already running — a second moment then
    ///   extends it and names the new moment, it does not slow further — or the run is paused
    ///   (it goes no faster than Step, which tells each event anyway).
    pub fn on_moment(
        &mut self,
        moment: Option<KeyMoment>,
        paused: bool,
        speed: f64,
        wall_ms: f64,
    ) -> Option<ClientCommand> {
        let moment = moment?;
        match self.mode {
            AtKeyMoments::CarryOn => None,
            AtKeyMoments::Pause => {
                self.why = Some(moment.why);
                (!paused).then_some(ClientCommand::Pause)
            }
            AtKeyMoments::SlowDown if paused => None,
            AtKeyMoments::SlowDown => {
                let until_ms = wall_ms + SLOW_FOR_MS;
                if let Some(s) = &mut self.slowdown {
                    s.why = moment.why;
                    s.until_ms = until_ms;
                    return None;
                }
                let slow = slow_speed(speed);
                // Already that slow: nothing to send and nothing to give back, but the reason
                // still shows for the interval.
                let restore = (!same_speed(speed, slow)).then_some(speed);
                self.slowdown = Some(Slowdown {
                    why: moment.why,
                    until_ms,
                    slow,
                    restore,
                    seen_slow: restore.is_none(),
                });
                restore.map(|_| ClientCommand::Speed { speed: slow })
            }
        }
    }

    /// Wall time passed (the clock reads `wall_ms`) and the cluster runs at `speed`: the command
    /// to send, if any. Once the interval is over, the teacher's speed comes back — unless
    /// somebody chose another speed meanwhile: then theirs stays, and the slowdown ends as soon
    /// as that is seen.
    pub fn tick(&mut self, wall_ms: f64, speed: f64) -> Option<ClientCommand> {
        let s = self.slowdown.as_mut()?;
        if same_speed(speed, s.slow) {
            s.seen_slow = true;
        } else if s.seen_slow {
            self.slowdown = None;
            return None;
        }
        if wall_ms < s.until_ms {
            return None;
        }
        self.slowdown.take().and_then(|s| s.give_back(speed))
    }

    /// A slowdown is running (the page ticks only then).
    pub fn slowing(&self) -> bool {
        self.slowdown.is_some()
    }

    /// The run was resumed: the reason of the pause no longer holds.
    pub fn resumed(&mut self) {
        self.why = None;
    }

    /// What the top bar says: "Paused: …" while the run stays paused at a key moment, else
    /// "Slowed: …" while a slowdown runs.
    pub fn label(&self, paused: bool) -> Option<String> {
        match (&self.why, &self.slowdown) {
            (Some(why), _) if paused => Some(format!("Paused: {why}")),
            (_, Some(s)) => Some(format!("Slowed: {}", s.why)),
            _ => None,
        }
    }
}

impl Slowdown {
    /// The command giving the teacher's speed back, when the cluster still runs at the slow
    /// speed this slowdown set (any other speed was somebody's choice, and stays).
    fn give_back(self, speed: f64) -> Option<ClientCommand> {
        let restore = self.restore?;
        same_speed(speed, self.slow).then_some(ClientCommand::Speed { speed: restore })
    }
}
