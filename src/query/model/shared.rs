//! The read model shared by every reader and the one writer that applies commits.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use super::read_model::ReadModel;
use crate::domain::Committed;

/// The shared read model: many readers, one writer applying commits in revision order.
#[derive(Clone, Default)]
pub struct SharedModel {
    inner: Arc<RwLock<ReadModel>>,
}

impl SharedModel {
    /// Shares `model`.
    pub fn new(model: ReadModel) -> Self {
        SharedModel {
            inner: Arc::new(RwLock::new(model)),
        }
    }

    /// A consistent view for one query; hold it only for the query's duration.
    pub fn read(&self) -> RwLockReadGuard<'_, ReadModel> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the whole model, after reloading it from the store. The old one is freed
    /// after the lock is let go: freeing a full-scale model takes a while, readers need not
    /// wait for it.
    pub fn replace(&self, model: ReadModel) {
        let old = std::mem::replace(
            &mut *self
                .inner
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            model,
        );
        drop(old);
    }

    /// Applies a durable commit.
    pub fn apply(&self, committed: &Committed) {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .apply(committed);
    }
}
