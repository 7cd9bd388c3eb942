//! Errors a caller can act on: the gRPC status with its `BadRequest` violations, `ErrorInfo`
//! reason and retry hint already decoded.

use std::time::Duration;

use tonic::Code;
use tonic_types::StatusExt;

/// One invalid field of a request, as the server named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, e.g. `project.funding_lines[0].amount.currency_code`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status.
    #[error("{}", describe(*.code, .message, .reason.as_deref(), .violations))]
    Status {
        /// The gRPC status code.
        code: Code,
        /// The server's message.
        message: String,
        /// The `ErrorInfo` reason, e.g. `RESOURCE_NOT_FOUND`.
        reason: Option<String>,
        /// Every `BadRequest` field violation.
        violations: Vec<FieldViolation>,
        /// How long the server asked the caller to wait before retrying.
        retry_after: Option<Duration>,
    },
    /// No connection could be made.
    #[error("cannot reach the server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The client was configured wrongly.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

fn describe(
    code: Code,
    message: &str,
    reason: Option<&str>,
    violations: &[FieldViolation],
) -> String {
    let mut text = format!("{code:?}");
    if let Some(reason) = reason {
        text.push_str(&format!(" ({reason})"));
    }
    if violations.is_empty() {
        text.push_str(&format!(": {message}"));
    }
    for violation in violations {
        text.push_str(&format!("; {}: {}", violation.field, violation.description));
    }
    text
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        let details = status.get_error_details();
        // A connection that broke under a call surfaces as UNKNOWN carrying the local I/O or
        // HTTP/2 error as its source (a status the server sent has none); like other gRPC
        // clients, treat it as UNAVAILABLE.
        let broken_connection =
            status.code() == Code::Unknown && std::error::Error::source(&status).is_some();
        let code = if broken_connection {
            Code::Unavailable
        } else {
            status.code()
        };
        Error::Status {
            code,
            message: status.message().to_owned(),
            reason: details.error_info().map(|info| info.reason.clone()),
            violations: details
                .bad_request()
                .map(|b| {
                    b.field_violations
                        .iter()
                        .map(|v| FieldViolation {
                            field: v.field.clone(),
                            description: v.description.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            retry_after: details.retry_info().and_then(|r| r.retry_delay),
        }
    }
}

impl Error {
    /// The gRPC status code, if the server answered.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The `ErrorInfo` reason, if the server gave one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Error::Status { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// The invalid fields the server named.
    pub fn violations(&self) -> &[FieldViolation] {
        match self {
            Error::Status { violations, .. } => violations,
            _ => &[],
        }
    }

    /// How long the server asked to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether retrying later may succeed: only UNAVAILABLE (and failing to connect).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Transport(_)) || self.code() == Some(Code::Unavailable)
    }
}
