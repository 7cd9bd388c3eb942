//! Indicator series with derived figures, latest values, roll-ups and rankings.

use std::collections::HashMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::coverage::{self, StatusCoverage};
use super::error::AnalyticsError;
use crate::domain::{
    AreaLevel, DataStatus, FigureChoice, Frequency, Indicator, Observation, Period, Qualifier,
    ResourceName,
};
use crate::domain::{Labelled, labelled};
use crate::query::model::{Chosen, ReadModel};

labelled! {
    /// Figures derived from a series.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Derivation {
        YearOnYear = "YEAR_ON_YEAR",
        Cagr = "CAGR",
        Index = "INDEX",
        DoublingTime = "DOUBLING_TIME",
    }
}

/// What series to read and what to derive.
#[derive(Clone, Debug)]
pub struct SeriesQuery {
    pub indicator: ResourceName,
    pub areas: Vec<ResourceName>,
    pub start_period: Option<String>,
    pub end_period: Option<String>,
    pub derivations: Vec<Derivation>,
    pub index_base_period: Option<String>,
    /// How to choose among observations that compete for one period.
    pub choice: FigureChoice,
}

/// A figure computed from observations.
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    pub derivation: Derivation,
    pub period: String,
    pub value: Decimal,
    pub unit: &'static str,
    pub inputs: Vec<ResourceName>,
    pub qualifier: Qualifier,
    pub input_status: DataStatus,
}

/// One area's series.
#[derive(Clone, Debug)]
pub struct Series {
    pub area: ResourceName,
    pub observations: Vec<Observation>,
    pub derived: Vec<Derived>,
    pub competing: Vec<Competition>,
}

/// Observations that competed for one value: the one chosen, those passed over, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Competition {
    pub area: ResourceName,
    pub period: String,
    pub chosen: ResourceName,
    pub passed_over: Vec<ResourceName>,
    pub reason: String,
}

/// Observations picked for an answer, with the competitions behind them.
#[derive(Clone, Debug)]
pub struct Picked {
    pub observations: Vec<Observation>,
    pub competing: Vec<Competition>,
}

impl Picked {
    /// The least certain status of the observations: what an order among them can claim.
    pub fn status(&self) -> DataStatus {
        DataStatus::least_certain(self.observations.iter().map(|o| o.status))
    }

    /// How many of the observations have each status, and their share of all.
    pub fn coverage(&self) -> Vec<StatusCoverage> {
        let count = Decimal::from(self.observations.len());
        coverage::by_status(
            self.observations
                .iter()
                .map(|o| (o.status, Decimal::ONE, 1)),
            count,
        )
    }
}

impl Competition {
    /// The competitions among `chosen`: the values others competed for.
    fn of<'a>(chosen: impl IntoIterator<Item = &'a Chosen>) -> Vec<Competition> {
        chosen
            .into_iter()
            .filter(|c| !c.passed_over.is_empty())
            .map(|c| Competition {
                area: c.observation.area.clone(),
                period: c.observation.period.clone(),
                chosen: c.observation.name.clone(),
                passed_over: c.passed_over.clone(),
                reason: c.reason.clone(),
            })
            .collect()
    }
}

fn indicator<'m>(
    model: &'m ReadModel,
    name: &ResourceName,
) -> Result<&'m Indicator, AnalyticsError> {
    model
        .indicators
        .get(name)
        .ok_or_else(|| AnalyticsError::NotFound(name.clone()))
}

fn check_area(model: &ReadModel, area: &ResourceName) -> Result<(), AnalyticsError> {
    if model.areas.contains_key(area) {
        Ok(())
    } else {
        Err(AnalyticsError::NotFound(area.clone()))
    }
}

fn check_period(
    field: &str,
    period: &Option<String>,
    frequency: Frequency,
) -> Result<(), AnalyticsError> {
    match period {
        Some(p) => Period::parse(p, frequency)
            .map(|_| ())
            .map_err(|reason| AnalyticsError::invalid(field, reason)),
        None => Ok(()),
    }
}

