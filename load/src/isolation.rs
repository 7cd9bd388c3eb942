//! A slow question never stalls the others, measured: light callers (GetProject in a closed
//! loop, and a health check every 100 ms with a 1 s timeout, as the kubelet probes) alone, then
//! the same light load beside heavy callers that each keep one call in flight (unindexed
//! filtered listings, title summaries, exports), in one run against one server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use pairing_aid_client::{Client, v1};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::driver::{Callers, Measured, drive};
use crate::servers;
use crate::workload::{Target, Workload, party_by_field};

/// The isolation run's options: what it measures, and what it is asked to prove (each `None`
/// is reported, not judged).
#[derive(clap::Args)]
pub struct Settings {
    /// The pairing-aid binary; by default the one beside this binary.
    #[arg(long)]
    pub server_binary: Option<std::path::PathBuf>,
    /// Synthetic projects the server generates (with the demo data) before the run.
    #[arg(long, default_value_t = 100_000)]
    pub synthetic_projects: usize,
    /// Connections of the light GetProject load.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Closed-loop callers of the light GetProject load.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Heavy callers, each with a token of its own and one call in flight.
    #[arg(long = "heavy", default_value_t = 4)]
    pub heavy_callers: usize,
    /// Unmeasured time at the start of each phase.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Measured time of each phase.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Exit non-zero if the health checks' p99 beside heavy load exceeds this.
    #[arg(long)]
    pub require_health_p99_ms: Option<f64>,
    /// Exit non-zero if GetProject's throughput beside heavy load is below this share of its
    /// throughput alone.
    #[arg(long)]
    pub require_get_ratio: Option<f64>,
    /// Exit non-zero if GetProject's p99 beside heavy load exceeds this.
    #[arg(long)]
    pub require_get_p99_ms: Option<f64>,
    /// Exit non-zero if a refused heavy call took longer than this to be refused.
    #[arg(long)]
    pub require_refusal_ms: Option<f64>,
}

/// The heavy calls a heavy caller takes turns making.
#[derive(Clone, Copy, Debug)]
enum Heavy {
    FilteredListing,
    TitleSummary,
    Export,
}

const HEAVY: [Heavy; 3] = [Heavy::FilteredListing, Heavy::TitleSummary, Heavy::Export];

/// How the heavy callers fared.
#[derive(Default)]
struct HeavyOutcome {
    completed: u64,
    /// Refused at once: the queue was full.
    refused: u64,
    /// Longest time to such a refusal.
    slowest_refusal: Duration,
    /// Queued, then refused: no thread came free in time.
    gave_up_waiting: u64,
    /// Any other failure, with its code.
    failed: Vec<String>,
}

/// Health checks as the kubelet makes them, and how they went.
struct HealthOutcome {
    latencies_us: Histogram<u64>,
    failures: u64,
}

