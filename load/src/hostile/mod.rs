//! Hostile and odd input from outside, as an attacker or a buggy client sends it: random typed
//! requests (proptest strategies over the request types), the same messages damaged, odd
//! metadata, and raw HTTP/2 abuse (unfinished uploads, rapid resets, bytes that are not
//! HTTP/2). Meanwhile another caller, from another address, checks health and reads a project
//! every 20 ms, and the server's resident memory is sampled. At the end the server must be
//! running and serving, its log free of panics and tokens, and its record the same after a
//! `kill -9` and restart as before.

mod requests;
mod wire;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use pairing_aid_client::{Client, v1};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::observe::resident_bytes;
use crate::servers::{self, Served};
use requests::{Call, Dice, Presents};
use wire::Ending;

/// The hostile run's options.
#[derive(clap::Args)]
pub struct Settings {
    /// The pairing-aid binary; by default the one beside this binary.
    #[arg(long)]
    pub server_binary: Option<std::path::PathBuf>,
    /// Synthetic projects the server generates (with the demo data) before the run.
    #[arg(long, default_value_t = 20_000)]
    pub synthetic_projects: usize,
    /// Length of each of the four phases.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub phase: Duration,
    /// Attacking tasks, each with a connection of its own.
    #[arg(long, default_value_t = 8)]
    pub attackers: usize,
    /// Seed of the random input; the same seed sends the same input.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Exit non-zero if the other caller's health check or GetProject has a p99 above this in
    /// any phase.
    #[arg(long)]
    pub require_probe_p99_ms: Option<f64>,
    /// Exit non-zero if resident memory ever rises more than this above its level before the
    /// first phase.
    #[arg(long)]
    pub require_rss_growth_mib: Option<f64>,
}

const READER: &str = "hostile-reader-token-0123456789";
const WRITER: &str = "hostile-writer-token-0123456789";
/// The attackers' address; the probing caller uses another.
const ATTACKER: [u8; 4] = [127, 0, 0, 1];
const PROBE: [u8; 4] = [127, 0, 0, 2];
/// How long an attacker waits for an answer.
const PATIENCE: Duration = Duration::from_secs(3);
const KNOWN_PROJECT: &str = "projects/shenzhen-kashgar-2021-04";

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Random requests of the right types.
    Typed,
    /// The same, damaged on the wire, or sent to another method.
    Mutated,
    /// Valid requests with odd headers.
    Metadata,
    /// Abuse of HTTP/2 itself.
    Http2,
}

const PHASES: [Phase; 4] = [Phase::Typed, Phase::Mutated, Phase::Metadata, Phase::Http2];

/// How the calls of a phase ended, by kind.
#[derive(Default)]
struct Endings {
    counts: BTreeMap<String, u64>,
    /// Answers that mislead a client: INTERNAL or UNKNOWN for its own bad input, or an error
    /// without the details it could read.
    misleading: BTreeMap<String, u64>,
}

impl Endings {
    fn record(&mut self, ending: &Ending) {
        let label = match ending {
            Ending::Status {
                code,
                details,
                message,
            } => {
                let label = format!("{code:?}{}", if *details { "" } else { " (no details)" });
                // Without details are acceptable: OK; UNIMPLEMENTED for a method or an encoding
                // the server does not have; CANCELLED for a call whose own grpc-timeout ran out
                // (tonic's timeout layer answers outside the service; a client's own deadline
                // reports DEADLINE_EXCEEDED first).
                let bare_allowed = matches!(code, Code::Ok | Code::Unimplemented | Code::Cancelled);
                let misleads =
                    matches!(code, Code::Internal | Code::Unknown) || (!details && !bare_allowed);
                if misleads {
                    *self
                        .misleading
                        .entry(format!("{label}: {message}"))
                        .or_default() += 1;
                }
                label
            }
            Ending::Http(status) => format!("HTTP {status}"),
            Ending::Reset => "reset".into(),
            Ending::NoAnswer => "no answer".into(),
        };
        *self.counts.entry(label).or_default() += 1;
    }

