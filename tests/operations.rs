//! What operators rely on: the Kubernetes manifests, the container's command line, health as
//! the kubelet asks for it, metrics, trace ids in logs, drain on SIGTERM, and TLS.

mod common;

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use common::TestServer;
use pairing_aid_client::Client;
use pairing_aid_client::tonic::{Code, Request};
use pairing_aid_client::v1::*;
use serde_norway::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The rendered overlay, or `None` without kubectl outside CI.
fn render(overlay: &str) -> Option<Vec<Value>> {
    let path = format!("{}/deploy/overlays/{overlay}", env!("CARGO_MANIFEST_DIR"));
    let output = match Command::new("kubectl").args(["kustomize", &path]).output() {
        Ok(output) => output,
        Err(error) if common::in_ci() => panic!("kubectl is required under CI: {error}"),
        Err(_) => {
            eprintln!("skipping: kubectl not found");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    Some(
        serde_norway::Deserializer::from_str(&text)
            .map(|document| serde::Deserialize::deserialize(document).unwrap())
            .collect(),
    )
}

fn find<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("a {kind}"))
}

fn container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn manifests_carry_probes_restricted_security_resources_and_secret_references() {
    let (Some(embedded), Some(postgres)) = (render("embedded"), render("postgres")) else {
        return;
    };
    let statefulset = find(&embedded, "StatefulSet");
    let deployment = find(&postgres, "Deployment");
    assert_eq!(statefulset["spec"]["replicas"], 1);
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    for workload in [statefulset, deployment] {
        let pod = &workload["spec"]["template"]["spec"];
        let c = container(workload);
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(
                c[probe]["grpc"]["port"], 50051,
                "{probe} is a native gRPC probe"
            );
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
        let threads = c["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "TOKIO_WORKER_THREADS")
            .unwrap();
        assert_eq!(
            threads["valueFrom"]["resourceFieldRef"]["resource"],
            "limits.cpu"
        );
        // The drain (10 s) and preStop (5 s) fit in the grace period.
        assert!(strings(&c["args"]).contains(&"--drain-seconds=10".to_owned()));
        assert_eq!(c["lifecycle"]["preStop"]["sleep"]["seconds"], 5);
        assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 15);
    }
    assert!(statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data");
    let secret_keys: Vec<(String, String)> = container(deployment)["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let key = &e["valueFrom"]["secretKeyRef"];
            Some((
                e["name"].as_str()?.to_owned(),
                key["key"].as_str()?.to_owned(),
            ))
        })
        .collect();
    assert!(secret_keys.contains(&("PAIRING_AID_DATABASE".into(), "database-url".into())));
    assert!(secret_keys.contains(&("PAIRING_AID_TOKENS".into(), "tokens".into())));
    for kind in ["HorizontalPodAutoscaler", "PodDisruptionBudget"] {
        find(&postgres, kind);
    }
    assert!(
        postgres
            .iter()
            .any(|d| d["kind"] == "Service" && d["spec"]["clusterIP"] == "None"),
        "a headless Service"
    );
    assert_eq!(
        find(&embedded, "Service")["metadata"]["annotations"]["prometheus.io/scrape"],
        "true"
    );
}

/// A container's arguments and environment.
type ContainerCommand = (Vec<OsString>, Vec<(String, String)>);

/// The StatefulSet's arguments with the ports, paths and token file of this machine.
fn container_command(dir: &std::path::Path) -> Option<ContainerCommand> {
    let embedded = render("embedded")?;
    let c = container(find(&embedded, "StatefulSet"));
    let tokens = find(&embedded, "Secret")["stringData"]["tokens"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(dir.join("tokens"), tokens).unwrap();
    let args = strings(&c["args"])
        .into_iter()
        .map(|arg| match arg.split_once('=') {
            Some(("--listen", _)) => "--listen=127.0.0.1:0".to_owned(),
            Some(("--metrics-listen", _)) => "--metrics-listen=127.0.0.1:0".to_owned(),
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
    let env = c["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_owned();
            // The kubelet resolves limits.cpu ("2") for TOKIO_WORKER_THREADS.
            let value = e["value"]
                .as_str()
                .map_or_else(|| "2".to_owned(), str::to_owned);
            (name, value)
        })
        .collect();
    Some((args, env))
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

    let list = r#"pairing_aid_rpc_requests_total{code="Ok",method="/pairing.v1.PartyService/ListParties"}"#;
    let missing = r#"pairing_aid_rpc_requests_total{code="NotFound",method="/pairing.v1.PartyService/GetParty"}"#;
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
    assert!(counter(&after, "pairing_aid_read_model_revision") >= 1.0);
    assert!(after.contains("pairing_aid_rpc_duration_seconds_bucket"));
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
    let answer = in_flight.await.unwrap().unwrap_err();
    assert_eq!(
        answer.code(),
        Code::DeadlineExceeded,
        "the server's own answer, not a dropped connection: {answer:?}"
    );
    assert!(server.wait_exit(Duration::from_secs(15)).success());
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

struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["analyst".into()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();
    Pki {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// A client of `server`'s TLS port that trusts `ca` and, given a certificate and its key (PEM),
/// presents them.
async fn tls_client(
    server: &TestServer,
    ca: &str,
    identity: Option<(&str, &str)>,
) -> Result<Client, String> {
    let mut builder = Client::builder()
        .endpoint(format!("https://{}", server.address))
        .deadline(None)
        .tls_ca_pem(ca)
        .tls_domain("localhost");
    if let Some((certificate, key)) = identity {
        builder = builder.tls_identity(certificate, key);
    }
    builder.connect().await.map_err(|e| e.to_string())
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
    let pki = pki();
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

    let tls = TestServer::start_on(dir.path().join("tls.db"), &tls_args);
    let client = tls_client(&tls, &pki.ca, None).await.unwrap();
    assert_eq!(list_parties(client).await, Ok(19));
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
    let with_certificate = tls_client(&mutual, &pki.ca, Some(identity)).await.unwrap();
    assert_eq!(list_parties(with_certificate).await, Ok(19));
    let without = match tls_client(&mutual, &pki.ca, None).await {
        Ok(client) => list_parties(client).await.is_err(),
        Err(_) => true,
    };
    assert!(without, "mutual TLS refuses a client without a certificate");
}
