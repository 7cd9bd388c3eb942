//! Errors as gRPC statuses with AIP-193 details: `ErrorInfo` always, `BadRequest` for input,
//! `RetryInfo` where retrying helps.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::changes::{Conflict, LogError, StoreError, WriteError};
use crate::domain::Violation;
use crate::query::interrupt::Interrupted;
use crate::query::listing::ListError;
use crate::text::{bounded, bounded_to};

/// Violations detailed in an error's `BadRequest`; more are counted in the message.
const MAX_VIOLATIONS: usize = 50;
/// Violations an error's message spells out.
const MAX_VIOLATIONS_IN_MESSAGE: usize = 5;
/// Longest error message, in bytes.
const MAX_MESSAGE: usize = 1024;

/// The `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "pairing-aid";

/// A request that failed, as the API reports it.
#[derive(Debug)]
pub enum ApiError {
    /// The request is malformed; `reason` is the UPPER_SNAKE `ErrorInfo` reason.
    InvalidArgument {
        reason: &'static str,
        violations: Vec<Violation>,
    },
    /// The named resource does not exist.
    NotFound { name: String },
    /// A resource of that name exists already.
    AlreadyExists { name: String },
    /// The resource changed since the caller read it (stale etag, concurrent writer).
    Aborted(String),
    /// The request is valid but the record's state forbids it.
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// No valid token.
    Unauthenticated(String),
    /// A valid token without the role the call needs.
    PermissionDenied(String),
    /// A limit that protects the server was reached.
    ResourceExhausted {
        reason: &'static str,
        message: String,
    },
    /// Asked for a revision the change log no longer holds.
    OutOfRange {
        reason: &'static str,
        message: String,
    },
    /// The call's deadline passed before the answer was ready.
    DeadlineExceeded(String),
    /// The call ended (its caller went away) before the answer was ready.
    Cancelled(String),
    /// The store cannot be reached now; retrying later may succeed.
    Unavailable { message: String },
    /// A fault of the service itself.
    Internal { message: String },
}

impl ApiError {
    /// One violation of `field`.
    pub fn invalid(reason: &'static str, field: &str, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument {
            reason,
            violations: vec![Violation::new(field, description)],
        }
    }

    /// A refused write; invalid ops are reported under `prefix(index)`.
    pub fn from_write(error: WriteError, prefix: impl Fn(usize) -> String) -> Self {
        match error {
            WriteError::Invalid(invalid) => ApiError::InvalidArgument {
                reason: "INVALID_ARGUMENT",
                violations: invalid
                    .into_iter()
                    .flat_map(|(index, violations)| violations.prefixed(&prefix(index)).0)
                    .collect(),
            },
            WriteError::NotFound(name) => ApiError::NotFound {
                name: name.to_string(),
            },
            WriteError::Referenced { name, by } => ApiError::FailedPrecondition {
                reason: "RESOURCE_IN_USE",
                message: format!("{name} cannot be deleted while {by} refers to it"),
            },
            WriteError::Conflict(conflict) => conflict.into(),
            WriteError::Store(error) => error.into(),
        }
    }
}

impl From<Conflict> for ApiError {
    fn from(conflict: Conflict) -> Self {
        match conflict {
            Conflict::Missing(name) => ApiError::NotFound {
                name: name.to_string(),
            },
            Conflict::Exists(name) => ApiError::AlreadyExists {
                name: name.to_string(),
            },
            moved @ (Conflict::Stale { .. } | Conflict::Overtaken { .. }) => {
                ApiError::Aborted(moved.to_string())
            }
            reused @ Conflict::RequestReused(_) => {
                ApiError::invalid("REQUEST_ID_REUSED", "request_id", reused.to_string())
            }
        }
    }
}

impl From<ListError> for ApiError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::Filter(e) => ApiError::invalid("INVALID_FILTER", "filter", e.to_string()),
            ListError::OrderBy(m) => ApiError::invalid("INVALID_ORDER_BY", "order_by", m),
            ListError::PageToken(m) => ApiError::invalid("INVALID_PAGE_TOKEN", "page_token", m),
            ListError::Interrupted(interrupted) => interrupted.into(),
        }
    }
}

