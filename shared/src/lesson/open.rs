//! An open lesson: which one, where it stands, where Next / Back / Reveal may take it, and what
//! the lesson routes answer (docs/api.md, "Lessons"). Shared by the server's routes
//! (backend/src/server/lessons.rs) and the in-browser engine (engine/src/lessons.rs), so both
//! answer the same JSON, byte for byte, and refuse with the same status and sentence. Owns the
//! answers' shape and the moves' rules; must not move a cluster (the caller loads
//! [`OpenLesson::trace`]) nor do I/O.

use serde::Serialize;

use super::{builtin, parse, stage, Staged, Stop, StopKind, BUILTIN};
use crate::trace::Trace;

/// Largest lesson file accepted (a 50-minute lesson is a few kB).
pub const LESSON_BYTES_MAX: usize = 64 * 1024;

/// The name an uploaded (teacher's) lesson goes by.
pub const UPLOADED: &str = "uploaded";

/// A built-in lesson in the list (`GET /api/lessons`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// What `POST /api/lessons/{name}/open` takes.
    pub name: &'static str,
    /// The lesson's title.
    pub title: String,
    /// Its one-line summary.
    pub about: String,
    /// Number of steps.
    pub steps: usize,
}

/// Where the open lesson stands: what the panel shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// What to look at: at an `ask` stop, only the `say` lines written before the `ask` (what
    /// to look at to answer); the rest belongs to the outcome.
    pub caption: String,
    /// The step's question, if it has one.
    pub question: Option<QuestionView>,
    /// Virtual time the cluster stands at (ms).
    pub time_ms: u64,
    /// At the `shown` stop of a step with a question: the time of its `ask` stop, where the
    /// step's run began, so that a page can play the step again from the run's history (the
    /// reveal jumps there in one move). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_from_ms: Option<u64>,
}

/// A question; the answer and why only once revealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// Why a lesson route refuses: its HTTP status ([`Refusal::status`]) and the sentence of the
/// error envelope (`Display`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No lesson is open (404).
    #[error(
        "no lesson is open: GET /api/lessons lists them, POST /api/lessons/{{name}}/open opens one"
    )]
    NoneOpen,
    /// No built-in lesson has this name (404).
    #[error("there is no built-in lesson '{0}': GET /api/lessons lists them")]
    NoBuiltin(String),
    /// A built-in lesson that does not stage (500: a bug of ours, not the user's).
    #[error("{0}")]
    BrokenBuiltin(String),
    /// A teacher's file that does not stage (400); the sentence names the line.
    #[error("{0}")]
    BadFile(String),
    /// A body that is not UTF-8 (400).
    #[error("the lesson is not UTF-8 text")]
    NotText,
    /// Next (or Reveal) at the last pause point (409).
    #[error("the lesson is at its last step")]
    AtLast,
    /// Back at the first pause point (409).
    #[error("the lesson is at its first step")]
    AtFirst,
    /// Reveal where no question waits (409).
    #[error("there is no question to reveal here: use next")]
    NothingToReveal,
}

impl Refusal {
    /// The HTTP status the routes answer with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::NoneOpen | Refusal::NoBuiltin(_) => 404,
            Refusal::BrokenBuiltin(_) => 500,
            Refusal::BadFile(_) | Refusal::NotText => 400,
            Refusal::AtLast | Refusal::AtFirst | Refusal::NothingToReveal => 409,
        }
    }
}

/// The built-in lessons, for the picker (a built-in that does not parse is left out; the tests
/// stage every one).
pub fn listed() -> Vec<Listed> {
    BUILTIN
        .iter()
        .filter_map(|(name, text)| {
            let l = parse(text).ok()?;
            Some(Listed {
                name,
                title: l.title,
                about: l.about,
                steps: l.steps.len(),
            })
        })
        .collect()
}

/// Parse and stage `text`; errors name the line.
pub fn stage_text(text: &str) -> Result<Staged, String> {
    parse(text)
        .and_then(|l| stage(&l))
        .map_err(|e| e.to_string())
}

/// A lesson opened, standing at one of its pause points.
#[derive(Clone, Debug)]
pub struct OpenLesson {
    /// Built-in name, or [`UPLOADED`].
    pub name: String,
    /// The lesson, staged.
    pub staged: Staged,
    /// Index into `staged.stops`.
    pub at: usize,
}

impl OpenLesson {
    /// `staged`, at its first pause point.
    pub fn new(name: impl Into<String>, staged: Staged) -> OpenLesson {
        OpenLesson {
            name: name.into(),
            staged,
            at: 0,
        }
    }

    /// The built-in lesson `name`, staged, at its first pause point.
    pub fn builtin(name: &str) -> Result<OpenLesson, Refusal> {
        let text = builtin(name).ok_or_else(|| Refusal::NoBuiltin(name.to_string()))?;
        let staged =
            stage_text(text).map_err(|e| Refusal::BrokenBuiltin(format!("{name}: {e}")))?;
        Ok(OpenLesson::new(name, staged))
    }

    /// A teacher's file (the body of `POST /api/lesson`), staged, at its first pause point.
    pub fn uploaded(body: &[u8]) -> Result<OpenLesson, Refusal> {
        let text = std::str::from_utf8(body).map_err(|_| Refusal::NotText)?;
        let staged = stage_text(text).map_err(Refusal::BadFile)?;
        Ok(OpenLesson::new(UPLOADED, staged))
    }

    /// The pause point it stands at.
    pub fn stop(&self) -> Stop {
        self.staged.stops[self.at]
    }

    /// What the cluster must be here: the lesson's trace up to this pause point (loaded, then
    /// paused).
    pub fn trace(&self) -> Trace {
        self.staged.trace_to(&self.stop())
    }