/// Years as a real number, so quarters and months count as fractions of a year.
fn fractional_year(period: Period) -> Option<f64> {
    match period {
        Period::Year(y) => Some(f64::from(y)),
        Period::Quarter(y, q) => Some(f64::from(y) + f64::from(q - 1) / 4.0),
        Period::Month(y, m) => Some(f64::from(y) + f64::from(m - 1) / 12.0),
        Period::Years(..) => None,
    }
}

/// The same period a year earlier.
fn year_before(period: Period) -> Option<Period> {
    match period {
        Period::Year(y) => Some(Period::Year(y - 1)),
        Period::Quarter(y, q) => Some(Period::Quarter(y - 1, q)),
        Period::Month(y, m) => Some(Period::Month(y - 1, m)),
        Period::Years(..) => None,
    }
}

fn derived(
    derivation: Derivation,
    period: String,
    value: f64,
    unit: &'static str,
    inputs: &[&Observation],
) -> Option<Derived> {
    Some(Derived {
        derivation,
        period,
        value: Decimal::from_f64(value)?.round_dp(6),
        unit,
        inputs: inputs.iter().map(|o| o.name.clone()).collect(),
        qualifier: Qualifier::combined(inputs.iter().map(|o| o.qualifier)),
        input_status: DataStatus::least_certain(inputs.iter().map(|o| o.status)),
    })
}

/// A series ready for deriving figures: its observations in period order, those whose period
/// parses by the indicator's frequency with their periods.
struct Parsed<'o> {
    observations: &'o [Observation],
    periods: Vec<(Period, &'o Observation)>,
    by_period: HashMap<Period, &'o Observation>,
}

/// Growth from the first to the last observation of a series.
struct Growth<'o> {
    /// Per year, compounded.
    rate: f64,
    span: String,
    ends: [&'o Observation; 2],
}

fn value(observation: &Observation) -> Option<f64> {
    observation.value.to_f64()
}

impl<'o> Parsed<'o> {
    fn new(observations: &'o [Observation], frequency: Frequency) -> Self {
        let periods: Vec<(Period, &Observation)> = observations
            .iter()
            .filter_map(|o| Period::parse(&o.period, frequency).ok().map(|p| (p, o)))
            .collect();
        let by_period = periods.iter().map(|(p, o)| (*p, *o)).collect();
        Parsed {
            observations,
            periods,
            by_period,
        }
    }

    /// Percentage change from each period's year-earlier period.
    fn year_on_year(&self, out: &mut Vec<Derived>) {
        for (period, current) in &self.periods {
            let Some(previous) = year_before(*period).and_then(|p| self.by_period.get(&p)) else {
                continue;
            };
            if let (Some(now), Some(before)) = (value(current), value(previous))
                && before != 0.0
            {
                out.extend(derived(
                    Derivation::YearOnYear,
                    current.period.clone(),
                    (now / before - 1.0) * 100.0,
                    "percent",
                    &[previous, current],
                ));
            }
        }
    }

