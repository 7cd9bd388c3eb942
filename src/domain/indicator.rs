//! Indicators and their observations.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::require_text;
use super::{DataStatus, Meta, Period, Provenance, Qualifier, ResourceName, Violations};

/// How often an indicator is observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Annual,
    Quarterly,
    Monthly,
    MultiYear,
}

/// What kind of quantity an indicator's values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    Stock,
    Flow,
    Count,
    Rate,
    Share,
    PerCapita,
    Ratio,
}

/// Price basis of money values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    NotApplicable,
    Nominal,
    Constant(i32),
}

/// A development indicator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub name: ResourceName,
    pub code: String,
    pub display_name: String,
    pub description: String,
    pub unit: String,
    pub unit_multiplier: i32,
    pub frequency: Frequency,
    pub measure_kind: MeasureKind,
    pub summable: bool,
    pub price_basis: PriceBasis,
    pub topic: String,
    #[serde(default)]
    pub meta: Meta,
}

impl Indicator {
    /// Checks the indicator's own fields.
    pub fn validate(&self) -> Violations {
        let mut violations = Violations::default();
        require_text(&self.code, "code", &mut violations);
        require_text(&self.display_name, "display_name", &mut violations);
        require_text(&self.unit, "unit", &mut violations);
        if !(-12..=18).contains(&self.unit_multiplier) {
            violations.push("unit_multiplier", "must be a power of ten from -12 to 18");
        }
        let summable_kind = matches!(
            self.measure_kind,
            MeasureKind::Stock | MeasureKind::Flow | MeasureKind::Count
        );
        if self.summable && !summable_kind {
            violations.push(
                "summable",
                "rates, shares, per-capita figures and ratios cannot be summed across areas",
            );
        }
        if let PriceBasis::Constant(year) = self.price_basis {
            super::common::check_year(year, "price_base_year", &mut violations);
        }
        violations
    }
}

/// One value of an indicator for an area and a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub name: ResourceName,
    pub indicator: ResourceName,
    pub area: ResourceName,
    pub period: String,
    pub value: Decimal,
    pub qualifier: Qualifier,
    pub status: DataStatus,
    pub provenance: Provenance,
    #[serde(default)]
    pub meta: Meta,
}

impl Observation {
    /// Checks the observation against its indicator (whose frequency fixes the period's form).
    pub fn validate(&self, indicator: Option<&Indicator>) -> Violations {
        let mut violations = Violations::default();
        match indicator {
            Some(indicator) => {
                if let Err(reason) = Period::parse(&self.period, indicator.frequency) {
                    violations.push("period", reason);
                }
            }
            None => violations.push("indicator", format!("{} does not exist", self.indicator)),
        }
        self.provenance.validate("provenance", &mut violations);
        violations
    }
}
