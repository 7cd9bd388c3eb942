//! What operators rely on: the Kubernetes manifests, the container's command line, health as
//! the kubelet asks for it, metrics, trace ids in logs, drain on SIGTERM, and TLS.

mod common;
mod deployment;

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use common::TestServer;
use common::pki::Pki;
use deployment::manifests::{find, pod_spec, render, secret_value, strings};
use deployment::pod::ContainerSpec;
use pairing_aid_client::Client;
use pairing_aid_client::tonic::{Code, Request};
use pairing_aid_client::v1::*;
use serde_norway::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Throwaway Secret contents for rendering.
const SECRETS: &[(&str, &str)] = &[
    ("tokens", "office write rendered-token-0123456789abcdef\n"),
    ("database-url", "postgres://pairing@postgres:5432/pairing"),
];

fn container(workload: &Value) -> &Value {
    &pod_spec(workload)["containers"][0]
}

#[test]
fn manifests_follow_the_conventions_and_commit_no_credential() {
    let (Some(embedded), Some(postgres)) = (
        render("embedded", &SECRETS[..1], &[]),
        render("postgres", SECRETS, &[]),
    ) else {
        return;
    };
    let statefulset = find(&embedded, "StatefulSet");
    let deployment = find(&postgres, "Deployment");
    assert_eq!(statefulset["spec"]["replicas"], 1);
    assert!(
        deployment["spec"]["replicas"].is_null(),
        "the HorizontalPodAutoscaler owns the replica count"
    );
    assert_eq!(
        find(&postgres, "HorizontalPodAutoscaler")["spec"]["minReplicas"],
        2
    );
    for workload in [statefulset, deployment] {
        let pod = pod_spec(workload);
        let c = container(workload);
        for (probe, service) in [
            ("startupProbe", "readiness"),
            ("readinessProbe", "readiness"),
            ("livenessProbe", "liveness"),
        ] {
            // The plaintext health port: the kubelet's gRPC probes cannot speak TLS.
            assert_eq!(c[probe]["grpc"]["port"], 8081, "{probe}: native gRPC");
            assert_eq!(c[probe]["grpc"]["service"], service, "{probe}");
        }
        let security = &c["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["runAsNonRoot"], true);
        assert_eq!(strings(&security["capabilities"]["drop"]), vec!["ALL"]);
        assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        for kind in ["requests", "limits"] {
            assert!(
                c["resources"][kind]["cpu"].is_string()
                    && c["resources"][kind]["memory"].is_string()
            );
        }
        let args = strings(&c["args"]);
        for arg in [
            "--drain-seconds=10",
            "--demo-data=false",
            "--dashboard=false",
            "--tokens-file=/etc/pairing-aid/tokens",
            "--health-listen=0.0.0.0:8081",
        ] {
            assert!(args.contains(&arg.to_owned()), "{arg} in {args:?}");
        }
        // The drain (10 s) and preStop (5 s) fit in the grace period.
        assert_eq!(c["lifecycle"]["preStop"]["sleep"]["seconds"], 5);
        assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 15);
        // The image is named in the manifests and set through `images:`.
        let image = c["image"].as_str().unwrap();
        assert!(
            image.starts_with("registry.example.com/pairing-aid:") && !image.ends_with(":latest"),
            "{image}"
        );
        // The tokens Secret is mounted as a directory: a subPath mount never changes.
        let mounts = c["volumeMounts"].as_sequence().unwrap();
        assert!(mounts.iter().all(|m| m["subPath"].is_null()));
    }
    let services: Vec<&Value> = embedded.iter().filter(|d| d["kind"] == "Service").collect();
    assert!(
        services.iter().any(
            |s| s["metadata"]["name"] == statefulset["spec"]["serviceName"]
                && s["spec"]["clusterIP"] == "None"
        ),
        "the StatefulSet's serviceName is a headless Service"
    );
    let spread = strings(&Value::Sequence(
        pod_spec(deployment)["topologySpreadConstraints"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| c["topologyKey"].clone())
            .collect(),
    ));
    assert_eq!(
        spread,
        ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    );
    assert_eq!(
        find(&postgres, "PodDisruptionBudget")["spec"]["minAvailable"],
        1
    );
    for documents in [&embedded, &postgres] {
        for document in documents.iter() {
            let labels = &document["metadata"]["labels"];
            for label in [
                "app.kubernetes.io/name",
                "app.kubernetes.io/part-of",
                "app.kubernetes.io/managed-by",
                "app.kubernetes.io/component",
            ] {
                assert!(labels[label].is_string(), "{label} on {document:?}");
            }
        }
        // Only the gRPC and metrics ports are reachable.
        let policy = find(documents, "NetworkPolicy");
        let ports: Vec<u64> = policy["spec"]["ingress"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|rule| rule["ports"].as_sequence().unwrap().iter())
            .map(|port| port["port"].as_u64().unwrap())
            .collect();
        assert_eq!(ports, [50051, 9464]);
        // The Secret is generated (its name carries a hash, so a change rolls the pods).
        let secret = find(documents, "Secret");
        assert!(secret["metadata"]["name"].as_str().unwrap().len() > "pairing-aid-".len() + 5);
        assert_eq!(secret_value(secret, "tokens"), SECRETS[0].1);
    }
    assert_eq!(
        secret_value(find(&postgres, "Secret"), "database-url"),
        SECRETS[1].1
    );
    let service = services
        .iter()
        .find(|s| s["metadata"]["name"] == "pairing-aid")
        .unwrap();
    assert_eq!(
        service["metadata"]["annotations"]["prometheus.io/scrape"],
        "true"
    );

    // The ServiceMonitor is an optional component scraping the metrics port.
    let monitored = render("postgres", SECRETS, &["servicemonitor"]).unwrap();
    let monitor = find(&monitored, "ServiceMonitor");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert!(!postgres.iter().any(|d| d["kind"] == "ServiceMonitor"));

    // No Secret value is committed: the repository's manifests hold no Secret, and an overlay
    // does not render without the operator's own files.
    let committed = Command::new("git")
        .args(["grep", "-l", "kind: Secret", "--", "deploy"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        committed.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&committed.stdout)
    );
    let bare = Command::new("kubectl")
        .args([
            "kustomize",
            concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/overlays/postgres"),
        ])
        .output()
        .unwrap();
    let tracked_secrets = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/overlays/postgres/secrets")
        .exists();
    assert!(
        tracked_secrets || !bare.status.success(),
        "without secrets/ the overlay does not render"
    );
    let namespace = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/examples/namespace.yaml"
    ))
    .unwrap();
    assert!(namespace.contains("pod-security.kubernetes.io/enforce: restricted"));
}

