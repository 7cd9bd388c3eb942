//! Following the store: whether it answers, and, for a store shared by replicas, the commits
//! other processes make.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use super::ledger::Ledger;
use crate::telemetry;

/// Whether the store answers and the read model has caught up with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reachability {
    Reachable,
    Unreachable,
}

impl Ledger {
    /// Keeps `reachability` in step with the store and, for a store shared by replicas,
    /// applies commits made elsewhere: on each announcement and at least every second, so a
    /// missed announcement only delays a change. Returns when `stop` turns true.
    pub async fn follow_store(
        self: Arc<Self>,
        reachability: watch::Sender<Reachability>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut announcements = self.store().change_notifications();
        loop {
            let announced = async {
                match announcements.as_mut() {
                    Some(receiver) => {
                        let _ = receiver.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => return,
                () = announced => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            if *stop.borrow() {
                return;
            }
            let healthy = match self.store().ping().await {
                Ok(()) if announcements.is_some() => self.catch_up().await,
                other => other,
            };
            if let Some(receiver) = &announcements {
                let lag = (*receiver.borrow() - self.applied_revision()).max(0);
                telemetry::metrics().replica_lag.set(lag);
            }
            let now = match &healthy {
                Ok(()) => Reachability::Reachable,
                Err(_) => Reachability::Unreachable,
            };
            if *reachability.borrow() == now {
                continue;
            }
            match healthy {
                Err(error) => {
                    warn!(%error, "store unreachable: health is NOT_SERVING until it answers again")
                }
                Ok(()) => info!(
                    revision = self.applied_revision(),
                    "store answers again and the read model has caught up: SERVING"
                ),
            }
            reachability.send_replace(now);
        }
    }
}
