//! The classroom's predictions: a lesson step asks a question, every viewer's page may answer it
//! (`{"type":"answer", …}`, the one request a read-only connection may send), and the server
//! tells pages the question and its tally (`{"type":"prediction", …}`). Plain serde data; owns
//! these JSON names (docs/api.md, "Predictions"); must not know about sockets or lessons' files.

use serde::{Deserialize, Serialize};

/// The question being asked now, as the server tells it. Sent to every connection as
/// `{"type":"prediction","prediction":{…}}`, or `"prediction":null` when no question is asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionView {
    /// Names this question: an `answer` carries it, so an answer sent just before the presenter
    /// moved on is refused instead of counted for the next question.
    pub question: u64,
    /// The question.
    pub text: String,
    /// The choices, in order.
    pub choices: Vec<String>,
    /// Answers are taken (until the reveal).
    pub open: bool,
    /// The right choice (an index into `choices`), once revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<usize>,
    /// Why it is right, once revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The tally: always on the presenter's connection, on viewers' only after the reveal (so
    /// the room's first guess is its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<Tally>,
}

/// How the room answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Answers per choice, in the order of `choices`.
    pub counts: Vec<u32>,
    /// Viewers who answered (the sum of `counts`).
    pub answered: u32,
    /// Viewers connected now (each viewer connection may answer once).
    pub viewers: u32,
}

impl Tally {
    /// "3 of 25 answered".
    pub fn summary(&self) -> String {
        format!("{} of {} answered", self.answered, self.viewers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientCommand, ClientRequest, ServerMessage};

    #[test]
    fn a_prediction_and_an_answer_have_their_documented_json() {
        let p = PredictionView {
            question: 3,
            text: "Who wins?".into(),
            choices: vec!["S1".into(), "S2".into()],
            open: true,
            answer: None,
            why: None,
            tally: Some(Tally {
                counts: vec![1, 0],
                answered: 1,
                viewers: 4,
            }),
        };
        let m = ServerMessage::Prediction {
            prediction: Some(p.clone()),
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["type"], "prediction");
        assert_eq!(json["prediction"]["question"], 3);
        assert_eq!(json["prediction"]["tally"]["answered"], 1);
        assert!(json["prediction"].get("answer").is_none(), "not revealed");
        assert_eq!(serde_json::from_value::<ServerMessage>(json).unwrap(), m);
        let none = serde_json::to_string(&ServerMessage::Prediction { prediction: None }).unwrap();
        assert_eq!(none, r#"{"type":"prediction","prediction":null}"#);
        assert_eq!(p.tally.unwrap().summary(), "1 of 4 answered");

        let a: ClientRequest =
            serde_json::from_str(r#"{"request_id":2,"type":"answer","question":3,"choice":1}"#)
                .unwrap();
        assert_eq!(
            a.command,
            ClientCommand::Answer {
                question: 3,
                choice: 1
            }
        );
    }
}
