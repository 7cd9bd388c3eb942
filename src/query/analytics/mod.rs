//! The questions analysts ask, answered from the read model: funding summaries, indicator
//! series with derived figures, roll-ups, rankings and reconciliation of reported aggregates.
//! Every computed figure says what it was computed from and how certain its inputs were.

mod cube;
mod funding;
mod members;
mod money;
mod reconcile;
mod series;

pub use cube::FundingCube;
pub use funding::{Dimension, FundingQuery, GroupKey, GroupTotal, Summary, summarize};
pub use money::ConversionUsed;
pub use reconcile::{Reconciliation, ReconciliationReport, reconcile};
pub use series::{
    Derivation, Derived, RolledUp, Series, SeriesQuery, latest, rank_areas, roll_up, series,
};

use crate::domain::{DataStatus, Qualifier, ResourceName};

use super::FilterError;

/// Why an analytics question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A request field is malformed.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The filter does not parse.
    #[error("invalid filter {0}")]
    Filter(#[from] FilterError),
    /// A named resource does not exist.
    #[error("{0} does not exist")]
    NotFound(ResourceName),
    /// Asked to add up values that cannot be added (a rate, a share, a per-capita figure).
    #[error("{indicator} cannot be summed across areas: it is a {kind}")]
    NotSummable {
        indicator: ResourceName,
        kind: String,
    },
    /// No stored series converts the money as asked.
    #[error("{0}")]
    MissingSeries(String),
}

impl AnalyticsError {
    fn invalid(field: &str, reason: impl Into<String>) -> Self {
        AnalyticsError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// How far a status is from a value stated by a source: higher is less certain.
fn uncertainty(status: DataStatus) -> u8 {
    match status {
        DataStatus::Reported => 0,
        DataStatus::Computed => 1,
        DataStatus::Provisional => 2,
        DataStatus::Estimated => 3,
        DataStatus::Synthetic => 4,
    }
}

/// The least certain of the statuses.
fn least_certain(statuses: impl IntoIterator<Item = DataStatus>) -> DataStatus {
    statuses
        .into_iter()
        .max_by_key(|s| uncertainty(*s))
        .unwrap_or(DataStatus::Reported)
}

/// EXACT only if every input is exact: one approximate input makes the result approximate.
fn combined_qualifier(qualifiers: impl IntoIterator<Item = Qualifier>) -> Qualifier {
    if qualifiers.into_iter().all(|q| q == Qualifier::Exact) {
        Qualifier::Exact
    } else {
        Qualifier::About
    }
}