impl From<Interrupted> for ApiError {
    fn from(interrupted: Interrupted) -> Self {
        ApiError::Cancelled(interrupted.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(message) => ApiError::Unavailable { message },
            StoreError::Full(message) => ApiError::ResourceExhausted {
                reason: "STORE_FULL",
                message: format!("the store's disk is full; nothing was written: {message}"),
            },
            StoreError::Corrupt(message) | StoreError::Settings(message) => {
                ApiError::Internal { message }
            }
            StoreError::Conflict(conflict) => conflict.into(),
        }
    }
}

impl From<LogError> for ApiError {
    fn from(error: LogError) -> Self {
        match error {
            compacted @ LogError::Compacted { .. } => ApiError::OutOfRange {
                reason: "REVISION_COMPACTED",
                message: format!("{compacted}: export the record and watch from its revision"),
            },
            expired @ (LogError::Expired { .. } | LogError::TooEarly { .. }) => {
                ApiError::FailedPrecondition {
                    reason: "REVISION_EXPIRED",
                    message: expired.to_string(),
                }
            }
            LogError::Interrupted(interrupted) => interrupted.into(),
            LogError::PageToken(message) => {
                ApiError::invalid("INVALID_PAGE_TOKEN", "page_token", message)
            }
            LogError::Store(error) => error.into(),
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let mut details = ErrorDetails::new();
        let (code, message, reason) = match error {
            ApiError::InvalidArgument { reason, violations } => {
                // Each quoted in bounds, and a bounded number of them: a request with a
                // thousand bad rows still gets an answer its client can read.
                let shown = violations.len().min(MAX_VIOLATIONS);
                let mut message = violations[..shown.min(MAX_VIOLATIONS_IN_MESSAGE)]
                    .iter()
                    .map(|v| format!("{}: {}", bounded(&v.field), bounded(&v.reason)))
                    .collect::<Vec<_>>()
                    .join("; ");
                if violations.len() > MAX_VIOLATIONS_IN_MESSAGE {
                    message.push_str(&format!(
                        "; and {} more",
                        violations.len() - MAX_VIOLATIONS_IN_MESSAGE
                    ));
                }
                for violation in &violations[..shown] {
                    details.add_bad_request_violation(
                        bounded(&violation.field),
                        bounded(&violation.reason),
                    );
                }
                (Code::InvalidArgument, message, reason)
            }
            ApiError::NotFound { name } => {
                let name = bounded(&name).into_owned();
                let message = format!("{name} does not exist");
                let collection = name.split('/').next().unwrap_or_default().to_owned();
                details.set_resource_info(collection, name, "", "");
                (Code::NotFound, message, "RESOURCE_NOT_FOUND")
            }
            ApiError::AlreadyExists { name } => {
                let message = format!("{name} already exists");
                let collection = name.split('/').next().unwrap_or_default().to_owned();
                details.set_resource_info(collection, name, "", "");
                (Code::AlreadyExists, message, "RESOURCE_EXISTS")
            }
            ApiError::Aborted(message) => (Code::Aborted, message, "ETAG_MISMATCH"),
            ApiError::FailedPrecondition { reason, message } => {
                (Code::FailedPrecondition, message, reason)
            }
            ApiError::Unauthenticated(message) => {
                (Code::Unauthenticated, message, "UNAUTHENTICATED")
            }
            ApiError::PermissionDenied(message) => {
                (Code::PermissionDenied, message, "PERMISSION_DENIED")
            }
            ApiError::ResourceExhausted { reason, message } => {
                details.set_retry_info(Some(Duration::from_secs(1)));
                (Code::ResourceExhausted, message, reason)
            }
            ApiError::OutOfRange { reason, message } => (Code::OutOfRange, message, reason),
            ApiError::DeadlineExceeded(message) => {
                (Code::DeadlineExceeded, message, "DEADLINE_EXCEEDED")
            }
            ApiError::Cancelled(message) => (Code::Cancelled, message, "CANCELLED"),
            ApiError::Unavailable { message } => {
                details.set_retry_info(Some(Duration::from_secs(1)));
                (Code::Unavailable, message, "STORE_UNAVAILABLE")
            }
            ApiError::Internal { message } => {
                crate::telemetry::in_call_span(
                    || tracing::error!(message = %bounded(&message), "internal error"),
                );
                (
                    Code::Internal,
                    "internal error; see the server log".to_owned(),
                    "INTERNAL",
                )
            }
        };
        details.set_error_info(reason, ERROR_DOMAIN, []);
        Status::with_error_details(code, bounded_to(&message, MAX_MESSAGE), details)
    }
}
