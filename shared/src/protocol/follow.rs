//! The classroom part of the protocol: who a connection is (`hello`'s `role`), and the
//! presenter's view state (what is selected, highlighted, which layout, where the timeline is
//! scrubbed) that the presenter's page sends and the server relays to every viewer so their pages
//! can follow. Plain serde data; owns these JSON names (docs/api.md); must not know about sockets.

use serde::{Deserialize, Deserializer, Serialize};

use crate::types::{LogIndex, NodeId};

use super::event_read::need;
use super::view::MessageId;

/// Who is on the other end of a WebSocket, as `hello` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionRole {
    /// May control the cluster (the token, or loopback without one).
    Presenter,
    /// Sees everything; every command is refused.
    Viewer,
}

impl ConnectionRole {
    /// Every role's wire name, in the order of [`ConnectionRole::ALL`] (the page's reader uses
    /// them). Written by hand beside the derive: the page's tests check it writes the same.
    pub const NAMES: &'static [&'static str] = &["presenter", "viewer"];
    /// Every role.
    pub const ALL: &'static [ConnectionRole] = &[ConnectionRole::Presenter, ConnectionRole::Viewer];
}

/// What the presenter's page shows besides the cluster itself. Sent by the presenter as
/// `{"type":"presenter_view", …}` (a WebSocket request) and relayed unchanged to viewers as the
/// server message of the same name. Every field is small and bounded, so a relay is too.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PresenterView {
    /// The server whose panel is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_node: Option<NodeId>,
    /// The message whose panel is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_message: Option<MessageId>,
    /// What a narration line or a log entry click highlights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Highlight>,
    /// The projector layout is on.
    #[serde(default)]
    pub presenter_layout: bool,
    /// The event seq the presenter has scrubbed the timeline back to (absent: live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrub_seq: Option<u64>,
    /// The virtual time (ms) the presenter's timeline is scrubbed back to, when it was asked for
    /// by time (a click or drag on the track); with `scrub_seq`, the instant shown. Viewers ask
    /// for the same instant: by time when this is given, else by `scrub_seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrub_ms: Option<u64>,
}

/// One highlighted thing, tagged by `kind`. Read by hand ([`HighlightFields`]), as events are:
/// a new variant or field must be added there too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Highlight {
    /// A server.
    Node {
        /// Which.
        node: NodeId,
    },
    /// An index of the log, on every row.
    Entry {
        /// Which.
        index: LogIndex,
    },
    /// One server's entry at an index.
    NodeEntry {
        /// The server.
        node: NodeId,
        /// The index.
        index: LogIndex,
    },
    /// A message.
    Message {
        /// Its id.
        message: MessageId,
    },
    /// The link between two servers (either direction).
    Link {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
    },
}

/// A highlight's `kind`: [`Highlight`]'s variants by their wire names.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum HighlightKind {
    Node,
    Entry,
    NodeEntry,
    Message,
    Link,
}

/// Every field of every highlight, each optional; the variant is then built from its `kind`.
/// serde's derived reader for a tagged enum buffers the object and compiles a reader per variant
/// (12 KB of the page's wasm for this five-variant enum); this is one small reader, with the
/// derived reader's sentences ("missing field `node`", "unknown variant …"), but for a required
/// field given as `null` ("missing") and a field of another kind, which must still have its type.
#[derive(Deserialize)]
#[serde(expecting = "a highlight (a JSON object with its `kind`)")]
struct HighlightFields {
    kind: HighlightKind,
    node: Option<NodeId>,
    index: Option<LogIndex>,
    message: Option<MessageId>,
    a: Option<NodeId>,
    b: Option<NodeId>,
}

impl<'de> Deserialize<'de> for Highlight {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = HighlightFields::deserialize(deserializer)?;
        Ok(match f.kind {
            HighlightKind::Node => Highlight::Node {
                node: need(f.node, "node")?,
            },
            HighlightKind::Entry => Highlight::Entry {
                index: need(f.index, "index")?,
            },
            HighlightKind::NodeEntry => Highlight::NodeEntry {
                node: need(f.node, "node")?,
                index: need(f.index, "index")?,
            },
            HighlightKind::Message => Highlight::Message {
                message: need(f.message, "message")?,
            },
            HighlightKind::Link => Highlight::Link {
                a: need(f.a, "a")?,
                b: need(f.b, "b")?,
            },
        })
    }
}

