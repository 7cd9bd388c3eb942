//! The ledger: the store and the read model kept in step, commits applied in revision order and
//! published to watchers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, broadcast, oneshot, watch};

use super::plan::{WriteError, WriteRequest};
use crate::domain::Resource;
use crate::domain::{Committed, RequestKey};
use crate::query::model::{ModelLoader, PastFunding, ReadModel, SharedModel};
use crate::store::{LOAD_BATCHES_IN_FLIGHT, Store, StoreError};
use crate::telemetry;

/// How many commits a slow watcher may fall behind before it re-reads from the store.
const FEED_CAPACITY: usize = 1024;
/// Commits read from the store at a time while catching up.
const CATCH_UP_BATCH: i64 = 100;

/// A single write waiting for its group, and where its outcome goes.
pub(super) struct QueuedWrite {
    pub request: WriteRequest,
    pub outcome: oneshot::Sender<Result<Arc<Committed>, WriteError>>,
}

/// Single writes waiting for the task that commits them.
#[derive(Default)]
pub(super) struct WriteQueue {
    /// In arrival order.
    pub writes: Vec<QueuedWrite>,
    /// Whether a task that will take `writes` is already on its way, so a write arriving
    /// meanwhile joins its group instead of starting another.
    pub drain_scheduled: bool,
}

/// Builds the read model from everything `store` holds, as the store reads it: the record is
/// never held decoded whole beside the model being built. The model is built on a blocking
/// thread, so a reload at full scale (tens of seconds) takes no runtime thread from serving.
pub async fn load_model(store: &dyn Store) -> Result<ReadModel, StoreError> {
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<Vec<Resource>>(LOAD_BATCHES_IN_FLIGHT);
    let build = tokio::task::spawn_blocking(move || {
        let mut loader = ModelLoader::default();
        while let Some(batch) = receiver.blocking_recv() {
            batch.into_iter().for_each(|resource| loader.add(resource));
        }
        loader
    });
    let loaded = store.load_into(sender).await;
    let loader = build
        .await
        .map_err(|e| StoreError::Corrupt(format!("building the read model: {e}")))?;
    let loaded = loaded?;
    tokio::task::spawn_blocking(move || loader.finish(loaded.revision, loaded.shared))
        .await
        .map_err(|e| StoreError::Corrupt(format!("building the read model: {e}")))
}

/// The single way writes reach the store and the read model.
pub struct Ledger {
    store: Arc<dyn Store>,
    model: SharedModel,
    /// Serializes plan-commit-apply so the model sees commits in revision order.
    pub(super) write_lock: Mutex<()>,
    /// Single writes waiting to be committed together.
    pub(super) queue: std::sync::Mutex<WriteQueue>,
    feed: broadcast::Sender<Arc<Committed>>,
    applied: watch::Sender<i64>,
    /// Whether other processes write to the same store, so the model must catch up before
    /// planning.
    shared: bool,
    /// The last record built as of a past revision (`past`), kept for the next read there.
    pub(super) past: Mutex<Option<Arc<ReadModel>>>,
    /// The last funding of changed projects as they stood (`past`), kept likewise.
    pub(super) past_funding: Mutex<Option<Arc<PastFunding>>>,
    /// Hands freed memory back to the OS after a past record or funding is built: their
    /// transient records would otherwise count in resident memory until the allocator's
    /// decay returned them.
    pub(super) release_freed_memory: fn(),
}

impl Ledger {
    /// A ledger over `store`, whose contents `model` already reflects.
    pub fn new(store: Arc<dyn Store>, model: SharedModel) -> Self {
        let revision = model.read().revision;
        telemetry::metrics().read_model_revision.set(revision);
        Ledger {
            model,
            write_lock: Mutex::new(()),
            queue: std::sync::Mutex::new(WriteQueue::default()),
            feed: broadcast::channel(FEED_CAPACITY).0,
            applied: watch::channel(revision).0,
            shared: store.change_notifications().is_some(),
            past: Mutex::new(None),
            past_funding: Mutex::new(None),
            release_freed_memory: || {},
            store,
        }
    }

    /// The ledger with `release` handing freed memory back to the OS after transient work.
    pub fn releasing_freed_memory_with(mut self, release: fn()) -> Self {
        self.release_freed_memory = release;
        self
    }

    /// The store behind the ledger.
    pub(super) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The read model the ledger keeps current.
    pub fn model(&self) -> &SharedModel {
        &self.model
    }

    /// Applies a durable commit to the model and hands it to watchers.
    pub(super) fn publish(&self, committed: Arc<Committed>) {
        self.model.apply(&committed);
        telemetry::metrics()
            .read_model_revision
            .set(committed.revision);
        self.applied.send_replace(committed.revision);
        let _ = self.feed.send(committed);
    }

    /// Applies every commit the store has that the model lacks, up to `through`; the caller
    /// holds `write_lock`.
    pub(super) async fn catch_up_to(&self, through: i64) -> Result<(), StoreError> {
        loop {
            let applied = self.applied_revision();
            if applied >= through {
                return Ok(());
            }
            let oldest = self.store.oldest_revision().await?.unwrap_or(1);
            if applied + 1 < oldest {
                // The log no longer reaches back this far: start over from the store's state.
                let model = load_model(self.store.as_ref()).await?;
                let revision = model.revision;
                self.model.replace(model);
                self.applied.send_replace(revision);
                continue;
            }
            let limit = usize::try_from((through - applied).min(CATCH_UP_BATCH)).unwrap_or(1);
            let commits = self.store.commits_after(applied, limit).await?;
            if commits.is_empty() {
                return Ok(());
            }
            for committed in commits {
                self.publish(Arc::new(committed));
            }
        }
    }

    /// Whether other processes write to the same store.
    pub(super) fn is_shared(&self) -> bool {
        self.shared
    }

    /// Applies every commit made elsewhere (by another replica) that the model lacks.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock().await;
        self.catch_up_to(i64::MAX).await
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