/// A container's arguments and environment.
type ContainerCommand = (Vec<OsString>, Vec<(String, String)>);

/// The StatefulSet's command, resolved as the kubelet would (`deployment::pod`), with the ports,
/// paths and tokens file of this machine.
fn container_command(dir: &std::path::Path) -> Option<ContainerCommand> {
    let embedded = render("embedded", &SECRETS[..1], &[])?;
    let spec = ContainerSpec::read(&embedded, "StatefulSet");
    std::fs::write(dir.join("tokens"), SECRETS[0].1).unwrap();
    let args = spec
        .args
        .into_iter()
        .map(|arg| match arg.split_once('=') {
            Some(("--listen", _)) => "--listen=127.0.0.1:0".to_owned(),
            Some(("--metrics-listen", _)) => "--metrics-listen=127.0.0.1:0".to_owned(),
            Some(("--health-listen", _)) => "--health-listen=127.0.0.1:0".to_owned(),
            Some(("--database", path)) => format!(
                "--database={}",
                dir.join(path.trim_start_matches('/')).display()
            ),
            Some(("--tokens-file", _)) => format!("--tokens-file={}", dir.join("tokens").display()),
            _ => arg,
        })
        .map(Into::into)
        .collect();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    Some((args, spec.env))
}

fn counter(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_container_command_serves_health_and_metrics_and_drains_in_flight_calls_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let Some((args, env)) = container_command(dir.path()) else {
        return;
    };
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut server = TestServer::spawn(&args, &env);

    // The kubelet's gRPC probe: grpc.health.v1.Health/Check for the empty service name.
    let mut health = HealthClient::new(server.channel().await);
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);

    let list = r#"grpc_server_handled_total{grpc_code="OK",grpc_method="ListParties",grpc_service="pairing.v1.PartyService",grpc_type="unary"}"#;
    let missing = r#"grpc_server_handled_total{grpc_code="NotFound",grpc_method="GetParty",grpc_service="pairing.v1.PartyService",grpc_type="unary"}"#;
    let started = r#"grpc_server_started_total{grpc_method="ListParties",grpc_service="pairing.v1.PartyService",grpc_type="unary"}"#;
    let before = server.scrape_metrics();
    let mut parties = server.client(None).await.parties();
    for _ in 0..3 {
        parties
            .list_parties(ListPartiesRequest::default())
            .await
            .unwrap();
    }
    parties
        .get_party(GetPartyRequest {
            name: "parties/atlantis".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let after = server.scrape_metrics();
    assert_eq!(
        counter(&after, list) - counter(&before, list),
        3.0,
        "{after}"
    );
    assert_eq!(counter(&after, missing) - counter(&before, missing), 1.0);
    assert_eq!(counter(&after, started) - counter(&before, started), 3.0);
    assert!(
        after.contains("\npairing_aid_read_model_revision "),
        "{after}"
    );
    assert!(after.contains("grpc_server_handling_seconds_bucket"));
    assert!(
        counter(&after, "process_resident_memory_bytes") > 0.0,
        "process metrics"
    );

    // A call in flight when SIGTERM arrives still gets its answer before the process exits.
    let in_flight =
        common::spawn_waiting_read(&server, 1_000_000, Duration::from_millis(900)).await;
    let mut watch = common::watch_health(&mut health).await;
    watch.message().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    drop(watch);
    // Draining, the probes' port still answers: not ready, but alive.
    let probes = health_port(&server).await;
    assert_eq!(
        common::health_status(probes.clone(), "readiness").await,
        ServingStatus::NotServing
    );
    assert_eq!(
        common::health_status(probes, "liveness").await,
        ServingStatus::Serving
    );
    let answer = in_flight.await.unwrap().unwrap_err();
    assert_eq!(
        answer.code(),
        Code::DeadlineExceeded,
        "the server's own answer, not a dropped connection: {answer:?}"
    );
    assert!(server.wait_exit(Duration::from_secs(15)).success());
}

/// Streams are counted by the status they end with and timed to their end, not to their
/// headers: an export that finishes is OK, a watch its caller drops after a while is
/// Canceled, and its handling time covers the while.
#[tokio::test]
async fn streams_are_counted_by_their_final_status_and_timed_to_their_end() {
    let server = TestServer::start();
    let series = |name: &str, method: &str, code: Option<&str>| {
        let code = code.map_or(String::new(), |code| format!("grpc_code=\"{code}\","));
        format!(
            "{name}{{{code}grpc_method=\"{method}\",grpc_service=\"pairing.v1.RecordService\",\
             grpc_type=\"server_stream\"}}"
        )
    };
    let client = server.client(None).await;
    let mut export = client
        .records()
        .export_records(ExportRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    while export.message().await.unwrap().is_some() {}
    let watch = client
        .records()
        .watch_changes(WatchChangesRequest {
            start_revision: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(watch);
    let watch_sum = series("grpc_server_handling_seconds_sum", "WatchChanges", None);
    let canceled = series(
        "grpc_server_handled_total",
        "WatchChanges",
        Some("Canceled"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.metric(&canceled) < 1.0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = server.scrape_metrics();
    assert_eq!(counter(&metrics, &canceled), 1.0, "{metrics}");
    assert_eq!(
        counter(
            &metrics,
            &series("grpc_server_handled_total", "ExportRecords", Some("OK"))
        ),
        1.0
    );
    assert!(
        counter(&metrics, &watch_sum) >= 0.4,
        "the watch was timed to its end: {}",
        counter(&metrics, &watch_sum)
    );
    assert_eq!(
        counter(
            &metrics,
            &series("grpc_server_handled_total", "WatchChanges", Some("OK"))
        ),
        0.0,
        "its headers said nothing of how it ended"
    );
}

#[tokio::test]
async fn json_logs_carry_trace_and_span_ids_and_honour_traceparent() {
    let server = TestServer::start();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    // Failed calls are logged at info (successful ones at debug only).
    let mut request = Request::new(pairing_aid_client::v1::GetAreaRequest {
        name: "areas/atlantis".into(),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace}-00f067aa0ba902b7-01").parse().unwrap(),
    );
    server
        .client(None)
        .await
        .areas()
        .get_area(request)
        .await
        .unwrap_err();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = server.logs.lock().unwrap().clone();
    let line = logs
        .iter()
        .find(|l| l.contains("rpc finished") && l.contains(trace))
        .expect("a log line with the caller's trace id");
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(value["span"]["trace_id"], trace);
    assert_eq!(value["span"]["span_id"].as_str().unwrap().len(), 16);
    assert_eq!(value["span"]["method"], "/pairing.v1.AreaService/GetArea");
    assert_eq!(value["fields"]["code"], "NotFound");
}

async fn list_parties(client: Client) -> Result<usize, Code> {
    client
        .parties()
        .list_parties(ListPartiesRequest::default())
        .await
        .map(|r| r.into_inner().parties.len())
        .map_err(|s| s.code())
}

#[tokio::test]
async fn tls_serves_encrypted_calls_and_mutual_tls_refuses_clients_without_a_certificate() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    for (name, pem) in [
        ("ca.pem", &pki.ca),
        ("server.pem", &pki.server_cert),
        ("server.key", &pki.server_key),
    ] {
        std::fs::write(dir.path().join(name), pem).unwrap();
    }
    let path = |name: &str| dir.path().join(name).display().to_string();
    let tls_args = [
        "--tls-cert",
        &path("server.pem"),
        "--tls-key",
        &path("server.key"),
    ];

    let with_health: Vec<&str> = tls_args
        .iter()
        .copied()
        .chain(["--health-listen", "127.0.0.1:0"])
        .collect();
    let tls = TestServer::start_on(dir.path().join("tls.db"), &with_health);
    let client = common::pki::tls_client(&tls, &pki.ca, None).await.unwrap();
    assert_eq!(list_parties(client).await, Ok(19));

    // The kubelet's probes speak plaintext: the health port answers them, and nothing else.
    let channel = health_port(&tls).await;
    for service in ["liveness", "readiness", ""] {
        let status = common::health_status(channel.clone(), service).await;
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let other = pairing_aid_client::v1::party_service_client::PartyServiceClient::new(channel)
        .list_parties(ListPartiesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        other.code(),
        Code::Unimplemented,
        "only health on the health port"
    );
    let plaintext = Client::builder()
        .endpoint(tls.endpoint())
        .deadline(None)
        .connect()
        .await;
    let refused = match plaintext {
        Ok(client) => list_parties(client).await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "a plaintext client gets nothing from a TLS port");

    let ca = path("ca.pem");
    let mutual_args: Vec<&str> = tls_args
        .iter()
        .copied()
        .chain(["--tls-client-ca", ca.as_str()])
        .collect();
    let mutual = TestServer::start_on(dir.path().join("mtls.db"), &mutual_args);
    let identity = (pki.client_cert.as_str(), pki.client_key.as_str());
    let with_certificate = common::pki::tls_client(&mutual, &pki.ca, Some(identity))
        .await
        .unwrap();
    assert_eq!(list_parties(with_certificate).await, Ok(19));
    let without = match common::pki::tls_client(&mutual, &pki.ca, None).await {
        Ok(client) => list_parties(client).await.is_err(),
        Err(_) => true,
    };
    assert!(without, "mutual TLS refuses a client without a certificate");
}

/// A channel to the plaintext health port `server` announced (`--health-listen`).
async fn health_port(server: &TestServer) -> pairing_aid_client::tonic::transport::Channel {
    let logs = server.logs.lock().unwrap().join("\n");
    let address = logs
        .split("health (plaintext) on ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("the health port in the listening line")
        .to_owned();
    pairing_aid_client::tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Over TLS too, the calls in flight from one address are bounded (the server's accept path
/// keeps the peer's TCP address under TLS; tonic's own TLS hid it from the limit).
#[tokio::test]
async fn the_per_address_limit_holds_over_tls() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("server.pem"), &pki.server_cert).unwrap();
    std::fs::write(path("server.key"), &pki.server_key).unwrap();
    let (cert, key) = (path("server.pem"), path("server.key"));
    let server = TestServer::start_on(
        dir.path().join("db"),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--max-concurrent-requests-per-peer",
            "2",
            // The two held calls wait their whole timeout, however slow the machine.
            "--anonymous-budget-ms",
            "10000",
        ],
    );
    let client = common::pki::tls_client(&server, &pki.ca, None)
        .await
        .unwrap();
    let waiting_read = || {
        let client = client.clone();
        tokio::spawn(async move {
            let mut request = Request::new(GetProjectRequest {
                name: "projects/none".into(),
                min_revision: 1_000_000,
                read_at: None,
            });
            request.set_timeout(Duration::from_secs(5));
            client.projects().get_project(request).await
        })
    };
    let held = [waiting_read(), waiting_read()];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refused = waiting_read().await.unwrap().unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(common::reason(&refused), "TOO_MANY_REQUESTS_FROM_PEER");
    for call in held {
        let ended = call.await.unwrap().unwrap_err();
        assert_ne!(common::reason(&ended), "TOO_MANY_REQUESTS_FROM_PEER");
    }
}
