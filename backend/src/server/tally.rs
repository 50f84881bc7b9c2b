//! The prediction tally (issue 11): while a lesson step asks a question, every viewer
//! connection may answer it once (and change its answer until the reveal); the presenter's
//! connections see the tally live, viewers see it with the right answer once revealed. Owns the
//! answers and the two `prediction` messages; must not touch the cluster nor the lesson itself
//! (the lesson routes tell it where the lesson stands).
//!
//! # Bounded
//!
//! One answer per viewer connection (a map keyed by the connection's [`Seat`]), so at most one
//! entry per open WebSocket; a connection that closes takes its answer with it. Moving to
//! another step, opening or closing a lesson drops every answer. The messages go out through
//! `watch` channels: a connection sends only the newest, so a thousand answers arriving at once
//! never queue a thousand messages anywhere. Viewers' message changes only when the question or
//! its reveal does, so answers wake only the presenter's connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use shared::lesson::{Staged, StopKind};
use shared::protocol::{CommandOk, PredictionView, ServerMessage, Tally};
use tokio::sync::watch;

use crate::driver::{to_json, CommandError};

/// The newest `prediction` message for one kind of connection (`None`: no question was ever
/// asked, so a connection that joins is sent nothing).
pub(crate) type Published = watch::Receiver<Option<Utf8Bytes>>;

/// The tally, shared by the lesson routes and every WebSocket connection.
#[derive(Debug)]
pub(crate) struct Predictions {
    state: Mutex<State>,
    to_presenters: watch::Sender<Option<Utf8Bytes>>,
    to_viewers: watch::Sender<Option<Utf8Bytes>>,
}

#[derive(Debug, Default)]
struct State {
    asked: Option<Asked>,
    /// Bumped when a lesson opens: the same step of another lesson is another question.
    lesson: u64,
    /// The last question id given.
    last_id: u64,
    /// The last seat id given.
    last_seat: u64,
    /// Viewer connections open now.
    seats: u32,
    /// Each seated viewer's choice at the current question.
    answers: HashMap<u64, usize>,
    /// What viewers were last sent (they are sent again only when it changes).
    viewers_view: Option<PredictionView>,
}

#[derive(Debug)]
struct Asked {
    /// (lesson, step): the question's identity across the ask and the reveal.
    key: (u64, usize),
    id: u64,
    text: String,
    choices: Vec<String>,
    answer: usize,
    why: String,
    revealed: bool,
    /// The tally as it stood at the reveal: what viewers are shown (a viewer joining or leaving
    /// afterwards does not make every viewer's page redraw).
    at_reveal: Option<Tally>,
}

/// A viewer connection's place in the room: it may answer, and it counts among "connected".
/// Dropping it (the connection closed) removes its answer.
#[derive(Debug)]
pub(crate) struct Seat {
    id: u64,
    predictions: Arc<Predictions>,
}

impl Seat {
    /// This viewer's answer to question `question`.
    pub(crate) fn answer(&self, question: u64, choice: usize) -> Result<CommandOk, CommandError> {
        self.predictions.answer(self, question, choice)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let p = &self.predictions;
        let mut s = p.lock();
        s.seats = s.seats.saturating_sub(1);
        s.answers.remove(&self.id);
        p.publish(&mut s);
    }
}

impl Default for Predictions {
    fn default() -> Self {
        Predictions {
            state: Mutex::new(State::default()),
            to_presenters: watch::Sender::new(None),
            to_viewers: watch::Sender::new(None),
        }
    }
}

impl Predictions {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic mid-update of plain counters; still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seat a viewer connection.
    pub(crate) fn seat(self: &Arc<Self>) -> Seat {
        let mut s = self.lock();
        s.last_seat += 1;
        s.seats += 1;
        let id = s.last_seat;
        self.publish(&mut s);
        Seat {
            id,
            predictions: self.clone(),
        }
    }

    /// The messages for a connection: the live tally for a presenter, the question (and the
    /// tally once revealed) for a viewer. The current one is sent at once if a question was
    /// ever asked.
    pub(crate) fn subscribe(&self, presenter: bool) -> Published {
        let mut rx = if presenter {
            self.to_presenters.subscribe()
        } else {
            self.to_viewers.subscribe()
        };
        rx.mark_changed();
        rx
    }

