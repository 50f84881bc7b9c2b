//! What Undo takes back (`POST /api/undo`). Usually the last input that changed something: the
//! run goes back to just before it. But right after a change of run that set the run before it
//! aside as a branch — a fork ("Resume from here"), a loaded trace, a branch brought back, a
//! reset — and before any new action, the last thing the person did is that change, so Undo
//! brings back the run it left. The server's driver and the in-browser engine both ask [`plan`],
//! so Undo means the same in both. Owns that rule and when the run an undo leaves needs no
//! branch of its own ([`holder`]); must not change a run (the callers do) nor word the answers
//! (`answers` does).

use super::answers::Reason;
use super::{Recorded, Trace, TracedInput};
use crate::storage::Storage;

/// A change of run that Undo can take back, remembered when it is made (in memory only: see
/// the callers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastMove {
    /// What the change was (fork, loaded, restored, reset).
    what: Reason,
    /// The branch the run it left was kept as.
    branch: u64,
    /// The run number it made live: any later change of run makes this stale.
    run: u64,
    /// The new run's last undoable input when it began: while that is still its last one, no
    /// action was taken since.
    undoable: Option<usize>,
}

impl LastMove {
    /// The change of run for `reason` that just kept the run before it as `branch` and made
    /// run number `run` live as `sim` — if Undo is to take such a change back. An undo is not:
    /// pressing Undo again goes on stepping back over inputs, as people expect of a repeated
    /// Undo (the run an undo left stays in the branch list).
    pub fn after<S: Storage>(
        reason: Reason,
        branch: u64,
        run: u64,
        sim: &Recorded<S>,
    ) -> Option<LastMove> {
        match reason {
            Reason::Fork | Reason::Loaded | Reason::Restored | Reason::Reset => Some(LastMove {
                what: reason,
                branch,
                run,
                undoable: sim.last_undoable(),
            }),
            Reason::Undo | Reason::New | Reason::Recovered => None,
        }
    }
}

/// What Undo does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undo {
    /// Bring back `branch`, the run that the change of run `undone` left (as a restore does:
    /// the live cluster becomes that run's end).
    BringBack {
        /// The branch.
        branch: u64,
        /// What was undone (fork, loaded, restored, reset).
        undone: Reason,
    },
    /// Go back to just before this input of the live run (the last that changed something).
    BeforeInput(usize),
    /// There is nothing to take back.
    Nothing,
}

/// What Undo does for live run number `run`, recorded by `sim`, when the last change of run
/// Undo could take back was `last` and `has_branch` says which branches are still kept. The
/// change is taken back only if it made this very run and no action was taken since (pause and
/// speed changes are not actions, a refused command changed nothing: see
/// [`Recorded::last_undoable`]); otherwise — or if its branch was pushed out of the list —
/// Undo steps back over the last input.
pub fn plan<S: Storage>(
    last: Option<LastMove>,
    run: u64,
    sim: &Recorded<S>,
    has_branch: impl Fn(u64) -> bool,
) -> Undo {
    let undoable = sim.last_undoable();
    // Once recording stopped (`is_full`) an action may have gone unrecorded: then nobody can
    // tell whether one was taken since, so the change is not undone.
    let untouched = |m: &LastMove| m.run == run && m.undoable == undoable && !sim.is_full();
    match last {
        Some(m) if untouched(&m) && has_branch(m.branch) => Undo::BringBack {
            branch: m.branch,
            undone: m.what,
        },
        _ => undoable.map_or(Undo::Nothing, Undo::BeforeInput),
    }
}

/// What became of the run an undo that brought a branch back left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunLeft {
    /// Kept as this new branch (it had actions of its own, e.g. a loaded trace).
    Kept(u64),
    /// Not kept: the branch brought back holds everything done in it (a fork with no action
    /// since is the start of the run it left).
    InBroughtBack(u64),
    /// Not kept: this other branch already holds everything done in it (a branch returned to,
    /// with no action since, is that branch again).
    InBranch(u64),
}

impl RunLeft {
    /// The branch that holds the run left (`ForkReply::branch_id`).
    pub fn branch_id(self) -> u64 {
        match self {
            RunLeft::Kept(id) | RunLeft::InBroughtBack(id) | RunLeft::InBranch(id) => id,
        }
    }
}

/// The actions of `trace`: its inputs but pause and speed changes.
fn actions(trace: &Trace) -> impl Iterator<Item = &TracedInput> {
    trace.inputs.iter().filter(|i| i.input.is_action())
}

/// True when `kept` holds everything people did in `run`: the same cluster from the same start,
/// and `run`'s actions are the first actions of `kept`, at the same instants. `run` is then a
/// fork of `kept` (its start plus idle time, which the deterministic simulator gives again from
/// the same inputs), so keeping `run` as a branch of its own would only clutter the list.
pub fn holds(kept: &Trace, run: &Trace) -> bool {
    if kept.config != run.config || kept.start != run.start {
        return false;
    }
    let mut theirs = actions(kept);
    actions(run).all(|mine| theirs.next() == Some(mine))
}

/// The branch that already holds everything done in `left`, the run an undo is leaving to bring
/// back branch `brought_back` — that one first, else the newest of `branches` (oldest first) —
/// or `None` when `left` has something of its own and must be kept.
pub fn holder<'a>(
    left: &Trace,
    brought_back: (u64, &Trace),
    branches: impl DoubleEndedIterator<Item = (u64, &'a Trace)>,
) -> Option<RunLeft> {
    if holds(brought_back.1, left) {
        return Some(RunLeft::InBroughtBack(brought_back.0));
    }
    branches
        .rev()
        .find(|(_, kept)| holds(kept, left))
        .map(|(id, _)| RunLeft::InBranch(id))
}

