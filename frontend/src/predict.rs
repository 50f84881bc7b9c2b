//! The classroom's predictions on the page, plain Rust (tested natively): the question the
//! server says a lesson asks now, this viewer's own pick, and what a choice's row shows — its
//! count and share of the room, the right answer once revealed. Must not touch Leptos or the
//! browser (`components::prediction` draws it).

use shared::protocol::PredictionView;

/// What this page knows of the question asked now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prediction {
    /// The question and (for the presenter, or once revealed) its tally; `None`: none asked.
    pub view: Option<PredictionView>,
    /// This viewer's pick at that question (sent to the server).
    pub picked: Option<usize>,
    /// The pick made before the connection was lost, `(question, choice)`: the new connection
    /// has no answer on the server, so it is sent again if the same question is still open.
    unsent: Option<(u64, usize)>,
}

/// One choice as a row of the question card or the tally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The choice's text.
    pub label: String,
    /// How many picked it, when the tally is shown.
    pub count: Option<u32>,
    /// Its share of the answers, in whole percent (0 with no answers).
    pub percent: u32,
    /// The right answer (once revealed).
    pub right: bool,
    /// This page's pick.
    pub picked: bool,
}

impl Prediction {
    /// The server's newest `prediction`. A new question forgets the pick made at the last one.
    /// Returns an answer to send again, `(question, choice)`, when this is the question a pick
    /// was made at before a reconnect and it is still open (the pick shows again once sent).
    pub fn on_message(&mut self, view: Option<PredictionView>) -> Option<(u64, usize)> {
        let same = |v: &Option<PredictionView>| v.as_ref().map(|v| v.question);
        if same(&view) != same(&self.view) {
            self.picked = None;
        }
        let open = view.as_ref().filter(|v| v.open).map(|v| v.question);
        self.view = view;
        match self.unsent.take() {
            Some((question, choice)) if open == Some(question) => Some((question, choice)),
            _ => None,
        }
    }

    /// A new connection: the server has no answer from this page yet. The pick is not shown as
    /// given; it is kept to send again ([`Prediction::on_message`]).
    pub fn on_reconnect(&mut self) {
        let question = self.view.as_ref().map(|v| v.question);
        if let (Some(question), Some(choice)) = (question, self.picked.take()) {
            self.unsent = Some((question, choice));
        }
    }

    /// Answers are taken now.
    pub fn open(&self) -> bool {
        self.view.as_ref().is_some_and(|v| v.open)
    }

    /// The choices' rows.
    pub fn rows(&self) -> Vec<Row> {
        let Some(v) = &self.view else {
            return Vec::new();
        };
        let answered = v.tally.as_ref().map_or(0, |t| t.answered);
        v.choices
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let count = v
                    .tally
                    .as_ref()
                    .map(|t| t.counts.get(i).copied().unwrap_or(0));
                let percent = match (count, answered) {
                    (Some(c), a) if a > 0 => (c * 100 + a / 2) / a,
                    _ => 0,
                };
                Row {
                    label: label.clone(),
                    count,
                    percent,
                    right: v.answer == Some(i),
                    picked: self.picked == Some(i),
                }
            })
            .collect()
    }

    /// "1 of 3 answered", when the tally is shown.
    pub fn summary(&self) -> Option<String> {
        Some(self.view.as_ref()?.tally.as_ref()?.summary())
    }

    /// What a viewer's card says under the choices.
    pub fn viewer_status(&self) -> String {
        let Some(v) = &self.view else {
            return String::new();
        };
        let picked = self.picked.and_then(|p| v.choices.get(p));
        match (v.answer.and_then(|a| v.choices.get(a)), picked) {
            (None, None) => "Pick your answer: the presenter reveals it in a moment.".into(),
            (None, Some(p)) => format!("Your answer: {p}. You can change it until the reveal."),
            (Some(right), Some(p)) if p == right => format!("Right: {right}."),
            (Some(right), Some(_)) => format!("Not quite: the answer is {right}."),
            (Some(right), None) => format!("The answer: {right}."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::Tally;

    fn asked(question: u64, tally: Option<Tally>, answer: Option<usize>) -> PredictionView {
        PredictionView {
            question,
            text: "Who?".into(),
            choices: vec!["S1".into(), "S2".into(), "S3".into()],
            open: answer.is_none(),
            answer,
            why: None,
            tally,
        }
    }

    #[test]
    fn a_new_question_forgets_the_pick_and_the_same_one_keeps_it() {
        let mut p = Prediction::default();
        p.on_message(Some(asked(1, None, None)));
        p.picked = Some(1);
        assert_eq!(
            p.viewer_status(),
            "Your answer: S2. You can change it until the reveal."
        );
        p.on_message(Some(asked(1, None, Some(1))));
        assert_eq!(p.picked, Some(1), "the reveal of the same question");
        assert_eq!(p.viewer_status(), "Right: S2.");
        assert!(!p.open());
        p.on_message(Some(asked(2, None, None)));
        assert_eq!(p.picked, None);
        p.on_message(None);
        assert!(p.rows().is_empty() && p.summary().is_none());
    }

    #[test]
    fn a_reconnected_viewer_answers_again_only_while_the_same_question_is_open() {
        let mut p = Prediction::default();
        p.on_message(Some(asked(4, None, None)));
        p.picked = Some(2);
        p.on_reconnect();
        assert_eq!(p.picked, None, "not shown as given on the new connection");
        assert_eq!(p.on_message(Some(asked(4, None, None))), Some((4, 2)));
        assert_eq!(p.on_message(Some(asked(4, None, None))), None, "sent once");

        // Revealed meanwhile, or moved on: nothing to send.
        p.picked = Some(1);
        p.on_reconnect();
        assert_eq!(p.on_message(Some(asked(4, None, Some(0)))), None);
        p.picked = Some(1);
        p.on_reconnect();
        assert_eq!(p.on_message(Some(asked(5, None, None))), None);
        assert_eq!(p.on_message(Some(asked(4, None, None))), None, "forgotten");
        // No pick, nothing kept.
        p.on_reconnect();
        assert_eq!(p.on_message(Some(asked(4, None, None))), None);
    }

    #[test]
    fn rows_show_counts_shares_and_the_right_answer() {
        let tally = Tally {
            counts: vec![1, 2, 0],
            answered: 3,
            viewers: 4,
        };
        let mut p = Prediction::default();
        p.on_message(Some(asked(1, Some(tally), Some(0))));
        p.picked = Some(2);
        let rows = p.rows();
        assert_eq!(
            rows.iter().map(|r| r.count).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(0)]
        );
        assert_eq!(
            rows.iter().map(|r| r.percent).collect::<Vec<_>>(),
            [33, 67, 0]
        );
        assert!(rows[0].right && !rows[1].right && rows[2].picked);
        assert_eq!(p.summary().unwrap(), "3 of 4 answered");
        assert_eq!(p.viewer_status(), "Not quite: the answer is S1.");
        // Before anyone answers, no division by zero.
        p.on_message(Some(asked(
            1,
            Some(Tally {
                counts: vec![0; 3],
                answered: 0,
                viewers: 2,
            }),
            None,
        )));
        assert!(p.rows().iter().all(|r| r.percent == 0));
    }
}
