//! The lesson panel's logic, plain Rust (tested natively): the server's answers about lessons
//! (docs/api.md, "Lessons") as types, the `{ok, result | error}` envelope, and what the panel
//! says about a prediction. Must not touch the browser (`components::lessons` does).

use crate::wire::{Fields, FromJson, Json};

/// A built-in lesson in the picker (`GET /api/lessons`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// What `POST /api/lessons/{name}/open` takes.
    pub name: String,
    /// Shown.
    pub title: String,
    /// One line under the title.
    pub about: String,
    /// Number of steps.
    pub steps: usize,
}

/// Where the open lesson stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonView {
    /// Built-in name or "uploaded".
    pub name: String,
    /// The lesson's title.
    pub title: String,
    /// Pause point (0-based) and their number.
    pub stop: usize,
    /// Number of pause points.
    pub stops: usize,
    /// Step (0-based) and their number.
    pub step: usize,
    /// Number of steps.
    pub steps: usize,
    /// `ask` or `shown`.
    pub kind: String,
    /// The step's heading.
    pub heading: String,
    /// What to look at.
    pub caption: String,
    /// The step's question.
    pub question: Option<QuestionView>,
    /// Virtual time of the pause point (ms).
    pub time_ms: u64,
    /// At a revealed step: the time of its question's pause point, where the step's run began.
    pub step_from_ms: Option<u64>,
}

/// A question; `answer` and `why` once revealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionView {
    /// The question.
    pub text: String,
    /// The choices.
    pub choices: Vec<String>,
    /// The right choice, once revealed.
    pub answer: Option<usize>,
    /// Why, once revealed.
    pub why: Option<String>,
}

impl LessonView {
    /// Paused before the step, asking its question.
    pub fn asking(&self) -> bool {
        self.kind == "ask"
    }

    /// "Step 2 of 5".
    pub fn progress(&self) -> String {
        format!("Step {} of {}", self.step + 1, self.steps)
    }

    /// Can Back / Next move?
    pub fn can_back(&self) -> bool {
        self.stop > 0
    }

    /// Next is offered when there is a stop after this one and no question waits for a reveal.
    pub fn can_next(&self) -> bool {
        self.stop + 1 < self.stops && !self.asking()
    }

    /// What the panel says once the answer is known: right or wrong, for the choice the user
    /// picked (`None`: they did not predict).
    pub fn verdict(&self, picked: Option<usize>) -> Option<String> {
        let q = self.question.as_ref()?;
        let answer = q.answer?;
        let right = q.choices.get(answer)?;
        Some(match picked {
            Some(p) if p == answer => format!("Right: {right}."),
            // Not "the answer is {right}": a choice can be a sentence of its own ("The leader …").
            Some(_) => format!("Not quite. The answer: {right}."),
            None => format!("The answer: {right}."),
        })
    }
}

impl FromJson for Listed {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a lesson")?;
        Ok(Listed {
            name: f.get("name")?,
            title: f.get("title")?,
            about: f.or_default("about")?,
            steps: f.get("steps")?,
        })
    }
}

impl FromJson for LessonView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a lesson's state")?;
        Ok(LessonView {
            name: f.get("name")?,
            title: f.get("title")?,
            stop: f.get("stop")?,
            stops: f.get("stops")?,
            step: f.get("step")?,
            steps: f.get("steps")?,
            kind: f.get("kind")?,
            heading: f.get("heading")?,
            caption: f.or_default("caption")?,
            question: f.get("question")?,
            time_ms: f.or_default("time_ms")?,
            step_from_ms: f.or_default("step_from_ms")?,
        })
    }
}

impl FromJson for QuestionView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a question")?;
        Ok(QuestionView {
            text: f.get("text")?,
            choices: f.get("choices")?,
            answer: f.get("answer")?,
            why: f.get("why")?,
        })
    }
}

/// The server's envelope: `{"ok":true,"result":…}` or `{"ok":false,"error":"…"}`.
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
    error: Option<String>,
}

impl<T: FromJson> FromJson for Envelope<T> {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "an answer")?;
        Ok(Envelope {
            ok: f.get("ok")?,
            result: f.get("result")?,
            error: f.get("error")?,
        })
    }
}

/// The result of a lesson route, or the server's sentence (a teacher's file: "line 5: …").
pub fn read_reply<T: FromJson>(text: &str) -> Result<T, String> {
    let envelope: Envelope<T> = crate::wire::read(text)
        .map_err(|e| format!("the server's answer could not be read: {e}"))?;
    match (envelope.ok, envelope.result, envelope.error) {
        (true, Some(result), _) => Ok(result),
        (_, _, Some(error)) => Err(error),
        _ => Err("the server answered without a result".into()),
    }
}

/// `GET /api/lesson`: `null` when no lesson is open.
pub fn read_current(text: &str) -> Result<Option<LessonView>, String> {
    let envelope: Envelope<Option<LessonView>> = crate::wire::read(text)
        .map_err(|e| format!("the server's answer could not be read: {e}"))?;
    match (envelope.ok, envelope.error) {
        (true, _) => Ok(envelope.result.flatten()),
        (false, e) => Err(e.unwrap_or_else(|| "the server refused".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASK: &str = r#"{"ok":true,"result":{"name":"first-election","title":"First election",
        "about":"x","stop":0,"stops":3,"step":0,"steps":2,"kind":"ask","heading":"Start",
        "caption":"","question":{"text":"Who?","choices":["S1","S2"],"answer":null,"why":null},
        "time_ms":0}}"#;

    #[test]
    fn an_ask_stop_offers_reveal_not_next_and_no_verdict() {
        let v: LessonView = read_reply(ASK).unwrap();
        assert!(v.asking());
        assert!(!v.can_next() && !v.can_back());
        assert_eq!(v.progress(), "Step 1 of 2");
        assert_eq!(v.verdict(Some(0)), None, "not revealed yet");
    }

    #[test]
    fn a_revealed_answer_says_right_or_not() {
        let text = ASK
            .replace(r#""kind":"ask""#, r#""kind":"shown""#)
            .replace(r#""stop":0"#, r#""stop":1"#)
            .replace(
                r#""answer":null,"why":null"#,
                r#""answer":1,"why":"timers""#,
            )
            .replace(r#""time_ms":0"#, r#""time_ms":180,"step_from_ms":0"#);
        let v: LessonView = read_reply(&text).unwrap();
        assert!(v.can_next() && v.can_back());
        // Where the step's run began, for "Watch the step".
        assert_eq!((v.step_from_ms, v.time_ms), (Some(0), 180));
        assert_eq!(read_reply::<LessonView>(ASK).unwrap().step_from_ms, None);
        assert_eq!(v.verdict(Some(1)).unwrap(), "Right: S2.");
        assert_eq!(v.verdict(Some(0)).unwrap(), "Not quite. The answer: S2.");
        assert_eq!(v.verdict(None).unwrap(), "The answer: S2.");
    }

    #[test]
    fn an_error_envelope_gives_the_servers_sentence() {
        let e =
            read_reply::<LessonView>(r#"{"ok":false,"error":"line 5: unknown command 'crsh'"}"#);
        assert_eq!(e.unwrap_err(), "line 5: unknown command 'crsh'");
        assert_eq!(read_current(r#"{"ok":true,"result":null}"#).unwrap(), None);
        assert!(read_reply::<Vec<Listed>>("<html>").is_err());
    }
}
