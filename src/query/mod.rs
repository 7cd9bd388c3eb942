//! The read side: an in-memory model of the record, kept in step with the store, and the
//! queries answered from it.

pub mod analytics;
mod fields;
mod filter;
mod interned;
mod list;
mod model;
mod name_order;
mod named_rows;
mod observations;
mod packed;
pub mod page_token;
mod projects;
mod table;
mod value;

use std::sync::{Arc, RwLock, RwLockReadGuard};

pub use fields::{ItemRow, Listed};
pub use filter::{Filter, FilterError, Row};
pub use list::{ListError, ListQuery, Page, list};
pub use model::{ModelLoader, ReadModel};
pub use observations::ObservationTable;
pub use page_token::{Cursor, fingerprint};
pub use projects::ProjectTable;
pub use table::Table;
pub use value::Value;

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

    /// Replaces the whole model, after reloading it from the store.
    pub fn replace(&self, model: ReadModel) {
        *self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = model;
    }

    /// Applies a durable commit.
    pub fn apply(&self, committed: &Committed) {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .apply(committed);
    }
}
