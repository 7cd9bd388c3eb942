//! The record's resources and their rules, free of wire and storage concerns.

mod change;
mod choice;
mod common;
pub mod folding;
mod indicator;
mod labelled;
mod money;
mod name;
mod period;
mod place;
mod project;
mod references;
mod resource;
mod shared;
mod validation;

pub use change::{
    ChangeScope, Commit, CommitNote, Committed, Conflict, Precondition, ReadPoint, RequestKey,
    Version, Write,
};
pub use choice::{Candidate, ChoiceRule, FigureChoice};
pub use common::{
    Area, AreaLevel, DataStatus, Etag, Meta, Pairing, Party, PartyKind, Provenance, Qualifier,
    SupportField,
};
pub use indicator::{
    Indicator, MeasureKind, Observation, PriceBasis, Reading, RecordMeasure, Relation,
    RelationKind, SeriesRole, is_currency_unit,
};
pub use labelled::Labelled;
pub(crate) use labelled::labelled;
pub use money::{Money, cents, check_currency, rounded, split_by_shares};
pub use name::{Collection, ResourceName};
pub use period::{Frequency, Period};
pub use place::{CodeScheme, PlaceCode, PlaceName};
pub use project::{FundingLine, FundingType, Project, ProjectOutput, ProjectStatus, RecipientArea};
pub use references::Catalog;
pub use resource::Resource;
pub use shared::Shared;
pub use validation::{Violation, Violations};
