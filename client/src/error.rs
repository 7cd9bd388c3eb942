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
    #[error("{}", describe(*.code, .message, .reason.as_deref(), .violations, .cause.as_deref()))]
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
        /// For a status made on this side (a connection that failed or broke), the local
        /// reason: refused, unknown certificate issuer, expired certificate.
        cause: Option<String>,
    },
    /// No connection could be made.
    #[error("cannot reach the server: {}", causes(.0))]
    Transport(#[from] tonic::transport::Error),
    /// The server refused this client's TLS connection (its certificate, or the lack of one).
    #[error("cannot reach the server: {0}")]
    Handshake(String),
    /// A `dns:` endpoint's name did not resolve to any address.
    #[error("cannot resolve {name}: {message}")]
    Resolve {
        /// The name looked up.
        name: String,
        /// Why it gave no address.
        message: String,
    },
    /// An attempt took longer than the retry policy's `attempt_timeout` and was abandoned.
    #[error("DeadlineExceeded: no answer within the attempt timeout of {0:?}")]
    AttemptTimedOut(Duration),
    /// The client was configured wrongly.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// An error and its causes, outermost first, as one line: tonic's transport errors say only
/// "transport error" and keep the reason (refused, unknown issuer, expired) in their sources.
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    match EXPLANATIONS
        .iter()
        .find(|(fragment, _)| text.contains(fragment))
    {
        Some((_, explanation)) => format!("{explanation} ({text})"),
        None => text,
    }
}

/// Plain words for the TLS failures rustls names by code, and what to change: the fragment
/// of rustls's message, and the explanation put before it.
const EXPLANATIONS: [(&str, &str); 7] = [
    (
        "alert: CertificateRequired",
        "the server requires a client certificate (tls_identity; pairctl --cert and --key)",
    ),
    (
        "alert: CertificateExpired",
        "the server refused this client's certificate: it has expired",
    ),
    (
        "alert: UnknownCA",
        "the server refused this client's certificate: it is not signed by a CA it trusts",
    ),
    (
        "alert: BadCertificate",
        "the server refused this client's certificate",
    ),
    (
        "invalid peer certificate: UnknownIssuer",
        "the server's certificate is not signed by a CA this client trusts \
         (tls_ca_pem; pairctl --cacert)",
    ),
    (
        "invalid peer certificate: certificate expired",
        "the server's certificate has expired",
    ),
    (
        "certificate not valid for name",
        "the server's certificate does not name the host connected to \
         (tls_domain; pairctl --tls-server-name)",
    ),
];

fn describe(
    code: Code,
    message: &str,
    reason: Option<&str>,
    violations: &[FieldViolation],
    cause: Option<&str>,
) -> String {
    let mut text = format!("{code:?}");
    if let Some(reason) = reason {
        text.push_str(&format!(" ({reason})"));
    }
    if violations.is_empty() {
        text.push_str(&format!(": {message}"));
        if let Some(cause) = cause.filter(|cause| !message.contains(cause)) {
            text.push_str(&format!(": {cause}"));
        }
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
        let cause = std::error::Error::source(&status).map(causes);
        let broken_connection = status.code() == Code::Unknown && cause.is_some();
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
            cause,
        }
    }
}

impl Error {
    /// The gRPC status code, if the server answered (or an attempt timed out).
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Status { code, .. } => Some(*code),
            Error::AttemptTimedOut(_) => Some(Code::DeadlineExceeded),
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

    /// Whether retrying later may succeed: failing to connect, UNAVAILABLE, an attempt that
    /// timed out on this side, and RESOURCE_EXHAUSTED when the server said when to retry
    /// (without `RetryInfo` it means the request itself is too large or too costly).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) | Error::AttemptTimedOut(_) => true,
            Error::Status {
                code, retry_after, ..
            } => {
                *code == Code::Unavailable
                    || (*code == Code::ResourceExhausted && retry_after.is_some())
            }
            _ => false,
        }
    }
}
