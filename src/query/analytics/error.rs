//! Why an analytics question could not be answered.

use crate::domain::ResourceName;
use crate::query::interrupt::Interrupted;
use crate::query::listing::FilterError;

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
    /// The caller went away before the answer was ready.
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    /// No stored series converts the money as asked.
    #[error("{0}")]
    MissingSeries(String),
    /// A summary would have more groups than one answer holds.
    #[error(
        "the summary has more than {limit} groups, the most one answer holds; group by fewer \
         dimensions, at a coarser area level, or over a narrower filter"
    )]
    TooManyGroups { limit: usize },
}

impl AnalyticsError {
    pub(super) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        AnalyticsError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}
