//! Converting amounts between currencies and to constant prices with stored series.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::error::AnalyticsError;
use crate::domain::Labelled;
use crate::domain::{Indicator, Observation, ResourceName, SeriesRole};
use crate::query::model::ReadModel;

/// The series a caller names for conversions; `None`: any stored series that fits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesChoice {
    pub exchange_rate: Option<ResourceName>,
    pub deflator: Option<ResourceName>,
}

impl SeriesChoice {
    /// Checks that each named series is in the record with the role it is named for; the
    /// error names the request's field.
    pub fn check(&self, model: &ReadModel) -> Result<(), AnalyticsError> {
        for (name, role, field) in [
            (
                &self.exchange_rate,
                SeriesRole::ExchangeRate,
                "exchange_rate_series",
            ),
            (&self.deflator, SeriesRole::Deflator, "deflator_series"),
        ] {
            let Some(name) = name else { continue };
            let reason = match model.indicators.get(name) {
                None => format!("{name} is not an indicator of the record"),
                Some(i) if i.series_role != Some(role) => {
                    format!("{name} is not a series with series_role {}", role.label())
                }
                Some(_) => continue,
            };
            return Err(AnalyticsError::Invalid {
                field: field.to_owned(),
                reason,
            });
        }
        Ok(())
    }

    /// The stored series of `role` a conversion may use: the one named, else every one.
    fn candidates<'m>(
        &self,
        model: &'m ReadModel,
        role: SeriesRole,
    ) -> impl Iterator<Item = &'m Indicator> + 'm {
        let named = match role {
            SeriesRole::ExchangeRate => self.exchange_rate.clone(),
            SeriesRole::Deflator => self.deflator.clone(),
        };
        model
            .indicators
            .values()
            .filter(move |i| i.series_role == Some(role))
            .filter(move |i| named.as_ref().is_none_or(|n| *n == i.name))
    }
}

/// One conversion factor used, and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversionUsed {
    pub description: String,
    pub year: i32,
    pub factor: Decimal,
    pub observation: Observation,
}

/// Finds and remembers the factors that convert CNY-or-other amounts of a year into the
/// target currency, optionally at constant prices of a base year.
pub struct Converter<'a> {
    model: &'a ReadModel,
    target: String,
    price_base_year: Option<i32>,
    series: SeriesChoice,
    /// Factors by currency, then year: looked up once per funding line, without allocating.
    cache: HashMap<String, HashMap<i32, Decimal>>,
    used: Vec<ConversionUsed>,
}

impl<'a> Converter<'a> {
    /// A converter into `target` (an ISO code), at constant `price_base_year` prices if given,
    /// with the series `series` names.
    pub fn new(
        model: &'a ReadModel,
        target: &str,
        price_base_year: Option<i32>,
        series: &SeriesChoice,
    ) -> Self {
        Converter {
            model,
            target: target.to_owned(),
            price_base_year,
            series: series.clone(),
            cache: HashMap::new(),
            used: Vec::new(),
        }
    }

    /// The factor that turns an amount in `currency` of `year` into the target.
    pub fn factor(&mut self, currency: &str, year: i32) -> Result<Decimal, AnalyticsError> {
        if let Some(factor) = self.cache.get(currency).and_then(|years| years.get(&year)) {
            return Ok(*factor);
        }
        let mut factor = Decimal::ONE;
        let mut in_cny = currency == "CNY";
        if let Some(base_year) = self.price_base_year {
            // Deflators are for yuan amounts: convert to CNY first, deflate, then on to the target.
            if !in_cny {
                factor *= self.rate(currency, "CNY", year)?;
                in_cny = true;
            }
            factor *= self.deflator(year, base_year)?;
        }
        let from = if in_cny { "CNY" } else { currency };
        if from != self.target {
            factor *= self.rate(from, &self.target.clone(), year)?;
        }
        self.cache
            .entry(currency.to_owned())
            .or_default()
            .insert(year, factor);
        Ok(factor)
    }

