//! The change log's one owner: validated commits under gap-free revisions, applied to the read
//! model in order; the watch feed and its catch-up from the log; "changed since" listings; and,
//! for replicas sharing a store, following the commits other processes make.
//!
//! The api layer calls this module and never the store. The vocabulary of a change (`Commit`,
//! `Write`, ...) is defined in `domain`, below both the store that persists it and the read
//! model that applies it, and re-exported here.

mod commit;
mod error;
mod feed;
mod follow;
mod history;
mod image;
mod ledger;
mod listing;
mod past;
mod plan;

pub use crate::domain::{
    Commit, CommitNote, Committed, Conflict, Precondition, ReadPoint, RequestKey, Version, Write,
};
pub use crate::store::StoreError;
pub use error::LogError;
pub use follow::Reachability;
pub use history::{Before, HistoryPage};
pub use image::{ImageKeeping, Opened, open_model};
pub use ledger::{Ledger, load_model};
pub use listing::ChangePage;
pub use past::PastCount;
pub use plan::{Edit, Rebase, WriteError, WriteOp, WriteRequest};
