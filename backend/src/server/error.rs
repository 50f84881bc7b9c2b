//! [`ServerError`]: every failed HTTP request as one type, answered as `{"ok":false,"error":…}`
//! with the status its cause calls for. Owns the error envelope and the mapping from a command's
//! [`ErrorKind`] to a status code; must not decide *when* a request fails (the handlers do).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::driver::{CommandError, ErrorKind};

/// A failed HTTP request: the status to answer with and a sentence for a person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({status})")]
pub(crate) struct ServerError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong (the envelope's `error`).
    pub message: String,
}

impl ServerError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ServerError {
            status,
            message: message.into(),
        }
    }
}

/// The HTTP status for a failed command.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<CommandError> for ServerError {
    fn from(e: CommandError) -> Self {
        ServerError::new(status_of(e.kind), e.message)
    }
}

/// The error envelope (a struct, so `ok` comes first in the JSON).
#[derive(Serialize)]
struct ErrorBody {
    ok: bool,
    error: String,
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            ok: false,
            error: self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_envelope_is_ok_false_then_the_error_with_the_status_of_its_kind() {
        let response = ServerError::from(CommandError::conflict("no leader")).into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"ok":false,"error":"no leader"}"#);
    }

    #[test]
    fn every_kind_has_its_documented_status() {
        let cases = [
            (CommandError::invalid("x"), 400),
            (CommandError::timeout("x"), 504),
            (CommandError::too_many("x"), 429),
            (CommandError::unavailable("x"), 503),
        ];
        for (e, status) in cases {
            assert_eq!(ServerError::from(e).status.as_u16(), status);
        }
    }
}
