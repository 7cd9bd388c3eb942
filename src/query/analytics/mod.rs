//! The questions analysts ask, answered from the read model: funding summaries, indicator
//! series with derived figures, roll-ups, rankings and reconciliation of reported aggregates.
//! Every computed figure says what it was computed from and how certain its inputs were.

mod consistency;
mod coverage;
mod error;
mod funding;
mod money;
mod qualified;
mod reconcile;
mod series;

pub use consistency::{ConsistencyCheck, check_consistency, consistency_rows};
pub use coverage::StatusCoverage;
pub use error::AnalyticsError;
pub use funding::{
    Dimension, FundingQuery, GroupKey, GroupTotal, Summary, summarize, summarize_past, summary_rows,
};
pub use money::{ConversionUsed, SeriesChoice};
pub use reconcile::{Reconciliation, ReconciliationReport, reconcile};
pub use series::{
    Competition, Derivation, Derived, Picked, RolledUp, Series, SeriesQuery, latest, rank_areas,
    roll_up, series,
};