    /// The pause point `delta` away (clamped to the lesson), or why the lesson cannot move.
    pub fn moved(&self, delta: isize) -> Result<usize, Refusal> {
        let last = self.staged.stops.len() - 1;
        let to = self.at.saturating_add_signed(delta).min(last);
        if to == self.at {
            return Err(if delta > 0 {
                Refusal::AtLast
            } else {
                Refusal::AtFirst
            });
        }
        Ok(to)
    }

    /// Where Reveal goes: the step's own stop, right after its question (only at an `ask`).
    pub fn revealed(&self) -> Result<usize, Refusal> {
        if self.stop().kind != StopKind::Ask {
            return Err(Refusal::NothingToReveal);
        }
        self.moved(1)
    }

    /// What the routes answer: where the lesson stands, the answer shown only after the step
    /// ran.
    pub fn view(&self) -> LessonView {
        let stop = self.stop();
        let lesson = &self.staged.lesson;
        let step = &lesson.steps[stop.step];
        let shown = stop.kind == StopKind::Shown;
        LessonView {
            name: self.name.clone(),
            title: lesson.title.clone(),
            about: lesson.about.clone(),
            stop: self.at,
            stops: self.staged.stops.len(),
            step: stop.step,
            steps: lesson.steps.len(),
            kind: stop.kind,
            heading: step.title.clone(),
            caption: if shown {
                step.caption.clone()
            } else {
                step.setup.clone()
            },
            question: step.question.as_ref().map(|q| QuestionView {
                text: q.text.clone(),
                choices: q.choices.clone(),
                answer: shown.then_some(q.answer),
                why: shown.then(|| q.why.clone()),
            }),
            time_ms: stop.at_ms,
            // A step with a question pauses twice: its ask stop comes right before.
            step_from_ms: (shown && step.question.is_some())
                .then(|| self.at.checked_sub(1))
                .flatten()
                .map(|before| self.staged.stops[before].at_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_listed_and_opens() {
        let list = listed();
        assert_eq!(list.len(), BUILTIN.len(), "a built-in does not parse");
        let open = OpenLesson::builtin(list[0].name).expect("stages");
        assert_eq!(open.view().stop, 0);
        assert_eq!(
            OpenLesson::builtin("nope").unwrap_err().status(),
            404,
            "unknown name"
        );
    }

    #[test]
    fn moves_stay_inside_the_lesson_and_reveal_only_at_a_question() {
        let mut open = OpenLesson::builtin("first-election").expect("stages");
        assert_eq!(open.moved(-1), Err(Refusal::AtFirst));
        let mut revealed = 0;
        loop {
            let view = open.view();
            let before = open.stop().kind;
            match open.revealed() {
                Ok(to) => {
                    assert_eq!(before, StopKind::Ask);
                    open.at = to;
                    let q = open
                        .view()
                        .question
                        .expect("the revealed step has a question");
                    assert!(q.answer.is_some() && q.why.is_some(), "revealed");
                    revealed += 1;
                    continue;
                }
                Err(e) => assert_eq!(e, Refusal::NothingToReveal),
            }
            assert!(view.question.as_ref().is_none_or(|q| q.answer.is_some()));
            match open.moved(1) {
                Ok(to) => open.at = to,
                Err(e) => {
                    assert_eq!(e, Refusal::AtLast);
                    assert_eq!(e.status(), 409);
                    break;
                }
            }
        }
        assert!(revealed > 0, "first-election asks something");
        assert_eq!(open.at, open.staged.stops.len() - 1);
        assert_eq!(open.trace().end_ms, open.stop().at_ms);
    }

    #[test]
    fn a_bad_file_is_a_400_naming_the_line() {
        let e = OpenLesson::uploaded(b"title x\nnodes 3\n\nstep one\ncrsh S1\n").unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().starts_with("line 5:"), "{e}");
        assert_eq!(OpenLesson::uploaded(&[0xff]).unwrap_err(), Refusal::NotText);
    }

    #[test]
    fn a_revealed_step_says_where_its_run_began() {
        let mut open = OpenLesson::builtin("first-election").expect("stages");
        let asked_at = open.view().time_ms;
        assert_eq!(open.view().step_from_ms, None, "not at the ask stop");
        open.at = open.revealed().expect("a question to reveal");
        let view = open.view();
        assert_eq!(view.step_from_ms, Some(asked_at));
        assert!(view.time_ms > asked_at, "the step ran");
        // The next step has no question: nothing to play again.
        open.at = open.moved(1).expect("a next step");
        assert_eq!(open.view().step_from_ms, None);
    }

    #[test]
    fn an_ask_stop_hides_the_answer_and_the_caption_after_the_question() {
        let open = OpenLesson::builtin("first-election").expect("stages");
        let json = serde_json::to_string(&open.view()).expect("serializes");
        assert_eq!(open.stop().kind, StopKind::Ask);
        assert!(json.contains(r#""kind":"ask""#), "{json}");
        assert!(json.contains(r#""answer":null,"why":null"#), "{json}");
        // What to look at to answer is said with the question (the rings' timers).
        assert!(json.contains("Look at the rings"), "{json}");
        // A `say` after the `ask` waits for the reveal.
        let text = "title t\nnodes 3\n\nstep s\nsay Before.\nask Q?\ncorrect a\nchoice b\n\
                    why w\nsay After.\ntimeout S1\nrun until leader elected\n";
        let open = OpenLesson::uploaded(text.as_bytes()).expect("a lesson");
        assert_eq!(open.view().caption, "Before.");
        assert!(json.starts_with(r#"{"name":"first-election","title":"#));
    }
}