/// The run's verdict: true when every requirement given holds.
pub async fn isolation(settings: Settings) -> Result<bool, String> {
    let tokens: Vec<String> = (0..settings.heavy_callers)
        .map(|i| format!("heavy-{i} read heavy-caller-token-{i:04}-0123456789"))
        .collect();
    let server = servers::start_pairing_aid(
        &servers::server_binary(settings.server_binary.as_deref()),
        &[
            "--synthetic-projects".into(),
            settings.synthetic_projects.to_string(),
            "--tokens".into(),
            tokens.join(";"),
        ],
    )?;
    println!(
        "server ready with {} synthetic projects; light load: GetProject, {} connection(s) x {} callers, health every 100 ms; {} heavy callers",
        settings.synthetic_projects,
        settings.connections,
        settings.concurrency,
        settings.heavy_callers
    );
    let target = Arc::new(
        Target::connect(
            &server.endpoint,
            None,
            Workload::Get,
            settings.connections,
            0,
        )
        .await?,
    );
    let light = Callers {
        connections: settings.connections,
        concurrency: settings.concurrency,
    };
    let run = light.closed_loop(Workload::Get, settings.warmup, settings.duration);

    let (alone, alone_health) = {
        let health = probe_health(&server.endpoint, settings.warmup, settings.duration);
        let (measured, health) = tokio::join!(drive(target.clone(), &run, |_| {}), health);
        (measured, health?)
    };
    report("light alone", &alone, &alone_health);

    let stop = Arc::new(AtomicBool::new(false));
    let mut heavy_tasks = Vec::new();
    for i in 0..settings.heavy_callers {
        let client = Client::builder()
            .endpoint(server.endpoint.clone())
            .token(format!("heavy-caller-token-{i:04}-0123456789"))
            .deadline(None)
            .retry(pairing_aid_client::RetryPolicy::none())
            .max_message_bytes(64 << 20)
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        heavy_tasks.push(tokio::spawn(heavy_caller(client, i, stop.clone())));
    }
    let (beside, beside_health) = {
        let health = probe_health(&server.endpoint, settings.warmup, settings.duration);
        let (measured, health) = tokio::join!(drive(target.clone(), &run, |_| {}), health);
        (measured, health?)
    };
    stop.store(true, Ordering::Relaxed);
    let mut heavy = HeavyOutcome::default();
    for task in heavy_tasks {
        let outcome = task.await.map_err(|e| e.to_string())?;
        heavy.completed += outcome.completed;
        heavy.refused += outcome.refused;
        heavy.gave_up_waiting += outcome.gave_up_waiting;
        heavy.slowest_refusal = heavy.slowest_refusal.max(outcome.slowest_refusal);
        heavy.failed.extend(outcome.failed);
    }
    report("light beside heavy", &beside, &beside_health);
    println!(
        "heavy calls: {} completed, {} refused at once with RESOURCE_EXHAUSTED (slowest refusal {:.1} ms), {} refused after waiting for a thread, {} failed otherwise {:?}",
        heavy.completed,
        heavy.refused,
        heavy.slowest_refusal.as_secs_f64() * 1e3,
        heavy.gave_up_waiting,
        heavy.failed.len(),
        heavy.failed.iter().take(5).collect::<Vec<_>>()
    );

    let ratio = beside.throughput() / alone.throughput().max(1e-9);
    let health_p99 = quantile_ms(&beside_health.latencies_us, 0.99);
    let refusal_ms = heavy.slowest_refusal.as_secs_f64() * 1e3;
    let mut verdict = true;
    let mut judge = |what: String, holds: bool| {
        println!("verdict: {what}: {}", if holds { "ok" } else { "MISSED" });
        verdict &= holds;
    };
    judge(
        format!(
            "health failures beside heavy load {} (want 0)",
            beside_health.failures
        ),
        beside_health.failures == 0,
    );
    judge(
        format!(
            "light calls refused or failed beside heavy load {} (want 0)",
            beside.error_count()
        ),
        beside.error_count() == 0,
    );
    judge(
        format!(
            "heavy calls failed other than refused {} (want 0)",
            heavy.failed.len()
        ),
        heavy.failed.is_empty(),
    );
    if let Some(want) = settings.require_health_p99_ms {
        judge(
            format!("health p99 {health_p99:.3} ms (want <= {want})"),
            health_p99 <= want,
        );
    }
    if let Some(want) = settings.require_get_ratio {
        judge(
            format!("GetProject throughput beside heavy load {ratio:.2} of alone (want >= {want})"),
            ratio >= want,
        );
    }
    if let Some(want) = settings.require_get_p99_ms {
        let p99 = beside.quantile_ms(0.99);
        judge(
            format!("GetProject p99 beside heavy load {p99:.3} ms (want <= {want})"),
            p99 <= want,
        );
    }
    if let Some(want) = settings.require_refusal_ms {
        judge(
            format!("slowest refusal {refusal_ms:.1} ms (want <= {want})"),
            refusal_ms <= want,
        );
    }
    Ok(verdict)
}

fn quantile_ms(histogram: &Histogram<u64>, q: f64) -> f64 {
    histogram.value_at_quantile(q) as f64 / 1000.0
}

fn report(phase: &str, get: &Measured, health: &HealthOutcome) {
    println!("{phase}: GetProject {}", get.summary());
    println!(
        "{phase}: health checks={} failures={} p50={:.3}ms p99={:.3}ms max={:.3}ms",
        health.latencies_us.len(),
        health.failures,
        quantile_ms(&health.latencies_us, 0.5),
        quantile_ms(&health.latencies_us, 0.99),
        health.latencies_us.max() as f64 / 1000.0,
    );
}

