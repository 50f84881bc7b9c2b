//! Reading [`MessageBody`] from the wire. Owns the reader only: the names and fields are the RPC
//! structs' own (message.rs), written by the derived `Serialize`.
//!
//! Why by hand: serde's derive for an internally tagged enum buffers the object and then compiles
//! a reader per variant, for each of the two ways the page reads a message (inside a snapshot
//! from the socket, and from an HTTP answer): 11 KB of the page's wasm for five variants. As for
//! events (protocol/event_read.rs), every message body is read as one record of every field any
//! body has, and the variant is built from its `type`, with the derived reader's sentences.
//! Unknown fields are ignored, as before; a field name means one type in every body, and a field
//! of another body must have that type (the derived reader skipped it); a required field given
//! as `null` is "missing" rather than "invalid type".

use serde::{Deserialize, Deserializer};

use super::message::{
    AppendEntries, AppendEntriesResponse, ClientRequest, MessageBody, MessageKind, RequestVote,
    RequestVoteResponse,
};
use crate::command::Command;
use crate::protocol::event_read::need;
use crate::types::{ClientSerial, Entry, LogIndex, Term};

/// Every field of every message body, each optional; `type` is the RPC's name.
#[derive(Deserialize)]
#[serde(expecting = "a message body (a JSON object with its `type`)")]
struct Fields {
    #[serde(rename = "type")]
    kind: MessageKind,
    last_log_index: Option<LogIndex>,
    last_log_term: Option<Term>,
    vote_granted: Option<bool>,
    prev_log_index: Option<LogIndex>,
    prev_log_term: Option<Term>,
    entries: Option<Vec<Entry>>,
    leader_commit: Option<LogIndex>,
    success: Option<bool>,
    match_index: Option<LogIndex>,
    rejected_index: Option<LogIndex>,
    conflict_index: Option<LogIndex>,
    conflict_term: Option<Term>,
    command: Option<Command>,
    request_id: Option<u64>,
    client: Option<ClientSerial>,
}

