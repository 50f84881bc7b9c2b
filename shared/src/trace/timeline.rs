//! [`Timeline`]: a trace re-executed once, with a checkpoint (a clone of the whole replay) every
//! few virtual seconds, so that any instant is reached by re-executing from the nearest
//! checkpoint rather than from the start — what a scrubber needs to draw any instant of an hour
//! quickly (docs/trace.md has the figures). A live run's timeline grows with it
//! ([`Timeline::extend`]): only what was added since is re-executed. Owns the checkpoints; must
//! not change the trace.

use std::sync::Arc;

use crate::protocol::SimEvent;

use super::{Position, Replay, Trace, TraceError};

/// Virtual time between two checkpoints by default. Re-executing this much takes a few ms in a
/// release build (a busy 5-node cluster runs ~1 000 times faster than real time).
pub const CHECKPOINT_EVERY_MS: u64 = 10_000;

/// Checkpoints a timeline keeps at most. Past it the spacing doubles and every other checkpoint
/// goes, so memory stays bounded however long the run: at speed 0 a server covers hours of
/// virtual time in a minute, and one checkpoint every 10 s of it grew to hundreds of MB. Reaching
/// an instant then re-executes at most the (wider) spacing. An hour at 10 s is 360.
pub const CHECKPOINTS_MAX: usize = 512;

/// Memory the checkpoints may take, as estimated by [`crate::Sim::log_bytes_estimate`]: each
/// checkpoint copies every node's log, so a long run with many requests needs fewer of them.
/// Past it the spacing doubles as past [`CHECKPOINTS_MAX`]. Without it one loaded trace (a
/// 5-node hour with 20,000 requests) and one `GET /api/trace/at` held 3.4 GB (docs/trace.md).
/// Reaching an instant then re-executes more (the wider spacing), never more memory.
pub const CHECKPOINT_BYTES_MAX: usize = 256 << 20;

/// A trace with checkpoints. Cloning one is cheap but for its markers (checkpoints are shared).
#[derive(Clone)]
pub struct Timeline {
    /// Replays stopped at `k * every_ms` (k = 0, 1, …, each before the end), in time order.
    checkpoints: Vec<Arc<Replay>>,
    /// Virtual time between two checkpoints (doubles as the run grows past `CHECKPOINTS_MAX`
    /// or past `bytes_max`).
    every_ms: u64,
    /// Memory the checkpoints may take ([`CHECKPOINT_BYTES_MAX`] but in tests).
    bytes_max: usize,
    /// The replay at the end of the trace: where [`Timeline::extend`] goes on from.
    tip: Replay,
    /// The events worth a marker on a scrubber, over the whole trace (see `is_marker`).
    markers: Vec<SimEvent>,
}

impl Timeline {
    /// Re-execute `trace` to its end once, keeping a checkpoint every `every_ms` of virtual time.
    pub fn build(trace: Trace, every_ms: u64) -> Result<Timeline, TraceError> {
        Timeline::build_within(trace, every_ms, CHECKPOINT_BYTES_MAX)
    }

    /// [`Timeline::build`] with its checkpoints' memory bounded by `bytes_max` instead of
    /// [`CHECKPOINT_BYTES_MAX`] (the tests' small bound). The start's checkpoint is always kept.
    pub fn build_within(
        trace: Trace,
        every_ms: u64,
        bytes_max: usize,
    ) -> Result<Timeline, TraceError> {
        let mut tip = Replay::new(trace)?.keeping_markers();
        tip.run_to(Position::AtMs(0))?;
        // Markers are collected apart, so the checkpoints don't each carry a copy.
        let markers = tip.take_markers();
        let mut timeline = Timeline {
            checkpoints: vec![Arc::new(tip.clone())],
            every_ms: every_ms.max(1),
            bytes_max,
            tip,
            markers,
        };
        timeline.run_on()?;
        Ok(timeline)
    }

    /// Bring this timeline to `trace` when it is the same run grown (a live run's trace asked
    /// about again): only the part added is re-executed. False, with nothing changed, when it
    /// is not (another run, a fork, a trace whose end is not exact): build a new one. After an
    /// error the timeline is unusable.
    pub fn extend(&mut self, trace: Trace) -> Result<bool, TraceError> {
        if !grows(self.trace(), &trace) {
            return Ok(false);
        }
        if trace == *self.trace() {
            return Ok(true);
        }
        trace.check()?;
        self.tip.follow(Arc::new(trace));
        self.run_on()?;
        Ok(true)
    }

