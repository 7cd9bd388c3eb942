//! The read side: an in-memory model of the record kept in step with the store (`model`), the
//! listing language over it (`listing`), and the questions analysts ask of it (`analytics`).
//! Each imports only the ones before it in that list.

pub mod analytics;
pub mod interrupt;
pub mod listing;
pub mod model;

pub use model::{ReadModel, SharedModel};
