//! The driver's loop: pacing virtual time against the wall clock, frame by frame, and what each
//! frame sends out (events, clocks, held-back replies). Owns time and output; must not interpret
//! commands (see `control.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use shared::protocol::{Event, ServerMessage, SimEvent};
use tokio::sync::mpsc;

use super::handle::Request;
use super::outgoing::to_json;
use super::{CommandError, Driver, Outgoing, OutgoingKind, SnapshotReply};

/// Simulator steps one paced frame may take before virtual time is allowed to slip.
const FRAME_STEPS_MAX: u64 = 20_000;
/// At speed 0: steps per chunk, and the wall time a chunk may take, before the driver looks at
/// its requests again.
const FAST_CHUNK_STEPS: u64 = 4_000;
/// Events per `events` message (a few tens of KB of JSON): see [`Driver::flush_events`].
pub const EVENTS_PER_MESSAGE_MAX: usize = 200;
const FAST_CHUNK_WALL: Duration = Duration::from_millis(4);
/// Requests served between two chunks at speed 0.
const FAST_REQUESTS_PER_CHUNK: usize = 256;

impl Driver {
    pub(super) async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        tracing::info!(speed = self.speed, paused = self.paused, "driver running");
        loop {
            let now = Instant::now();
            self.advance(now);
            self.flush();
            self.pending.check(&self.sim, now);
            if now.duration_since(self.last_clock) >= self.clock_interval {
                self.send_clock(now);
            }
            let busy = self.speed == 0.0 && !self.paused && self.sim.next_event_time().is_some();
            if busy {
                for _ in 0..FAST_REQUESTS_PER_CHUNK {
                    match requests.try_recv() {
                        Ok(request) => {
                            if self.handle(request).is_break() {
                                return self.stop();
                            }
                        }
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => return self.stop(),
                    }
                }
                tokio::task::yield_now().await;
                continue;
            }
            let next_frame = tokio::time::Instant::from_std(now + self.frame_interval);
            loop {
                tokio::select! {
                    request = requests.recv() => match request {
                        Some(request) => if self.handle(request).is_break() {
                            return self.stop();
                        },
                        None => return self.stop(),
                    },
                    _ = tokio::time::sleep_until(next_frame) => break,
                }
            }
        }
    }

    fn stop(&mut self) {
        self.flush();
        self.pending.fail_all(&CommandError::stopped());
        tracing::info!(time_ms = self.sim.now_ms(), "driver stopped");
    }

    // ----- Time -----

    /// Run the simulator up to the virtual time the wall clock maps to (or one chunk at speed 0).
    fn advance(&mut self, now: Instant) {
        if self.paused {
            return;
        }
        if self.speed == 0.0 {
            let start = Instant::now();
            for i in 0..FAST_CHUNK_STEPS {
                if !self.sim.step() || self.check_safety() {
                    break;
                }
                if i % 256 == 255 && start.elapsed() >= FAST_CHUNK_WALL {
                    break;
                }
            }
            return;
        }
        let elapsed_ms = now.duration_since(self.anchor.0).as_secs_f64() * 1000.0;
        let target = (self.anchor.1 + elapsed_ms * self.speed) as u64;
        let mut steps = 0;
        while self.sim.next_event_time().is_some_and(|t| t <= target) {
            self.sim.step();
            if self.check_safety() {
                // Paused at the very step that broke a guarantee.
                return;
            }
            steps += 1;
            if steps >= FRAME_STEPS_MAX {
                // More work than a frame can do: let virtual time fall behind the wall clock
                // rather than pile up a backlog that would freeze the viewers.
                if !self.slipping {
                    tracing::warn!(
                        time_ms = self.sim.now_ms(),
                        "the simulator cannot keep up with the wall clock; virtual time slips"
                    );
                    self.slipping = true;
                }
                self.rebase(now);
                return;
            }
        }
        self.slipping = false;
        self.sim.run_until(target);
    }

    /// Count virtual time from the simulator's clock, now.
    pub(super) fn rebase(&mut self, now: Instant) {
        self.anchor = (now, self.sim.now_ms() as f64);
    }

    // ----- Output -----

    pub(super) fn broadcast(&self, kind: OutgoingKind, text: Utf8Bytes) {
        // An error only means nobody is watching right now.
        let _ = self.outgoing.send(Arc::new(Outgoing {
            run: self.run,
            kind,
            text,
            sent_at: Instant::now(),
        }));
    }

    /// Broadcast the events so far, then send the replies held back meanwhile.
    ///
    /// Commands are carried out as they arrive, but their events go out with the frame's (one
    /// broadcast per frame, however many commands arrive: the cost of a broadcast grows with
    /// the number of viewers) and their replies right after, so a reply never overtakes the
    /// events its command caused. A reply waits at most one frame (25 ms).
    fn flush(&mut self) {
        self.flush_events();
        for (reply, result) in self.replies.drain(..) {
            let _ = reply.send(result);
        }
    }

    /// Broadcast the simulator's events, then answer the forwarded requests they settle.
    ///
    /// At most [`EVENTS_PER_MESSAGE_MAX`] events go in one message: a frame at speed 0 holds
    /// thousands (~1.5 MB of JSON), and a socket writes a message whole, so a viewer's reply
    /// could otherwise wait behind one huge message however the writer orders its queue.
    pub(super) fn flush_events(&mut self) {
        // Inputs reach the simulator outside the step loop: what they emitted is checked here.
        self.check_safety();
        let events = self.sim.take_events();
        if events.is_empty() {
            return;
        }
        self.marks.observe(&events);
        self.note_storage_errors(&events);
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let chunk: Vec<SimEvent> = events.by_ref().take(EVENTS_PER_MESSAGE_MAX).collect();
            let kind = OutgoingKind::Events {
                first_seq: chunk[0].seq,
                last_seq: chunk[chunk.len() - 1].seq,
            };
            let message = ServerMessage::Events { events: chunk };
            self.broadcast(kind, to_json(&message));
            if let ServerMessage::Events { events } = &message {
                self.pending.on_events(events);
            }
        }
    }

    fn note_storage_errors(&mut self, events: &[SimEvent]) {
        for e in events {
            if let Event::StorageFailed { node, error, .. } = &e.event {
                tracing::error!(%node, %error, "a node's storage failed; the node was stopped");
                self.storage_errors.insert(*node, error.clone());
            }
        }
    }

    pub(super) fn send_clock(&mut self, now: Instant) {
        self.last_clock = now;
        let time_ms = self.sim.now_ms();
        self.broadcast(
            OutgoingKind::Clock { time_ms },
            to_json(&ServerMessage::Clock {
                time_ms,
                paused: self.paused,
                speed: self.speed,
            }),
        );
    }

    pub(super) fn snapshot(&mut self) -> Arc<SnapshotReply> {
        let key = (
            self.run,
            self.sim.last_seq(),
            self.sim.now_ms(),
            self.paused,
            self.speed.to_bits(),
        );
        if let Some((cached, reply)) = &self.snapshot_cache {
            if *cached == key {
                return reply.clone();
            }
        }
        let mut snapshot = self.windowed_snapshot();
        snapshot.safety = Some(self.safety.view(&self.sim));
        snapshot.speed = self.speed;
        snapshot.paused = self.paused;
        let reply = Arc::new(SnapshotReply::new(self.run, snapshot));
        self.snapshot_cache = Some((key, reply.clone()));
        reply
    }
}
