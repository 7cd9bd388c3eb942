//! Refuses calls beyond a number in flight with RESOURCE_EXHAUSTED, at once, instead of queueing
//! them until the server falls over. Health checks are never refused, so probes keep working
//! under load.
//!
//! It also reports an oversized request as RESOURCE_EXHAUSTED with `ErrorInfo`, as the gRPC
//! status code guide asks: tonic refuses it while decoding, before any handler runs, with a
//! bare OUT_OF_RANGE.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tonic::codegen::http;
use tower::Service;

use super::ApiError;
use crate::middleware::{Answer, Wrap, WrapLayer};

/// Limits calls in flight across all connections.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ConcurrencyLimit {
    /// At most `limit` calls in flight, as a layer.
    pub fn layer(limit: usize) -> WrapLayer<Self> {
        WrapLayer(ConcurrencyLimit {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        })
    }
}

impl<S, B> Wrap<S, http::Request<B>> for ConcurrencyLimit
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    fn wrap(&self, inner: &mut S, request: http::Request<B>) -> Answer<S::Response, S::Error> {
        if request.uri().path().starts_with("/grpc.health.v1.") {
            return Box::pin(inner.call(request));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let response = inner.call(request);
                Box::pin(async move {
                    let response = response.await;
                    drop(permit);
                    response.map(explain_oversized)
                })
            }
            Err(_) => {
                let status: tonic::Status = ApiError::ResourceExhausted {
                    reason: "TOO_MANY_REQUESTS",
                    message: format!(
                        "{} calls are in flight, the most this server takes; retry shortly",
                        self.limit
                    ),
                }
                .into();
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

/// Rewrites tonic's OUT_OF_RANGE for a message over the size limit as RESOURCE_EXHAUSTED.
fn explain_oversized(
    response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let message = match tonic::Status::from_header_map(response.headers()) {
        Some(status)
            if status.code() == tonic::Code::OutOfRange
                && status.message().contains("message length too large") =>
        {
            status.message().to_owned()
        }
        _ => return response,
    };
    let status: tonic::Status = ApiError::ResourceExhausted {
        reason: "MESSAGE_TOO_LARGE",
        message: format!("request message too large: {message}; send smaller batches"),
    }
    .into();
    status.into_http()
}