/// A health check every 100 ms for `duration` after `warmup`, each with a 1 s timeout on a
/// connection of its own, as a kubelet probe makes it.
async fn probe_health(
    endpoint: &str,
    warmup: Duration,
    duration: Duration,
) -> Result<HealthOutcome, String> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connecting for health checks: {e}"))?;
    let mut health = HealthClient::new(channel);
    let mut outcome = HealthOutcome {
        latencies_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        failures: 0,
    };
    tokio::time::sleep(warmup).await;
    let end = Instant::now() + duration;
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    while Instant::now() < end {
        ticks.tick().await;
        let started = Instant::now();
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        request.set_timeout(Duration::from_secs(1));
        let answer = tokio::time::timeout(Duration::from_secs(1), health.check(request)).await;
        let serving = matches!(&answer, Ok(Ok(response)) if response.get_ref().status == 1);
        if serving {
            let _ = outcome
                .latencies_us
                .record((started.elapsed().as_micros() as u64).max(1));
        } else {
            outcome.failures += 1;
        }
    }
    Ok(outcome)
}

/// Keeps one heavy call in flight until `stop`, taking turns over the heavy kinds; after a
/// refusal, waits as long as its RetryInfo asks.
async fn heavy_caller(client: Client, first: usize, stop: Arc<AtomicBool>) -> HeavyOutcome {
    let mut outcome = HeavyOutcome::default();
    let mut turn = first;
    while !stop.load(Ordering::Relaxed) {
        let kind = HEAVY[turn % HEAVY.len()];
        turn += 1;
        let started = Instant::now();
        match heavy_call(&client, kind).await {
            Ok(()) => outcome.completed += 1,
            Err(status) if status.code() == Code::ResourceExhausted => {
                let error = pairing_aid_client::Error::from(status);
                if error.reason() == Some("HEAVY_WORK_WAIT_TOO_LONG") {
                    outcome.gave_up_waiting += 1;
                } else {
                    outcome.refused += 1;
                    outcome.slowest_refusal = outcome.slowest_refusal.max(started.elapsed());
                }
                tokio::time::sleep(error.retry_after().unwrap_or(Duration::from_millis(500))).await;
            }
            Err(status) => outcome.failed.push(format!(
                "{kind:?}: {:?} {}",
                status.code(),
                status.message()
            )),
        }
    }
    outcome
}

async fn heavy_call(client: &Client, kind: Heavy) -> Result<(), tonic::Status> {
    match kind {
        Heavy::FilteredListing => {
            let request = v1::ListProjectsRequest {
                filter: "field = EDUCATION AND year >= 2015".into(),
                page_size: 50,
                ..Default::default()
            };
            client.projects().list_projects(request).await.map(drop)
        }
        Heavy::TitleSummary => {
            let request = party_by_field("title:\"water\"");
            client
                .analytics()
                .summarize_funding(request)
                .await
                .map(drop)
        }
        Heavy::Export => {
            // Read as a backup job would store it: the bytes, undecoded, so the load tool's
            // own decoding (on the same two CPUs) does not weigh on the light callers.
            let request = v1::ExportRecordsRequest {
                collections: vec!["projects".into()],
                ..Default::default()
            };
            let mut grpc = tonic::client::Grpc::new(client.transport());
            grpc.ready()
                .await
                .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(
                "/pairing.v1.RecordService/ExportRecords",
            );
            let mut stream = grpc
                .server_streaming(tonic::Request::new(request), path, RawCodec)
                .await?
                .into_inner();
            while stream.message().await?.is_some() {}
            Ok(())
        }
    }
}

/// Sends a request as prost encodes it and takes each response as its length in bytes.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = v1::ExportRecordsRequest;
    type Decode = usize;
    type Encoder = tonic_prost::ProstEncoder<v1::ExportRecordsRequest>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::new(tonic::codec::BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

/// Skips a message's bytes, answering how many there were.
struct RawDecoder;

impl tonic::codec::Decoder for RawDecoder {
    type Item = usize;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        buf: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<usize>, tonic::Status> {
        use prost::bytes::Buf as _;
        let length = buf.remaining();
        buf.advance(length);
        Ok(Some(length))
    }
}
