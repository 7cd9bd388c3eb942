//! tonic's own refusals of a request, restated as this service's errors. tonic decodes the
//! message before any handler runs and answers a fault in it with a bare status: INTERNAL for
//! bytes that are not the message, a compressed flag without an encoding, or a body cut short;
//! OUT_OF_RANGE for a message over the size limit. Those are the caller's faults, so a client
//! is told so, with the `ErrorInfo` (and field, where tonic names one) every other error has.

use tonic::Code;
use tonic::codegen::http;
use tower::Service;

use super::ApiError;
use crate::domain::Violation;
use crate::middleware::{Answer, Wrap, WrapLayer};

/// Restates tonic's refusals of malformed or oversized requests.
#[derive(Clone)]
pub struct RestateRefusals;

impl RestateRefusals {
    pub fn layer() -> WrapLayer<Self> {
        WrapLayer(RestateRefusals)
    }
}

impl<S, B> Wrap<S, http::Request<B>> for RestateRefusals
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    fn wrap(&self, inner: &mut S, request: http::Request<B>) -> Answer<S::Response, S::Error> {
        let response = inner.call(request);
        Box::pin(async move { response.await.map(restated) })
    }
}

/// Prefixes of tonic's messages for a malformed request message.
const MALFORMED: &[&str] = &[
    "failed to decode Protobuf message",
    "protocol error: received message with",
    "Unexpected EOF decoding stream",
    "Missing request message",
    "Error decompressing",
];

/// Looked up by this constant, not by its name as text, which is parsed on every lookup.
static STATUS_DETAILS: http::HeaderName = http::HeaderName::from_static("grpc-status-details-bin");

/// The response, with a status tonic made for a bad request replaced by ours.
fn restated(response: http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body> {
    let headers = response.headers();
    if headers.contains_key(&STATUS_DETAILS) {
        return response;
    }
    let Some(status) = tonic::Status::from_header_map(headers) else {
        return response;
    };
    let message = status.message();
    let error = match status.code() {
        Code::OutOfRange if message.contains("decoded message length too large") => {
            ApiError::ResourceExhausted {
                reason: "MESSAGE_TOO_LARGE",
                message: format!("request message too large: {message}; send smaller batches"),
            }
        }
        Code::Internal if MALFORMED.iter().any(|p| message.starts_with(p)) => {
            ApiError::InvalidArgument {
                reason: "MALFORMED_MESSAGE",
                violations: vec![malformed(message)],
            }
        }
        _ => return response,
    };
    tonic::Status::from(error).into_http()
}

/// The field a decoding error names, if any, and what was wrong. prost's message reads
/// "failed to decode Protobuf message: Outer.field: Inner.field: what was wrong".
fn malformed(message: &str) -> Violation {
    let detail = message
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(message);
    let mut path = Vec::new();
    let mut rest = detail;
    while let Some((segment, after)) = rest.split_once(": ") {
        match segment.split_once('.') {
            Some((message_type, field))
                if message_type.chars().all(char::is_alphanumeric)
                    && field.chars().all(|c| c.is_alphanumeric() || c == '_') =>
            {
                path.push(field);
                rest = after;
            }
            _ => break,
        }
    }
    Violation::new(
        path.join("."),
        format!("the request is not a valid message: {rest}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoding_error_names_the_field_path() {
        let violation = malformed(
            "failed to decode Protobuf message: CreateProjectRequest.project: Project.title: \
             invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(violation.field, "project.title");
        assert!(violation.reason.ends_with("data is not UTF-8 encoded"));
        let whole = malformed("failed to decode Protobuf message: invalid wire type value: 7");
        assert_eq!(whole.field, "");
        assert!(whole.reason.ends_with("invalid wire type value: 7"));
    }
}
