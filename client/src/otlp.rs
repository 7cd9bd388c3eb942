//! Spans exported over OTLP/gRPC, when the standard `OTEL_EXPORTER_OTLP_*` variables ask for
//! it: for programs built on the client (pairctl, the server) to send their traces to a
//! collector. Feature `otlp`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

use crate::Error;

/// An exporter of this process's spans, to be added to its subscriber as a layer and shut
/// down (which sends what is still buffered) before the process exits.
pub struct OtlpExport {
    provider: SdkTracerProvider,
}

impl OtlpExport {
    /// An exporter if `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// is set and `OTEL_TRACES_EXPORTER` is not `none`; the exporter reads the other
    /// `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables itself. The service is named by
    /// `OTEL_SERVICE_NAME`, else `service`. Must be called within a Tokio runtime.
    pub fn from_env(service: &str) -> Result<Option<OtlpExport>, Error> {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let wanted =
            set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT");
        if !wanted || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v == "none") {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| Error::Config(format!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}")))?;
        let mut resource = opentelemetry_sdk::Resource::builder();
        if !set("OTEL_SERVICE_NAME") {
            resource = resource.with_service_name(service.to_owned());
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        Ok(Some(OtlpExport { provider }))
    }

    /// The layer that turns this process's `tracing` spans into exported ones.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("pairing-aid"))
    }

    /// Sends the spans still buffered and stops.
    pub fn shutdown(self) {
        let _ = self.provider.shutdown();
    }
}
