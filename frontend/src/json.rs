//! One reading path for everything the page reads as JSON (the server's HTTP answers, trace
//! outlines), shared with the WebSocket's: serde reads the variants of an internally tagged enum
//! (`ServerMessage`; `SimEvent` is read by hand, shared/src/protocol/event_read.rs) from a buffer
//! of the parsed JSON (serde's private `Content`), and a type read both that way and straight from
//! text is compiled into the module twice. [`read`] reads every type through the buffer too, so a
//! snapshot, a log page or a lesson has one reader in the page (measured in
//! docs/bench-frontend.md). Owns that wrapping alone; must not decide what an answer means.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A one-variant, internally tagged wrapper: its field is read from the buffer, as a
/// `ServerMessage`'s fields are.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum Buffered<T> {
    #[serde(rename = "v")]
    V { v: T },
}

/// Read `text`, the JSON of a `T`, through serde's buffered path; an error is serde_json's
/// sentence, its position (a syntax error has one) counted in `text`. `text` is the server's
/// answer, put inside the wrapper as it is: it is trusted to be one JSON value (a `1, "x": 2`
/// would read as `1`).
pub fn read<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    // The text on lines of its own, so that a position in it moves by one line only.
    let wrapped = format!("{{\"type\":\"v\",\"v\":\n{text}\n}}");
    serde_json::from_str::<Buffered<T>>(&wrapped)
        .map(|Buffered::V { v }| v)
        .map_err(|e| in_text(&e))
}

/// serde_json's sentence for `e` with its line counted in the text given to [`read`]: one less
/// than in the wrapper, whose first line is its own.
fn in_text(e: &serde_json::Error) -> String {
    let sentence = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    match sentence.strip_suffix(&at) {
        Some(words) if e.line() >= 2 => {
            format!("{words} at line {} column {}", e.line() - 1, e.column())
        }
        _ => sentence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::ServerMessage;

    #[test]
    fn reads_what_the_direct_reader_reads_and_refuses_what_it_refuses() {
        let text = r#"{"type":"clock","time_ms":12,"paused":false,"speed":1.0}"#;
        let direct: ServerMessage = serde_json::from_str(text).unwrap();
        let buffered: ServerMessage = read(text).unwrap();
        assert_eq!(direct, buffered);
        assert_eq!(read::<Vec<u64>>("[1, 2, 3]").unwrap(), vec![1, 2, 3]);
        assert_eq!(read::<Option<String>>("null").unwrap(), None);
        assert!(read::<u64>("\"not a number\"").is_err());
        assert!(read::<Vec<u64>>("[1, 2").is_err());
        // Text after the value cannot close the wrapper early.
        assert!(read::<u64>("1}").is_err());
        assert!(read::<u64>("").is_err());
    }

    #[test]
    fn a_syntax_errors_position_is_counted_in_the_text_given() {
        for text in ["[1,\n2 x]", "{\"a\": tru}", "[1, 2,, 3]"] {
            let direct = serde_json::from_str::<serde_json::Value>(text)
                .unwrap_err()
                .to_string();
            assert_eq!(
                read::<serde_json::Value>(text).unwrap_err(),
                direct,
                "{text}"
            );
        }
    }
}
