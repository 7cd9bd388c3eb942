//! What operators see: Prometheus metrics on their own HTTP port, trace ids on every
//! request's log lines, and, when an OTLP collector is configured, a span for every call.

mod calls;
mod methods;

pub use calls::{ObserveCalls, export_traces, in_call_span};

use std::convert::Infallible;
use std::sync::OnceLock;

use http_body_util::Full;
use hyper::body::Bytes;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use tokio::net::TcpListener;
use tonic::codegen::http;

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    /// Calls started, by type, service and method.
    pub rpc_started: IntCounterVec,
    /// Calls finished, by type, service, method and gRPC status code.
    pub rpc_handled: IntCounterVec,
    /// Time from a call's start to its end (a stream's last message), by type, service and
    /// method.
    pub rpc_handling: HistogramVec,
    /// The latest revision the read model has applied.
    pub read_model_revision: IntGauge,
    /// Revisions announced by the shared store that this replica has not applied yet.
    pub replica_lag: IntGauge,
    /// Time to commit a group of writes to the store.
    pub store_commit_duration: Histogram,
    /// Imported records, accepted or rejected.
    pub import_rows: IntCounterVec,
    /// Threads of the heavy-work pool.
    pub heavy_threads: IntGauge,
    /// Heavy calls running on the pool.
    pub heavy_running: IntGauge,
    /// Heavy calls waiting for a thread.
    pub heavy_queued: IntGauge,
    /// Heavy calls admitted to the pool, by class.
    pub heavy_admitted: IntCounterVec,
    /// Heavy calls refused (queue full or waited too long), by class.
    pub refused: IntCounterVec,
    /// Heavy calls stopped because their caller went away, by class.
    pub interrupted: IntCounterVec,
    /// Time heavy calls waited for a thread, by class.
    pub heavy_wait: HistogramVec,
    /// Start-ups by what became of the read model's image: loaded, or why not.
    pub model_image_loads: IntCounterVec,
    /// Images of the read model written, by outcome.
    pub model_image_writes: IntCounterVec,
    /// The revision of the newest image written or loaded.
    pub model_image_revision: IntGauge,
    /// Time to write an image.
    pub model_image_write_duration: Histogram,
    /// Settings files (tokens, TLS) reread after a change, by file and outcome.
    pub config_reloads: IntCounterVec,
    /// Summaries at a past revision, by where the funding as it stood came from.
    pub past_summaries: IntCounterVec,
}

