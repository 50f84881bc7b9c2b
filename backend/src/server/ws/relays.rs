//! The rare messages a connection passes on besides the stream: the presenter's view state
//! (follow mode, viewers only), the lesson's question and tally, and the notice that the lesson
//! changed. A small task per connection waits for them and hands the newest of each to the
//! connection. Owns that waiting; must not write to the socket (the connection does).
//!
//! Why a task of its own: these three come from channels every connection shares, and waiting
//! on such a channel means holding a place in its list of waiters, behind a lock all the
//! connections take. The connection itself is woken for every broadcast message (thousands a
//! second with a class connected); if it polled these waits on every wake it would take those
//! shared locks each time. This task is woken only when one of them has something to say.

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{follow, Replies};
use crate::server::access::Role;
use crate::server::AppState;

/// Start the relays of one connection. They send to `to_connection` and stop when `done` is
/// cancelled (the connection ended) or the connection stops taking their messages.
pub(super) fn spawn(
    state: &AppState,
    role: Role,
    lesson_notices: watch::Receiver<Option<Utf8Bytes>>,
    to_connection: Replies,
    done: CancellationToken,
) {
    let inner = &state.inner;
    let viewer = role == Role::Viewer;
    let presenter_view = viewer.then(|| {
        let mut rx = inner.presenter_view.subscribe();
        // A viewer that joins mid-lecture gets the presenter's current view at once.
        rx.mark_changed();
        rx
    });
    let mut follow = follow::newest(presenter_view);
    let mut prediction = follow::newest(Some(inner.lessons.predictions.subscribe(!viewer)));
    let mut lesson = follow::newest(Some(lesson_notices));
    tokio::spawn(async move {
        loop {
            let text = tokio::select! {
                biased;
                _ = done.cancelled() => return,
                Some(view) = follow.next() => view,
                Some(question) = prediction.next() => question,
                Some(notice) = lesson.next() => notice,
            };
            // Waits only while the viewer does not read its replies.
            tokio::select! {
                _ = done.cancelled() => return,
                sent = to_connection.send(text) => if sent.is_err() { return },
            }
        }
    });
}
