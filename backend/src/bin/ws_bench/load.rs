//! The client load: appends at a steady rate, handed straight to the driver rather than through
//! a WebSocket of the server being measured, so that a logscope row and a baseline row carry
//! the same stream (a loaded logscope server used to let fewer appends through, and its row then
//! carried fewer events than the baseline's). Counts the appends accepted; measures nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backend::driver::{Append, AppendWait, DriverHandle, Input};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// `rate` appends per second of `add 1` to the leader until `stop`; returns how many were
/// accepted. Each waits for its answer on its own task, so a slow answer does not slow the rate.
pub async fn load(driver: DriverHandle, rate: u64, stop: CancellationToken) -> u64 {
    if rate == 0 {
        return 0;
    }
    let command = "add 1".parse::<shared::Command>().expect("a valid command");
    let accepted = Arc::new(AtomicU64::new(0));
    let mut waiting = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                let (driver, accepted) = (driver.clone(), accepted.clone());
                waiting.spawn(async move {
                    let append = Append { command, node: None, client: None };
                    let answer = driver.command(Input::Append(append), AppendWait::Appended).await;
                    if answer.is_ok() {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                });
                // Forget the answered ones (the set holds only those still waiting).
                while waiting.try_join_next().is_some() {}
            }
        }
    }
    waiting.abort_all();
    accepted.load(Ordering::Relaxed)
}
