//! The lesson endpoints: `GET /api/lessons`, `POST /api/lessons/{name}/open`, `POST /api/lesson`
//! (a teacher's file), `GET /api/lesson`, `POST /api/lesson/next|back|reveal|close`
//! (docs/api.md, docs/lessons.md). A lesson is staged in memory (`shared::lesson`); moving to
//! one of its pause points makes the live cluster the lesson's trace up to there, through the
//! same path as `POST /api/trace`, paused. What the routes answer and where a move goes is
//! `shared::lesson::OpenLesson` (the in-browser engine answers the same routes with it:
//! engine/src/lessons.rs). Each change is announced to every WebSocket connection
//! (`lesson_changed`), so pages re-read where it stands even when no snapshot comes (a close).
//! Owns which lesson is open on this server; must not reach the simulator except through the
//! driver's handle.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::Utf8Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use shared::lesson::{self, LessonView, Listed, OpenLesson, Refusal, Staged};
use shared::protocol::{ClientCommand, ServerMessage};
use tokio::sync::{watch, Mutex};

use super::routes::admit;
use super::{AppState, ServerError};
use crate::driver::{to_json, AppendWait, DriverHandle, Input};

pub use shared::lesson::LESSON_BYTES_MAX;

/// The open lesson, if any (one per server: the presenter's).
pub(crate) struct Lessons {
    open: Mutex<Option<OpenLesson>>,
    /// The viewers' answers to the question the lesson asks (told where the lesson stands
    /// while `open` is locked, so it never disagrees with it).
    pub(crate) predictions: std::sync::Arc<super::tally::Predictions>,
    /// The `lesson_changed` notice, replaced at each change: every connection sends it on
    /// (the newest only), and its page re-reads `GET /api/lesson`.
    changed: watch::Sender<Option<Utf8Bytes>>,
}

impl Default for Lessons {
    fn default() -> Self {
        Lessons {
            open: Mutex::default(),
            predictions: Default::default(),
            changed: watch::Sender::new(None),
        }
    }
}

impl std::fmt::Debug for Lessons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lessons")
    }
}

/// A refusal of `shared::lesson`, as the routes answer it.
fn refused(r: Refusal) -> ServerError {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    ServerError::new(status, r.to_string())
}

/// Parse and stage `text`; errors name the line.
pub fn stage_text(text: &str) -> Result<Staged, String> {
    lesson::stage_text(text)
}

impl Lessons {
    /// Open a staged lesson: the live cluster goes to its first pause point, paused.
    pub(crate) async fn open(
        &self,
        driver: &DriverHandle,
        name: String,
        staged: Staged,
    ) -> Result<LessonView, ServerError> {
        let mut open = self.open.lock().await;
        let new = OpenLesson::new(name, staged);
        go_to(driver, &new).await?;
        self.predictions.lesson_opened();
        self.predictions.lesson_at(Some((&new.staged, new.at)));
        let v = new.view();
        *open = Some(new);
        self.announce();
        Ok(v)
    }

    /// A connection's notices of lesson changes from now on (`follow::newest` sends them on).
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<Utf8Bytes>> {
        self.changed.subscribe()
    }

    /// Tell every connection the lesson changed. Called with `open` still locked, so a page
    /// that re-reads `GET /api/lesson` on the notice waits for, and sees, the new state.
    fn announce(&self) {
        self.changed
            .send_replace(Some(to_json(&ServerMessage::LessonChanged)));
    }

    /// Move to the pause point `to` picks (`OpenLesson::moved` or `revealed`).
    async fn step(
        &self,
        driver: &DriverHandle,
        to: impl FnOnce(&OpenLesson) -> Result<usize, Refusal>,
    ) -> Result<LessonView, ServerError> {
        let mut guard = self.open.lock().await;
        let open = guard.as_mut().ok_or_else(none_open)?;
        let to = to(open).map_err(refused)?;
        let from = open.at;
        open.at = to;
        if let Err(e) = go_to(driver, open).await {
            open.at = from;
            return Err(e);
        }
        self.predictions.lesson_at(Some((&open.staged, open.at)));
        self.announce();
        Ok(open.view())
    }
}

