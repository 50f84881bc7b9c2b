//! The vocabulary of the Raft paper as plain data: ids, terms, indexes, entries, hard state and
//! roles. Owns no behaviour beyond small helpers; everything here is serde so it can go on the wire.

use serde::{Deserialize, Serialize};

use crate::command::Command;

/// Declares a number that means one thing in the paper, so a term cannot be passed where an
/// index is expected. On the wire it is the bare number (`#[serde(transparent)]`), so the JSON in
/// docs/api.md does not change; `Display`/`FromStr` also make it work as a JSON map key.
macro_rules! raft_number {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The plain number, for arithmetic the type does not offer and for display widths.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// `self, self + 1, …, last` (empty when `last < self`).
            pub fn through(self, last: Self) -> impl DoubleEndedIterator<Item = Self> + Clone {
                (self.0..=last.0).map($name)
            }

            /// How far `self` lies after `base` (`None` when it lies before it).
            pub const fn checked_sub(self, base: Self) -> Option<u64> {
                self.0.checked_sub(base.0)
            }

            /// `self - n`, stopping at zero.
            pub const fn saturating_sub(self, n: u64) -> Self {
                $name(self.0.saturating_sub(n))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<u64> for $name {
            fn from(n: u64) -> Self {
                $name(n)
            }
        }

        impl From<$name> for u64 {
            fn from(n: $name) -> u64 {
                n.0
            }
        }

        impl std::ops::Add<u64> for $name {
            type Output = $name;
            fn add(self, n: u64) -> $name {
                $name(self.0 + n)
            }
        }

        impl std::ops::Sub<u64> for $name {
            type Output = $name;
            fn sub(self, n: u64) -> $name {
                $name(self.0 - n)
            }
        }

        impl std::ops::AddAssign<u64> for $name {
            fn add_assign(&mut self, n: u64) {
                self.0 += n;
            }
        }

        impl std::ops::SubAssign<u64> for $name {
            fn sub_assign(&mut self, n: u64) {
                self.0 -= n;
            }
        }

        impl PartialEq<u64> for $name {
            fn eq(&self, n: &u64) -> bool {
                self.0 == *n
            }
        }

        impl PartialOrd<u64> for $name {
            fn partial_cmp(&self, n: &u64) -> Option<std::cmp::Ordering> {
                self.0.partial_cmp(n)
            }
        }
    };
}

raft_number! {
    /// A server's id. Servers are numbered 1..=n, as drawn (S1 = 1).
    NodeId
}

impl NodeId {
    /// Where this server sits in a `Vec` of all servers: S1 is slot 0.
    pub fn slot(self) -> usize {
        debug_assert!(self.0 > 0, "node ids start at 1");
        (self.0 - 1) as usize
    }

    /// Like [`NodeId::slot`], but `None` for the invalid id 0 (ids that come from outside).
    pub fn checked_slot(self) -> Option<usize> {
        self.0.checked_sub(1).map(|s| s as usize)
    }

    /// The server in `slot` (the inverse of [`NodeId::slot`]).
    pub fn of_slot(slot: usize) -> NodeId {
        NodeId(slot as u64 + 1)
    }

    /// Servers `1..=n`, in order.
    pub fn all(n: u64) -> impl Iterator<Item = NodeId> + Clone {
        (1..=n).map(NodeId)
    }
}

raft_number! {
    /// A Raft term (§5.1). Term 0 is "before any election".
    Term
}

raft_number! {
    /// A position in the log, starting at 1; index 0 means "before the first entry".
    /// The index is the log's logical timestamp.
    LogIndex
}

impl LogIndex {
    /// Where this entry sits in a `Vec` that holds the log from index 1: index 1 is slot 0.
    /// Index 0 ("before the first entry") has no slot.
    pub fn slot(self) -> usize {
        debug_assert!(self.0 > 0, "index 0 has no slot");
        (self.0 - 1) as usize
    }

    /// Like [`LogIndex::slot`], but `None` for index 0.
    pub fn checked_slot(self) -> Option<usize> {
        self.0.checked_sub(1).map(|s| s as usize)
    }

    /// The index of the entry stored in `slot` (the inverse of [`LogIndex::slot`]).
    pub fn of_slot(slot: usize) -> LogIndex {
        LogIndex(slot as u64 + 1)
    }

    /// The index of the last entry of a log that holds `len` entries from index 1.
    pub fn of_len(len: usize) -> LogIndex {
        LogIndex(len as u64)
    }
}

/// Who sent a client request and its place in that client's sequence (Raft §8): "clients assign
/// unique serial numbers to every command. Then, the state machine tracks the latest serial number
/// processed for each client". A duplicated or retried request carries the same pair, so it is
/// appended and applied once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientSerial {
    /// The client (the page draws a random one per tab; scripts choose their own).
    pub client_id: u64,
    /// The request's number within that client (a retry reuses it).
    pub serial: u64,
}

