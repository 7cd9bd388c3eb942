//! The write path and the change log: validated commits under gap-free revisions, applied to
//! the read model in order and fanned out to watchers.

mod ledger;
mod writes;

pub use ledger::{Ledger, load_model};
pub use writes::{Edit, WriteError, WriteOp, WriteRequest};
