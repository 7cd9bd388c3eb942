//! Refuses calls beyond a number in flight with RESOURCE_EXHAUSTED, at once, instead of queueing
//! them until the server falls over. Health checks are never refused, so probes keep working
//! under load.
//!
//! It also reports an oversized request as RESOURCE_EXHAUSTED with `ErrorInfo`, as the gRPC
//! status code guide asks: tonic refuses it while decoding, before any handler runs, with a
//! bare OUT_OF_RANGE.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tonic::codegen::http;
use tower::{Layer, Service};

use super::ApiError;

/// Limits calls in flight across all connections.
#[derive(Clone)]
pub struct ConcurrencyLimitLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ConcurrencyLimitLayer {
    /// At most `limit` calls in flight.
    pub fn new(limit: usize) -> Self {
        ConcurrencyLimitLayer {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrencyLimit {
            inner,
            permits: self.permits.clone(),
            limit: self.limit,
        }
    }
}

/// The service [`ConcurrencyLimitLayer`] makes.
#[derive(Clone)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
}

impl<S, B> Service<http::Request<B>> for ConcurrencyLimit<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path().starts_with("/grpc.health.v1.") {
            return Box::pin(self.inner.call(request));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let response = self.inner.call(request);
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
