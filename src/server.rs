//! Wires the store, the read model and the gRPC services together and runs them until a signal.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use crate::api::admission::{Admission, AdmissionLimits};
use crate::api::auth::{Authenticator, CertificateRoles, Tokens};
use crate::api::deadlines::Deadlines;
use crate::api::limit::ConcurrencyLimit;
use crate::api::restate::RestateRefusals;
use crate::api::{Api, Limits};
use crate::changes::{ImageKeeping, Ledger, Reachability, load_model, open_model};
use crate::config::Config;
use crate::query::model::SharedModel;
use crate::seed;
use crate::store::{PostgresStore, Retention, SqliteStore, Store};
use crate::telemetry;

mod connection;
mod cors;
mod dashboard;
mod reload;
mod tls;

use reload::Reloading;
use tls::TlsFiles;

use crate::api::pb::analytics_service_server::AnalyticsServiceServer;
use crate::api::pb::area_service_server::AreaServiceServer;
use crate::api::pb::indicator_service_server::IndicatorServiceServer;
use crate::api::pb::observation_service_server::ObservationServiceServer;
use crate::api::pb::pairing_service_server::PairingServiceServer;
use crate::api::pb::party_service_server::PartyServiceServer;
use crate::api::pb::project_service_server::ProjectServiceServer;
use crate::api::pb::record_service_server::RecordServiceServer;

/// Health for the kubelet's liveness probe: SERVING while the process can answer at all. It
/// never depends on the database: restarting a replica during a database outage would only
/// lose the reads it answers from memory, and it could not start again until the database
/// returns.
const LIVENESS: &str = "liveness";

/// Health for readiness and start-up probes: SERVING from the moment the read model is loaded
/// until shutdown begins, database outages included (reads are answered from memory; writes
/// fail UNAVAILABLE with retry advice).
const READINESS: &str = "readiness";

/// The server as a whole ("") and each API service: NOT_SERVING while the store cannot be
/// reached as well as during shutdown, for operators who want that signal.
const STORE_HEALTH: &[&str] = &[
    "",
    "pairing.v1.PartyService",
    "pairing.v1.AreaService",
    "pairing.v1.PairingService",
    "pairing.v1.ProjectService",
    "pairing.v1.IndicatorService",
    "pairing.v1.ObservationService",
    "pairing.v1.RecordService",
    "pairing.v1.AnalyticsService",
];