    /// Takes over the factors another converter used, so one report lists them all.
    pub fn absorb(&mut self, other: Converter<'_>) {
        self.used.extend(other.used);
    }

    /// Whether a factor used so far was computed from `figure`: a check of `figure` through
    /// it would be circular.
    pub fn derives_from(&self, figure: &ResourceName) -> bool {
        self.used
            .iter()
            .any(|c| c.observation.derived_from.contains(figure))
    }

    /// Every factor used so far, in the order first used.
    pub fn into_used(self) -> Vec<ConversionUsed> {
        self.used
    }

    fn rate(&mut self, from: &str, to: &str, year: i32) -> Result<Decimal, AnalyticsError> {
        for indicator in self.series.candidates(self.model, SeriesRole::ExchangeRate) {
            let Some((quote, base)) = indicator.exchange_currencies() else {
                continue;
            };
            let inverted = match (quote == from && base == to, quote == to && base == from) {
                (true, _) => true,
                (_, true) => false,
                _ => continue,
            };
            let series = self.model.series_of(&indicator.name);
            if let Some(observation) = covering(&series, year) {
                if observation.value.is_zero() {
                    continue;
                }
                let factor = if inverted {
                    Decimal::ONE / observation.value
                } else {
                    observation.value
                };
                self.record(
                    format!(
                        "{from}->{to} at {} {}",
                        observation.value.normalize(),
                        indicator.unit
                    ),
                    year,
                    factor,
                    observation,
                );
                return Ok(factor);
            }
        }
        if from != "CNY" && to != "CNY" {
            // No direct rate: go through yuan.
            return Ok(self.rate(from, "CNY", year)? * self.rate("CNY", to, year)?);
        }
        if let Some(named) = &self.series.exchange_rate {
            return Err(AnalyticsError::MissingSeries(format!(
                "the exchange-rate series {named} does not convert {from} to {to} for {year}: its unit \
                 must be \"{to} per {from}\" or \"{from} per {to}\" and an observation must cover {year}"
            )));
        }
        Err(AnalyticsError::MissingSeries(format!(
            "no exchange rate converts {from} to {to} for {year}: add an observation covering {year} \
             to an indicator with series_role EXCHANGE_RATE and unit \"{to} per {from}\" or \"{from} per {to}\""
        )))
    }

    fn deflator(&mut self, year: i32, base_year: i32) -> Result<Decimal, AnalyticsError> {
        let missing = |y: i32| {
            AnalyticsError::MissingSeries(format!(
                "no price deflator for {y}: add an annual observation to an indicator with series_role DEFLATOR"
            ))
        };
        let indicator = self
            .series
            .candidates(self.model, SeriesRole::Deflator)
            .next()
            .ok_or_else(|| missing(year))?;
        let series = self.model.series_of(&indicator.name);
        let at = |y: i32| {
            series
                .iter()
                .find(|o| o.period == y.to_string() && !o.value.is_zero())
        };
        let current = at(year).ok_or_else(|| missing(year))?;
        let base = at(base_year).ok_or_else(|| missing(base_year))?;
        let factor = base.value / current.value;
        self.record(
            format!(
                "deflate {year} to {base_year} prices ({} / {})",
                base.value.normalize(),
                current.value.normalize()
            ),
            year,
            factor,
            current,
        );
        Ok(factor)
    }

    fn record(
        &mut self,
        description: String,
        year: i32,
        factor: Decimal,
        observation: &Observation,
    ) {
        self.used.push(ConversionUsed {
            description,
            year,
            factor,
            observation: observation.clone(),
        });
    }
}

/// The observation whose period covers `year`: an annual one if there is, else a span.
fn covering(series: &[Observation], year: i32) -> Option<&Observation> {
    let annual = series.iter().find(|o| o.period == year.to_string());
    annual.or_else(|| {
        series.iter().find(|o| {
            o.period
                .split_once('/')
                .and_then(|(a, b)| Some((a.parse::<i32>().ok()?, b.parse::<i32>().ok()?)))
                .is_some_and(|(a, b)| (a..=b).contains(&year))
        })
    })
}