    fn note(&mut self, label: &str) {
        *self.counts.entry(label.into()).or_default() += 1;
    }

    fn calls(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// What the other caller saw during a phase.
struct Probed {
    health_us: Histogram<u64>,
    get_us: Histogram<u64>,
    failures: Vec<String>,
}

/// The run's verdict: true when every check and requirement holds.
pub async fn hostile(settings: Settings) -> Result<bool, String> {
    let binary = servers::server_binary(settings.server_binary.as_deref());
    let server = servers::start_pairing_aid(
        &binary,
        &[
            "--synthetic-projects".into(),
            settings.synthetic_projects.to_string(),
            "--tokens".into(),
            format!("hostile-reader read {READER};hostile-writer write {WRITER}"),
        ],
    )?;
    let address: SocketAddr = server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("server address: {e}"))?;
    println!(
        "server ready with {} synthetic projects; {} attackers from {}, a prober from {}, {:?} per phase, seed {}",
        settings.synthetic_projects,
        settings.attackers,
        IpAddr::from(ATTACKER),
        IpAddr::from(PROBE),
        settings.phase,
        settings.seed
    );
    let baseline = resident_bytes(server.pid()).unwrap_or(0);
    let mut verdict = true;
    let mut judge = |what: String, holds: bool| {
        println!("verdict: {what}: {}", if holds { "ok" } else { "MISSED" });
        verdict &= holds;
    };
    let mut misleading = BTreeMap::new();
    let mut peak = baseline;
    for (index, phase) in PHASES.into_iter().enumerate() {
        let until = Instant::now() + settings.phase;
        let endings = Arc::new(Mutex::new(Endings::default()));
        let rss = sample_memory(server.pid(), until);
        let probe = probe(&server.endpoint, until);
        let attackers: Vec<_> = (0..settings.attackers)
            .map(|i| {
                let seed = settings.seed ^ ((index as u64) << 32) ^ i as u64;
                tokio::spawn(attack(phase, address, seed, until, endings.clone()))
            })
            .collect();
        let (phase_peak, probed) = tokio::join!(rss, probe);
        for attacker in attackers {
            attacker.await.map_err(|e| e.to_string())?;
        }
        let probed = probed?;
        peak = peak.max(phase_peak);
        let endings = std::mem::take(&mut *endings.lock().unwrap());
        println!(
            "phase {phase:?}: {} calls; endings {:?}; resident peak {:.0} MiB (+{:.0})",
            endings.calls(),
            endings.counts,
            mib(phase_peak),
            mib(phase_peak.saturating_sub(baseline))
        );
        let (health_p99, get_p99) = (p99_ms(&probed.health_us), p99_ms(&probed.get_us));
        println!(
            "  other caller: health p50 {:.2} / p99 {:.2} / max {:.2} ms over {}; GetProject p50 {:.2} / p99 {:.2} / max {:.2} ms over {}",
            quantile_ms(&probed.health_us, 0.5),
            health_p99,
            probed.health_us.max() as f64 / 1e3,
            probed.health_us.len(),
            quantile_ms(&probed.get_us, 0.5),
            get_p99,
            probed.get_us.max() as f64 / 1e3,
            probed.get_us.len()
        );
        judge(
            format!(
                "{phase:?}: other caller's failures {} (want 0) {:?}",
                probed.failures.len(),
                probed.failures.iter().take(3).collect::<Vec<_>>()
            ),
            probed.failures.is_empty(),
        );
        if let Some(limit) = settings.require_probe_p99_ms {
            judge(
                format!(
                    "{phase:?}: other caller's p99 health {health_p99:.2} ms, GetProject {get_p99:.2} ms (want at most {limit} ms)"
                ),
                health_p99 <= limit && get_p99 <= limit,
            );
        }
        for (label, count) in endings.misleading {
            *misleading.entry(format!("{phase:?} {label}")).or_insert(0) += count;
        }
    }
    judge(
        format!("misleading answers {misleading:?} (want none)"),
        misleading.is_empty(),
    );
    if let Some(limit) = settings.require_rss_growth_mib {
        let growth = mib(peak.saturating_sub(baseline));
        judge(
            format!(
                "resident memory peak {:.0} MiB, {growth:.0} MiB above the {:.0} MiB before the first phase (want at most {limit})",
                mib(peak),
                mib(baseline)
            ),
            growth <= limit,
        );
    }
    for (what, holds) in aftermath(server).await? {
        judge(what, holds);
    }
    Ok(verdict)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn quantile_ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1e3
}

fn p99_ms(histogram: &Histogram<u64>) -> f64 {
    quantile_ms(histogram, 0.99)
}

/// The server after the attack: running, serving, its log clean, its record intact through a
/// `kill -9`.
async fn aftermath(mut server: Served) -> Result<Vec<(String, bool)>, String> {
    let mut checks = vec![("server still running".to_owned(), server.alive())];
    let log = server.log();
    checks.push(("no panic in the log".into(), !log.contains("panicked")));
    checks.push((
        "no token in the log".into(),
        !log.contains(READER) && !log.contains(WRITER),
    ));
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    checks.push((
        format!("longest log line {longest} bytes (want at most 4096)"),
        longest <= 4096,
    ));
    let before = snapshot(&server.endpoint).await?;
    let server = server.kill_and_restart()?;
    let after = snapshot(&server.endpoint).await?;
    println!("record before kill -9: {before}\nrecord after restart:  {after}");
    checks.push((
        "the record after kill -9 and restart is the record before".into(),
        before == after,
    ));
    Ok(checks)
}

/// What the record holds: its revision, its counts, and a digest of its whole export.
async fn snapshot(endpoint: &str) -> Result<String, String> {
    use prost::Message;
    use std::hash::{Hash, Hasher};

    let client = Client::builder()
        .endpoint(endpoint.to_owned())
        .token(READER)
        .max_message_bytes(64 << 20)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let projects = client
        .projects()
        .list_projects(v1::ListProjectsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let mut export = client
        .records()
        .export_records(v1::ExportRecordsRequest::default())
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let (mut digest, mut bytes) = (std::collections::hash_map::DefaultHasher::new(), 0);
    while let Some(part) = export.message().await.map_err(|e| e.to_string())? {
        let encoded = part.encode_to_vec();
        bytes += encoded.len();
        encoded.hash(&mut digest);
    }
    Ok(format!(
        "revision {}, {} projects, export of {bytes} bytes with digest {:016x}",
        projects.revision,
        projects.total_size,
        digest.finish()
    ))
}

/// Samples the server's resident memory every 50 ms until `until`; the peak.
async fn sample_memory(pid: u32, until: Instant) -> u64 {
    let mut peak = 0;
    while Instant::now() < until {
        peak = peak.max(resident_bytes(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    peak
}

/// Another caller, from another address: a health check and a GetProject every 20 ms.
async fn probe(endpoint: &str, until: Instant) -> Result<Probed, String> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .map_err(|e| e.to_string())?
        .local_address(Some(IpAddr::from(PROBE)))
        .timeout(Duration::from_secs(1))
        .connect()
        .await
        .map_err(|e| format!("the prober connecting: {e}"))?;
    let mut health = HealthClient::new(channel.clone());
    let mut projects = v1::project_service_client::ProjectServiceClient::new(channel);
    let mut probed = Probed {
        health_us: Histogram::new(3).expect("valid precision"),
        get_us: Histogram::new(3).expect("valid precision"),
        failures: Vec::new(),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while Instant::now() < until {
        tick.tick().await;
        let started = Instant::now();
        let checked = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await;
        let _ = probed
            .health_us
            .record(started.elapsed().as_micros() as u64);
        if let Err(status) = checked {
            probed.failures.push(format!("health: {status}"));
        }
        let started = Instant::now();
        let read = projects
            .get_project(v1::GetProjectRequest {
                name: KNOWN_PROJECT.into(),
                min_revision: 0,
                read_at: None,
            })
            .await;
        let _ = probed.get_us.record(started.elapsed().as_micros() as u64);
        if let Err(status) = read {
            probed.failures.push(format!("GetProject: {status}"));
        }
    }
    Ok(probed)
}

/// Every method the random calls may be sent to, for calls sent to the wrong one.
const PATHS: &[&str] = &[
    "/pairing.v1.ProjectService/ListProjects",
    "/pairing.v1.ProjectService/GetProject",
    "/pairing.v1.ProjectService/CreateProject",
    "/pairing.v1.ProjectService/UpdateProject",
    "/pairing.v1.ProjectService/DeleteProject",
    "/pairing.v1.ProjectService/BatchUpsertProjects",
    "/pairing.v1.ObservationService/ListObservations",
    "/pairing.v1.AnalyticsService/SummarizeFunding",
    "/pairing.v1.AnalyticsService/ReconcileReportedFigures",
    "/pairing.v1.AnalyticsService/RankAreas",
    "/pairing.v1.RecordService/ExportRecords",
    "/pairing.v1.RecordService/ListChanges",
    "/pairing.v1.PartyService/CreateParty",
    "/pairing.v1.AreaService/UpdateArea",
];

fn token_headers(presents: Presents) -> Vec<(String, String)> {
    let token = match presents {
        Presents::Nothing => return Vec::new(),
        Presents::Reader => READER,
        Presents::Writer => WRITER,
    };
    vec![("authorization".into(), format!("Bearer {token}"))]
}

/// `grpc-timeout` values, well-formed and not.
const GRPC_TIMEOUTS: &[&str] = &[
    "",
    "0n",
    "1n",
    "99999999H",
    "-1S",
    "abc",
    "18446744073709551615n",
    "1m",
    "5",
];

/// Headers a buggy client or an attacker adds.
fn odd_headers(dice: &mut Dice, presents: Presents) -> Vec<(String, String)> {
    let mut headers = token_headers(presents);
    let junk: String = dice.draw("[ -~]{0,64}");
    let odd: Vec<(String, String)> = match dice.below(9) {
        0 => vec![("authorization".into(), format!("Bearer {WRITER}")); 2],
        1 => vec![("authorization".into(), junk)],
        2 => vec![(
            "authorization".into(),
            format!("Bearer {}", "x".repeat(dice.below(12_000))),
        )],
        3 => {
            let timeout = dice.draw(proptest::sample::select(GRPC_TIMEOUTS));
            vec![("grpc-timeout".into(), timeout.into())]
        }
        4 => vec![(
            "grpc-encoding".into(),
            dice.draw("gzip|br|identity|[a-z]{1,8}"),
        )],
        5 => vec![("x-odd".into(), "v".repeat(dice.below(15_000)))],
        6 => (0..dice.below(300))
            .map(|i| (format!("x-many-{i}"), junk.clone()))
            .collect(),
        7 => vec![(
            "content-type".into(),
            dice.draw("application/grpc\\+[a-z]{0,6}|text/plain"),
        )],
        _ => vec![("grpc-accept-encoding".into(), junk)],
    };
    headers.extend(odd);
    headers
}

/// `bytes` of random HTTP/2 frames: any type, flags, stream and payload.
fn random_frames(dice: &mut Dice) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..1 + dice.below(6) {
        let payload: Vec<u8> = dice.draw(proptest::collection::vec(
            proptest::prelude::any::<u8>(),
            0..300,
        ));
        let declared = if dice.below(4) == 0 {
            dice.below(1 << 24)
        } else {
            payload.len()
        };
        bytes.extend_from_slice(&(declared as u32).to_be_bytes()[1..]);
        bytes.push(dice.below(12) as u8);
        bytes.push(dice.below(256) as u8);
        bytes.extend_from_slice(&(dice.below(1 << 16) as u32).to_be_bytes());
        bytes.extend_from_slice(&payload);
    }
    bytes
}

/// One attacker: calls of `phase`'s kind until `until`, one at a time on its own connection,
/// reconnecting when the server closes it.
async fn attack(
    phase: Phase,
    server: SocketAddr,
    seed: u64,
    until: Instant,
    endings: Arc<Mutex<Endings>>,
) {
    let mut dice = Dice::new(seed);
    let calls = requests::calls();
    let held = Arc::new(AtomicU64::new(0));
    let from = IpAddr::from(ATTACKER);
    let mut connection = None;
    while Instant::now() < until {
        let client = match &connection {
            Some(client) => client,
            None => match wire::connect(server, from).await {
                Ok(client) => connection.insert(client),
                Err(_) => {
                    endings.lock().unwrap().note("refused connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Call {
            path,
            message,
            presents,
        } = dice.draw(calls.clone());
        let ended = match phase {
            Phase::Typed => {
                let request = wire::request(server, path, &token_headers(presents));
                wire::call(client, request, wire::framed(&message), PATIENCE).await
            }
            Phase::Mutated => {
                let path = if dice.below(4) == 0 {
                    PATHS[dice.below(PATHS.len())]
                } else {
                    path
                };
                let body = requests::mutated(&mut dice, &message);
                let body = if dice.below(3) == 0 {
                    body.into()
                } else {
                    wire::framed(&body)
                };
                let request = wire::request(server, path, &token_headers(presents));
                wire::call(client, request, body, PATIENCE).await
            }
            Phase::Metadata => {
                let request = wire::request(server, path, &odd_headers(&mut dice, presents));
                let mut body = wire::framed(&message).to_vec();
                if dice.below(3) == 0 {
                    body[0] = 1; // "compressed", whatever the headers say
                }
                wire::call(client, request, body.into(), PATIENCE).await
            }
            Phase::Http2 => {
                let request = wire::request(server, path, &token_headers(presents));
                match dice.below(4) {
                    0 if held.load(Ordering::Relaxed) < 64 => {
                        // Held in the background: the attacker goes on opening more.
                        let (client, endings, held) =
                            (client.clone(), endings.clone(), held.clone());
                        let hold = Duration::from_millis(dice.below(7_000) as u64);
                        let (announced, sent) = (100 + dice.below(1 << 20) as u32, dice.below(64));
                        held.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(async move {
                            let ended =
                                wire::unfinished(&client, request, announced, sent, hold).await;
                            held.fetch_sub(1, Ordering::Relaxed);
                            let mut endings = endings.lock().unwrap();
                            match ended {
                                Ok(ending) => endings.record(&ending),
                                Err(_) => endings.note("connection error"),
                            }
                        });
                        continue;
                    }
                    1 => wire::reset_at_once(client, request).await,
                    2 => {
                        let frames = random_frames(&mut dice);
                        let closed = wire::garbage(server, from, &frames, Duration::from_secs(2))
                            .await
                            .unwrap_or(true);
                        endings.lock().unwrap().note(if closed {
                            "garbage: connection closed"
                        } else {
                            "garbage: connection left open"
                        });
                        continue;
                    }
                    _ => {
                        // A message announced far beyond any limit, then the stream ends.
                        let mut body = vec![0u8, 0xff, 0xff, 0xff, 0xff];
                        body.extend_from_slice(&message);
                        wire::call(client, request, body.into(), PATIENCE).await
                    }
                }
            }
        };
        let mut endings = endings.lock().unwrap();
        match ended {
            Ok(ending) => endings.record(&ending),
            Err(_) => {
                endings.note("connection error");
                connection = None;
            }
        }
    }
}
