//! The messages servers exchange: Figure 2's two RPCs and their replies, each a struct of its own,
//! plus the *command* model's forwarded client request. Owns their shape and their JSON names
//! (part of the wire protocol: add fields, never rename); knows nothing about how they travel.

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::types::{ClientSerial, Entry, LogIndex, NodeId, Term};

/// RequestVote arguments (Figure 2), invoked by candidates to gather votes (§5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVote {
    /// Index of the candidate's last log entry (§5.4).
    pub last_log_index: LogIndex,
    /// Term of the candidate's last log entry (§5.4).
    pub last_log_term: Term,
}

/// RequestVote results (Figure 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteResponse {
    /// True means the candidate received the vote.
    pub vote_granted: bool,
}

/// AppendEntries arguments (Figure 2), invoked by the leader to replicate entries (§5.3); also
/// the heartbeat (§5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntries {
    /// Index of the entry immediately preceding the new ones.
    pub prev_log_index: LogIndex,
    /// Term of `prev_log_index`'s entry.
    pub prev_log_term: Term,
    /// Entries to store (empty for a heartbeat).
    pub entries: Vec<Entry>,
    /// The leader's `commit_index`.
    pub leader_commit: LogIndex,
}

/// AppendEntries results (Figure 2), with the fast-backup hint of §5.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesResponse {
    /// True if the follower had an entry matching `prev_log_index`/`prev_log_term`.
    pub success: bool,
    /// On success: the index of the last entry the follower now matches with the leader.
    pub match_index: LogIndex,
    /// The `prev_log_index` of the request this answers (lets the leader ignore stale replies).
    pub rejected_index: LogIndex,
    /// On rejection, the fast-backup hint: the follower's first index of `conflict_term`, or its
    /// last index + 1 when its log is too short.
    pub conflict_index: LogIndex,
    /// On rejection, the term of the follower's conflicting entry at `prev_log_index`.
    pub conflict_term: Option<Term>,
}

impl AppendEntriesResponse {
    /// "Success": the follower now holds the leader's log up to `match_index`.
    pub fn accept(match_index: LogIndex, prev_log_index: LogIndex) -> Self {
        AppendEntriesResponse {
            success: true,
            match_index,
            rejected_index: prev_log_index,
            conflict_index: LogIndex(0),
            conflict_term: None,
        }
    }

    /// "Reply false" to the AppendEntries whose `prev_log_index` was `rejected_index`, with the
    /// fast-backup hint (`conflict_index` 0 and no term when there is nothing to hint: a stale
    /// leader).
    pub fn reject(
        rejected_index: LogIndex,
        conflict_index: LogIndex,
        conflict_term: Option<Term>,
    ) -> Self {
        AppendEntriesResponse {
            success: false,
            match_index: LogIndex(0),
            rejected_index,
            conflict_index,
            conflict_term,
        }
    }
}

/// *command* model: a follower passes a client's request on to the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// The request.
    pub command: Command,
    /// The id the driver gave the request, so the acceptance can be reported back.
    pub request_id: u64,
    /// The client's id and serial number (§8), so that a duplicated forward is appended once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientSerial>,
}

/// The Raft RPCs (Figure 2) plus the forwarded client request of the *command* model. On the
/// wire the payload's fields sit beside `"type"`. Read by hand (message_read.rs): a new variant
/// or field must be added there too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum MessageBody {
    /// See [`RequestVote`].
    RequestVote(RequestVote),
    /// See [`RequestVoteResponse`].
    RequestVoteResponse(RequestVoteResponse),
    /// See [`AppendEntries`].
    AppendEntries(AppendEntries),
    /// See [`AppendEntriesResponse`].
    AppendEntriesResponse(AppendEntriesResponse),
    /// See [`ClientRequest`].
    ClientRequest(ClientRequest),
}

/// Which kind of message, without its payload (what the page draws and filters on). Serialized
/// as the RPC's name, "RequestVote", "AppendEntries", … and read back by [`MESSAGE_KIND_NAMES`]
/// (crate::names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum MessageKind {
    /// A RequestVote call.
    RequestVote,
    /// A RequestVote reply.
    RequestVoteResponse,
    /// An AppendEntries call (or heartbeat).
    AppendEntries,
    /// An AppendEntries reply.
    AppendEntriesResponse,
    /// A forwarded client request.
    ClientRequest,
}

