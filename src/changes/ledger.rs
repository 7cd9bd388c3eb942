//! Commits writes to the store and applies them, in revision order, to the read model.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, broadcast, watch};

use crate::query::SharedModel;
use crate::store::{Commit, Committed, RequestKey, Store, StoreError};

/// How many commits a slow watcher may fall behind before it re-reads from the store.
const FEED_CAPACITY: usize = 1024;

/// The single way writes reach the store and the read model.
pub struct Ledger {
    store: Arc<dyn Store>,
    model: SharedModel,
    /// Serializes plan-commit-apply so the model sees commits in revision order.
    pub(super) write_lock: Mutex<()>,
    feed: broadcast::Sender<Arc<Committed>>,
    applied: watch::Sender<i64>,
}

impl Ledger {
    /// A ledger over `store`, whose contents `model` already reflects.
    pub fn new(store: Arc<dyn Store>, model: SharedModel) -> Self {
        let revision = model.read().revision;
        Ledger {
            store,
            model,
            write_lock: Mutex::new(()),
            feed: broadcast::channel(FEED_CAPACITY).0,
            applied: watch::channel(revision).0,
        }
    }

    /// The store behind the ledger, for reading the change log.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The read model the ledger keeps current.
    pub fn model(&self) -> &SharedModel {
        &self.model
    }

    /// Commits a group and applies each commit in order; the caller holds `write_lock`.
    pub(super) async fn commit_planned(
        &self,
        commits: Vec<Commit>,
    ) -> Result<Vec<Result<Arc<Committed>, StoreError>>, StoreError> {
        let outcomes = self.store.commit_group(commits).await?;
        Ok(outcomes
            .into_iter()
            .map(|outcome| {
                let committed = Arc::new(outcome?);
                if !committed.replayed && !committed.writes.is_empty() {
                    self.model.apply(&committed);
                    self.applied.send_replace(committed.revision);
                    let _ = self.feed.send(committed.clone());
                }
                Ok(committed)
            })
            .collect())
    }

    /// The recorded result of an earlier request with this key, if there was one.
    pub async fn replay(&self, request: &RequestKey) -> Result<Option<Arc<Committed>>, StoreError> {
        Ok(self.store.find_request(request).await?.map(Arc::new))
    }

    /// The latest revision applied to the read model.
    pub fn applied_revision(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Waits until the read model has applied `revision`, at most `timeout`; on time-out
    /// returns the revision it has reached.
    pub async fn wait_for(&self, revision: i64, timeout: Duration) -> Result<(), i64> {
        let mut applied = self.applied.subscribe();
        let reached = tokio::time::timeout(timeout, applied.wait_for(|r| *r >= revision)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(self.applied_revision()),
        }
    }

    /// Live commits from now on; subscribe before reading history so nothing falls between.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.feed.subscribe()
    }
}
