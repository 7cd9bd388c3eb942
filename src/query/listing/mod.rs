//! The AIP-160 listing language over the read model: the fields each collection can be filtered
//! and ordered by, filters, orders, keyset pages and their tokens.

mod fields;
mod filter;
mod list;
pub mod page_token;
pub mod picks;
mod value;

pub use fields::{
    AreaField, Field, IndicatorField, ItemRow, Listed, ObservationField, PairingField, PartyField,
    ProjectField, Summarized,
};
pub use filter::{Filter, FilterError, Row};
pub use list::{Budget, ListError, ListQuery, Page, list};
pub use page_token::{Cursor, fingerprint};
pub use value::{FieldSpec, FieldType, Value};