/// Every [`MessageKind`]'s wire name, in the order of [`MESSAGE_KINDS`].
const MESSAGE_KIND_NAMES: [&str; 5] = [
    "RequestVote",
    "RequestVoteResponse",
    "AppendEntries",
    "AppendEntriesResponse",
    "ClientRequest",
];
const MESSAGE_KINDS: [MessageKind; 5] = [
    MessageKind::RequestVote,
    MessageKind::RequestVoteResponse,
    MessageKind::AppendEntries,
    MessageKind::AppendEntriesResponse,
    MessageKind::ClientRequest,
];

impl<'de> Deserialize<'de> for MessageKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::names::read(deserializer, &MESSAGE_KIND_NAMES, &MESSAGE_KINDS)
    }
}

impl MessageKind {
    /// Every kind's wire name, in the order of [`MessageKind::ALL`] (the page's reader uses them).
    pub const NAMES: &'static [&'static str] = &MESSAGE_KIND_NAMES;
    /// Every kind.
    pub const ALL: &'static [MessageKind] = &MESSAGE_KINDS;

    /// The RPC's name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::RequestVote => "RequestVote",
            MessageKind::RequestVoteResponse => "RequestVoteResponse",
            MessageKind::AppendEntries => "AppendEntries",
            MessageKind::AppendEntriesResponse => "AppendEntriesResponse",
            MessageKind::ClientRequest => "ClientRequest",
        }
    }

    /// True for the two replies.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            MessageKind::RequestVoteResponse | MessageKind::AppendEntriesResponse
        )
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl MessageBody {
    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            MessageBody::RequestVote(_) => MessageKind::RequestVote,
            MessageBody::RequestVoteResponse(_) => MessageKind::RequestVoteResponse,
            MessageBody::AppendEntries(_) => MessageKind::AppendEntries,
            MessageBody::AppendEntriesResponse(_) => MessageKind::AppendEntriesResponse,
            MessageBody::ClientRequest(_) => MessageKind::ClientRequest,
        }
    }
}

/// One message between two servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Sender's `current_term`.
    pub term: Term,
    /// The RPC.
    pub body: MessageBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_structs_keep_the_flat_wire_format() {
        let m = MessageBody::AppendEntriesResponse(AppendEntriesResponse::reject(
            LogIndex(4),
            LogIndex(3),
            Some(Term(2)),
        ));
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"type":"AppendEntriesResponse","success":false,"match_index":0,"rejected_index":4,"conflict_index":3,"conflict_term":2}"#
        );
        assert_eq!(serde_json::from_str::<MessageBody>(&json).unwrap(), m);
        let kind = serde_json::to_string(&MessageKind::RequestVote).unwrap();
        assert_eq!(kind, r#""RequestVote""#);
    }

    #[test]
    fn an_unknown_kind_gets_serdes_sentence() {
        let err = serde_json::from_str::<MessageKind>(r#""InstallSnapshot""#).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown variant `InstallSnapshot`, expected one of `RequestVote`"),
            "{err}"
        );
    }

    #[test]
    fn kind_names_match_the_wire_and_only_replies_are_responses() {
        let all = [
            (MessageKind::RequestVote, false),
            (MessageKind::RequestVoteResponse, true),
            (MessageKind::AppendEntries, false),
            (MessageKind::AppendEntriesResponse, true),
            (MessageKind::ClientRequest, false),
        ];
        assert_eq!(
            all.map(|(k, _)| k),
            MESSAGE_KINDS,
            "the table lists every kind"
        );
        for (kind, response) in all {
            let wire = serde_json::to_string(&kind).unwrap();
            assert_eq!(wire, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<MessageKind>(&wire).unwrap(), kind);
            assert_eq!(kind.to_string(), kind.as_str());
            assert_eq!(kind.is_response(), response, "{kind}");
        }
    }
}