/// Runs the server until SIGTERM or SIGINT, then drains for `config.drain_timeout()`.
/// `release_freed_memory` has the binary's allocator hand freed pages back to the OS: it runs
/// once the read model is built, when the load's transient records are freed, and after a
/// record as it stood is built.
pub async fn run(config: Config, release_freed_memory: fn()) -> anyhow::Result<()> {
    let tokens = {
        let config = config.clone();
        Reloading::start(
            "tokens",
            config.tokens_file.iter().cloned().collect(),
            move || read_tokens(&config),
        )?
    };
    let certificate_roles = {
        let path = config.tls_client_roles.clone();
        Reloading::start(
            "certificate roles",
            path.iter().cloned().collect(),
            move || read_certificate_roles(path.as_deref()),
        )?
    };
    let tls = TlsFiles::of(&config)
        .map(|files| {
            let paths = files.paths();
            Reloading::start("tls", paths, move || files.server_config())
        })
        .transpose()?;
    let retained = Retention {
        revisions: (config.retain_revisions > 0).then_some(config.retain_revisions),
        max_age: config.retain_for,
        request_ids_for: config.request_ids_for,
    };
    let store = open_store(&config, retained).await.with_context(|| {
        format!(
            "opening database {} (--database, PAIRING_AID_DATABASE)",
            redacted(&config.database)
        )
    })?;
    let image = config.model_image().map(|path| ImageKeeping {
        path,
        interval: Duration::from_secs(config.model_image_interval_seconds.max(1)),
    });
    let opened = open_model(store.as_ref(), image.as_ref().map(|i| i.path.as_path())).await?;
    let (mut model, mut image_revision) = (opened.model, opened.image_revision);
    let mut seeded = false;
    if model.is_empty() && config.demo_data {
        seed::load_demo_data(store.as_ref())
            .await
            .context("loading demo data")?;
        if config.synthetic_projects + config.synthetic_observations > 0 {
            seed::load_scaled_data(
                store.as_ref(),
                config.synthetic_projects,
                config.synthetic_observations,
            )
            .await
            .context("generating the synthetic benchmark record")?;
        }
        model = load_model(store.as_ref()).await?;
        (seeded, image_revision) = (true, None);
    }
    release_freed_memory();
    let ledger = Arc::new(
        Ledger::new(store, SharedModel::new(model))
            .releasing_freed_memory_with(release_freed_memory),
    );
    if let Some(revision) = image_revision {
        ledger
            .catch_up()
            .await
            .context("catching up from the change log")?;
        let caught_up = ledger.applied_revision() - revision;
        info!(
            caught_up,
            "applied {caught_up} commits made after the image"
        );
    }
    let summary = {
        let model = ledger.model().read();
        format!(
            "{} at revision {}{}",
            model.counts(),
            model.revision,
            if seeded {
                " (demo data loaded into the empty database)"
            } else {
                ""
            }
        )
    };

    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr()?;
    let metrics_listener = TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("binding metrics port {}", config.metrics_listen))?;
    let metrics_address = metrics_listener.local_addr()?;
    tokio::spawn(telemetry::serve_metrics(metrics_listener));

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    for service in [LIVENESS, READINESS] {
        health_reporter
            .set_service_status(service, ServingStatus::Serving)
            .await;
    }
    set_store_health(&health_reporter, ServingStatus::Serving).await;
    // google.rpc's error details are described too, so grpcurl prints them decoded.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::api::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let (stop_sender, stop) = watch::channel(false);
    let health_address = match config.health_listen {
        Some(address) => Some(serve_health(address, health_service.clone()).await?),
        None => None,
    };
    let shared_tokens = tokens.current();
    if config.tokens_file.is_some() {
        tokio::spawn(tokens.run(stop.clone()));
    }
    let shared_certificate_roles = certificate_roles.current();
    if config.tls_client_roles.is_some() {
        tokio::spawn(certificate_roles.run(stop.clone()));
    }
    let shared_tls = tls.map(|tls| {
        let current = tls.current();
        tokio::spawn(tls.run(stop.clone()));
        current
    });
    let keeper = image.clone().map(|keeping| {
        tokio::spawn(
            ledger
                .clone()
                .keep_image(keeping, image_revision, stop.clone()),
        )
    });
    let (reachability, reached) = watch::channel(Reachability::Reachable);
    tokio::spawn(ledger.clone().follow_store(reachability, stop.clone()));
    tokio::spawn(report_reachability(
        reached,
        health_reporter.clone(),
        stop.clone(),
    ));
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: health is NOT_SERVING, draining in-flight calls");
        let _ = stop_sender.send(true);
        health_reporter
            .set_service_status(READINESS, ServingStatus::NotServing)
            .await;
        set_store_health(&health_reporter, ServingStatus::NotServing).await;
    });

    let machine = AdmissionLimits::for_this_machine();
    let limits = Limits {
        max_batch: config.max_batch,
        max_revision_wait: Duration::from_secs(config.request_timeout_seconds),
        max_watchers: config.max_watchers,
        max_answer_bytes: config.max_message_bytes,
        max_past_record: config.max_past_record,
    };
    let admission = AdmissionLimits {
        threads: config.heavy_threads.unwrap_or(machine.threads).max(1),
        queue: config.heavy_queue.unwrap_or(machine.queue),
        max_wait: config
            .heavy_queue_wait_ms
            .map_or(machine.max_wait, Duration::from_millis),
    };
    let api = Api::new(ledger.clone(), limits, Admission::new(admission));
    let authenticator = Authenticator::new(
        shared_tokens,
        shared_certificate_roles,
        config.require_token_for_reads,
    );
    let max_message = config.max_message_bytes;
    macro_rules! guarded {
        ($server:ident) => {
            authenticator.guard(
                $server::new(api.clone())
                    .max_decoding_message_size(max_message)
                    .max_encoding_message_size(max_message)
                    .accept_compressed(CompressionEncoding::Gzip)
                    .send_compressed(CompressionEncoding::Gzip),
            )
        };
    }
    let cors = cors::layer(&config.cors_allowed_origins)?;
    // Browsers speak gRPC-Web, over HTTP/1.1 where there is no TLS; the layers after the
    // translation see every call as gRPC, so limits, deadlines and metrics treat both alike.
    let router = Server::builder()
        .accept_http1(true)
        .timeout(Duration::from_secs(config.request_timeout_seconds))
        .max_concurrent_streams(Some(config.max_streams_per_connection))
        .layer(dashboard::DashboardLayer {
            enabled: config.dashboard,
        })
        .layer(tower::util::option_layer(cors))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(telemetry::ObserveCalls::layer())
        .layer(RestateRefusals::layer())
        .layer(Deadlines::layer(
            Duration::from_millis(config.upload_timeout_ms),
            Duration::from_millis(config.anonymous_budget_ms),
        ))
        .layer(ConcurrencyLimit::layer(
            config.max_concurrent_requests,
            config.max_concurrent_requests_per_peer,
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(guarded!(PartyServiceServer))
        .add_service(guarded!(AreaServiceServer))
        .add_service(guarded!(PairingServiceServer))
        .add_service(guarded!(ProjectServiceServer))
        .add_service(guarded!(IndicatorServiceServer))
        .add_service(guarded!(ObservationServiceServer))
        .add_service(guarded!(RecordServiceServer))
        .add_service(guarded!(AnalyticsServiceServer));

    let scheme = match TlsFiles::of(&config) {
        None => "plaintext",
        Some(files) if files.is_mutual() => "mutual TLS",
        Some(_) => "TLS",
    };
    let health =
        health_address.map_or_else(String::new, |a| format!(", health (plaintext) on {a}"));
    let dashboard = if config.dashboard {
        let scheme = if scheme == "plaintext" {
            "http"
        } else {
            "https"
        };
        format!(", dashboard on {scheme}://{address}/dashboard/")
    } else {
        String::new()
    };
    info!(%address, %metrics_address, "pairing-aid listening on {address} ({scheme}){dashboard}, metrics on http://{metrics_address}/metrics{health}; loaded {summary}");
    let incoming = connection::accept(listener, shared_tls);
    let mut stopped = stop.clone();
    let serve = router.serve_with_incoming_shutdown(incoming, async move {
        let _ = stopped.wait_for(|s| *s).await;
    });
    let drain_timeout = config.drain_timeout();
    let mut deadline_stop = stop;
    let deadline = async move {
        let _ = deadline_stop.wait_for(|s| *s).await;
        tokio::time::sleep(drain_timeout).await;
    };
    tokio::select! {
        result = serve => result.context("serving gRPC")?,
        () = deadline => warn!(?drain_timeout, "drain deadline passed; closing remaining calls"),
    }
    if let (Some(keeper), Some(keeping)) = (keeper, image) {
        // After the last call, so that the next start reads an image of the last revision.
        let imaged = keeper.await.unwrap_or(None);
        ledger.write_image_if_behind(&keeping.path, imaged).await;
    }
    info!("stopped");
    Ok(())
}

/// Serves the health service alone, in plaintext, on `address` until the process exits: the
/// kubelet's gRPC probes cannot speak TLS, so with TLS on the gRPC port they need a port of
/// their own. It outlives the drain, so that the probes read `readiness` NOT_SERVING and
/// `liveness` SERVING then, not a refused connection.
async fn serve_health(
    address: std::net::SocketAddr,
    health: HealthServer<impl Health>,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("binding health port {address} (--health-listen)"))?;
    let bound = listener.local_addr()?;
    let incoming = connection::accept(listener, None);
    tokio::spawn(
        Server::builder()
            .add_service(health)
            .serve_with_incoming(incoming),
    );
    Ok(bound)
}

