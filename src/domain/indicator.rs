//! Indicators and their observations.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::require_text;
use super::labelled::labelled;
use super::{DataStatus, Frequency, Meta, Period, Provenance, Qualifier, ResourceName, Violations};

labelled! {
    /// What kind of quantity an indicator's values are.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum MeasureKind {
        Stock = "STOCK",
        Flow = "FLOW",
        Count = "COUNT",
        Rate = "RATE",
        Share = "SHARE",
        PerCapita = "PER_CAPITA",
        Ratio = "RATIO",
    }
}

/// Price basis of money values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    NotApplicable,
    Nominal,
    Constant(i32),
}

impl PriceBasis {
    /// The kinds of basis, labelled in the order `kind` numbers them (the wire's, where 0 is
    /// "not applicable").
    pub const LABELS: [&'static str; 3] = ["UNSPECIFIED", "NOMINAL", "CONSTANT"];

    /// The basis's kind, its base year left out: an index into `LABELS`.
    pub fn kind(self) -> usize {
        match self {
            PriceBasis::NotApplicable => 0,
            PriceBasis::Nominal => 1,
            PriceBasis::Constant(_) => 2,
        }
    }
}

labelled! {
    /// How project records compute an indicator, for reconciliation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum RecordMeasure {
        /// Sum of expenditure lines in the indicator's unit (a currency).
        Expenditure = "EXPENDITURE",
        /// Percentage of expenditure on livelihood projects.
        LivelihoodShare = "LIVELIHOOD_SHARE",
        /// Sum of project outputs counted towards the indicator.
        Outputs = "OUTPUTS",
    }
}

labelled! {
    /// Series the service uses to convert money.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum SeriesRole {
        /// An exchange rate whose unit reads "CNY per USD".
        ExchangeRate = "EXCHANGE_RATE",
        /// A price deflator index for CNY amounts.
        Deflator = "DEFLATOR",
    }
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
    pub record_measure: Option<RecordMeasure>,
    #[serde(default)]
    pub series_role: Option<SeriesRole>,
    #[serde(default)]
    pub meta: Meta,
}

impl Indicator {
    /// For an exchange rate, the currencies its unit names: `(quote, base)` for "CNY per USD",
    /// one `base` being worth `value` of `quote`.
    pub fn exchange_currencies(&self) -> Option<(&str, &str)> {
        let (quote, base) = self.unit.split_once(" per ")?;
        let is_code = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase());
        (self.series_role == Some(SeriesRole::ExchangeRate) && is_code(quote) && is_code(base))
            .then_some((quote, base))
    }

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
        if self.series_role == Some(SeriesRole::ExchangeRate)
            && self.exchange_currencies().is_none()
        {
            violations.push(
                "unit",
                "an exchange rate's unit reads \"CNY per USD\": ISO codes around \"per\"",
            );
        }
        if self.record_measure == Some(RecordMeasure::Expenditure)
            && !(self.unit.len() == 3 && self.unit.bytes().all(|b| b.is_ascii_uppercase()))
        {
            violations.push(
                "unit",
                "an expenditure indicator's unit is a currency code such as \"CNY\"",
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
    pub provenance: Arc<Provenance>,
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
