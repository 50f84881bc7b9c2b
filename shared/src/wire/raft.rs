//! Readers of Raft's own wire types: roles and log models, entries and their data, commands,
//! and the messages servers exchange (shared/src/types.rs, command.rs, raft/message.rs). Each
//! mirrors that type's `Serialize`; must not read anything of the page's own.

use crate::raft::{
    AppendEntries, AppendEntriesResponse, ClientRequest, Message, MessageBody, MessageKind,
    RequestVote, RequestVoteResponse,
};
use crate::{ClientSerial, Command, Entry, EntryData, LogModel, Role};

use super::read::{invalid, unit, unknown_variant, Fields, FromJson, Json};

impl FromJson for Role {
    fn from_json(json: &Json) -> Result<Self, String> {
        unit(json, Role::NAMES, Role::ALL)
    }
}

impl FromJson for LogModel {
    fn from_json(json: &Json) -> Result<Self, String> {
        unit(json, LogModel::NAMES, LogModel::ALL)
    }
}

impl FromJson for MessageKind {
    fn from_json(json: &Json) -> Result<Self, String> {
        unit(json, MessageKind::NAMES, MessageKind::ALL)
    }
}

/// A command as its wire form `{"op": "add", "n": 5}` (`#[serde(tag = "op", content = "n")]`);
/// `add_rand` has no `n`.
impl FromJson for Command {
    fn from_json(json: &Json) -> Result<Self, String> {
        const OPS: [&str; 4] = ["add", "mul", "set", "add_rand"];
        let f = Fields::of(json, "a command")?;
        Ok(match f.tag("op")? {
            "add" => Command::Add(f.get("n")?),
            "mul" => Command::Mul(f.get("n")?),
            "set" => Command::Set(f.get("n")?),
            "add_rand" => Command::AddRand,
            other => return Err(unknown_variant(other, &OPS)),
        })
    }
}

/// A command carried as its text ("add 5": `#[serde(with = "crate::command::as_text")]`), read
/// with the command parser's own sentence.
pub fn command_text(json: &Json) -> Result<Command, String> {
    let text = json.as_str().ok_or_else(|| invalid(json, "a string"))?;
    text.parse().map_err(|e: crate::CommandError| e.to_string())
}

impl FromJson for ClientSerial {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a client serial")?;
        Ok(ClientSerial {
            client_id: f.get("client_id")?,
            serial: f.get("serial")?,
        })
    }
}

/// An entry's data, tagged by `kind` (`noop`, `request`, `value`).
impl FromJson for EntryData {
    fn from_json(json: &Json) -> Result<Self, String> {
        const KINDS: [&str; 3] = ["noop", "request", "value"];
        let f = Fields::of(json, "an entry's data (a JSON object with its `kind`)")?;
        Ok(match f.tag("kind")? {
            "noop" => EntryData::Noop,
            "request" => EntryData::Request {
                command: f.get("command")?,
                client: f.get("client")?,
            },
            "value" => EntryData::Value {
                value: f.get("value")?,
                command: f.get("command")?,
                client: f.get("client")?,
            },
            other => return Err(unknown_variant(other, &KINDS)),
        })
    }
}

impl FromJson for Entry {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "an entry")?;
        Ok(Entry {
            index: f.get("index")?,
            term: f.get("term")?,
            data: f.get("data")?,
        })
    }
}

impl FromJson for Message {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a message")?;
        Ok(Message {
            from: f.get("from")?,
            to: f.get("to")?,
            term: f.get("term")?,
            body: f.get("body")?,
        })
    }
}

/// A message's body, tagged by `type` with the RPC's fields beside it.
impl FromJson for MessageBody {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a message body (a JSON object with its `type`)")?;
        let kind = unit(
            f.raw("type").unwrap_or(&Json::Null),
            MessageKind::NAMES,
            MessageKind::ALL,
        )
        .map_err(|e| match f.raw("type") {
            None => "missing field `type`".to_string(),
            Some(_) => e,
        })?;
        Ok(match kind {
            MessageKind::RequestVote => MessageBody::RequestVote(RequestVote {
                last_log_index: f.get("last_log_index")?,
                last_log_term: f.get("last_log_term")?,
            }),
            MessageKind::RequestVoteResponse => {
                MessageBody::RequestVoteResponse(RequestVoteResponse {
                    vote_granted: f.get("vote_granted")?,
                })
            }
            MessageKind::AppendEntries => MessageBody::AppendEntries(AppendEntries {
                prev_log_index: f.get("prev_log_index")?,
                prev_log_term: f.get("prev_log_term")?,
                entries: f.get("entries")?,
                leader_commit: f.get("leader_commit")?,
            }),
            MessageKind::AppendEntriesResponse => {
                MessageBody::AppendEntriesResponse(AppendEntriesResponse {
                    success: f.get("success")?,
                    match_index: f.get("match_index")?,
                    rejected_index: f.get("rejected_index")?,
                    conflict_index: f.get("conflict_index")?,
                    conflict_term: f.get("conflict_term")?,
                })
            }
            MessageKind::ClientRequest => MessageBody::ClientRequest(ClientRequest {
                command: f.get("command")?,
                request_id: f.get("request_id")?,
                client: f.get("client")?,
            }),
        })
    }
}

#[cfg(test)]
#[path = "raft_tests.rs"]
mod tests;
