//! Indicators and their observations.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::labelled::labelled;
use super::money::check_currency;
use super::validation::require_text;
use super::{
    Collection, DataStatus, Frequency, Labelled, Meta, Period, Provenance, Qualifier, ResourceName,
    Violations,
};

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

/// Price basis of money values, and of rates of change of money values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    NotApplicable,
    /// Current prices of each period.
    Nominal,
    /// Constant prices of a base year.
    Constant(i32),
    /// Comparable prices: each year's change measured at the previous year's prices, as
    /// China's official growth rates are; a level at nominal prices grows faster by inflation.
    Comparable,
}

impl PriceBasis {
    /// The kinds of basis, labelled in the order `kind` numbers them (the wire's, where 0 is
    /// "not applicable").
    pub const LABELS: [&'static str; 4] = ["UNSPECIFIED", "NOMINAL", "CONSTANT", "COMPARABLE"];

    /// The basis's kind, its base year left out: an index into `LABELS`.
    pub fn kind(self) -> usize {
        match self {
            PriceBasis::NotApplicable => 0,
            PriceBasis::Nominal => 1,
            PriceBasis::Constant(_) => 2,
            PriceBasis::Comparable => 3,
        }
    }
}

labelled! {
    /// How an indicator's values follow from another indicator's (its relation's `of`), so
    /// that figures stated together can be checked against each other.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum RelationKind {
        /// The other's value at the period's last year over its value at the period's first
        /// ("has doubled": 2).
        Multiple = "MULTIPLE",
        /// The other's average yearly growth over the period's years, compound, in percent.
        AverageGrowth = "AVERAGE_GROWTH",
        /// The other's amount, in this indicator's currency.
        Conversion = "CONVERSION",
        /// The other's share of the whole, in percent, for the same area and period.
        Share = "SHARE",
        /// The amount the other, a share, is the share of: share x whole.
        Part = "PART",
    }
}

/// How an indicator's values follow from another indicator's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Relation {
    pub kind: RelationKind,
    /// The indicator the values follow from, `indicators/{indicator}`.
    pub of: ResourceName,
}

labelled! {
    /// How a figure was read from its source.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Reading {
        /// The figure is printed in the quoted passage ("170 billion yuan").
        Printed = "PRINTED",
        /// The figure is read out of words ("hundreds of thousands", "eradicated", "has
        /// doubled"); the note says how.
        Interpreted = "INTERPRETED",
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
    pub relation: Option<Relation>,
    /// Where its definition comes from.
    #[serde(default)]
    pub provenance: Option<Arc<Provenance>>,
    #[serde(default)]
    pub meta: Meta,
}

impl Indicator {
    /// For an exchange rate, the currencies its unit names: `(quote, base)` for "CNY per USD",
    /// one `base` being worth `value` of `quote`.
    pub fn exchange_currencies(&self) -> Option<(&str, &str)> {
        let (quote, base) = self.unit.split_once(" per ")?;
        (self.series_role == Some(SeriesRole::ExchangeRate)
            && is_currency_unit(quote)
            && is_currency_unit(base))
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
        if self.record_measure == Some(RecordMeasure::Expenditure) && !is_currency_unit(&self.unit)
        {
            violations.push(
                "unit",
                "an expenditure indicator's unit is a currency code such as \"CNY\"",
            );
        }
        if let PriceBasis::Constant(year) = self.price_basis {
            super::validation::check_year(year, "price_base_year", &mut violations);
        }
        if let Some(relation) = &self.relation {
            self.validate_relation(relation, &mut violations);
        }
        if let Some(provenance) = &self.provenance {
            provenance.validate("provenance", &mut violations);
        }
        violations
    }

    /// The relation's rules that need only this indicator; `Resource::validate` checks what
    /// needs the other.
    fn validate_relation(&self, relation: &Relation, violations: &mut Violations) {
        if relation.of == self.name {
            violations.push("relation.of", "an indicator cannot follow from itself");
        }
        let percent = matches!(
            relation.kind,
            RelationKind::AverageGrowth | RelationKind::Share
        );
        if percent && self.unit != "percent" {
            violations.push(
                "unit",
                format!(
                    "a {} relation's values are in \"percent\"",
                    relation.kind.label()
                ),
            );
        }
        if relation.kind == RelationKind::Conversion && !is_currency_unit(&self.unit) {
            violations.push("unit", "a CONVERSION relation's unit is a currency code");
        }
        if relation.kind == RelationKind::Multiple && self.frequency != Frequency::MultiYear {
            violations.push(
                "frequency",
                "a MULTIPLE relation spans years: its frequency is MULTI_YEAR",
            );
        }
    }
}

/// Whether a unit is a currency code such as "CNY".
pub fn is_currency_unit(unit: &str) -> bool {
    check_currency(unit).is_ok()
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
    /// Whether the value is printed in the source or read out of its words; required of
    /// reported figures, `None` where nobody said (records of the first format).
    #[serde(default)]
    pub reading: Option<Reading>,
    pub provenance: Arc<Provenance>,
    /// The observations a computed value was computed from.
    #[serde(default)]
    pub derived_from: Vec<ResourceName>,
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
        if self.status == DataStatus::Reported {
            if self.reading.is_none() {
                violations.push(
                    "reading",
                    "a reported figure says whether it is printed in the source or read out of its words",
                );
            }
            if self.provenance.quoted_passage.trim().is_empty() {
                violations.push(
                    "provenance.quoted_passage",
                    "a reported figure quotes the passage of the source that states it",
                );
            }
        }
        if self.reading == Some(Reading::Interpreted) && self.provenance.note.trim().is_empty() {
            violations.push(
                "provenance.note",
                "an interpreted figure's note says how the words were read",
            );
        }
        for (i, input) in self.derived_from.iter().enumerate() {
            if input.collection() != Collection::Observations {
                violations.push(format!("derived_from[{i}]"), "must name an observation");
            } else if *input == self.name {
                violations.push(
                    format!("derived_from[{i}]"),
                    "cannot name the observation itself",
                );
            }
        }
        violations
    }
}