/// True when people did something in `trace` (an input other than pause and speed).
fn has_actions(trace: &Trace) -> bool {
    actions(trace).next().is_some()
}

/// Whether the branch `kept` stays when the run `new` is set aside beside it. Runs in which
/// nobody did anything (a New cluster… after another) are kept one at a time: the newest, for
/// Undo; a list of them was only clutter. The server's and the engine's branch lists both ask.
pub fn stays_beside(kept: &Trace, new: &Trace) -> bool {
    has_actions(kept) || has_actions(new)
}

/// True when returning to `branch` would bring back something `live` does not have: an action
/// the live run does not also hold, or time past where it stands. The refusal of an undo with
/// nothing to take back names the newest branch only then (after an undone fork, that branch
/// can be the live run itself).
pub fn adds_to(branch: &Trace, live: &Trace) -> bool {
    !holds(live, branch) || branch.end_ms > live.end_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Start, TraceInput};
    use crate::{MemStorage, NodeId, Sim, SimConfig};

    fn run() -> Recorded<MemStorage> {
        let config = SimConfig {
            nodes: 3,
            seed: 4,
            ..SimConfig::default()
        };
        let sim = Sim::new(config.clone()).unwrap();
        Recorded::new(sim, Trace::new(config, Start::Empty))
    }

    fn crash(node: u64) -> TraceInput {
        TraceInput::Crash { node: NodeId(node) }
    }

    const PAUSE: TraceInput = TraceInput::Control {
        paused: true,
        speed: 1.0,
    };

    #[test]
    fn a_fork_is_undone_until_an_action_is_taken() {
        let mut sim = run();
        sim.run_until(500);
        let _ = sim.input(crash(1));
        let fork = LastMove::after(Reason::Fork, 7, 2, &sim);
        let kept = |id| id == 7;
        let back = Undo::BringBack {
            branch: 7,
            undone: Reason::Fork,
        };
        assert_eq!(plan(fork, 2, &sim, kept), back);
        // A pause is no action, nor is a refused command (S1 is down already).
        let _ = sim.input(PAUSE);
        assert!(sim.input(crash(1)).is_err());
        assert_eq!(plan(fork, 2, &sim, kept), back);
        // An action: Undo takes it back, as before.
        let _ = sim.input(crash(2));
        assert_eq!(plan(fork, 2, &sim, kept), Undo::BeforeInput(3));
    }

    #[test]
    fn another_run_or_a_lost_branch_or_an_undo_steps_back_over_inputs() {
        let mut sim = run();
        let fork = LastMove::after(Reason::Fork, 7, 2, &sim);
        assert_eq!(plan(fork, 3, &sim, |_| true), Undo::Nothing, "a later run");
        assert_eq!(plan(fork, 2, &sim, |_| false), Undo::Nothing, "branch gone");
        assert_eq!(LastMove::after(Reason::Undo, 7, 2, &sim), None);
        assert_eq!(LastMove::after(Reason::Recovered, 7, 2, &sim), None);
        let _ = sim.input(crash(3));
        assert_eq!(plan(None, 2, &sim, |_| true), Undo::BeforeInput(0));
    }

    #[test]
    fn a_run_with_no_action_beyond_a_branch_is_held_by_it() {
        let mut sim = run();
        sim.run_until(300);
        let _ = sim.input(crash(1));
        sim.run_until(600);
        let _ = sim.input(crash(2));
        sim.run_until(900);
        let whole = sim.trace();
        // A fork before the second crash, then a pause and idle time: held.
        let mut fork = whole.prefix(1, 700, 0, 0);
        fork.inputs.push(TracedInput {
            at_ms: 650,
            after_seq: None,
            steps: None,
            input: PAUSE,
        });
        fork.end_ms = 5_000;
        assert!(holds(&whole, &fork));
        assert!(!holds(&fork, &whole), "the second crash is not in the fork");
        assert_eq!(
            holder(&fork, (7, &whole), std::iter::empty()),
            Some(RunLeft::InBroughtBack(7))
        );
        // An action of its own, or another cluster: not held.
        let mut acted = fork.clone();
        acted.inputs.push(TracedInput {
            at_ms: 800,
            after_seq: None,
            steps: None,
            input: crash(3),
        });
        assert!(!holds(&whole, &acted));
        let mut other = fork.clone();
        other.config.seed = 5;
        assert!(!holds(&whole, &other));
        assert_eq!(
            holder(&fork, (7, &other), [(3, &whole), (5, &other)].into_iter()),
            Some(RunLeft::InBranch(3))
        );
        // A branch that is only an earlier instant of the live run adds nothing.
        assert!(adds_to(&whole, &fork));
        assert!(!adds_to(&fork.prefix(1, 600, 0, 0), &fork));
    }

    #[test]
    fn the_answer_says_what_was_undone_in_words() {
        let text = crate::trace::answers::ForkReply::undid(
            Reason::Fork,
            20_400,
            812,
            RunLeft::InBroughtBack(7),
        );
        assert_eq!(
            text,
            "undid the fork: back to the run you left, at t=20.4 s (event 812); no action was \
             taken in the forked run, so it is not kept as a branch"
        );
        assert_eq!(crate::trace::answers::instant(125_340), "t=2 min 5.3 s");
        assert_eq!(crate::trace::answers::instant(59_960), "t=1 min 0.0 s");
    }
}
