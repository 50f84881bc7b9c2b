//! The lesson routes answered by the browser's own run, so a page with no server runs lessons
//! too: `GET /api/lessons`, `POST /api/lessons/{name}/open`, `POST /api/lesson` (a teacher's
//! file), `GET /api/lesson`, `POST /api/lesson/next|back|reveal|close`, with the server's status
//! codes and `{ok, result | error}` envelopes (docs/api.md, "Lessons"). What a lesson is and how
//! it moves comes from `shared::lesson` (the server's routes use the same), so the answers are
//! the server's byte for byte. Moving to a pause point makes the session's cluster the lesson's
//! trace up to there, paused, and sends the page a `Snapshot`. Owns the routing of the worker's
//! API channel; must not pace time nor touch the browser (`worker.rs` carries the messages).

use serde::Serialize;
use shared::lesson::{listed, LessonView, OpenLesson, Refusal, LESSON_BYTES_MAX};
use shared::protocol::ServerMessage;

use super::session::Session;

/// One answer on the API channel: the HTTP status the server would answer with, and its JSON
/// body (`{"ok":true,"result":…}` or `{"ok":false,"error":"…"}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiReply {
    /// 200, or the refusal's status (400, 404, 409…).
    pub status: u16,
    /// The envelope, as JSON text.
    pub body: String,
}

/// The server's success envelope (a struct, so `ok` comes first, as the server writes it).
#[derive(Serialize)]
pub(super) struct Ok<T> {
    pub(super) ok: bool,
    pub(super) result: T,
}

/// The server's error envelope.
#[derive(Serialize)]
pub(super) struct Error<'a> {
    pub(super) ok: bool,
    pub(super) error: &'a str,
}

/// A route's outcome: its answer, or a status and a sentence.
type Answer = Result<ApiReply, (u16, String)>;

fn ok<T: Serialize>(result: T) -> Answer {
    serde_json::to_string(&Ok { ok: true, result })
        .map(|body| ApiReply { status: 200, body })
        .map_err(|e| (500, e.to_string()))
}

fn refused(r: Refusal) -> (u16, String) {
    (r.status(), r.to_string())
}

impl Session {
    /// Answer one call of the page's API channel (`method`, `path` as the page would fetch it,
    /// with or without its leading `/`, and the request's body), at wall time `wall_ms`.
    /// Returns the answer and what the page must hear first: the old run's last events and the
    /// `Snapshot` of the lesson's stop when the cluster moved. A route the browser's run does not
    /// know is a 404 with a sentence, as for a server that lacks it.
    pub fn api(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        wall_ms: f64,
    ) -> (ApiReply, Vec<ServerMessage>) {
        let path = path.trim_start_matches('/');
        // The timeline's routes (`history.rs`) read the query string; the lessons' take none.
        if let Some((status, body)) = self.history_api(method, path, body, wall_ms) {
            return (ApiReply { status, body }, std::mem::take(&mut self.out));
        }
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let reply = self
            .route(method, path, body, wall_ms)
            .unwrap_or_else(|(status, error)| {
                let body = serde_json::to_string(&Error {
                    ok: false,
                    error: &error,
                })
                .unwrap_or_default();
                ApiReply { status, body }
            });
        (reply, std::mem::take(&mut self.out))
    }

    /// The lesson open in this page, if any.
    pub fn lesson(&self) -> Option<LessonView> {
        self.lesson.as_ref().map(OpenLesson::view)
    }

    fn route(&mut self, method: &str, path: &str, body: Option<&str>, wall_ms: f64) -> Answer {
        match (method, path) {
            ("GET", "api/lessons") => ok(listed()),
            ("GET", "api/lesson") => ok(self.lesson()),
            ("POST", "api/lesson") => {
                let body = body.unwrap_or_default();
                if body.len() > LESSON_BYTES_MAX {
                    return Err((
                        413,
                        format!(
                            "cannot read the lesson (at most {LESSON_BYTES_MAX} bytes): it has {}",
                            body.len()
                        ),
                    ));
                }
                let open = OpenLesson::uploaded(body.as_bytes()).map_err(refused)?;
                self.open_lesson(open, wall_ms)
            }
            ("POST", "api/lesson/next") => self.move_lesson(|o| o.moved(1), wall_ms),
            ("POST", "api/lesson/back") => self.move_lesson(|o| o.moved(-1), wall_ms),
            ("POST", "api/lesson/reveal") => self.move_lesson(OpenLesson::revealed, wall_ms),
            // The cluster stays where the lesson left it.
            ("POST", "api/lesson/close") => ok(self.lesson.take().is_some()),
            ("POST", _) if builtin_name(path).is_some() => {
                let name = builtin_name(path).unwrap_or_default();
                let open = OpenLesson::builtin(name).map_err(refused)?;
                self.open_lesson(open, wall_ms)
            }
            _ => Err((
                404,
                format!(
                    "the cluster running in your browser does not answer {method} /{path}: only a \
                     logscope server does"
                ),
            )),
        }
    }

    /// Open `open` (replacing any lesson): the cluster goes to its first pause point.
    fn open_lesson(&mut self, open: OpenLesson, wall_ms: f64) -> Answer {
        self.become_trace(open.trace(), wall_ms)
            .map_err(|e| (400, e))?;
        let view = open.view();
        self.lesson = Some(open);
        ok(view)
    }

    /// Move the open lesson to the pause point `to` picks; the cluster follows.
    fn move_lesson(
        &mut self,
        to: impl FnOnce(&OpenLesson) -> Result<usize, Refusal>,
        wall_ms: f64,
    ) -> Answer {
        let open = self
            .lesson
            .as_mut()
            .ok_or_else(|| refused(Refusal::NoneOpen))?;
        let from = open.at;
        open.at = to(open).map_err(refused)?;
        let trace = open.trace();
        if let Err(e) = self.become_trace(trace, wall_ms) {
            // As on the server: a move that fails leaves the lesson where it stood.
            if let Some(open) = self.lesson.as_mut() {
                open.at = from;
            }
            return Err((400, e));
        }
        ok(self.lesson())
    }
}

/// `api/lessons/{name}/open` → `name`.
fn builtin_name(path: &str) -> Option<&str> {
    path.strip_prefix("api/lessons/")?
        .strip_suffix("/open")
        .filter(|name| !name.is_empty() && !name.contains('/'))
}
