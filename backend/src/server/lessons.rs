//! The lesson endpoints: `GET /api/lessons`, `POST /api/lessons/{name}/open`, `POST /api/lesson`
//! (a teacher's file), `GET /api/lesson`, `POST /api/lesson/next|back|reveal|close`
//! (docs/api.md, docs/lessons.md). A lesson is staged in memory (`shared::lesson`); moving to
//! one of its pause points makes the live cluster the lesson's trace up to there, through the
//! same path as `POST /api/trace`, paused. Each change is announced to every WebSocket connection
//! (`lesson_changed`), so pages re-read where it stands even when no snapshot comes (a close).
//! Owns which lesson is open and where it stands; must not reach the simulator except through
//! the driver's handle.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::Utf8Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use shared::lesson::{self, Question, Staged, StopKind};
use shared::protocol::{ClientCommand, ServerMessage};
use tokio::sync::{watch, Mutex};

use super::routes::admit;
use super::{AppState, ServerError};
use crate::driver::{to_json, AppendWait, DriverHandle, Input};

/// Largest lesson file accepted (a 50-minute lesson is a few kB).
pub const LESSON_BYTES_MAX: usize = 64 * 1024;

/// The open lesson, if any (one per server: the presenter's).
pub(crate) struct Lessons {
    open: Mutex<Option<Open>>,
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

struct Open {
    /// Built-in name, or "uploaded".
    name: String,
    staged: Staged,
    /// Index into `staged.stops`.
    at: usize,
}

/// A built-in lesson in the list.
#[derive(Serialize)]
struct Listed {
    name: &'static str,
    title: String,
    about: String,
    steps: usize,
}

/// Where the open lesson stands: what the panel shows.
#[derive(Clone, Debug, Serialize)]
pub struct LessonView {
    /// Built-in name, or "uploaded".
    pub name: String,
    /// The lesson's title.
    pub title: String,
    /// Its one-line summary.
    pub about: String,
    /// The pause point (0-based) and how many there are.
    pub stop: usize,
    /// Number of pause points.
    pub stops: usize,
    /// The step (0-based) and how many there are.
    pub step: usize,
    /// Number of steps.
    pub steps: usize,
    /// `ask` (the question, before the step runs) or `shown` (after it ran).
    pub kind: StopKind,
    /// The step's heading.
    pub heading: String,
    /// What to look at (empty at an `ask` stop: the caption belongs to the outcome).
    pub caption: String,
    /// The step's question, if it has one.
    pub question: Option<QuestionView>,
    /// Virtual time the cluster stands at (ms).
    pub time_ms: u64,
}

/// A question; the answer and why only once revealed.
#[derive(Clone, Debug, Serialize)]
pub struct QuestionView {
    /// The question.
    pub text: String,
    /// The choices.
    pub choices: Vec<String>,
    /// Index of the right choice (`null` until revealed).
    pub answer: Option<usize>,
    /// Why (`null` until revealed).
    pub why: Option<String>,
}

fn view(open: &Open) -> LessonView {
    let stop = open.staged.stops[open.at];
    let lesson = &open.staged.lesson;
    let step = &lesson.steps[stop.step];
    let shown = stop.kind == StopKind::Shown;
    LessonView {
        name: open.name.clone(),
        title: lesson.title.clone(),
        about: lesson.about.clone(),
        stop: open.at,
        stops: open.staged.stops.len(),
        step: stop.step,
        steps: lesson.steps.len(),
        kind: stop.kind,
        heading: step.title.clone(),
        caption: if shown {
            step.caption.clone()
        } else {
            String::new()
        },
        question: step.question.as_ref().map(|q: &Question| QuestionView {
            text: q.text.clone(),
            choices: q.choices.clone(),
            answer: shown.then_some(q.answer),
            why: shown.then(|| q.why.clone()),
        }),
        time_ms: stop.at_ms,
    }
}

/// Parse and stage `text`; errors name the line.
pub fn stage_text(text: &str) -> Result<Staged, String> {
    lesson::parse(text)
        .and_then(|l| lesson::stage(&l))
        .map_err(|e| e.to_string())
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
        let new = Open {
            name,
            staged,
            at: 0,
        };
        go_to(driver, &new).await?;
        self.predictions.lesson_opened();
        self.predictions.lesson_at(Some((&new.staged, new.at)));
        let v = view(&new);
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

    /// Move by `delta` pause points (clamped to the lesson).
    async fn step(&self, driver: &DriverHandle, delta: isize) -> Result<LessonView, ServerError> {
        let mut guard = self.open.lock().await;
        let open = guard.as_mut().ok_or_else(none_open)?;
        let last = open.staged.stops.len() - 1;
        let to = open.at.saturating_add_signed(delta).min(last);
        if to == open.at {
            return Err(ServerError::new(
                StatusCode::CONFLICT,
                if delta > 0 {
                    "the lesson is at its last step"
                } else {
                    "the lesson is at its first step"
                },
            ));
        }
        let from = open.at;
        open.at = to;
        if let Err(e) = go_to(driver, open).await {
            open.at = from;
            return Err(e);
        }
        self.predictions.lesson_at(Some((&open.staged, open.at)));
        self.announce();
        Ok(view(open))
    }
}

fn none_open() -> ServerError {
    ServerError::new(
        StatusCode::NOT_FOUND,
        "no lesson is open: GET /api/lessons lists them, POST /api/lessons/{name}/open opens one",
    )
}

/// Make the live cluster the lesson's trace up to its current pause point, paused.
async fn go_to(driver: &DriverHandle, open: &Open) -> Result<(), ServerError> {
    // Pause first, so the run being replaced does not move while the trace is re-executed.
    if !driver.status().await?.paused {
        driver
            .command(Input::Control(ClientCommand::Pause), AppendWait::Appended)
            .await?;
    }
    let stop = open.staged.stops[open.at];
    driver.load_trace(open.staged.trace_to(&stop)).await?;
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
    let listed = lesson::BUILTIN
        .iter()
        .filter_map(|(name, text)| {
            let l = lesson::parse(text).ok()?;
            Some(Listed {
                name,
                title: l.title,
                about: l.about,
                steps: l.steps.len(),
            })
        })
        .collect();
    ok(listed)
}

/// `POST /api/lessons/{name}/open`.
async fn open_builtin(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let text = lesson::builtin(&name).ok_or_else(|| {
        ServerError::new(
            StatusCode::NOT_FOUND,
            format!("there is no built-in lesson '{name}': GET /api/lessons lists them"),
        )
    })?;
    let staged = stage_text(text)
        .map_err(|e| ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{name}: {e}")))?;
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
    let text = std::str::from_utf8(&body)
        .map_err(|_| ServerError::new(StatusCode::BAD_REQUEST, "the lesson is not UTF-8 text"))?;
    let staged = stage_text(text).map_err(|e| ServerError::new(StatusCode::BAD_REQUEST, e))?;
    let inner = &state.inner;
    ok(inner
        .lessons
        .open(&inner.driver, "uploaded".into(), staged)
        .await?)
}

/// `GET /api/lesson`: where the open lesson stands (`null` when none is open).
async fn current(State(state): State<AppState>) -> Json<Option<LessonView>> {
    ok(state.inner.lessons.open.lock().await.as_ref().map(view))
}

/// `POST /api/lesson/next`: on to the next pause point.
async fn next(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let inner = &state.inner;
    ok(inner.lessons.step(&inner.driver, 1).await?)
}

/// `POST /api/lesson/reveal`: run a question's step (only at an `ask` stop).
async fn reveal(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let inner = &state.inner;
    let asking = inner
        .lessons
        .open
        .lock()
        .await
        .as_ref()
        .map(|o| o.staged.stops[o.at].kind == StopKind::Ask);
    match asking {
        None => Err(none_open()),
        Some(false) => Err(ServerError::new(
            StatusCode::CONFLICT,
            "there is no question to reveal here: use next",
        )),
        Some(true) => ok(inner.lessons.step(&inner.driver, 1).await?),
    }
}

/// `POST /api/lesson/back`: back to the previous pause point (the cluster goes back too).
async fn back(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Json<LessonView> {
    admit(&state, addr, false)?;
    let inner = &state.inner;
    ok(inner.lessons.step(&inner.driver, -1).await?)
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
