//! The deadline of a request's whole body, and the connection closed when reading it fails. A
//! timeout between two pieces of a body alone (tower-http's, still there under this) let a
//! client that sends a byte every few seconds hold a request, and its connection, for as long as
//! it liked; and the 400 that answered a body cut short left the connection open. The deadline
//! grows with the body's announced size, at a slow classroom Wi-Fi's pace: a trace of megabytes
//! has the time it needs. Owns that deadline; must not read the body itself (the handlers'
//! extractors do, and say what was wrong with it).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{HeaderValue, CONNECTION};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::Stream;
use tokio::time::Sleep;

/// The slowest pace a body is given time for (512 kbit/s), past the first `limit`.
pub const BODY_BYTES_PER_S_MIN: u64 = 64 * 1024;

/// Middleware: the body of `request` must have arrived `limit` after the request did, plus the
/// time its `Content-Length` takes at [`BODY_BYTES_PER_S_MIN`]; past it, reading the body fails
/// (the handler answers 400). When reading the body failed, for this or any other reason (a
/// gap between two pieces longer than the per-piece timeout), the answer closes the connection.
pub async fn limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let limit = limit + Duration::from_secs_f64(announced as f64 / BODY_BYTES_PER_S_MIN as f64);
    let (parts, body) = request.into_parts();
    let body = Body::from_stream(Deadline {
        inner: body.into_data_stream(),
        sleep: Box::pin(tokio::time::sleep(limit)),
        limit,
        expired: expired.clone(),
        done: false,
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if expired.load(Ordering::Relaxed) {
        // hyper closes the connection after this answer instead of reading the rest of a body
        // that is still dribbling in.
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A body's pieces, until the deadline.
struct Deadline<S> {
    inner: S,
    sleep: Pin<Box<Sleep>>,
    limit: Duration,
    expired: Arc<AtomicBool>,
    done: bool,
}

impl<S> Stream for Deadline<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        // What has arrived is handed on first, even at the deadline.
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            if matches!(item, Some(Err(_))) {
                this.expired.store(true, Ordering::Relaxed);
            }
            this.done = item.is_none();
            return Poll::Ready(item);
        }
        if this.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.expired.store(true, Ordering::Relaxed);
        this.done = true;
        let error = std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "the request body did not arrive within {} s",
                (this.limit.as_secs_f64() * 10.0).round() / 10.0
            ),
        );
        Poll::Ready(Some(Err(axum::Error::new(error))))
    }
}
