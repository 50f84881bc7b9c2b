//! A viewer's `answer` request on its WebSocket: the one request a read-only connection may
//! send (docs/api.md, "Predictions"). Checks who sends it, its shape and its rate, then hands it
//! to the tally. Owns that admission; must not touch the cluster (an answer is not a command).

use std::time::Instant;

use shared::protocol::{ClientCommand, CommandOk};

use super::follow::Budget;
use crate::driver::CommandError;
use crate::server::tally::Seat;

/// True for a `{"type":"answer", …}` request.
pub(super) fn is_answer(value: &serde_json::Value) -> bool {
    value.get("type").and_then(|t| t.as_str()) == Some("answer")
}

/// Take one answer from this connection (`seat` is `None` on a presenter's connection).
pub(super) fn answer(
    value: serde_json::Value,
    seat: Option<&Seat>,
    budget: &mut Budget,
    now: Instant,
) -> Result<CommandOk, CommandError> {
    let Some(seat) = seat else {
        return Err(CommandError::invalid(
            "only viewers answer a lesson's question: the presenter's page reveals it",
        ));
    };
    let (question, choice) = match serde_json::from_value::<ClientCommand>(value) {
        Ok(ClientCommand::Answer { question, choice }) => (question, choice),
        Ok(_) => unreachable!("called only for answer"),
        Err(e) => {
            return Err(CommandError::invalid(format!(
                "invalid answer: {e}; send {{\"request_id\":1,\"type\":\"answer\",\
                 \"question\":Q,\"choice\":N}}"
            )))
        }
    };
    if !budget.take(now) {
        return Err(CommandError::too_many(
            "too many answers at once: pick one choice, then wait a moment",
        ));
    }
    seat.answer(question, choice)
}
