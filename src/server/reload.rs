//! Settings read from files that change while the server runs: the tokens file and the TLS
//! certificate and key.
//!
//! A mounted Kubernetes Secret changes by the kubelet writing a new directory and swapping a
//! `..data` symlink, so the path stays and its bytes change; watching the path with inotify
//! would follow the old target. The files are small, so they are reread every second and
//! compared.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::telemetry;

/// How often the files are reread.
const PERIOD: Duration = Duration::from_secs(1);

/// A value built from files, rebuilt when they change; a change that does not build leaves the
/// value in force, logged and counted, until the files change again.
pub struct Reloading<T> {
    /// What the files hold, for logs and the metric's `file` label.
    what: &'static str,
    paths: Vec<PathBuf>,
    build: Box<dyn Fn() -> anyhow::Result<T> + Send + Sync>,
    current: Arc<ArcSwap<T>>,
    seen: Vec<Option<Vec<u8>>>,
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Builds the first value: a start-up with unusable files fails with `build`'s error.
    pub fn start(
        what: &'static str,
        paths: Vec<PathBuf>,
        build: impl Fn() -> anyhow::Result<T> + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        // Read before building, so that a change made while building is seen next time.
        let seen = contents(&paths);
        let current = Arc::new(ArcSwap::from_pointee(build()?));
        Ok(Reloading {
            what,
            paths,
            build: Box::new(build),
            current,
            seen,
        })
    }

    /// The value in force, shared with those who read it.
    pub fn current(&self) -> Arc<ArcSwap<T>> {
        self.current.clone()
    }

    /// Rereads the files every second until `stop` turns true.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(PERIOD) => {}
            }
            let now = contents(&self.paths);
            if now == self.seen {
                continue;
            }
            self.seen = now;
            let what = self.what;
            let outcome = match (self.build)() {
                Ok(value) => {
                    self.current.store(Arc::new(value));
                    info!(file = what, "reloaded the {what}: its file changed");
                    "reloaded"
                }
                Err(error) => {
                    warn!(
                        file = what,
                        error = format!("{error:#}"),
                        "kept the {what} in force: the changed file is not usable"
                    );
                    "rejected"
                }
            };
            telemetry::metrics()
                .config_reloads
                .with_label_values(&[what, outcome])
                .inc();
        }
    }
}

/// The bytes of each file, `None` where it cannot be read (removed, or mid-swap).
fn contents(paths: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    paths.iter().map(|path| std::fs::read(path).ok()).collect()
}