impl<'de> Deserialize<'de> for MessageBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = Fields::deserialize(deserializer)?;
        Ok(match f.kind {
            MessageKind::RequestVote => MessageBody::RequestVote(RequestVote {
                last_log_index: need(f.last_log_index, "last_log_index")?,
                last_log_term: need(f.last_log_term, "last_log_term")?,
            }),
            MessageKind::RequestVoteResponse => {
                MessageBody::RequestVoteResponse(RequestVoteResponse {
                    vote_granted: need(f.vote_granted, "vote_granted")?,
                })
            }
            MessageKind::AppendEntries => MessageBody::AppendEntries(AppendEntries {
                prev_log_index: need(f.prev_log_index, "prev_log_index")?,
                prev_log_term: need(f.prev_log_term, "prev_log_term")?,
                entries: need(f.entries, "entries")?,
                leader_commit: need(f.leader_commit, "leader_commit")?,
            }),
            MessageKind::AppendEntriesResponse => {
                MessageBody::AppendEntriesResponse(AppendEntriesResponse {
                    success: need(f.success, "success")?,
                    match_index: need(f.match_index, "match_index")?,
                    rejected_index: need(f.rejected_index, "rejected_index")?,
                    conflict_index: need(f.conflict_index, "conflict_index")?,
                    // `null` and no field both mean none, as the derived reader had it.
                    conflict_term: f.conflict_term,
                })
            }
            MessageKind::ClientRequest => MessageBody::ClientRequest(ClientRequest {
                command: need(f.command, "command")?,
                request_id: need(f.request_id, "request_id")?,
                client: f.client,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClusterSnapshot, ServerMessage};
    use crate::sim::{Sim, SimConfig};
    use crate::types::NodeId;

    /// Every body, with its optional fields set and left out.
    fn every_body() -> Vec<MessageBody> {
        let entry = |index: u64| Entry {
            index: LogIndex(index),
            term: Term(2),
            data: crate::types::EntryData::Request {
                command: Command::Add(index as i64),
                client: Some(ClientSerial {
                    client_id: 3,
                    serial: index,
                }),
            },
        };
        vec![
            MessageBody::RequestVote(RequestVote {
                last_log_index: LogIndex(4),
                last_log_term: Term(2),
            }),
            MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted: true }),
            MessageBody::AppendEntries(AppendEntries {
                prev_log_index: LogIndex(3),
                prev_log_term: Term(1),
                entries: vec![entry(4), entry(5)],
                leader_commit: LogIndex(3),
            }),
            MessageBody::AppendEntries(AppendEntries {
                prev_log_index: LogIndex(0),
                prev_log_term: Term(0),
                entries: Vec::new(),
                leader_commit: LogIndex(0),
            }),
            MessageBody::AppendEntriesResponse(AppendEntriesResponse::accept(
                LogIndex(5),
                LogIndex(3),
            )),
            MessageBody::AppendEntriesResponse(AppendEntriesResponse::reject(
                LogIndex(4),
                LogIndex(3),
                Some(Term(2)),
            )),
            MessageBody::ClientRequest(ClientRequest {
                command: Command::Set(-7),
                request_id: 12,
                client: Some(ClientSerial {
                    client_id: 1,
                    serial: 2,
                }),
            }),
            MessageBody::ClientRequest(ClientRequest {
                command: Command::AddRand,
                request_id: 13,
                client: None,
            }),
        ]
    }

    #[test]
    fn every_body_reads_back_equal_by_text_and_by_value() {
        let kinds: std::collections::BTreeSet<_> =
            every_body().iter().map(MessageBody::kind).collect();
        assert_eq!(kinds.len(), 5, "every kind is in the list");
        for body in every_body() {
            let text = serde_json::to_string(&body).unwrap();
            assert_eq!(
                serde_json::from_str::<MessageBody>(&text).unwrap(),
                body,
                "{text}"
            );
            let value = serde_json::to_value(&body).unwrap();
            assert_eq!(serde_json::from_value::<MessageBody>(value).unwrap(), body);
        }
    }

    #[test]
    fn messages_in_flight_read_back_in_a_snapshot_alone_and_inside_a_server_message() {
        let mut sim = Sim::new(SimConfig {
            seed: 5,
            ..SimConfig::default()
        })
        .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for step in 0..400 {
            sim.run_for(7);
            if step == 150 {
                let _ = sim.propose(None, Command::Add(1));
                let _ = sim.propose(Some(NodeId(2)), Command::Add(2));
            }
            let snapshot = sim.snapshot();
            seen.extend(snapshot.messages.iter().map(|m| m.kind));
            let text = serde_json::to_string(&snapshot).unwrap();
            assert_eq!(
                serde_json::from_str::<ClusterSnapshot>(&text).unwrap(),
                snapshot
            );
            let message = ServerMessage::Snapshot {
                snapshot,
                moved: None,
            };
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(
                serde_json::from_str::<ServerMessage>(&text).unwrap(),
                message
            );
        }
        assert!(seen.len() >= 4, "kinds seen in flight: {seen:?}");
    }

    #[test]
    fn bad_bodies_get_the_derived_sentences() {
        let error = |text: &str| {
            serde_json::from_str::<MessageBody>(text)
                .unwrap_err()
                .to_string()
        };
        assert!(error(r#"{"type":"RequestVote","last_log_index":1}"#)
            .contains("missing field `last_log_term`"));
        assert!(
            error(r#"{"type":"InstallSnapshot"}"#).contains("unknown variant `InstallSnapshot`")
        );
        assert!(error(r#"{"vote_granted":true}"#).contains("missing field `type`"));
        assert!(error("3").contains("expected a message body"));
        assert!(
            error(r#"{"type":"ClientRequest","command":"div 0","request_id":1}"#).contains("div")
        );
    }
}
