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
#[command(version, about, long_about = None)]
pub struct Config {
    /// Address and port to serve gRPC on; port 0 picks a free port.
    #[arg(long, env = "PAIRING_AID_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// SQLite database file; created and migrated on first start.
    #[arg(long, env = "PAIRING_AID_DATABASE", default_value = "pairing-aid.db")]
    pub database: PathBuf,

    /// Load the demo data (reported figures and synthetic projects) when the database is empty.
    #[arg(long, env = "PAIRING_AID_DEMO_DATA", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_data: bool,

    /// Log format; the level comes from RUST_LOG (default `info`).
    #[arg(long, env = "PAIRING_AID_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Seconds in-flight calls may take to finish after SIGTERM or SIGINT before the server exits.
    #[arg(long, env = "PAIRING_AID_DRAIN_SECONDS", default_value_t = 10)]
    pub drain_seconds: u64,
}

impl Config {
    /// How long to drain in-flight calls on shutdown.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_seconds)
    }
}
