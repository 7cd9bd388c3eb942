//! What every gRPC call leaves behind: its count and duration by method and status code (by
//! the names and labels of the gRPC Prometheus middleware: `grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds`), and, when it logs, its trace
//! and span ids. A unary call's status is in its response headers or is OK; a response stream
//! is counted by the status its trailers carry, and timed to its end.
//!
//! Most calls log nothing (successful ones are logged at debug only), so the call's span is
//! made when a line is written, not for every call: making and formatting a span per call cost
//! about a tenth of a GetProject's server time.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::pin::Pin;
use std::task::{Context, Poll};

use foldhash::HashMap;
use http_body::{Frame, SizeHint};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use prometheus::{Histogram, IntCounter};
use tonic::body::Body;
use tonic::codegen::http;
use tower::Service;
use tracing::{Instrument as _, Level, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::methods::{self, Method};
use super::{code_label, grpc_status, metrics};
use crate::middleware::{Answer, Wrap, WrapLayer};

/// Counts, times and (when they log) identifies every call.
#[derive(Clone, Default)]
pub struct ObserveCalls;

impl ObserveCalls {
    /// The layer that observes every call.
    pub fn layer() -> WrapLayer<Self> {
        WrapLayer(ObserveCalls)
    }
}

impl<S, B> Wrap<S, http::Request<B>> for ObserveCalls
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    fn wrap(&self, inner: &mut S, request: http::Request<B>) -> Answer<S::Response, S::Error> {
        let method = methods::lookup(request.uri().path());
        let exported = EXPORTING
            .load(Ordering::Relaxed)
            .then(|| server_span(method, request.headers()));
        let call = Arc::new(Call {
            uri: request.uri().clone(),
            method,
            ids: CallIds::of(request.headers()),
            started: Instant::now(),
            exported: exported.clone(),
        });
        with_method_metrics(method, |metrics| metrics.started.inc());
        // A disabled span costs a branch where it is entered; no allocation.
        let response = CURRENT_CALL
            .scope(call.clone(), inner.call(request))
            .instrument(exported.unwrap_or_else(Span::none));
        Box::pin(async move {
            let response = match response.await {
                Ok(response) => response,
                Err(error) => {
                    call.finished(tonic::Code::Internal);
                    return Err(error);
                }
            };
            match grpc_status(response.headers()) {
                Some(code) => call.finished(code),
                None if method.kind.streams_responses() => {
                    let call = Some(call);
                    return Ok(response.map(|body| Body::new(ToItsEnd { body, call })));
                }
                None => call.finished(tonic::Code::Ok),
            }
            Ok(response)
        })
    }
}

/// A response stream that counts its call when it ends: by the status in its trailers, as
/// `Unknown` if it ended without one, as `Cancelled` if the caller went away first.
struct ToItsEnd {
    body: Body,
    call: Option<Arc<Call>>,
}

impl http_body::Body for ToItsEnd {
    type Data = <Body as http_body::Body>::Data;
    type Error = <Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame
                .trailers_ref()
                .map(|trailers| grpc_status(trailers).unwrap_or(tonic::Code::Unknown)),
            Poll::Ready(Some(Err(_))) => Some(tonic::Code::Internal),
            Poll::Ready(None) => Some(tonic::Code::Unknown),
            Poll::Pending => None,
        };
        if let Some(code) = ended
            && let Some(call) = self.call.take()
        {
            call.finished(code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for ToItsEnd {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finished(tonic::Code::Cancelled);
        }
    }
}

/// Whether spans are exported (an OTLP collector is configured): only then is a span made for
/// every call, which costs about a tenth of a light call.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Makes a span for every call from now on, continuing the caller's W3C trace.
pub fn export_traces(on: bool) {
    EXPORTING.store(on, Ordering::Relaxed);
}

/// The exported span of a call to `method`, a child of the trace the caller's `traceparent`
/// names (OpenTelemetry's RPC conventions).
fn server_span(method: &Method, headers: &http::HeaderMap) -> Span {
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %format_args!("{}/{}", method.service, method.name),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = method.service,
        rpc.method = method.name,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(TraceContextPropagator::new().extract(&HeaderExtractor(headers)));
    span
}

tokio::task_local! {
    /// The call whose handler the current task runs.
    static CURRENT_CALL: Arc<Call>;
}

/// Runs `log` in the span of the call being handled, so that its lines carry the call's
/// method and ids; outside a call, runs it as it is.
pub fn in_call_span(log: impl FnOnce()) {
    match CURRENT_CALL.try_with(|call| call.span()) {
        Ok(span) => span.in_scope(log),
        Err(_) => log(),
    }
}

struct Call {
    /// Its path is the method; cloning it shares the request's bytes.
    uri: http::Uri,
    method: &'static Method,
    ids: CallIds,
    started: Instant,
    /// The call's exported span, ended when the call is.
    exported: Option<Span>,
}

impl Call {
    /// The span every log line of this call is written in; the same fields as before spans
    /// were made lazily, so log queries keep working.
    fn span(&self) -> Span {
        let (trace_id, span_id) = (self.ids.trace_id(), self.ids.span_id());
        tracing::info_span!(
            "rpc",
            method = %crate::text::bounded(self.uri.path()),
            %trace_id,
            %span_id
        )
    }

