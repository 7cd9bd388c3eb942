//! A project's funding as the funding cube counts it: its lines by shape, in cents, and each
//! line's parts by recipient.

use chrono::Datelike;
use rust_decimal::Decimal;

use crate::domain::{FundingLine, FundingType, Project, cents, rounded, split_by_shares};

/// What a class's projects share about one funding line.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub(super) struct LineShape {
    pub year: i32,
    pub funding_type: FundingType,
    pub currency: String,
    /// The year whose exchange rate and deflator apply: of the value date if there is one.
    pub rate_year: i32,
}

impl LineShape {
    fn of(line: &FundingLine) -> Self {
        LineShape {
            year: line.year,
            funding_type: line.funding_type,
            currency: line.amount.currency.clone(),
            rate_year: line.value_date.map_or(line.year, |d| d.year()),
        }
    }
}

/// A project's funding as the cube counts it: lines in shape order, rounded to the cent, and
/// each line's parts by recipient.
pub struct Contribution {
    pub(super) shapes: Vec<LineShape>,
    /// The lines' amounts in cents, then their parts (line-major, by recipient).
    pub amounts: Vec<i128>,
}

impl Contribution {
    pub(super) fn of(project: &Project) -> Self {
        let mut lines: Vec<(LineShape, Decimal)> = project
            .funding_lines
            .iter()
            .map(|l| (LineShape::of(l), rounded(l.amount.amount)))
            .collect();
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        let shares: Vec<Decimal> = project.recipients.iter().map(|r| r.share_percent).collect();
        let parts = lines
            .iter()
            .flat_map(|(_, amount)| split_by_shares(*amount, &shares));
        Contribution {
            amounts: lines
                .iter()
                .map(|(_, amount)| cents(*amount))
                .chain(parts.map(cents))
                .collect(),
            shapes: lines.into_iter().map(|(shape, _)| shape).collect(),
        }
    }
}
