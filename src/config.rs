//! Server configuration from flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// pairing-aid: the record of a pairing assistance programme, served over gRPC.
#[derive(Clone, Debug, Parser)]
#[command(version, about, long_about = None, args_override_self = true)]
pub struct Config {
    /// Address and port to serve gRPC on; port 0 picks a free port.
    #[arg(long, env = "PAIRING_AID_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Where the record lives: a SQLite file (created and migrated on first start) or a
    /// `postgres://user:password@host/database` URL shared by several replicas.
    #[arg(
        long,
        env = "PAIRING_AID_DATABASE",
        default_value = "pairing-aid.db",
        hide_env_values = true
    )]
    pub database: String,

    /// Where to keep an image of the read model, read at start-up instead of every record and
    /// rewritten as the record moves on. Default: beside a SQLite database (`<file>.model`);
    /// none for PostgreSQL unless a path on the replica's own volume is given. `off`: none.
    #[arg(long, env = "PAIRING_AID_MODEL_IMAGE")]
    pub model_image: Option<String>,

    /// How often, in seconds, to rewrite the model's image if the record has moved on since
    /// the last one; it is rewritten at shutdown too.
    #[arg(
        long,
        env = "PAIRING_AID_MODEL_IMAGE_INTERVAL_SECONDS",
        default_value_t = 300
    )]
    pub model_image_interval_seconds: u64,

    /// Load the demo data (reported figures and synthetic projects) when the database is empty.
    #[arg(long, env = "PAIRING_AID_DEMO_DATA", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_data: bool,

    /// For benchmarks: with the demo data, also generate this many synthetic projects.
    #[arg(long, env = "PAIRING_AID_SYNTHETIC_PROJECTS", default_value_t = 0)]
    pub synthetic_projects: usize,

    /// For benchmarks: with the demo data, also generate about this many synthetic
    /// observations (in 30-year series).
    #[arg(long, env = "PAIRING_AID_SYNTHETIC_OBSERVATIONS", default_value_t = 0)]
    pub synthetic_observations: usize,

    /// Log format; the level comes from RUST_LOG (default `info`).
    #[arg(long, env = "PAIRING_AID_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// File of bearer tokens, one per line: `SUBJECT ROLE TOKEN` (role: read, write or admin).
    #[arg(long, env = "PAIRING_AID_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,

    /// Bearer tokens in the same form as the tokens file, lines separated by newlines or `;`.
    /// Prefer the environment variable to the flag: flags show in process listings.
    #[arg(long, env = "PAIRING_AID_TOKENS", hide_env_values = true)]
    pub tokens: Option<String>,

    /// Refuse reads without a valid token too (writes always need one).
    #[arg(long, env = "PAIRING_AID_REQUIRE_TOKEN_FOR_READS")]
    pub require_token_for_reads: bool,

    /// Revisions of the change log to keep for watchers and "changed since" reads; 0 keeps all.
    #[arg(long, env = "PAIRING_AID_RETAIN_REVISIONS", default_value_t = 0)]
    pub retain_revisions: i64,

    /// Age past which revisions of the change log are compacted, e.g. `400d`; unset keeps
    /// them. With `--retain-revisions` too, whichever keeps less applies.
    #[arg(long, env = "PAIRING_AID_RETAIN_FOR", value_parser = positive_duration)]
    pub retain_for: Option<std::time::Duration>,

    /// Age past which a write's `request_id` is forgotten, e.g. `30d`: a retry after it is
    /// applied as a new write. Unset remembers every request id.
    #[arg(long, env = "PAIRING_AID_REQUEST_IDS_FOR", value_parser = positive_duration)]
    pub request_ids_for: Option<std::time::Duration>,

    /// Largest record (in resources) that listings and analytics read at a past revision: such
    /// a read builds the whole record as it stood then, beside today's, so memory and time
    /// follow the record's size. Gets and exports at a revision read the log and have no limit.
    #[arg(long, env = "PAIRING_AID_MAX_PAST_RECORD", default_value_t = 1_000_000)]
    pub max_past_record: usize,

    /// Largest request message accepted, in bytes.
    #[arg(long, env = "PAIRING_AID_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Most records in one batch upsert or import batch.
    #[arg(long, env = "PAIRING_AID_MAX_BATCH", default_value_t = 1000)]
    pub max_batch: usize,

    /// Most calls in flight at once; more are refused with RESOURCE_EXHAUSTED.
    #[arg(
        long,
        env = "PAIRING_AID_MAX_CONCURRENT_REQUESTS",
        default_value_t = 512
    )]
    pub max_concurrent_requests: usize,

    /// Threads heavy calls (scans of the record: filtered listings, title summaries, exports,
    /// reconciliation) run on, at low priority; default: the CPUs this process may use.
    #[arg(long, env = "PAIRING_AID_HEAVY_THREADS")]
    pub heavy_threads: Option<usize>,

    /// Heavy calls that may wait for a thread; more are refused with RESOURCE_EXHAUSTED at
    /// once. Default: twice the threads.
    #[arg(long, env = "PAIRING_AID_HEAVY_QUEUE")]
    pub heavy_queue: Option<usize>,

    /// Longest a heavy call waits for a thread before RESOURCE_EXHAUSTED, in milliseconds;
    /// default 5000.
    #[arg(long, env = "PAIRING_AID_HEAVY_QUEUE_WAIT_MS")]
    pub heavy_queue_wait_ms: Option<u64>,

    /// Most calls in flight from one address; more from it are refused with
    /// RESOURCE_EXHAUSTED while other addresses are served.
    #[arg(
        long,
        env = "PAIRING_AID_MAX_CONCURRENT_REQUESTS_PER_PEER",
        default_value_t = 128
    )]
    pub max_concurrent_requests_per_peer: usize,

    /// Most streams one HTTP/2 connection may open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
    #[arg(
        long,
        env = "PAIRING_AID_MAX_STREAMS_PER_CONNECTION",
        default_value_t = 100
    )]
    pub max_streams_per_connection: u32,

    /// Most change streams (WatchChanges) open at once.
    #[arg(long, env = "PAIRING_AID_MAX_WATCHERS", default_value_t = 256)]
    pub max_watchers: usize,

    /// Longest any unary call may take, in seconds, whatever deadline the client sets.
    #[arg(
        long,
        env = "PAIRING_AID_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub request_timeout_seconds: u64,

    /// Longest wait for a request's message (for an import, for its next frame), in
    /// milliseconds: a call still sending after that is refused and its slot freed.
    #[arg(long, env = "PAIRING_AID_UPLOAD_TIMEOUT_MS", default_value_t = 5_000)]
    pub upload_timeout_ms: u64,

    /// Longest a call without a token may run, in milliseconds (watches excepted: they wait
    /// for changes by design).
    #[arg(long, env = "PAIRING_AID_ANONYMOUS_BUDGET_MS", default_value_t = 1_000)]
    pub anonymous_budget_ms: u64,

    /// Address for Prometheus metrics over HTTP (`GET /metrics`); port 0 picks a free port.
    #[arg(
        long,
        env = "PAIRING_AID_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_listen: SocketAddr,

    /// Serve the read-only dashboard at `/dashboard/` on the gRPC port: a browser client of the
    /// public API over gRPC-Web, which the port answers (over HTTP/1.1 as well as HTTP/2)
    /// whatever this says.
    #[arg(long, env = "PAIRING_AID_DASHBOARD", default_value_t = true, action = clap::ArgAction::Set)]
    pub dashboard: bool,

    /// Origins whose pages may call the API from a browser (CORS), comma-separated, e.g.
    /// `https://analysis.example.org`; `*` for any. None by default: only the dashboard's own
    /// origin.
    #[arg(long, env = "PAIRING_AID_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// Address for a plaintext port that answers only `grpc.health.v1.Health`, for probes
    /// that cannot speak TLS (the kubelet's); none by default. Health answers on the gRPC port
    /// too.
    #[arg(long, env = "PAIRING_AID_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,

    /// PEM certificate chain for TLS on the gRPC port; with --tls-key, the port speaks TLS only.
    #[arg(long, env = "PAIRING_AID_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "PAIRING_AID_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificates; when set, clients must present a certificate signed by one
    /// (mutual TLS).
    #[arg(long, env = "PAIRING_AID_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Roles of services identified by their client certificates: one `IDENTITY ROLE` per
    /// line, the identity a URI (SPIFFE ID) or DNS name of the certificate; a call without a
    /// token from such a certificate gets that role. Reread when it changes.
    #[arg(long, env = "PAIRING_AID_TLS_CLIENT_ROLES", requires = "tls_client_ca")]
    pub tls_client_roles: Option<PathBuf>,

    /// Seconds in-flight calls may take to finish after SIGTERM or SIGINT before the server exits.
    #[arg(long, env = "PAIRING_AID_DRAIN_SECONDS", default_value_t = 10)]
    pub drain_seconds: u64,
}

impl Config {
    /// Whether the record lives in PostgreSQL rather than a SQLite file.
    pub fn uses_postgres(&self) -> bool {
        self.database.starts_with("postgres://") || self.database.starts_with("postgresql://")
    }

    /// Where the read model's image is kept, if anywhere (see `--model-image`).
    pub fn model_image(&self) -> Option<PathBuf> {
        match self.model_image.as_deref() {
            Some("off") => None,
            Some(path) => Some(PathBuf::from(path)),
            None if self.uses_postgres() => None,
            None => Some(PathBuf::from(format!("{}.model", self.database))),
        }
    }

    /// How long to drain in-flight calls on shutdown.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_seconds)
    }
}

/// A duration such as `400d`, `12h` or `90s`, more than zero.
fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be more than zero; leave it unset to keep everything".into()),
        Err(error) => Err(format!("{error} (e.g. 400d, 12h, 90s)")),
    }
}
