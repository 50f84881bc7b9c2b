//! [`Timeline`]: a trace re-executed once, with a checkpoint (a clone of the whole replay) every
//! few virtual seconds, so that any instant is reached by re-executing from the nearest
//! checkpoint rather than from the start — what a scrubber needs to draw any instant of an hour
//! quickly (docs/trace.md has the figures). Owns the checkpoints; must not change the trace.

use crate::protocol::SimEvent;

use super::{Position, Replay, Trace, TraceError};

/// Virtual time between two checkpoints by default. Re-executing this much takes a few ms in a
/// release build (a busy 5-node cluster runs ~1 000 times faster than real time).
pub const CHECKPOINT_EVERY_MS: u64 = 10_000;

/// A trace with checkpoints.
pub struct Timeline {
    /// Replays stopped at `k * every_ms`, in time order (the first at time 0).
    checkpoints: Vec<Replay>,
    /// The events worth a marker on a scrubber, over the whole trace (see `is_marker`).
    markers: Vec<SimEvent>,
    /// Seq of the last event at the end.
    end_seq: u64,
}

impl Timeline {
    /// Re-execute `trace` to its end once, keeping a checkpoint every `every_ms` of virtual time.
    pub fn build(trace: Trace, every_ms: u64) -> Result<Timeline, TraceError> {
        let end_ms = trace.end_ms;
        let mut replay = Replay::new(trace)?.keeping_markers();
        replay.run_to(Position::AtMs(0))?;
        // Markers are collected apart, so the checkpoints don't each carry a copy.
        let mut markers = replay.take_markers();
        let mut checkpoints = vec![replay.clone()];
        let mut t = 0;
        while t < end_ms {
            t = t.saturating_add(every_ms.max(1)).min(end_ms);
            replay.run_to(Position::AtMs(t))?;
            markers.extend(replay.take_markers());
            checkpoints.push(replay.clone());
        }
        replay.run_to(Position::End)?;
        markers.extend(replay.take_markers());
        let end_seq = replay.sim().last_seq();
        Ok(Timeline {
            checkpoints,
            markers,
            end_seq,
        })
    }

    /// The trace this timeline re-executes.
    pub fn trace(&self) -> &Trace {
        self.checkpoints[0].trace()
    }

    /// The marked events (leaders, the leader's commits, crashes, restarts, power losses,
    /// network changes), in order, as they appear in the event stream.
    pub fn markers(&self) -> &[SimEvent] {
        &self.markers
    }

    /// True when `position` lies within this timeline's trace (so [`Timeline::at`] reaches it
    /// rather than stopping at the end).
    pub fn covers(&self, position: Position) -> bool {
        let trace = self.trace();
        match position {
            Position::AtMs(t) => t <= trace.end_ms,
            Position::Seq(s) => s <= self.end_seq,
            Position::BeforeInput(n) => n < trace.inputs.len(),
            Position::End => true,
        }
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