    fn finished(&self, code: tonic::Code) {
        let latency = self.started.elapsed();
        record(self.method, code, latency);
        if let Some(span) = &self.exported {
            span.record("rpc.grpc.status_code", code as i32);
            if code != tonic::Code::Ok {
                span.record("otel.status_code", "ERROR");
            }
        }
        let latency_us = latency.as_micros() as u64;
        // A line for every successful call would cost more than the call; metrics count
        // those, and RUST_LOG=debug shows them.
        if code != tonic::Code::Ok {
            self.span()
                .in_scope(|| tracing::info!(?code, latency_us, "rpc finished"));
        } else if tracing::enabled!(Level::DEBUG) {
            self.span()
                .in_scope(|| tracing::debug!(?code, latency_us, "rpc finished"));
        }
    }
}

/// A call's W3C trace id (the caller's, from `traceparent`, or a new one) and its own span id,
/// kept as numbers: they are formatted only when a line is written.
/// The W3C trace context header; a name given as text would be parsed on every lookup.
static TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

#[derive(Clone, Copy)]
struct CallIds {
    trace: u128,
    span: u64,
}

impl CallIds {
    fn of(headers: &http::HeaderMap) -> Self {
        let from_caller = headers
            .get(&TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split('-').nth(1))
            .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|id| u128::from_str_radix(id, 16).ok())
            // All zeros is the W3C's invalid trace id.
            .filter(|&id| id != 0);
        CallIds {
            trace: from_caller.unwrap_or_else(|| u128::from(random()) << 64 | u128::from(random())),
            span: random(),
        }
    }

    fn trace_id(&self) -> String {
        format!("{:032x}", self.trace)
    }

    fn span_id(&self) -> String {
        format!("{:016x}", self.span)
    }
}

/// 64 random bits: a per-thread xorshift generator seeded from the standard library's random
/// hash keys and the clock; ids need to be unique, not unpredictable.
fn random() -> u64 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            hasher.finish() | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x
    })
}

/// The metrics of one method that every call touches, looked up once per thread: finding them
/// in the labelled families hashes the labels and takes a lock on every call.
struct MethodMetrics {
    started: IntCounter,
    succeeded: IntCounter,
    duration: Histogram,
}

thread_local! {
    static KNOWN: RefCell<HashMap<*const Method, MethodMetrics>> = RefCell::new(HashMap::default());
}

/// Runs `use_metrics` with `method`'s metrics. The methods are the served ones and
/// [`methods::UNKNOWN`], so the table stays as small as the API.
fn with_method_metrics(method: &'static Method, use_metrics: impl FnOnce(&MethodMetrics)) {
    KNOWN.with_borrow_mut(|known| {
        let metrics = known.entry(method as *const Method).or_insert_with(|| {
            let metrics = metrics();
            let labels = [method.kind.label(), method.service, method.name];
            MethodMetrics {
                started: metrics.rpc_started.with_label_values(&labels),
                succeeded: metrics.rpc_handled.with_label_values(&[
                    labels[0],
                    labels[1],
                    labels[2],
                    code_label(tonic::Code::Ok),
                ]),
                duration: metrics.rpc_handling.with_label_values(&labels),
            }
        });
        use_metrics(metrics);
    });
}

fn record(method: &'static Method, code: tonic::Code, latency: Duration) {
    let seconds = latency.as_secs_f64();
    with_method_metrics(method, |metrics| {
        metrics.duration.observe(seconds);
        if code == tonic::Code::Ok {
            metrics.succeeded.inc();
        }
    });
    // Other codes are rarer and take the labelled path.
    if code != tonic::Code::Ok {
        metrics()
            .rpc_handled
            .with_label_values(&[
                method.kind.label(),
                method.service,
                method.name,
                code_label(code),
            ])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_traceparent_sets_the_trace_id_and_a_malformed_one_is_replaced() {
        let mut headers = http::HeaderMap::new();
        let caller = "4bf92f3577b34da6a3ce929d0e0e4736";
        headers.insert(
            "traceparent",
            format!("00-{caller}-00f067aa0ba902b7-01").parse().unwrap(),
        );
        assert_eq!(CallIds::of(&headers).trace_id(), caller);
        let zeros = "0".repeat(32);
        for malformed in [
            "00-not-hex-01".to_owned(),
            format!("00-{zeros}-00f067aa0ba902b7-01"),
        ] {
            headers.insert("traceparent", malformed.parse().unwrap());
            let replaced = CallIds::of(&headers);
            assert_ne!(replaced.trace_id(), caller);
            assert_ne!(replaced.trace_id(), zeros);
            assert_eq!(replaced.trace_id().len(), 32);
            assert_eq!(replaced.span_id().len(), 16);
        }
        // New ids are 32 lowercase hex digits, leading zeros kept.
        let new = CallIds {
            trace: 0xab << 64 | 1,
            span: 2,
        };
        assert_eq!(new.trace_id(), "00000000000000ab0000000000000001");
        assert_eq!(new.span_id(), "0000000000000002");
    }
}
