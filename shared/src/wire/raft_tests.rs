//! Raft's wire types read back as serde writes them, and refused as serde refuses them.

use super::*;
use crate::wire::{read, reads_back};
use crate::{LogIndex, NodeId, Term};

fn entries() -> Vec<Entry> {
    let client = Some(ClientSerial {
        client_id: 7,
        serial: 3,
    });
    let data = [
        EntryData::Noop,
        EntryData::Request {
            command: Command::Add(5),
            client: None,
        },
        EntryData::Request {
            command: Command::AddRand,
            client,
        },
        EntryData::Value {
            value: -12,
            command: Command::Mul(-3),
            client,
        },
        EntryData::Value {
            value: 0,
            command: Command::Set(1_000_000_000),
            client: None,
        },
    ];
    data.into_iter()
        .enumerate()
        .map(|(i, data)| Entry {
            index: LogIndex(i as u64 + 1),
            term: Term(i as u64 / 2 + 1),
            data,
        })
        .collect()
}

fn bodies() -> Vec<MessageBody> {
    vec![
        MessageBody::RequestVote(RequestVote {
            last_log_index: LogIndex(4),
            last_log_term: Term(2),
        }),
        MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted: true }),
        MessageBody::AppendEntries(AppendEntries {
            prev_log_index: LogIndex(3),
            prev_log_term: Term(1),
            entries: entries(),
            leader_commit: LogIndex(2),
        }),
        MessageBody::AppendEntriesResponse(AppendEntriesResponse::reject(
            LogIndex(4),
            LogIndex(3),
            Some(Term(2)),
        )),
        MessageBody::AppendEntriesResponse(AppendEntriesResponse::accept(LogIndex(9), LogIndex(8))),
        MessageBody::ClientRequest(ClientRequest {
            command: Command::Set(4),
            request_id: 11,
            client: Some(ClientSerial {
                client_id: u64::MAX,
                serial: 0,
            }),
        }),
    ]
}

#[test]
fn every_kind_reads_back() {
    for role in Role::ALL {
        reads_back(role);
    }
    for model in LogModel::ALL {
        reads_back(model);
    }
    for kind in MessageKind::ALL {
        reads_back(kind);
    }
    for entry in entries() {
        reads_back(&entry);
        reads_back(&entry.data);
        if let Some(command) = entry.data.command() {
            reads_back(&command);
            let text = serde_json::to_string(&command.to_string()).unwrap();
            assert_eq!(
                command_text(&crate::wire::parse(&text).unwrap()),
                Ok(command)
            );
        }
    }
    for (i, body) in bodies().into_iter().enumerate() {
        let message = Message {
            from: NodeId(1),
            to: NodeId(i as u64 + 2),
            term: Term(3),
            body: body.clone(),
        };
        reads_back(&body);
        reads_back(&message);
    }
}

#[test]
fn bad_input_is_refused_with_a_sentence() {
    let role = read::<Role>(r#""king""#).unwrap_err();
    assert_eq!(
        role,
        "unknown variant `king`, expected one of `follower`, `candidate`, `leader`"
    );
    assert_eq!(
        read::<Entry>(r#"{"index":1,"term":1}"#).unwrap_err(),
        "missing field `data`"
    );
    assert_eq!(
        read::<Entry>(r#"{"index":-1,"term":1,"data":{"kind":"noop"}}"#).unwrap_err(),
        "index: invalid type: a number, expected a non-negative integer"
    );
    assert!(read::<MessageBody>(r#"{"type":"Gossip"}"#)
        .unwrap_err()
        .starts_with("unknown variant `Gossip`"));
    assert_eq!(
        read::<MessageBody>(r#"{"vote_granted":true}"#).unwrap_err(),
        "missing field `type`"
    );
    assert!(read::<Command>(r#"{"op":"div","n":2}"#).is_err());
    let text = crate::wire::parse(r#""div 2""#).unwrap();
    assert!(command_text(&text).is_err());
}