impl PresenterView {
    /// Why this view cannot be relayed, if it cannot: at most one selection.
    pub fn check(&self) -> Result<(), String> {
        if self.selected_node.is_some() && self.selected_message.is_some() {
            return Err(
                "presenter_view: give selected_node or selected_message, not both".to_string(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientCommand, ClientRequest, ServerMessage};

    #[test]
    fn the_presenter_view_round_trips_as_a_request_and_a_relay() {
        let view = PresenterView {
            selected_node: Some(NodeId(3)),
            highlight: Some(Highlight::NodeEntry {
                node: NodeId(2),
                index: LogIndex(7),
            }),
            presenter_layout: true,
            ..PresenterView::default()
        };
        let request = ClientRequest {
            request_id: 4,
            command: ClientCommand::PresenterView(view.clone()),
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["type"], "presenter_view");
        assert_eq!(json["selected_node"], 3);
        assert_eq!(json["highlight"]["kind"], "node_entry");
        assert_eq!(json["highlight"]["index"], 7);
        assert!(json.get("selected_message").is_none());
        let back: ClientRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);

        let relay = ServerMessage::PresenterView(view);
        let text = serde_json::to_string(&relay).unwrap();
        assert!(text.starts_with(r#"{"type":"presenter_view""#), "{text}");
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), relay);
    }

    /// The kind of a highlight: an exhaustive match, so that a new variant is a compile error
    /// here until the test below (and so the reader) knows it.
    fn kind_of(h: &Highlight) -> HighlightKind {
        match h {
            Highlight::Node { .. } => HighlightKind::Node,
            Highlight::Entry { .. } => HighlightKind::Entry,
            Highlight::NodeEntry { .. } => HighlightKind::NodeEntry,
            Highlight::Message { .. } => HighlightKind::Message,
            Highlight::Link { .. } => HighlightKind::Link,
        }
    }

    #[test]
    fn every_highlight_reads_back_and_bad_ones_get_the_derived_sentences() {
        let all = [
            Highlight::Node { node: NodeId(2) },
            Highlight::Entry { index: LogIndex(9) },
            Highlight::NodeEntry {
                node: NodeId(3),
                index: LogIndex(4),
            },
            Highlight::Message { message: 17 },
            Highlight::Link {
                a: NodeId(1),
                b: NodeId(5),
            },
        ];
        // Every kind is in the list (`kind_of` is exhaustive: a new variant must be added).
        let kinds: Vec<_> = all.iter().map(kind_of).collect();
        for (i, a) in kinds.iter().enumerate() {
            assert!(kinds[i + 1..].iter().all(|b| b != a), "{a:?} twice");
        }
        for h in all {
            let text = serde_json::to_string(&h).unwrap();
            assert_eq!(
                serde_json::from_str::<Highlight>(&text).unwrap(),
                h,
                "{text}"
            );
            let value = serde_json::to_value(h).unwrap();
            assert_eq!(serde_json::from_value::<Highlight>(value).unwrap(), h);
            // Inside a relay, as a viewer's page reads it (serde's buffered path).
            let relay = ServerMessage::PresenterView(PresenterView {
                highlight: Some(h),
                ..PresenterView::default()
            });
            let text = serde_json::to_string(&relay).unwrap();
            assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), relay);
        }
        let read = |text: &str| serde_json::from_str::<Highlight>(text);
        assert_eq!(
            read(r#"{"kind":"node","node":4,"from_a_newer_page":true}"#).unwrap(),
            Highlight::Node { node: NodeId(4) }
        );
        let error = |text: &str| read(text).unwrap_err().to_string();
        assert!(error(r#"{"kind":"link","a":1}"#).contains("missing field `b`"));
        assert!(error(r#"{"kind":"glow"}"#).contains("unknown variant `glow`"));
        assert!(error(r#"{"node":1}"#).contains("missing field `kind`"));
        assert!(error("7").contains("expected a highlight"));
        assert!(error(r#"{"kind":"node","node":"two"}"#).contains("invalid type"));
    }

    #[test]
    fn an_empty_view_is_the_default_and_two_selections_are_refused() {
        let v: PresenterView = serde_json::from_str("{}").unwrap();
        assert_eq!(v, PresenterView::default());
        assert!(v.check().is_ok());
        let both = PresenterView {
            selected_node: Some(NodeId(1)),
            selected_message: Some(9),
            ..PresenterView::default()
        };
        assert!(both.check().unwrap_err().contains("not both"));
    }
}