fn none_open() -> ServerError {
    refused(Refusal::NoneOpen)
}

/// Make the live cluster the lesson's trace up to its current pause point, paused.
async fn go_to(driver: &DriverHandle, open: &OpenLesson) -> Result<(), ServerError> {
    // Pause first, so the run being replaced does not move while the trace is re-executed.
    if !driver.status().await?.paused {
        driver
            .command(Input::Control(ClientCommand::Pause), AppendWait::Appended)
            .await?;
    }
    driver.stage_lesson(open.trace()).await?;
    Ok(())
}

#[derive(Serialize)]
struct Envelope<T> {
    ok: bool,
    result: T,
}

type Json<T> = Result<axum::Json<Envelope<T>>, ServerError>;

fn ok<T>(result: T) -> Json<T> {
    Ok(axum::Json(Envelope { ok: true, result }))
}

/// The routes, with a body limit for lesson files.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lessons", get(list))
        .route("/api/lessons/{name}/open", post(open_builtin))
        .route("/api/lesson", get(current).post(upload))
        .route("/api/lesson/next", post(next))
        .route("/api/lesson/reveal", post(reveal))
        .route("/api/lesson/back", post(back))
        .route("/api/lesson/close", post(close))
        .layer(DefaultBodyLimit::max(LESSON_BYTES_MAX))
}

/// `GET /api/lessons`: the built-in lessons.
async fn list() -> Json<Vec<Listed>> {
    ok(lesson::listed())
}

/// `POST /api/lessons/{name}/open`.
async fn open_builtin(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let OpenLesson { name, staged, .. } = OpenLesson::builtin(&name).map_err(refused)?;
    let inner = &state.inner;
    ok(inner.lessons.open(&inner.driver, name, staged).await?)
}

/// `POST /api/lesson` with the lesson's text: a teacher's file. A bad file is a 400 whose
/// message names the line.
async fn upload(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let body = body.map_err(|r| {
        ServerError::new(
            r.status(),
            format!(
                "cannot read the lesson (at most {LESSON_BYTES_MAX} bytes): {}",
                r.body_text()
            ),
        )
    })?;
    let OpenLesson { name, staged, .. } = OpenLesson::uploaded(&body).map_err(refused)?;
    let inner = &state.inner;
    ok(inner.lessons.open(&inner.driver, name, staged).await?)
}

/// `GET /api/lesson`: where the open lesson stands (`null` when none is open).
async fn current(State(state): State<AppState>) -> Json<Option<LessonView>> {
    ok(state
        .inner
        .lessons
        .open
        .lock()
        .await
        .as_ref()
        .map(OpenLesson::view))
}

/// `POST /api/lesson/next`: on to the next pause point.
async fn next(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let inner = &state.inner;
    ok(inner.lessons.step(&inner.driver, |o| o.moved(1)).await?)
}

/// `POST /api/lesson/reveal`: run a question's step (only at an `ask` stop).
async fn reveal(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let inner = &state.inner;
    ok(inner
        .lessons
        .step(&inner.driver, OpenLesson::revealed)
        .await?)
}

/// `POST /api/lesson/back`: back to the previous pause point (the cluster goes back too).
async fn back(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let inner = &state.inner;
    ok(inner.lessons.step(&inner.driver, |o| o.moved(-1)).await?)
}

/// `POST /api/lesson/close`: close the lesson (the cluster stays where it is). The cluster
/// sends no snapshot then, so every page hears of it through the `lesson_changed` notice.
async fn close(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Json<bool> {
    admit(&state, addr, false)?;
    let lessons = &state.inner.lessons;
    let mut open = lessons.open.lock().await;
    lessons.predictions.lesson_at(None);
    let was_open = open.take().is_some();
    if was_open {
        lessons.announce();
    }
    ok(was_open)
}
