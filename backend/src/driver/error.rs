//! Why a driver request failed: [`CommandError`], a class ([`ErrorKind`]) and a sentence for a
//! person. Owns the classification of simulator refusals; must not know about HTTP or WebSocket
//! framing (the server maps a kind to a status code).

use shared::sim::SimError;

/// Why a command failed; `kind` picks the HTTP status, `message` is meant for a person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// What went wrong, in a sentence.
    pub message: String,
}

/// Classes of command failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (bad JSON, bad value, bad command text).
    Invalid,
    /// It names a node or message that does not exist.
    NotFound,
    /// The cluster's state refuses it (node down, no leader, not the leader, …).
    Conflict,
    /// It waited too long for the cluster.
    Timeout,
    /// Too many requests (rate limit, too many waiting).
    TooMany,
    /// The server cannot serve it now (shutting down, storage failure).
    Unavailable,
}

impl CommandError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
        }
    }
    /// The request is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    /// The cluster's state refuses it.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// It waited too long.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }
    /// Too many requests.
    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooMany, message)
    }
    /// Cannot serve now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    /// It names something that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub(super) fn stopped() -> Self {
        Self::unavailable("the server is shutting down")
    }
}

impl From<SimError> for CommandError {
    fn from(e: SimError) -> Self {
        let kind = match &e {
            SimError::UnknownNode(..) | SimError::UnknownMessage(_) => ErrorKind::NotFound,
            SimError::ReservedClient | SimError::BadConfig(_) => ErrorKind::Invalid,
            SimError::NodeDown(_)
            | SimError::NodeUp(_)
            | SimError::Refused(_)
            | SimError::NoNode(_)
            | SimError::LeaderTimeout(_) => ErrorKind::Conflict,
        };
        CommandError::new(kind, e.to_string())
    }
}
