//! Where one viewer is in the driver's broadcast ([`Cursor`]) and what to do with each message
//! ([`Admit`]): send it, skip what the viewer's snapshot already covers, or resync after a gap.
//! Owns that decision only; must not send anything (the connection does).

use crate::driver::{Outgoing, OutgoingKind, SnapshotReply};

/// Where a viewer is in the stream: it has everything up to `seq` of `run`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cursor {
    pub(super) run: u64,
    pub(super) seq: u64,
    pub(super) time_ms: u64,
}

/// What to do with one broadcast message.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admit {
    Send,
    Skip,
    /// A gap: the viewer needs a fresh snapshot.
    Resync,
}

impl Cursor {
    pub(super) fn new(s: &SnapshotReply) -> Self {
        Cursor {
            run: s.run,
            seq: s.snapshot.seq,
            time_ms: s.snapshot.time_ms,
        }
    }

    pub(super) fn admit(&mut self, out: &Outgoing) -> Admit {
        if out.run < self.run {
            return Admit::Skip;
        }
        if out.run > self.run {
            // A new run can only start with the reset's snapshot.
            return match out.kind {
                OutgoingKind::Snapshot { seq } => {
                    *self = Cursor {
                        run: out.run,
                        seq,
                        time_ms: 0,
                    };
                    Admit::Send
                }
                _ => Admit::Resync,
            };
        }
        match out.kind {
            OutgoingKind::Events {
                first_seq,
                last_seq,
            } => {
                if last_seq <= self.seq {
                    Admit::Skip
                } else if first_seq > self.seq + 1 {
                    Admit::Resync
                } else {
                    self.seq = last_seq;
                    Admit::Send
                }
            }
            OutgoingKind::Clock { time_ms } => {
                if time_ms < self.time_ms {
                    Admit::Skip
                } else {
                    self.time_ms = time_ms;
                    Admit::Send
                }
            }
            // The verdict as it is now: always worth sending within the run.
            OutgoingKind::Safety { .. } => Admit::Send,
            OutgoingKind::Snapshot { seq } => {
                if seq <= self.seq {
                    Admit::Skip
                } else {
                    self.seq = seq;
                    Admit::Send
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn out(run: u64, kind: OutgoingKind) -> Outgoing {
        Outgoing {
            run,
            kind,
            text: "{}".into(),
            sent_at: Instant::now(),
        }
    }

    fn events(run: u64, first_seq: u64, last_seq: u64) -> Outgoing {
        out(
            run,
            OutgoingKind::Events {
                first_seq,
                last_seq,
            },
        )
    }

    #[test]
    fn events_the_snapshot_covers_are_skipped_and_the_next_ones_sent() {
        let mut c = Cursor {
            run: 1,
            seq: 10,
            time_ms: 0,
        };
        assert_eq!(c.admit(&events(1, 5, 10)), Admit::Skip);
        assert_eq!(c.admit(&events(1, 9, 12)), Admit::Send);
        assert_eq!(c.seq, 12);
        assert_eq!(c.admit(&events(1, 13, 13)), Admit::Send);
    }

    #[test]
    fn a_gap_or_a_new_run_without_its_snapshot_needs_a_resync() {
        let mut c = Cursor {
            run: 1,
            seq: 10,
            time_ms: 0,
        };
        assert_eq!(c.admit(&events(1, 12, 14)), Admit::Resync);
        assert_eq!(c.admit(&events(2, 1, 3)), Admit::Resync);
        assert_eq!(
            c.admit(&out(2, OutgoingKind::Snapshot { seq: 4 })),
            Admit::Send
        );
        assert_eq!((c.run, c.seq), (2, 4));
        assert_eq!(
            c.admit(&events(1, 11, 11)),
            Admit::Skip,
            "the old run is over"
        );
    }
}
