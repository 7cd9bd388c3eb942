//! The watch feed: every commit after a revision, the missed ones read from the log, then the
//! live ones, gap-free and in order (etcd's synced and unsynced watchers in one loop).

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use super::error::LogError;
use super::ledger::Ledger;
use crate::domain::Committed;
use crate::store::StoreError;

/// Commits read from the store at a time when a watcher catches up.
const CATCH_UP_COMMITS: usize = 100;
/// Commits a watcher's stream holds before the feed waits for the watcher to take them.
const WATCH_BUFFER: usize = 16;

/// What a watcher receives: each commit in revision order, or the store failure that ended the
/// feed.
pub type WatchFeed = mpsc::Receiver<Result<Arc<Committed>, StoreError>>;

impl Ledger {
    /// Every commit after `start`: history from the log, then live commits. The feed ends when
    /// the receiver is dropped or the store fails; a start older than the log still holds is
    /// refused.
    pub async fn watch(self: &Arc<Self>, start: i64) -> Result<WatchFeed, LogError> {
        // Subscribe before reading history so nothing falls between the two.
        let live = self.subscribe();
        self.check_retained(start).await?;
        let (sender, receiver) = mpsc::channel(WATCH_BUFFER);
        tokio::spawn(feed(self.clone(), live, start, sender));
        Ok(receiver)
    }

    /// Refuses a start revision older than the change log still holds.
    pub(super) async fn check_retained(&self, after: i64) -> Result<(), LogError> {
        match self.store().oldest_revision().await? {
            Some(oldest) if after + 1 < oldest => Err(LogError::Compacted { after, oldest }),
            _ => Ok(()),
        }
    }
}

/// Sends every commit after `start` to `sender`: history from the store, then live commits.
async fn feed(
    ledger: Arc<Ledger>,
    mut live: broadcast::Receiver<Arc<Committed>>,
    start: i64,
    sender: mpsc::Sender<Result<Arc<Committed>, StoreError>>,
) {
    let mut sent = start;
    // History first, until the store has nothing newer; then follow the live feed, going back to
    // the store whenever the feed skips ahead (a lagging watcher) so no revision is missed.
    loop {
        let history = match ledger.store().commits_after(sent, CATCH_UP_COMMITS).await {
            Ok(history) => history,
            Err(error) => {
                let _ = sender.send(Err(error)).await;
                return;
            }
        };
        if history.is_empty() {
            break;
        }
        for committed in history {
            let revision = committed.revision;
            if sender.send(Ok(Arc::new(committed))).await.is_err() {
                return;
            }
            sent = revision;
        }
    }
    loop {
        // A watcher that went away frees its place now, not at the next commit.
        let received = tokio::select! {
            () = sender.closed() => return,
            received = live.recv() => received,
        };
        let committed = match received {
            Ok(committed) => committed,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                live = ledger.subscribe();
                Box::pin(feed(ledger, live, sent, sender)).await;
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if committed.revision <= sent {
            continue;
        }
        if committed.revision != sent + 1 {
            let live = ledger.subscribe();
            Box::pin(feed(ledger, live, sent, sender)).await;
            return;
        }
        let revision = committed.revision;
        if sender.send(Ok(committed)).await.is_err() {
            return;
        }
        sent = revision;
    }
}
