//! Reported aggregates beside the same figures computed from the project records.

use rust_decimal::{Decimal, RoundingStrategy};

use super::error::AnalyticsError;
use super::money::{ConversionUsed, Converter};
use crate::domain::{
    DataStatus, FundingType, Indicator, Observation, Period, Project, Qualifier, RecordMeasure,
    ResourceName,
};
use crate::query::interrupt::Interrupt;
use crate::query::listing::{Filter, ItemRow, Listed};
use crate::query::model::ReadModel;

/// One reported figure and its computed counterpart.
#[derive(Clone, Debug)]
pub struct Reconciliation {
    pub reported: Observation,
    pub computed: Decimal,
    pub difference: Decimal,
    pub difference_percent: Option<Decimal>,
    pub satisfied: bool,
    pub method: String,
    pub input_status: DataStatus,
}

/// Every reconciliation and the conversion factors they used.
#[derive(Clone, Debug)]
pub struct ReconciliationReport {
    pub reconciliations: Vec<Reconciliation>,
    pub conversions: Vec<ConversionUsed>,
}

/// Sums over the projects in an area and a span of years.
struct Tally {
    value: Decimal,
    projects: usize,
    lines: usize,
    statuses: Vec<DataStatus>,
}

/// The share of `project` that lies in `area` (0 to 1), by recipient shares.
fn share_in(model: &ReadModel, project: &Project, area: &ResourceName) -> Decimal {
    project
        .recipients
        .iter()
        .filter(|r| model.area_and_ancestors(&r.area).contains(area))
        .map(|r| r.share_percent)
        .sum::<Decimal>()
        / Decimal::ONE_HUNDRED
}

fn tally(
    model: &ReadModel,
    interrupt: &Interrupt,
    area: &ResourceName,
    years: (i32, i32),
    mut measure: impl FnMut(&Project) -> Result<Option<(Decimal, usize)>, AnalyticsError>,
) -> Result<Tally, AnalyticsError> {
    let mut tally = Tally {
        value: Decimal::ZERO,
        projects: 0,
        lines: 0,
        statuses: Vec::new(),
    };
    for project in model.projects.values() {
        interrupt.check()?;
        let share = share_in(model, &project, area);
        let active = project
            .funding_lines
            .iter()
            .any(|l| (years.0..=years.1).contains(&l.year));
        if share.is_zero() || !active {
            continue;
        }
        if let Some((value, lines)) = measure(&project)? {
            tally.value += value * share;
            tally.lines += lines;
            tally.projects += 1;
            tally.statuses.push(project.data_status);
        }
    }
    Ok(tally)
}

fn expenditure(
    project: &Project,
    years: (i32, i32),
    converter: &mut Converter<'_>,
) -> Result<Option<(Decimal, usize)>, AnalyticsError> {
    let mut sum = Decimal::ZERO;
    let mut lines = 0;
    for line in project.funding_lines.iter().filter(|l| {
        l.funding_type == FundingType::Expenditure && (years.0..=years.1).contains(&l.year)
    }) {
        let rate_year = line
            .value_date
            .map_or(line.year, |d| chrono::Datelike::year(&d));
        sum += line.amount.amount * converter.factor(&line.amount.currency, rate_year)?;
        lines += 1;
    }
    Ok((lines > 0).then_some((sum, lines)))
}

/// The value step of a reported figure: "2100" is stated to the hundred, "1.7" to the tenth.
fn precision(value: Decimal) -> Decimal {
    let normalized = value.normalize();
    if normalized.scale() > 0 {
        return Decimal::new(1, normalized.scale());
    }
    let digits = normalized.abs().trunc().to_string();
    let zeros = digits.len() - digits.trim_end_matches('0').len();
    Decimal::from(10u64.pow(zeros.min(18) as u32))
}

fn satisfied(
    qualifier: Qualifier,
    reported: Decimal,
    computed: Decimal,
    about_tolerance: Decimal,
) -> bool {
    match qualifier {
        Qualifier::Exact => (computed - reported).abs() * Decimal::TWO <= precision(reported),
        Qualifier::About => {
            (computed - reported).abs() <= reported.abs() * about_tolerance / Decimal::ONE_HUNDRED
        }
        Qualifier::AtLeast => computed >= reported,
        Qualifier::MoreThan => computed > reported,
        Qualifier::AtMost => computed <= reported,
        Qualifier::LessThan => computed < reported,
    }
}

