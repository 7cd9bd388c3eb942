use std::io::IsTerminal as _;

use clap::Parser;
use pairing_aid::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// glibc raises its mmap threshold whenever a large block is freed; from then on large
/// temporary buffers (a funding summary's maps) come from the heap, fragment it and are not
/// returned. The ten-minute soak saw resident memory step up by 35-49 % that way; with the
/// threshold fixed it stayed within 1 % (docs/RELIABILITY.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_mmap_threshold() {
    // SAFETY: mallopt only changes a tuning parameter of the allocator.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_malloc_mmap_threshold() {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fix_malloc_mmap_threshold();
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
