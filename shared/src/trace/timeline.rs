//! [`Timeline`]: a trace re-executed once, with a checkpoint (a clone of the whole replay) every
//! few virtual seconds, so that any instant is reached by re-executing from the nearest
//! checkpoint rather than from the start — what a scrubber needs to draw any instant of an hour
//! quickly (docs/trace.md has the figures). Owns the checkpoints; must not change the trace.

use super::{Position, Replay, Trace, TraceError};

/// Virtual time between two checkpoints by default. Re-executing this much takes a few ms in a
/// release build (a busy 5-node cluster runs ~1 000 times faster than real time).
pub const CHECKPOINT_EVERY_MS: u64 = 10_000;

/// A trace with checkpoints.
pub struct Timeline {
    /// Replays stopped at `k * every_ms`, in time order (the first at time 0).
    checkpoints: Vec<Replay>,
}

impl Timeline {
    /// Re-execute `trace` to its end once, keeping a checkpoint every `every_ms` of virtual time.
    pub fn build(trace: Trace, every_ms: u64) -> Result<Timeline, TraceError> {
        let end_ms = trace.end_ms;
        let mut replay = Replay::new(trace)?;
        replay.run_to(Position::AtMs(0))?;
        let mut checkpoints = vec![replay.clone()];
        let mut t = 0;
        while t < end_ms {
            t = t.saturating_add(every_ms.max(1)).min(end_ms);
            replay.run_to(Position::AtMs(t))?;
            checkpoints.push(replay.clone());
        }
        Ok(Timeline { checkpoints })
    }

    /// Checkpoints kept.
    pub fn len(&self) -> usize {
        self.checkpoints.len()
    }

    /// True when there is none (never: a timeline has at least the start).
    pub fn is_empty(&self) -> bool {
        self.checkpoints.is_empty()
    }

    /// The run at `position`, re-executed from the last checkpoint before it.
    pub fn at(&self, position: Position) -> Result<Replay, TraceError> {
        let before = |r: &Replay| match position {
            Position::AtMs(t) => r.sim().now_ms() <= t,
            Position::Seq(s) => r.sim().last_seq() < s,
            Position::BeforeInput(n) => r.inputs_applied() <= n,
            Position::End => true,
        };
        let index = self
            .checkpoints
            .iter()
            .rposition(before)
            .unwrap_or_default();
        let mut replay = self.checkpoints[index].clone();
        replay.run_to(position)?;
        Ok(replay)
    }
}
