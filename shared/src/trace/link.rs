//! Share by link: a short trace packed into a URL fragment (`#trace=...`), as JSON, deflated
//! (miniz_oxide, pure Rust, builds for wasm32) and written in base64url without padding. Owns the
//! encoding and its size limit; must not know about URLs beyond the fragment's text.
//!
//! Links are for short runs: past [`LINK_CHARS_MAX`] characters the encoder refuses with
//! [`LinkError::TooLong`], whose message tells people to share the file instead (browsers and
//! chat tools cut long URLs).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::{Trace, TraceError};

/// Longest encoded trace a link may carry (characters). URLs of ~8 000 characters open in every
/// current browser; the rest of the link needs a little room.
pub const LINK_CHARS_MAX: usize = 7_000;
/// Largest inflated JSON a link may decode to: a guard against a small link that inflates to
/// gigabytes. Far above what [`LINK_CHARS_MAX`] of honest deflate can give.
const INFLATED_MAX: usize = 4 << 20;
/// The encoding's tag, first in the text, so a later encoding can be told apart.
const PREFIX: &str = "1.";

/// Why a trace could not be put in, or read from, a link.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The run is too long for a link.
    #[error(
        "this run is too long to share as a link ({chars} characters, the limit is \
         {LINK_CHARS_MAX}): download the trace and share the file instead"
    )]
    TooLong {
        /// Length the link would have had.
        chars: usize,
    },
    /// The link's text is damaged or cut short.
    #[error("the link's trace is damaged or cut short: {0}")]
    Damaged(String),
    /// It decoded, but is not an acceptable trace.
    #[error(transparent)]
    Trace(#[from] TraceError),
}

/// The link text of `trace` (what follows `#trace=`).
pub fn encode(trace: &Trace) -> Result<String, LinkError> {
    let json = trace.to_json();
    let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
    let text = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(packed));
    if text.len() > LINK_CHARS_MAX {
        return Err(LinkError::TooLong { chars: text.len() });
    }
    Ok(text)
}

/// Bytes `bytes` deflate to with the link's compression (for size figures).
pub fn deflated_len(bytes: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(bytes, 9).len()
}

/// The trace a link's text carries, checked like any loaded trace.
pub fn decode(text: &str) -> Result<Trace, LinkError> {
    Ok(Trace::from_json(&inflate(text)?)?)
}

/// The JSON text a link carries, not yet read as a trace: what the page posts to load the run
/// (`POST /api/trace` reads and checks it again), so the page needs no trace writer of its own.
pub fn inflate(text: &str) -> Result<String, LinkError> {
    let Some(body) = text.trim().strip_prefix(PREFIX) else {
        return Err(LinkError::Damaged(
            "it does not start with \"1.\" (a link from a newer logscope, or not a trace)".into(),
        ));
    };
    if body.len() > LINK_CHARS_MAX {
        return Err(LinkError::TooLong { chars: body.len() });
    }
    let packed = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| LinkError::Damaged(e.to_string()))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, INFLATED_MAX)
        .map_err(|e| LinkError::Damaged(format!("cannot inflate it ({:?})", e.status)))?;
    String::from_utf8(json).map_err(|e| LinkError::Damaged(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;
    use crate::trace::{Start, TraceInput, TracedInput};

    fn short_trace(inputs: usize) -> Trace {
        let mut trace = Trace::new(SimConfig::default(), Start::Empty);
        for i in 0..inputs {
            trace.inputs.push(TracedInput {
                at_ms: 300 + 7 * i as u64,
                after_seq: Some(40 + 13 * i as u64),
                steps: Some(30 + 11 * i as u64),
                input: TraceInput::Append {
                    command: format!("add {i}").parse().unwrap(),
                    node: None,
                    client: None,
                },
            });
        }
        trace.end_ms = 300 + 7 * inputs as u64 + 100;
        trace
    }

    #[test]
    fn a_short_trace_round_trips_through_a_link() {
        for n in [0, 1, 20] {
            let trace = short_trace(n);
            let text = encode(&trace).unwrap();
            assert!(text.starts_with("1."));
            assert!(text[2..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(decode(&text).unwrap(), trace);
        }
    }

    #[test]
    fn a_link_inflates_to_the_json_it_was_made_from() {
        // The page posts this text to load the run: it must be the trace's own JSON.
        let trace = short_trace(3);
        assert_eq!(inflate(&encode(&trace).unwrap()).unwrap(), trace.to_json());
        assert!(matches!(inflate("1.!!!"), Err(LinkError::Damaged(_))));
    }

    #[test]
    fn a_long_run_is_refused_with_advice() {
        let err = encode(&short_trace(5_000)).unwrap_err();
        assert!(matches!(err, LinkError::TooLong { chars } if chars > LINK_CHARS_MAX));
        assert!(err.to_string().contains("share the file"));
    }

    #[test]
    fn damaged_links_are_refused_clearly() {
        let text = encode(&short_trace(20)).unwrap();
        let cut = &text[..text.len() / 2];
        assert!(matches!(decode(cut), Err(LinkError::Damaged(_))));
        assert!(matches!(decode("2.abc"), Err(LinkError::Damaged(_))));
        assert!(matches!(decode("1.!!!"), Err(LinkError::Damaged(_))));
        // A future version inside a well-formed link is the trace's own error.
        let mut future = short_trace(1);
        future.version = 99;
        let packed = miniz_oxide::deflate::compress_to_vec(future.to_json().as_bytes(), 9);
        let text = format!("1.{}", URL_SAFE_NO_PAD.encode(packed));
        assert!(matches!(
            decode(&text),
            Err(LinkError::Trace(TraceError::FutureVersion { found: 99 }))
        ));
    }
}
