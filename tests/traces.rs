//! Traces across the process boundary, against a real OTLP/gRPC trace receiver started here
//! (the collector's protocol, from opentelemetry-proto): one `pairctl` call yields a client
//! span and a server span of the same trace, the server's a child of the client's, both with
//! the RPC's name and status.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use pairing_aid_client::tonic;

/// Every span received, with the `service.name` of the process that sent it.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(
                    |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                        Value::StringValue(name) => Some(name.clone()),
                        _ => None,
                    },
                )
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute(span: &Span, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.clone()?.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pairctl_call_is_one_trace_across_client_and_server() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path().join("record.db"), "127.0.0.1:0", &[], &otel);

    let output = std::process::Command::new(common::pairctl_binary())
        .args(["--server", &server.endpoint(), "parties", "list"])
        .envs(otel)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let name = "pairing.v1.PartyService/ListParties";
    let deadline = Instant::now() + Duration::from_secs(20);
    let (client, server_span) = loop {
        let spans = receiver.spans.lock().unwrap().clone();
        let find = |service: &str, kind: SpanKind| {
            spans
                .iter()
                .find(|(from, span)| {
                    from == service && span.name == name && span.kind == kind as i32
                })
                .map(|(_, span)| span.clone())
        };
        if let (Some(client), Some(server_span)) = (
            find("pairctl", SpanKind::Client),
            find("pairing-aid", SpanKind::Server),
        ) {
            break (client, server_span);
        }
        assert!(Instant::now() < deadline, "spans received: {spans:#?}");
        drop(spans);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(server_span.trace_id, client.trace_id, "one trace");
    assert_eq!(
        server_span.parent_span_id, client.span_id,
        "the server continues the client's span"
    );
    for span in [&client, &server_span] {
        assert_eq!(
            attribute(span, "rpc.system"),
            Some(Value::StringValue("grpc".into()))
        );
        assert_eq!(
            attribute(span, "rpc.method"),
            Some(Value::StringValue("ListParties".into()))
        );
        assert_eq!(
            attribute(span, "rpc.grpc.status_code"),
            Some(Value::IntValue(0))
        );
    }
}
