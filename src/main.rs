use std::io::IsTerminal as _;

use clap::Parser;
use pairing_aid::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// jemalloc rather than the system allocator: loading millions of records leaves glibc's heap
/// full of small holes it cannot give back (1,000,000 observations: 960 MB resident with glibc,
/// 534 MB with jemalloc), and its dynamic mmap threshold let the ten-minute soak's memory step
/// up (docs/BENCHMARKS.md, docs/RELIABILITY.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match config.log_format {
        LogFormat::Human => subscriber.init(),
        LogFormat::Json => subscriber.json().with_current_span(true).init(),
    }
    match pairing_aid::server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
