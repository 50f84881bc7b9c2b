//! Follow mode on the server: the presenter's `presenter_view` requests are checked, limited in
//! rate, and published as the newest `presenter_view` message; every viewer's connection takes
//! the newest one (never a queue of old ones) and sends it on. Owns that relay; must not touch
//! the cluster (a view state is not a command for it).

use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use shared::protocol::{ClientCommand, CommandOk, ServerMessage};
use tokio::sync::watch;

use crate::driver::{to_json, CommandError};

/// View changes a presenter may send in a burst (clicking through narration lines)… (the same
/// budget bounds a client's pings and a viewer's answers)
pub(super) const BURST: f64 = 20.0;
/// …and per second after it. A page sends one per click, far below this.
pub(super) const PER_SECOND: f64 = 10.0;

/// A token bucket for one presenter connection's view changes.
pub(super) struct Budget {
    tokens: f64,
    last: Instant,
}

impl Budget {
    pub(super) fn new(now: Instant) -> Self {
        Budget {
            tokens: BURST,
            last: now,
        }
    }

    pub(super) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * PER_SECOND).min(BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// True for a `{"type":"presenter_view", …}` request.
pub(super) fn is_presenter_view(value: &serde_json::Value) -> bool {
    value.get("type").and_then(|t| t.as_str()) == Some("presenter_view")
}

/// Check a presenter's view state and publish it to the viewers; the reply says how it went.
pub(super) fn relay(
    value: serde_json::Value,
    budget: &mut Budget,
    published: &watch::Sender<Option<Utf8Bytes>>,
    now: Instant,
) -> Result<CommandOk, CommandError> {
    let view = match serde_json::from_value::<ClientCommand>(value) {
        Ok(ClientCommand::PresenterView(view)) => view,
        Ok(_) => unreachable!("called only for presenter_view"),
        Err(e) => {
            return Err(CommandError::invalid(format!(
                "invalid presenter_view: {e}"
            )))
        }
    };
    view.check().map_err(CommandError::invalid)?;
    if !budget.take(now) {
        return Err(CommandError::too_many(format!(
            "too many presenter_view messages: at most {PER_SECOND} a second (bursts of {BURST}); \
             send one when what the page shows changes"
        )));
    }
    published.send_replace(Some(to_json(&ServerMessage::PresenterView(view))));
    Ok(CommandOk {
        message: Some(format!(
            "shown to {} following viewers",
            published.receiver_count()
        )),
        ..CommandOk::default()
    })
}

/// The newest message of a watch channel this connection has not been sent yet; waits for
/// one. `None` (e.g. the presenter's view on a presenter's own connection) never yields.
pub(super) async fn next(receiver: &mut Option<watch::Receiver<Option<Utf8Bytes>>>) -> Utf8Bytes {
    let Some(rx) = receiver else {
        return std::future::pending().await;
    };
    loop {
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
        if let Some(text) = rx.borrow_and_update().clone() {
            return text;
        }
    }
}

/// [`next`] as a stream that keeps its wait between polls. A connection's loop polls it once per
/// broadcast message; a fresh `changed()` each time would register with (and leave) the watch
/// channel's waiters, which every connection shares, a thousand times per frame.
pub(super) fn newest(
    receiver: Option<watch::Receiver<Option<Utf8Bytes>>>,
) -> BoxStream<'static, Utf8Bytes> {
    stream::unfold(receiver, |mut rx| async move {
        let text = next(&mut rx).await;
        Some((text, rx))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ping_close_reason_says_the_budget_it_enforces() {
        let said = format!("too many pings: at most {PER_SECOND} a second (a burst of {BURST})");
        assert_eq!(super::super::requests::TOO_MANY_PINGS, said);
    }

    use super::*;
    use std::time::Duration;

    #[test]
    fn the_budget_allows_a_burst_then_ten_a_second() {
        let t0 = Instant::now();
        let mut b = Budget::new(t0);
        for i in 0..20 {
            assert!(b.take(t0), "burst {i}");
        }
        assert!(!b.take(t0), "the 21st at once is refused");
        assert!(
            b.take(t0 + Duration::from_millis(100)),
            "one more after 0.1 s"
        );
        assert!(!b.take(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn a_view_is_published_as_the_server_message_and_bad_ones_are_refused() {
        let (tx, mut rx) = watch::channel(None);
        let mut budget = Budget::new(Instant::now());
        let value = serde_json::json!({"type": "presenter_view", "selected_node": 2});
        assert!(relay(value, &mut budget, &tx, Instant::now()).is_ok());
        assert!(rx.has_changed().unwrap());
        let text = rx.borrow_and_update().clone().expect("published");
        assert_eq!(
            text.as_str(),
            r#"{"type":"presenter_view","selected_node":2,"presenter_layout":false}"#
        );
        let both = serde_json::json!({"type": "presenter_view", "selected_node": 2, "selected_message": 1});
        let e = relay(both, &mut budget, &tx, Instant::now()).unwrap_err();
        assert!(e.message.contains("not both"), "{}", e.message);
        let bad = serde_json::json!({"type": "presenter_view", "selected_node": "two"});
        assert!(relay(bad, &mut budget, &tx, Instant::now()).is_err());
        assert!(
            !rx.has_changed().unwrap(),
            "refused views are not published"
        );
    }
}