fn compute(
    model: &ReadModel,
    interrupt: &Interrupt,
    observation: &Observation,
    indicator: &Indicator,
    measure: RecordMeasure,
    converter: &mut Converter<'_>,
) -> Result<Option<(Decimal, String, DataStatus)>, AnalyticsError> {
    let Some(years) = Period::years_of(&observation.period) else {
        return Ok(None);
    };
    let scale =
        Decimal::from_i128_with_scale(10i128.pow(indicator.unit_multiplier.clamp(0, 18) as u32), 0);
    let span = format!("{}-{}", years.0, years.1);
    let (value, method, statuses) = match measure {
        RecordMeasure::Expenditure => {
            let mut to_unit = Converter::new(model, &indicator.unit, None);
            let tally = tally(model, interrupt, &observation.area, years, |p| {
                expenditure(p, years, &mut to_unit)
            })?;
            converter.absorb(to_unit);
            let method = format!(
                "sum of {} expenditure lines of {} projects, {span}, in {}",
                tally.lines, tally.projects, indicator.unit
            );
            (tally.value / scale, method, tally.statuses)
        }
        RecordMeasure::LivelihoodShare => {
            let mut in_cny = Converter::new(model, "CNY", None);
            let all = tally(model, interrupt, &observation.area, years, |p| {
                expenditure(p, years, &mut in_cny)
            })?;
            let livelihood = tally(model, interrupt, &observation.area, years, |p| {
                if p.livelihood {
                    expenditure(p, years, &mut in_cny)
                } else {
                    Ok(None)
                }
            })?;
            converter.absorb(in_cny);
            let value = if all.value.is_zero() {
                Decimal::ZERO
            } else {
                livelihood.value / all.value * Decimal::ONE_HUNDRED
            };
            let method = format!(
                "expenditure of {} livelihood projects over that of all {} projects, {span}, in percent",
                livelihood.projects, all.projects
            );
            (value, method, all.statuses)
        }
        RecordMeasure::Outputs => {
            let tally = tally(model, interrupt, &observation.area, years, |p| {
                let outputs: Vec<Decimal> = p
                    .outputs
                    .iter()
                    .filter(|o| o.indicator == indicator.name)
                    .map(|o| o.value)
                    .collect();
                Ok((!outputs.is_empty()).then(|| (outputs.iter().copied().sum(), outputs.len())))
            })?;
            let method = format!(
                "sum of {} outputs of {} projects funded in {span}",
                tally.lines, tally.projects
            );
            (tally.value / scale, method, tally.statuses)
        }
    };
    let value = value
        .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    Ok(Some((value, method, DataStatus::least_certain(statuses))))
}

/// Reconciles every observation matching `filter` whose indicator project records can compute.
pub fn reconcile(
    model: &ReadModel,
    filter: &str,
    about_tolerance: Decimal,
    interrupt: &Interrupt,
) -> Result<ReconciliationReport, AnalyticsError> {
    let filter = Filter::parse(filter, Observation::FIELDS)?;
    let mut converter = Converter::new(model, "CNY", None);
    let mut reconciliations = Vec::new();
    for observation in model.observations.values() {
        interrupt.check()?;
        if observation.status != DataStatus::Reported
            || !filter.matches(&ItemRow {
                item: &observation,
                model,
            })
        {
            continue;
        }
        let Some(indicator) = model.indicators.get(&observation.indicator) else {
            continue;
        };
        let Some(measure) = indicator.record_measure else {
            continue;
        };
        let Some((computed, method, input_status)) = compute(
            model,
            interrupt,
            &observation,
            indicator,
            measure,
            &mut converter,
        )?
        else {
            continue;
        };
        let difference = computed - observation.value;
        reconciliations.push(Reconciliation {
            reported: observation.clone(),
            computed,
            difference,
            difference_percent: (!observation.value.is_zero())
                .then(|| (difference / observation.value * Decimal::ONE_HUNDRED).round_dp(4)),
            satisfied: satisfied(
                observation.qualifier,
                observation.value,
                computed,
                about_tolerance,
            ),
            method,
            input_status,
        });
    }
    Ok(ReconciliationReport {
        reconciliations,
        conversions: converter.into_used(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn qualifiers_are_judged_as_a_reader_would() {
        assert!(satisfied(Qualifier::About, d("170"), d("169.2"), d("5")));
        assert!(!satisfied(Qualifier::About, d("170"), d("150"), d("5")));
        assert!(satisfied(Qualifier::MoreThan, d("2100"), d("2180"), d("5")));
        assert!(!satisfied(
            Qualifier::MoreThan,
            d("2100"),
            d("2100"),
            d("5")
        ));
        assert!(satisfied(
            Qualifier::AtLeast,
            d("200000"),
            d("200000"),
            d("5")
        ));
        // "11 million" is stated to the million, "1.7" to the tenth.
        assert!(satisfied(
            Qualifier::Exact,
            d("11000000"),
            d("11050000"),
            d("5")
        ));
        assert!(!satisfied(
            Qualifier::Exact,
            d("11000000"),
            d("11600000"),
            d("5")
        ));
        assert!(satisfied(Qualifier::Exact, d("1.7"), d("1.74"), d("5")));
        assert!(!satisfied(Qualifier::Exact, d("1.7"), d("1.76"), d("5")));
    }
}
