//! Errors as gRPC statuses with AIP-193 details: `ErrorInfo` always, `BadRequest` for input.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::Violation;
use crate::query::ListError;
use crate::store::StoreError;

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
}

impl From<ListError> for ApiError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::Filter(e) => ApiError::invalid("INVALID_FILTER", "filter", e.to_string()),
            ListError::OrderBy(m) => ApiError::invalid("INVALID_ORDER_BY", "order_by", m),
            ListError::PageToken(m) => ApiError::invalid("INVALID_PAGE_TOKEN", "page_token", m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(message) => ApiError::Unavailable { message },
            StoreError::Corrupt(message) => ApiError::Internal { message },
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let mut details = ErrorDetails::new();
        let (code, message, reason) = match error {
            ApiError::InvalidArgument { reason, violations } => {
                let message = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.reason);
                }
                (Code::InvalidArgument, message, reason)
            }
            ApiError::NotFound { name } => {
                let message = format!("{name} does not exist");
                let collection = name.split('/').next().unwrap_or_default().to_owned();
                details.set_resource_info(collection, name, "", "");
                (Code::NotFound, message, "RESOURCE_NOT_FOUND")
            }
            ApiError::Unavailable { message } => {
                details.set_retry_info(Some(std::time::Duration::from_secs(1)));
                (Code::Unavailable, message, "STORE_UNAVAILABLE")
            }
            ApiError::Internal { message } => {
                tracing::error!(%message, "internal error");
                (
                    Code::Internal,
                    "internal error; see the server log".to_owned(),
                    "INTERNAL",
                )
            }
        };
        details.set_error_info(reason, ERROR_DOMAIN, []);
        Status::with_error_details(code, message, details)
    }
}