/// The roles of `--tls-client-roles`, none without it; an error names the setting.
fn read_certificate_roles(path: Option<&std::path::Path>) -> anyhow::Result<CertificateRoles> {
    let Some(path) = path else {
        return Ok(CertificateRoles::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--tls-client-roles {}", path.display()))?;
    CertificateRoles::parse(&text)
        .map_err(|error| anyhow::anyhow!("--tls-client-roles {}: {error}", path.display()))
}

/// The bearer tokens of `--tokens-file` and `PAIRING_AID_TOKENS`; an error names the setting.
fn read_tokens(config: &Config) -> anyhow::Result<Tokens> {
    let mut tokens = Tokens::default();
    if let Some(path) = &config.tokens_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--tokens-file {}", path.display()))?;
        let parsed = Tokens::parse(&text)
            .map_err(|error| anyhow::anyhow!("--tokens-file {}: {error}", path.display()))?;
        tokens = tokens.merged(parsed);
    }
    if let Some(text) = &config.tokens {
        let parsed = Tokens::parse(&text.replace(';', "\n"))
            .map_err(|error| anyhow::anyhow!("PAIRING_AID_TOKENS (--tokens): {error}"))?;
        tokens = tokens.merged(parsed);
    }
    Ok(tokens)
}

/// Opens the store `database` names: a `postgres://` URL or a SQLite file path.
async fn open_store(config: &Config, retained: Retention) -> anyhow::Result<Arc<dyn Store>> {
    let database = &config.database;
    if config.uses_postgres() {
        Ok(Arc::new(PostgresStore::connect(database, retained).await?))
    } else {
        Ok(Arc::new(SqliteStore::open(Path::new(database), retained)?))
    }
}

/// The database location without a password, for logs.
fn redacted(database: &str) -> String {
    match (database.find("://"), database.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &database[..scheme], &database[at + 1..])
        }
        _ => database.to_owned(),
    }
}

/// Turns health `NOT_SERVING` while the store is unreachable and `SERVING` once it answers
/// again and the read model has caught up; stops when the server shuts down.
async fn report_reachability(
    mut reached: watch::Receiver<Reachability>,
    health: HealthReporter,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            changed = reached.changed() => if changed.is_err() { return },
        }
        if *stop.borrow() {
            return;
        }
        let status = match *reached.borrow_and_update() {
            Reachability::Reachable => ServingStatus::Serving,
            Reachability::Unreachable => ServingStatus::NotServing,
        };
        set_store_health(&health, status).await;
    }
}

async fn set_store_health(reporter: &HealthReporter, status: ServingStatus) {
    for service in STORE_HEALTH {
        reporter.set_service_status(*service, status).await;
    }
}

async fn wait_for_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
