use std::io::IsTerminal as _;

use clap::Parser;
use pairing_aid::config::{Config, LogFormat};
use pairing_aid_client::otlp::OtlpExport;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// jemalloc rather than the system allocator: loading millions of records leaves glibc's heap
/// full of small holes it cannot give back (1,000,000 observations: 960 MB resident with glibc,
/// 534 MB with jemalloc), and its dynamic mmap threshold let the ten-minute soak's memory step
/// up (docs/BENCHMARKS.md, docs/RELIABILITY.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Hands the pages jemalloc holds free back to the OS at once. Building the read model frees
/// gigabytes of transient records (ten million observations: 2,189 MiB resident just after the
/// load, 1,620 MiB once decay had returned them twenty seconds later); without this, resident
/// memory overstates the record's cost until decay catches up.
#[cfg(not(target_env = "msvc"))]
fn release_freed_memory() {
    // SAFETY: `arena.4096.purge` (4096 is MALLCTL_ARENAS_ALL) is a void control: it reads and
    // writes nothing, so the old and new value pointers must be null and the length zero.
    let status = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if status != 0 {
        tracing::warn!(status, "jemalloc did not purge freed pages");
    }
}

#[cfg(target_env = "msvc")]
fn release_freed_memory() {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let log = match config.log_format {
        LogFormat::Human => log.boxed(),
        LogFormat::Json => log.json().with_current_span(true).boxed(),
    };
    // Spans go to an OTLP collector when the standard OTEL_EXPORTER_OTLP_* variables say so.
    let export = OtlpExport::from_env("pairing-aid");
    let traces = export
        .as_ref()
        .ok()
        .and_then(|export| export.as_ref().map(OtlpExport::layer));
    tracing_subscriber::registry()
        .with(filter)
        .with(log)
        .with(traces)
        .init();
    let export = match export {
        Ok(export) => export,
        Err(error) => {
            tracing::error!("{error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    pairing_aid::telemetry::export_traces(export.is_some());
    let outcome = pairing_aid::server::run(config, release_freed_memory).await;
    if let Some(export) = export {
        export.shutdown();
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