    /// Compound growth from the first to the last observation, when both are positive and
    /// apart in time.
    fn growth(&self) -> Option<Growth<'o>> {
        let ((first_period, first), (last_period, last)) =
            (self.periods.first()?, self.periods.last()?);
        let (start, end) = (
            fractional_year(*first_period)?,
            fractional_year(*last_period)?,
        );
        let (from, to) = (value(first)?, value(last)?);
        if end <= start || from <= 0.0 || to <= 0.0 {
            return None;
        }
        Some(Growth {
            rate: (to / from).powf(1.0 / (end - start)) - 1.0,
            span: format!("{}/{}", first.period, last.period),
            ends: [first, last],
        })
    }

    /// Each observation as an index of the one for `base_period` (the first if none) = 100.
    fn index(
        &self,
        base_period: Option<&str>,
        out: &mut Vec<Derived>,
    ) -> Result<(), AnalyticsError> {
        let Some(first) = self.observations.first() else {
            return Ok(());
        };
        let base = match base_period {
            Some(period) => self
                .observations
                .iter()
                .find(|o| o.period == period)
                .ok_or_else(|| {
                    AnalyticsError::invalid(
                        "index_base_period",
                        format!("the series has no observation for {period}"),
                    )
                })?,
            None => first,
        };
        if let Some(base_value) = value(base).filter(|v| *v != 0.0) {
            for observation in self.observations {
                if let Some(v) = value(observation) {
                    out.extend(derived(
                        Derivation::Index,
                        observation.period.clone(),
                        v / base_value * 100.0,
                        "index",
                        &[base, observation],
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The figures `query` asks for, in the order derivations are declared.
fn derive(
    observations: &[Observation],
    frequency: Frequency,
    query: &SeriesQuery,
) -> Result<Vec<Derived>, AnalyticsError> {
    let series = Parsed::new(observations, frequency);
    let mut out = Vec::new();
    for derivation in Derivation::ALL {
        if !query.derivations.contains(derivation) {
            continue;
        }
        match derivation {
            Derivation::YearOnYear => series.year_on_year(&mut out),
            Derivation::Cagr => {
                if let Some(growth) = series.growth() {
                    out.extend(derived(
                        Derivation::Cagr,
                        growth.span,
                        growth.rate * 100.0,
                        "percent",
                        &growth.ends,
                    ));
                }
            }
            Derivation::Index => series.index(query.index_base_period.as_deref(), &mut out)?,
            Derivation::DoublingTime => {
                if let Some(growth) = series.growth().filter(|g| g.rate > 0.0) {
                    out.extend(derived(
                        Derivation::DoublingTime,
                        growth.span,
                        2f64.ln() / (1.0 + growth.rate).ln(),
                        "years",
                        &growth.ends,
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The series of `query.indicator` for each area, with the figures asked for.
pub fn series(model: &ReadModel, query: &SeriesQuery) -> Result<Vec<Series>, AnalyticsError> {
    let indicator = indicator(model, &query.indicator)?;
    check_period("start_period", &query.start_period, indicator.frequency)?;
    check_period("end_period", &query.end_period, indicator.frequency)?;
    if query.areas.is_empty() {
        return Err(AnalyticsError::invalid("areas", "name at least one area"));
    }
    query
        .areas
        .iter()
        .map(|area| {
            check_area(model, area)?;
            let chosen: Vec<Chosen> = model
                .chosen(&query.indicator, Some(area), &query.choice)
                .into_iter()
                .filter(|c| {
                    query
                        .start_period
                        .as_ref()
                        .is_none_or(|s| &c.observation.period >= s)
                })
                .filter(|c| {
                    query
                        .end_period
                        .as_ref()
                        .is_none_or(|e| &c.observation.period <= e)
                })
                .collect();
            let observations: Vec<Observation> =
                chosen.iter().map(|c| c.observation.clone()).collect();
            let derived = derive(&observations, indicator.frequency, query)?;
            Ok(Series {
                area: area.clone(),
                observations,
                derived,
                competing: Competition::of(&chosen),
            })
        })
        .collect()
}

/// The latest observation of `indicator` per area (of `areas`, or every area), optionally
/// skipping zero values.
pub fn latest(
    model: &ReadModel,
    indicator_name: &ResourceName,
    areas: &[ResourceName],
    skip_zero: bool,
    choice: &FigureChoice,
) -> Result<Picked, AnalyticsError> {
    indicator(model, indicator_name)?;
    for area in areas {
        check_area(model, area)?;
    }
    let mut by_area: std::collections::BTreeMap<&ResourceName, &Chosen> =
        std::collections::BTreeMap::new();
    let series = model.chosen(indicator_name, None, choice);
    for chosen in &series {
        let observation = &chosen.observation;
        if (skip_zero && observation.value.is_zero())
            || (!areas.is_empty() && !areas.contains(&observation.area))
        {
            continue;
        }
        // Series come in period order within an area, so the last one seen is the latest.
        by_area.insert(&observation.area, chosen);
    }
    Ok(Picked {
        observations: by_area.values().map(|c| c.observation.clone()).collect(),
        competing: Competition::of(by_area.into_values()),
    })
}

/// A value summed up the hierarchy.
#[derive(Clone, Debug)]
pub struct RolledUp {
    pub area: ResourceName,
    pub reported: Option<Decimal>,
    pub computed: Decimal,
    pub inputs: Vec<ResourceName>,
    pub qualifier: Qualifier,
    pub input_status: DataStatus,
    /// The part of `computed` that rests on observations of each status.
    pub coverage: Vec<StatusCoverage>,
}

/// Sums a summable indicator for `period` up to the areas at `level`. Below each area, a child
/// with its own observation counts with it; a child without one counts with the sum of its own
/// children; nothing is counted twice.
pub fn roll_up(
    model: &ReadModel,
    indicator_name: &ResourceName,
    period: &str,
    level: AreaLevel,
    choice: &FigureChoice,
) -> Result<(Vec<RolledUp>, Vec<Competition>), AnalyticsError> {
    let indicator = indicator(model, indicator_name)?;
    if !indicator.summable {
        return Err(AnalyticsError::NotSummable {
            indicator: indicator_name.clone(),
            kind: format!("{:?}", indicator.measure_kind).to_lowercase(),
        });
    }
    Period::parse(period, indicator.frequency)
        .map_err(|reason| AnalyticsError::invalid("period", reason))?;
    let chosen: Vec<Chosen> = model
        .chosen(indicator_name, None, choice)
        .into_iter()
        .filter(|c| c.observation.period == period)
        .collect();
    let at_period: HashMap<&ResourceName, &Observation> = chosen
        .iter()
        .map(|c| (&c.observation.area, &c.observation))
        .collect();
    let mut children: HashMap<&ResourceName, Vec<&ResourceName>> = HashMap::new();
    for area in model.areas.values() {
        if let Some(parent) = &area.parent {
            children.entry(parent).or_default().push(&area.name);
        }
    }
    fn below<'m>(
        area: &ResourceName,
        children: &HashMap<&ResourceName, Vec<&'m ResourceName>>,
        at_period: &HashMap<&ResourceName, &'m Observation>,
        inputs: &mut Vec<&'m Observation>,
    ) {
        for child in children.get(area).into_iter().flatten() {
            match at_period.get(*child) {
                Some(observation) => inputs.push(observation),
                None => below(child, children, at_period, inputs),
            }
        }
    }
    let mut values = Vec::new();
    for area in model
        .areas
        .values()
        .filter(|a| a.level.depth() == level.depth())
    {
        let mut inputs = Vec::new();
        below(&area.name, &children, &at_period, &mut inputs);
        if inputs.is_empty() {
            continue;
        }
        let computed = inputs.iter().map(|o| o.value).sum();
        values.push(RolledUp {
            area: area.name.clone(),
            reported: at_period.get(&area.name).map(|o| o.value),
            computed,
            coverage: coverage::by_status(inputs.iter().map(|o| (o.status, o.value, 1)), computed),
            qualifier: Qualifier::combined(inputs.iter().map(|o| o.qualifier)),
            input_status: DataStatus::least_certain(inputs.iter().map(|o| o.status)),
            inputs: inputs.iter().map(|o| o.name.clone()).collect(),
        });
    }
    Ok((values, Competition::of(&chosen)))
}

/// Observations of `indicator` for `period`, highest value first (or lowest), optionally only
/// of areas at `level`.
pub fn rank_areas(
    model: &ReadModel,
    indicator_name: &ResourceName,
    period: &str,
    level: Option<AreaLevel>,
    ascending: bool,
    choice: &FigureChoice,
) -> Result<Picked, AnalyticsError> {
    let indicator = indicator(model, indicator_name)?;
    Period::parse(period, indicator.frequency)
        .map_err(|reason| AnalyticsError::invalid("period", reason))?;
    let mut ranked: Vec<Chosen> = model
        .chosen(indicator_name, None, choice)
        .into_iter()
        .filter(|c| c.observation.period == period)
        .filter(|c| {
            let o = &c.observation;
            level.is_none_or(|l| {
                model
                    .areas
                    .get(&o.area)
                    .is_some_and(|a| a.level.depth() == l.depth())
            })
        })
        .collect();
    ranked.sort_by(|a, b| {
        let (a, b) = (&a.observation, &b.observation);
        let order = if ascending {
            a.value.cmp(&b.value)
        } else {
            b.value.cmp(&a.value)
        };
        order.then_with(|| a.area.cmp(&b.area))
    });
    Ok(Picked {
        observations: ranked.iter().map(|c| c.observation.clone()).collect(),
        competing: Competition::of(&ranked),
    })
}