/// How clients use the log (chosen per cluster). Read back by its name ([`LOG_MODEL_NAMES`],
/// crate::names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogModel {
    /// Log the request ("add 5"): every replica executes it (state-machine replication).
    /// Any node accepts a request; followers forward it to the leader.
    #[default]
    Command,
    /// Log the state change ("value = 5"): only the leader executes; followers install the value
    /// (primary-backup).
    State,
}

impl std::fmt::Display for LogModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogModel::Command => "command",
            LogModel::State => "state",
        })
    }
}

impl std::str::FromStr for LogModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "command" => Ok(LogModel::Command),
            "state" => Ok(LogModel::State),
            other => Err(format!(
                "unknown log model {other:?}: expected \"command\" or \"state\""
            )),
        }
    }
}

/// What an entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryData {
    /// The blank entry a new leader appends at the start of its term (§8), so that it can commit
    /// entries of earlier terms by committing one of its own (§5.4.2).
    Noop,
    /// *command* model: the client's request itself; every replica executes it.
    Request {
        /// The request.
        command: Command,
        /// Who asked, for exactly-once execution (§8); absent in logs written before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<ClientSerial>,
    },
    /// *state* model: the value the leader computed by executing `command`; replicas install it.
    Value {
        /// The register's new value.
        value: i64,
        /// The request the leader executed to get it (shown to people, never re-executed).
        command: Command,
        /// Who asked, for exactly-once execution (§8).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<ClientSerial>,
    },
}

/// Every [`LogModel`]'s and [`Role`]'s wire name, in the order of the arrays after them.
const LOG_MODEL_NAMES: [&str; 2] = ["command", "state"];
const LOG_MODELS: [LogModel; 2] = [LogModel::Command, LogModel::State];
const ROLE_NAMES: [&str; 3] = ["follower", "candidate", "leader"];
const ROLES: [Role; 3] = [Role::Follower, Role::Candidate, Role::Leader];

impl LogModel {
    /// Every model's wire name, in the order of [`LogModel::ALL`] (the page's reader uses them).
    pub const NAMES: &'static [&'static str] = &LOG_MODEL_NAMES;
    /// Every model.
    pub const ALL: &'static [LogModel] = &LOG_MODELS;
}

impl Role {
    /// Every role's wire name, in the order of [`Role::ALL`] (the page's reader uses them).
    pub const NAMES: &'static [&'static str] = &ROLE_NAMES;
    /// Every role.
    pub const ALL: &'static [Role] = &ROLES;
}

impl<'de> Deserialize<'de> for LogModel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::names::read(deserializer, &LOG_MODEL_NAMES, &LOG_MODELS)
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::names::read(deserializer, &ROLE_NAMES, &ROLES)
    }
}

/// An entry's `kind`: [`EntryData`]'s variants by their wire names.
#[derive(Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum EntryKind {
    Noop,
    Request,
    Value,
}

/// Every field of every [`EntryData`], each optional; the variant is then built from its
/// `kind`. Read by hand, as events are (protocol/event_read.rs): serde's derived reader for a
/// tagged enum buffers the object and compiles a reader per variant, for every way an entry is
/// read (the page's socket and HTTP answers, the server's log files and traces). Differences
/// from the derived reader, none of which what logscope writes can meet: a required field given
/// as `null` is "missing", and a field of another kind must still have its type.
#[derive(Deserialize)]
#[serde(expecting = "an entry's data (a JSON object with its `kind`)")]
struct EntryFields {
    kind: EntryKind,
    command: Option<Command>,
    client: Option<ClientSerial>,
    value: Option<i64>,
}

impl<'de> Deserialize<'de> for EntryData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use crate::protocol::event_read::need;
        let f = EntryFields::deserialize(deserializer)?;
        Ok(match f.kind {
            EntryKind::Noop => EntryData::Noop,
            EntryKind::Request => EntryData::Request {
                command: need(f.command, "command")?,
                client: f.client,
            },
            EntryKind::Value => EntryData::Value {
                value: need(f.value, "value")?,
                command: need(f.command, "command")?,
                client: f.client,
            },
        })
    }
}

impl EntryData {
    /// The client request behind the entry, if it carries one with a serial.
    pub fn client(&self) -> Option<ClientSerial> {
        match self {
            EntryData::Noop => None,
            EntryData::Request { client, .. } | EntryData::Value { client, .. } => *client,
        }
    }

