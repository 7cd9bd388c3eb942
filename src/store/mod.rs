//! Persistence: the source of truth for the record. The only place with SQL.

mod sqlite;

use async_trait::async_trait;

use crate::domain::{Resource, ResourceName};

pub use sqlite::SqliteStore;

/// Everything the store holds, as of one revision.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub revision: i64,
    pub resources: Vec<Resource>,
}

/// One change within a commit.
#[derive(Clone, Debug)]
pub enum Write {
    Put(Box<Resource>),
    Delete(ResourceName),
}

/// Writes applied together as one revision, or not at all.
#[derive(Clone, Debug)]
pub struct Commit {
    /// Who asked for the writes (a token's subject, or "seed").
    pub subject: String,
    pub writes: Vec<Write>,
}

/// What a commit wrote: its revision and the writes with their bookkeeping filled in.
#[derive(Clone, Debug)]
pub struct Committed {
    pub revision: i64,
    pub writes: Vec<Write>,
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or written now; retrying later may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database holds something this version cannot read.
    #[error("store holds unreadable data: {0}")]
    Corrupt(String),
}

/// A backend that keeps the record and its change log.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads every resource and the revision they reflect.
    async fn load(&self) -> Result<Snapshot, StoreError>;

    /// Applies `commit` atomically under the next revision and makes it durable before returning.
    async fn commit(&self, commit: Commit) -> Result<Committed, StoreError>;
}