    /// A lesson opened: whatever it asks is a new question, even at the same step number.
    pub(crate) fn lesson_opened(&self) {
        let mut s = self.lock();
        s.lesson += 1;
    }

    /// The lesson stands at pause point `at` of `staged` (`None`: no lesson is open).
    pub(crate) fn lesson_at(&self, lesson: Option<(&Staged, usize)>) {
        let mut s = self.lock();
        let asked = lesson.and_then(|(staged, at)| {
            let stop = staged.stops[at];
            let q = staged.lesson.steps[stop.step].question.as_ref()?;
            Some((
                stop.step,
                q.text.clone(),
                q.choices.clone(),
                q.answer,
                q.why.clone(),
                stop.kind == StopKind::Shown,
            ))
        });
        match asked {
            None => {
                s.asked = None;
                s.answers.clear();
            }
            Some((step, text, choices, answer, why, revealed)) => {
                let key = (s.lesson, step);
                let tally = s.tally(choices.len());
                if let Some(a) = s.asked.as_mut().filter(|a| a.key == key) {
                    // The same question, asked again (back) or revealed: answers stay.
                    a.revealed = revealed;
                    a.at_reveal = revealed.then_some(tally);
                } else {
                    s.last_id += 1;
                    s.answers.clear();
                    s.asked = Some(Asked {
                        key,
                        id: s.last_id,
                        text,
                        choices,
                        answer,
                        why,
                        revealed,
                        at_reveal: revealed.then(Tally::default),
                    });
                }
            }
        }
        self.publish(&mut s);
    }

    /// A viewer's answer to question `question`.
    pub(crate) fn answer(
        &self,
        seat: &Seat,
        question: u64,
        choice: usize,
    ) -> Result<CommandOk, CommandError> {
        let mut s = self.lock();
        let Some(asked) = s.asked.as_ref() else {
            return Err(CommandError::conflict(
                "no question is asked now: answers are taken while a lesson step asks one",
            ));
        };
        if asked.id != question {
            return Err(CommandError::conflict(
                "that question is over: answer the one on the screen now",
            ));
        }
        if asked.revealed {
            return Err(CommandError::conflict(
                "the answer has been revealed: answers are closed",
            ));
        }
        let Some(label) = asked.choices.get(choice) else {
            return Err(CommandError::invalid(format!(
                "there is no choice {choice}: the question has {} (0 to {})",
                asked.choices.len(),
                asked.choices.len().saturating_sub(1)
            )));
        };
        let message = format!("your answer: {label} (you may change it until the reveal)");
        s.answers.insert(seat.id, choice);
        self.publish(&mut s);
        Ok(CommandOk {
            message: Some(message),
            ..CommandOk::default()
        })
    }

    /// Send the state to both kinds of connection (viewers only when theirs changed).
    fn publish(&self, s: &mut State) {
        let presenters = s.view(true);
        let viewers = s.view(false);
        if presenters.is_none() && self.to_presenters.borrow().is_none() {
            // No question was ever asked: a viewer joining or leaving says nothing.
            return;
        }
        let message = |prediction| Some(to_json(&ServerMessage::Prediction { prediction }));
        let presenters = message(presenters);
        self.to_presenters.send_if_modified(|m| {
            let changed = *m != presenters;
            *m = presenters;
            changed
        });
        if s.viewers_view != viewers || self.to_viewers.borrow().is_none() {
            s.viewers_view = viewers.clone();
            self.to_viewers.send_replace(message(viewers));
        }
    }
}

impl State {
    fn tally(&self, choices: usize) -> Tally {
        let mut counts = vec![0u32; choices];
        for &c in self.answers.values() {
            if let Some(n) = counts.get_mut(c) {
                *n += 1;
            }
        }
        Tally {
            answered: counts.iter().sum(),
            counts,
            viewers: self.seats,
        }
    }

    fn view(&self, presenter: bool) -> Option<PredictionView> {
        let a = self.asked.as_ref()?;
        Some(PredictionView {
            question: a.id,
            text: a.text.clone(),
            choices: a.choices.clone(),
            open: !a.revealed,
            answer: a.revealed.then_some(a.answer),
            why: a.revealed.then(|| a.why.clone()),
            tally: if presenter {
                Some(self.tally(a.choices.len()))
            } else {
                a.at_reveal.clone()
            },
        })
    }
}

#[cfg(test)]
#[path = "tally_tests.rs"]
mod tests;