    /// The request the entry was made from (none for a no-op).
    pub fn command(&self) -> Option<Command> {
        match self {
            EntryData::Noop => None,
            EntryData::Request { command, .. } | EntryData::Value { command, .. } => Some(*command),
        }
    }

    /// How the entry is drawn and listed: "add 5", "value = 5" or "no-op".
    pub fn describe(&self) -> String {
        match self {
            EntryData::Noop => "no-op".to_string(),
            EntryData::Request { command, .. } => command.to_string(),
            EntryData::Value { value, .. } => format!("value = {value}"),
        }
    }
}

/// One log entry (Figure 2: "each entry contains command for state machine, and term when entry
/// was received by leader").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log (first is 1).
    pub index: LogIndex,
    /// Term of the leader that created it.
    pub term: Term,
    /// What it carries.
    pub data: EntryData,
}

/// The state Figure 2 calls "persistent state on all servers", apart from the log itself:
/// it must be durable before any message that depends on it is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// Latest term this server has seen.
    pub current_term: Term,
    /// Candidate that received this server's vote in `current_term`, if any.
    pub voted_for: Option<NodeId>,
}

/// A server's role (§5.1). Read back by its name ([`ROLE_NAMES`], crate::names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Passive: answers leaders and candidates.
    Follower,
    /// Asking for votes to become leader.
    Candidate,
    /// Handles client requests and replicates the log.
    Leader,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_log_models_read_back_by_the_names_they_are_written_with() {
        // Exhaustive: a new variant is a compile error here until the tables name it.
        let role_index = |r: Role| match r {
            Role::Follower => 0,
            Role::Candidate => 1,
            Role::Leader => 2,
        };
        for (i, role) in ROLES.into_iter().enumerate() {
            assert_eq!(role_index(role), i);
            let text = serde_json::to_string(&role).unwrap();
            assert_eq!(text, format!("\"{}\"", ROLE_NAMES[i]));
            assert_eq!(serde_json::from_str::<Role>(&text).unwrap(), role);
        }
        let model_index = |m: LogModel| match m {
            LogModel::Command => 0,
            LogModel::State => 1,
        };
        for (i, model) in LOG_MODELS.into_iter().enumerate() {
            assert_eq!(model_index(model), i);
            let text = serde_json::to_string(&model).unwrap();
            assert_eq!(text, format!("\"{}\"", LOG_MODEL_NAMES[i]));
            assert_eq!(serde_json::from_str::<LogModel>(&text).unwrap(), model);
        }
        let err = serde_json::from_str::<LogModel>(r#""log""#).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown variant `log`, expected `command` or `state`"),
            "{err}"
        );
    }

    #[test]
    fn entry_data_reads_back_and_bad_data_gets_the_derived_sentences() {
        let client = Some(ClientSerial {
            client_id: 2,
            serial: 5,
        });
        let all = [
            EntryData::Noop,
            EntryData::Request {
                command: Command::Add(5),
                client: None,
            },
            EntryData::Request {
                command: Command::Mul(3),
                client,
            },
            EntryData::Value {
                value: 15,
                command: Command::Add(5),
                client,
            },
            EntryData::Value {
                value: -1,
                command: Command::Set(-1),
                client: None,
            },
        ];
        // Every kind is in the list: `kind_of` is an exhaustive match, so a new variant is a
        // compile error here until it is added above (and to the reader).
        let kind_of = |d: &EntryData| match d {
            EntryData::Noop => EntryKind::Noop,
            EntryData::Request { .. } => EntryKind::Request,
            EntryData::Value { .. } => EntryKind::Value,
        };
        for kind in [EntryKind::Noop, EntryKind::Request, EntryKind::Value] {
            assert!(all.iter().any(|d| kind_of(d) == kind));
        }
        for data in all {
            let text = serde_json::to_string(&data).unwrap();
            assert_eq!(
                serde_json::from_str::<EntryData>(&text).unwrap(),
                data,
                "{text}"
            );
            let value = serde_json::to_value(&data).unwrap();
            assert_eq!(serde_json::from_value::<EntryData>(value).unwrap(), data);
        }
        let read = |text: &str| serde_json::from_str::<EntryData>(text);
        assert_eq!(
            read(r#"{"kind":"noop","from_a_newer_server":1}"#).unwrap(),
            EntryData::Noop
        );
        let error = |text: &str| read(text).unwrap_err().to_string();
        assert!(error(r#"{"kind":"value","command":{"op":"add","n":1}}"#)
            .contains("missing field `value`"));
        assert!(error(r#"{"kind":"snapshot"}"#).contains("unknown variant `snapshot`"));
        assert!(error(r#"{"value":1}"#).contains("missing field `kind`"));
        assert!(
            error("7").contains("expected an entry's data"),
            "{}",
            error("7")
        );
    }
}
