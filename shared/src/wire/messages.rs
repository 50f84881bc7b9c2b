//! The reader of [`ServerMessage`], everything the WebSocket (or the engine's worker) sends
//! the page. Owns the variants' tags only: each variant's parts are read by their own readers
//! (views.rs, follow.rs, events.rs); must not interpret a message (the reducer does).

use crate::protocol::ServerMessage;

use super::read::{unknown_variant, Fields, FromJson, Json};

/// Every variant's `type`, as `#[serde(tag = "type", rename_all = "snake_case")]` writes it.
const TYPES: [&str; 9] = [
    "hello",
    "snapshot",
    "events",
    "clock",
    "safety",
    "reply",
    "presenter_view",
    "prediction",
    "lesson_changed",
];

impl FromJson for ServerMessage {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a server message (a JSON object with its `type`)")?;
        Ok(match f.tag("type")? {
            "hello" => ServerMessage::Hello {
                protocol_version: f.get("protocol_version")?,
                snapshot: f.get("snapshot")?,
                role: f.get("role")?,
                viewer_url: f.get("viewer_url")?,
            },
            "snapshot" => ServerMessage::Snapshot {
                snapshot: f.get("snapshot")?,
                moved: f.get("moved")?,
            },
            "events" => ServerMessage::Events {
                events: f.get("events")?,
            },
            "clock" => ServerMessage::Clock {
                time_ms: f.get("time_ms")?,
                paused: f.get("paused")?,
                speed: f.get("speed")?,
            },
            "safety" => ServerMessage::Safety {
                safety: f.get("safety")?,
            },
            // A newtype variant: the reply's own fields sit beside `type`.
            "reply" => ServerMessage::Reply(FromJson::from_json(json)?),
            "presenter_view" => ServerMessage::PresenterView(FromJson::from_json(json)?),
            "prediction" => ServerMessage::Prediction {
                prediction: f.get("prediction")?,
            },
            "lesson_changed" => ServerMessage::LessonChanged,
            other => return Err(unknown_variant(other, &TYPES)),
        })
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
