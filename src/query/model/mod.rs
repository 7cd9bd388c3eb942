//! The read model's storage engine: every resource in memory at one revision, the two large
//! collections packed in tables numbered by name order, the funding pre-aggregated for
//! summaries, and bitmap and n-gram indexes of what filters read. It knows nothing of filter
//! syntax or questions; `listing` and `analytics` read it.

mod contribution;
pub mod cube;
pub mod image;
mod interned;
mod journal;
mod members;
mod name_order;
mod named_rows;
mod ngrams;
mod observations;
mod packed;
mod past;
pub mod places;
mod postings;
mod project_index;
mod projects;
mod read_model;
mod serial;
mod shared;
mod table;

pub use cube::FundingCube;
pub use members::{Member, Reading};
pub use ngrams::{Found, NGrams};
pub use observations::{Chosen, ObservationIndex, ObservationTable};
pub use past::{PastFunding, Rollback, StoodProjects};
pub use postings::Postings;
pub use project_index::ProjectIndex;
pub use projects::{FundingView, Line, ProjectRow, ProjectTable, with_project_row};
pub use read_model::{ModelLoader, ReadModel};
pub use shared::SharedModel;
pub use table::{Numbered, Table};
