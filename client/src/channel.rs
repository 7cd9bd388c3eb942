//! The channel every call goes through: tonic's channel, telling the DNS discovery when a
//! connection fails so that it resolves again at once, and carrying the caller's trace.
//!
//! Every call is a client span (OpenTelemetry's RPC conventions: `rpc.system`,
//! `rpc.service`, `rpc.method`, `rpc.grpc.status_code`), a child of the caller's current
//! span, and sends W3C `traceparent`/`tracestate` from it, so the server continues the trace.
//! Without an OpenTelemetry layer in the caller's subscriber the span is disabled and nothing
//! is sent. The status recorded is the one in the response headers, else OK: a stream that
//! fails after its headers is seen by the server's span, not by this one.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tokio::sync::Notify;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::Channel;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A connection to one server or a balanced set of them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ServerChannel {
    channel: Channel,
    /// Notified when a call fails to reach a server; `None` without DNS discovery.
    failures: Option<Arc<Notify>>,
}

impl ServerChannel {
    pub(crate) fn new(channel: Channel, failures: Option<Arc<Notify>>) -> Self {
        ServerChannel { channel, failures }
    }

    fn report_failure(&self) {
        if let Some(failures) = &self.failures {
            failures.notify_one();
        }
    }
}

impl tower_service::Service<http::Request<Body>> for ServerChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let ready = self.channel.poll_ready(cx);
        if let Poll::Ready(Err(_)) = &ready {
            self.report_failure();
        }
        ready
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let span = client_span(request.uri().path());
        TraceContextPropagator::new()
            .inject_context(&span.context(), &mut HeaderInjector(request.headers_mut()));
        let response = self.channel.call(request);
        let this = self.clone();
        let recorded = span.clone();
        Box::pin(
            async move {
                let response = response.await;
                let code = match &response {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
                        .unwrap_or(0),
                    Err(_) => {
                        this.report_failure();
                        tonic::Code::Unavailable as i32
                    }
                };
                recorded.record("rpc.grpc.status_code", code);
                if code != 0 {
                    recorded.record("otel.status_code", "ERROR");
                }
                response
            }
            .instrument(span),
        )
    }
}

/// The span of a call to `path` (`/package.Service/Method`).
fn client_span(path: &str) -> tracing::Span {
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", "unknown"));
    tracing::info_span!(
        "grpc.client",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}
