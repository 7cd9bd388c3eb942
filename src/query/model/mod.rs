//! The read model's storage engine: every resource in memory at one revision, the two large
//! collections packed in tables numbered by name order, and the funding pre-aggregated for
//! summaries. It knows nothing of filters or questions; `listing` and `analytics` read it.

mod contribution;
pub mod cube;
mod interned;
mod members;
mod name_order;
mod named_rows;
mod observations;
mod packed;
mod projects;
mod read_model;
mod shared;
mod table;

pub use cube::FundingCube;
pub use members::Member;
pub use observations::ObservationTable;
pub use projects::ProjectTable;
pub use read_model::{ModelLoader, ReadModel};
pub use shared::SharedModel;
pub use table::Table;