    /// `trace`'s timeline: `cached` extended when `trace` is its run grown, else built anew.
    pub fn update(
        cached: Option<Timeline>,
        trace: Trace,
        every_ms: u64,
    ) -> Result<Timeline, TraceError> {
        if let Some(mut timeline) = cached {
            if timeline.extend(trace.clone())? {
                return Ok(timeline);
            }
        }
        Timeline::build(trace, every_ms)
    }

    /// Re-execute from the tip to the end of its trace, checkpointing and marking on the way.
    fn run_on(&mut self) -> Result<(), TraceError> {
        let end_ms = self.tip.trace().end_ms;
        loop {
            let next = (self.checkpoints.len() as u64).saturating_mul(self.every_ms);
            if next >= end_ms {
                break;
            }
            self.tip.run_to(Position::AtMs(next))?;
            self.markers.extend(self.tip.take_markers());
            self.checkpoints.push(Arc::new(self.tip.clone()));
            while self.checkpoints.len() > CHECKPOINTS_MAX
                || (self.checkpoints.len() > 1 && self.bytes() > self.bytes_max)
            {
                // Keep those at multiples of the doubled spacing: k * 2 * every_ms. The start
                // (k = 0) always stays, so a single checkpoint is the floor.
                self.every_ms = self.every_ms.saturating_mul(2);
                keep_even_positions(&mut self.checkpoints);
            }
        }
        self.tip.run_to(Position::End)?;
        self.markers.extend(self.tip.take_markers());
        Ok(())
    }

    /// The trace this timeline re-executes.
    pub fn trace(&self) -> &Trace {
        self.tip.trace()
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
            Position::Seq(s) => s <= self.tip.sim().last_seq(),
            Position::BeforeInput(n) => n < trace.inputs.len(),
            Position::End => true,
        }
    }

    /// The checkpoints' memory, as estimated by [`crate::Sim::log_bytes_estimate`].
    pub fn bytes(&self) -> usize {
        self.checkpoints
            .iter()
            .map(|r| r.sim().log_bytes_estimate())
            .sum()
    }

    /// Virtual time between two checkpoints now.
    pub fn every_ms(&self) -> u64 {
        self.every_ms
    }

    /// Checkpoints kept.
    pub fn len(&self) -> usize {
        self.checkpoints.len()
    }

    /// True when there is none (never: a timeline has at least the start).
    pub fn is_empty(&self) -> bool {
        self.checkpoints.is_empty()
    }

    /// The run at `position`, re-executed from the last checkpoint before it (or the end).
    pub fn at(&self, position: Position) -> Result<Replay, TraceError> {
        let before = |r: &Replay| match position {
            Position::AtMs(t) => r.sim().now_ms() <= t,
            Position::Seq(s) => r.sim().last_seq() < s,
            Position::BeforeInput(n) => r.inputs_applied() <= n,
            Position::End => true,
        };
        let mut replay = if before(&self.tip) {
            self.tip.clone()
        } else {
            let index = self
                .checkpoints
                .iter()
                .rposition(|r| before(r))
                .unwrap_or_default();
            let mut replay = Replay::clone(&self.checkpoints[index]);
            // A checkpoint taken before the timeline grew holds the shorter trace.
            replay.follow(self.tip.shared_trace().clone());
            replay
        };
        replay.run_to(position)?;
        Ok(replay)
    }
}

/// Keep the items at positions 0, 2, 4, … (the checkpoints at multiples of a doubled spacing).
fn keep_even_positions<T>(items: &mut Vec<T>) {
    let mut position = 0;
    items.retain(|_| {
        position += 1;
        position % 2 == 1
    });
}

/// True when `new` is `old`'s run grown from where `old` ends exactly: the same start and
/// inputs, then only inputs at or after `old`'s end (time and step count), ending no earlier.
fn grows(old: &Trace, new: &Trace) -> bool {
    let Some(old_steps) = old.end_steps else {
        return false; // The end is not exact (a hand-written or frozen trace).
    };
    let after_end =
        |ms: u64, steps: Option<u64>| ms >= old.end_ms && steps.is_some_and(|s| s >= old_steps);
    old.version == new.version
        && old.config == new.config
        && old.start == new.start
        && new.inputs.starts_with(&old.inputs)
        && new.inputs[old.inputs.len()..]
            .iter()
            .all(|i| after_end(i.at_ms, i.steps))
        && after_end(new.end_ms, new.end_steps)
}
