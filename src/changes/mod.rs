//! The change log's one owner: validated commits under gap-free revisions, applied to the read
//! model in order; the watch feed and its catch-up from the log; "changed since" listings; and,
//! for replicas sharing a store, following the commits other processes make.
//!
//! The api layer calls this module and never the store. The vocabulary of a change (`Commit`,
//! `Write`, ...) is defined in `domain`, below both the store that persists it and the read
//! model that applies it, and re-exported here.

mod commit;
mod feed;
mod follow;
mod ledger;
mod listing;
mod plan;

pub use crate::domain::{Commit, Committed, Conflict, Precondition, RequestKey, Write};
pub use crate::store::StoreError;
pub use follow::Reachability;
pub use ledger::{Ledger, load_model};
pub use listing::ChangePage;
pub use plan::{Edit, Rebase, WriteError, WriteOp, WriteRequest};

/// Why the change log cannot be read from where a caller asked.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log no longer holds the commits after `after`; the oldest it holds is `oldest`.
    #[error(
        "changes after revision {after} are no longer kept; the oldest revision available is {oldest}"
    )]
    Compacted { after: i64, oldest: i64 },
    /// The page token is not one this listing issued.
    #[error("{0}")]
    PageToken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