impl Metrics {
    fn new() -> Self {
        // Process metrics keep their conventional unprefixed names; ours start pairing_aid_.
        let registry = Registry::new();
        // The gRPC calls by the names and labels of the gRPC Prometheus middleware
        // (grpc-ecosystem's go-grpc-middleware), which dashboards and alerts already query.
        const METHOD: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];
        let rpc_started = IntCounterVec::new(
            Opts::new(
                "grpc_server_started_total",
                "gRPC calls started on the server",
            ),
            &METHOD,
        )
        .expect("valid metric");
        let rpc_handled = IntCounterVec::new(
            Opts::new(
                "grpc_server_handled_total",
                "gRPC calls completed on the server, by status code",
            ),
            &["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
        )
        .expect("valid metric");
        let rpc_handling = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "time from a call's start to its end (a stream's last message)",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
                5.0,
            ]),
            &METHOD,
        )
        .expect("valid metric");
        let read_model_revision = IntGauge::new(
            "pairing_aid_read_model_revision",
            "latest revision applied to the read model",
        )
        .expect("valid metric");
        let replica_lag = IntGauge::new(
            "pairing_aid_replica_lag_revisions",
            "revisions announced by the shared store and not yet applied here",
        )
        .expect("valid metric");
        let store_commit_duration = Histogram::with_opts(
            HistogramOpts::new(
                "pairing_aid_store_commit_duration_seconds",
                "time to commit a group of writes, fsync included",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
        )
        .expect("valid metric");
        let import_rows = IntCounterVec::new(
            Opts::new(
                "pairing_aid_import_rows_total",
                "records received by ImportRecords, by outcome",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let heavy_threads = gauge(
            "pairing_aid_heavy_threads",
            "threads of the pool heavy calls run on",
        );
        let heavy_running = gauge(
            "pairing_aid_heavy_running",
            "heavy calls running on the pool",
        );
        let heavy_queued = gauge(
            "pairing_aid_heavy_queued",
            "heavy calls waiting for a thread of the pool",
        );
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
        };
        let heavy_admitted = counter(
            "pairing_aid_heavy_admitted_total",
            "heavy calls admitted to the pool, by class (the rest of a method's calls ran light)",
            &["class"],
        );
        let refused = counter(
            "pairing_aid_heavy_refused_total",
            "heavy calls refused with RESOURCE_EXHAUSTED (queue full, or waited too long)",
            &["class"],
        );
        let interrupted = counter(
            "pairing_aid_heavy_interrupted_total",
            "heavy calls stopped because their caller went away",
            &["class"],
        );
        let heavy_wait = HistogramVec::new(
            HistogramOpts::new(
                "pairing_aid_heavy_wait_seconds",
                "time heavy calls waited for a thread of the pool",
            )
            .buckets(vec![
                0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["class"],
        )
        .expect("valid metric");
        let model_image_loads = counter(
            "pairing_aid_model_image_loads_total",
            "start-ups by what became of the read model's image: loaded, or why the full load ran (missing, stale, damaged, other_build, unreadable)",
            &["outcome"],
        );
        let model_image_writes = counter(
            "pairing_aid_model_image_writes_total",
            "images of the read model written, by outcome (written, failed)",
            &["outcome"],
        );
        let model_image_revision = gauge(
            "pairing_aid_model_image_revision",
            "revision of the newest image of the read model written or loaded",
        );
        let model_image_write_duration = Histogram::with_opts(
            HistogramOpts::new(
                "pairing_aid_model_image_write_seconds",
                "time to write an image of the read model",
            )
            .buckets(vec![0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
        )
        .expect("valid metric");
        let config_reloads = counter(
            "pairing_aid_config_reloads_total",
            "settings files (tokens, tls) reread after they changed, by outcome: reloaded, or rejected (the previous settings stay in force)",
            &["file", "outcome"],
        );
        let past_summaries = counter(
            "pairing_aid_past_summaries_total",
            "funding summaries at a past revision, by where the projects as they stood came from: journal (the funding cube's journal of recent commits), log (the projects changed since, read from the log once and kept), record (the whole record as it stood, built from the log)",
            &["source"],
        );
        for collector in [
            Box::new(rpc_started.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(rpc_handled.clone()),
            Box::new(rpc_handling.clone()),
            Box::new(read_model_revision.clone()),
            Box::new(replica_lag.clone()),
            Box::new(store_commit_duration.clone()),
            Box::new(import_rows.clone()),
            Box::new(heavy_threads.clone()),
            Box::new(heavy_running.clone()),
            Box::new(heavy_queued.clone()),
            Box::new(heavy_admitted.clone()),
            Box::new(refused.clone()),
            Box::new(interrupted.clone()),
            Box::new(heavy_wait.clone()),
            Box::new(model_image_loads.clone()),
            Box::new(model_image_writes.clone()),
            Box::new(model_image_revision.clone()),
            Box::new(model_image_write_duration.clone()),
            Box::new(config_reloads.clone()),
            Box::new(past_summaries.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            registry
                .register(collector)
                .expect("each metric registered once");
        }
        Metrics {
            registry,
            rpc_started,
            rpc_handled,
            rpc_handling,
            read_model_revision,
            replica_lag,
            store_commit_duration,
            import_rows,
            heavy_threads,
            heavy_running,
            heavy_queued,
            heavy_admitted,
            refused,
            interrupted,
            heavy_wait,
            model_image_loads,
            model_image_writes,
            model_image_revision,
            model_image_write_duration,
            config_reloads,
            past_summaries,
        }
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> Vec<u8> {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding does not fail");
        buffer
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Serves `GET /metrics` (and nothing else) on `listener` until the process ends.
pub async fn serve_metrics(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                |request: http::Request<hyper::body::Incoming>| async move {
                    let response = if request.uri().path() == "/metrics" {
                        http::Response::builder()
                            .header("content-type", "text/plain; version=0.0.4")
                            .body(Full::new(Bytes::from(metrics().render())))
                    } else {
                        http::Response::builder()
                            .status(404)
                            .body(Full::new(Bytes::from_static(b"see /metrics\n")))
                    };
                    Ok::<_, Infallible>(response.expect("a valid response"))
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Looked up by this constant, not by its name as text, which is parsed on every lookup.
static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

/// The `grpc-status` of headers or trailers, if they carry one.
fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get(&GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from)
}

/// The `grpc_code` label of a status: its name as grpc-go spells it (`OK`, `Canceled`), as
/// the gRPC Prometheus middleware labels it.
fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}
