//! Reported aggregates beside the same figures computed from the project records.

use rust_decimal::{Decimal, RoundingStrategy};

mod by_area;

use std::collections::{BTreeSet, HashSet};

use by_area::{ByArea, Span};

use super::error::AnalyticsError;
use super::money::{ConversionUsed, Converter, SeriesChoice};
use super::qualified::satisfied;
use crate::domain::{DataStatus, Indicator, Observation, Period, RecordMeasure, ResourceName};
use crate::query::interrupt::Interrupt;
use crate::query::listing::picks::Pickable;
use crate::query::listing::{Filter, Listed};
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
    /// False when a conversion factor used was computed from the reported figure itself.
    pub independent: bool,
}

/// Every reconciliation and the conversion factors they used.
#[derive(Clone, Debug)]
pub struct ReconciliationReport {
    pub reconciliations: Vec<Reconciliation>,
    pub conversions: Vec<ConversionUsed>,
}

/// A reported figure that project records can compute, and how.
struct Pending<'m> {
    observation: Observation,
    indicator: &'m Indicator,
    measure: RecordMeasure,
    span: Span,
}

/// A figure computed from the records: its value, how, its inputs' least certain status, and
/// whether it is independent of the reported figure.
struct Computed {
    value: Decimal,
    method: String,
    input_status: DataStatus,
    independent: bool,
}

fn compute(
    model: &ReadModel,
    by_area: &ByArea,
    pending: &Pending<'_>,
    converter: &mut Converter<'_>,
    series: &SeriesChoice,
) -> Result<Computed, AnalyticsError> {
    let Pending {
        observation,
        indicator,
        measure,
        span,
    } = pending;
    let (area, span) = (&observation.area, *span);
    let scale =
        Decimal::from_i128_with_scale(10i128.pow(indicator.unit_multiplier.clamp(0, 18) as u32), 0);
    let years = format!("{}-{}", span.0, span.1);
    let mut independent = true;
    let (value, method, statuses) = match measure {
        RecordMeasure::Expenditure => {
            let mut to_unit = Converter::new(model, &indicator.unit, None, series);
            let tally = by_area.expenditure(area, span, false, &mut to_unit)?;
            independent = !to_unit.derives_from(&observation.name);
            converter.absorb(to_unit);
            let method = format!(
                "sum of {} expenditure lines of {} projects, {years}, in {}",
                tally.lines, tally.projects, indicator.unit
            );
            (tally.value / scale, method, tally.statuses)
        }
        RecordMeasure::LivelihoodShare => {
            let mut in_cny = Converter::new(model, "CNY", None, series);
            let all = by_area.expenditure(area, span, false, &mut in_cny)?;
            let livelihood = by_area.expenditure(area, span, true, &mut in_cny)?;
            independent = !in_cny.derives_from(&observation.name);
            converter.absorb(in_cny);
            let value = if all.value.is_zero() {
                Decimal::ZERO
            } else {
                livelihood.value / all.value * Decimal::ONE_HUNDRED
            };
            let method = format!(
                "expenditure of {} livelihood projects over that of all {} projects, {years}, in percent",
                livelihood.projects, all.projects
            );
            (value, method, all.statuses)
        }
        RecordMeasure::Outputs => {
            let tally = by_area.outputs(area, span, &indicator.name);
            let method = format!(
                "sum of {} outputs of {} projects funded in {years}",
                tally.lines, tally.projects
            );
            (tally.value / scale, method, tally.statuses)
        }
    };
    Ok(Computed {
        value: value
            .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
            .normalize(),
        method,
        input_status: statuses.least_certain(),
        independent,
    })
}

/// Reconciles every observation matching `filter` whose indicator project records can compute.
/// One pass over the observations finds the figures, one over the projects sums what reaches
/// their areas, and each figure is answered from those sums.
pub fn reconcile(
    model: &ReadModel,
    filter: &str,
    about_tolerance: Decimal,
    series: &SeriesChoice,
    interrupt: &Interrupt,
) -> Result<ReconciliationReport, AnalyticsError> {
    series.check(model)?;
    // The caller's filter alone first, so that an error points into the text they sent; then
    // with the status, so that the indexes pick the reported observations among millions.
    Filter::parse(filter, Observation::FIELDS)?;
    let reported = if filter.trim().is_empty() {
        "status = REPORTED".to_owned()
    } else {
        format!("status = REPORTED AND ({filter})")
    };
    let reported = Filter::parse(&reported, Observation::FIELDS)?;
    let picked = Observation::picked(model, &reported, interrupt)?
        .expect("observations are picked from their indexes");
    let mut pending = Vec::new();
    for observation in picked.after(None) {
        interrupt.check()?;
        let Some(indicator) = model.indicators.get(&observation.indicator) else {
            continue;
        };
        let (Some(measure), Some(span)) = (
            indicator.record_measure,
            Period::years_of(&observation.period),
        ) else {
            continue;
        };
        pending.push(Pending {
            observation,
            indicator,
            measure,
            span,
        });
    }
    let areas: HashSet<ResourceName> = pending.iter().map(|p| p.observation.area.clone()).collect();
    let output_indicators: BTreeSet<ResourceName> = pending
        .iter()
        .filter(|p| p.measure == RecordMeasure::Outputs)
        .map(|p| p.indicator.name.clone())
        .collect();
    let by_area = ByArea::gather(
        model,
        interrupt,
        areas,
        output_indicators.into_iter().collect(),
    )?;
    let mut converter = Converter::new(model, "CNY", None, series);
    let mut reconciliations = Vec::with_capacity(pending.len());
    for figure in &pending {
        let Computed {
            value: computed,
            method,
            input_status,
            independent,
        } = compute(model, &by_area, figure, &mut converter, series)?;
        let observation = &figure.observation;
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
            independent,
        });
    }
    Ok(ReconciliationReport {
        reconciliations,
        conversions: converter.into_used(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{Collection, FundingLine, FundingType, Labelled, Project, Resource};

    /// The definition, figure by figure: every project visited for every figure.
    fn by_definition(model: &ReadModel, figure: &Pending<'_>) -> (Decimal, usize, DataStatus) {
        let (area, span) = (&figure.observation.area, figure.span);
        let in_span = |year: i32| (span.0..=span.1).contains(&year);
        let mut converter = Converter::new(model, "CNY", None, &SeriesChoice::default());
        let mut to_unit = Converter::new(
            model,
            &figure.indicator.unit,
            None,
            &SeriesChoice::default(),
        );
        let (mut value, mut livelihood, mut projects, mut statuses) =
            (Decimal::ZERO, Decimal::ZERO, 0, Vec::new());
        for project in model.projects.values() {
            let share: Decimal = project
                .recipients
                .iter()
                .filter(|r| model.area_and_ancestors(&r.area).contains(area))
                .map(|r| r.share_percent)
                .sum::<Decimal>()
                / Decimal::ONE_HUNDRED;
            if share.is_zero() || !project.funding_lines.iter().any(|l| in_span(l.year)) {
                continue;
            }
            let (mut part, mut counted) = (Decimal::ZERO, false);
            if figure.measure == RecordMeasure::Outputs {
                for output in project.outputs.iter() {
                    if output.indicator == figure.indicator.name {
                        part += output.value;
                        counted = true;
                    }
                }
            } else {
                let converter = match figure.measure {
                    RecordMeasure::Expenditure => &mut to_unit,
                    _ => &mut converter,
                };
                for line in project.funding_lines.iter() {
                    if line.funding_type == FundingType::Expenditure && in_span(line.year) {
                        let year = line.value_date.map_or(line.year, |d| d.year());
                        part += line.amount.amount
                            * converter.factor(&line.amount.currency, year).unwrap();
                        counted = true;
                    }
                }
            }
            if counted {
                value += part * share;
                if project.livelihood {
                    livelihood += part * share;
                }
                projects += 1;
                statuses.push(project.data_status);
            }
        }
        let scale = Decimal::from(10i64.pow(figure.indicator.unit_multiplier.clamp(0, 18) as u32));
        let value = match figure.measure {
            RecordMeasure::LivelihoodShare if value.is_zero() => Decimal::ZERO,
            RecordMeasure::LivelihoodShare => livelihood / value * Decimal::ONE_HUNDRED,
            _ => value / scale,
        };
        (
            value.round_dp(6).normalize(),
            projects,
            DataStatus::least_certain(statuses),
        )
    }

    use chrono::Datelike;

    /// Which demo project to copy, its recipients' areas, its lines (expenditure or not, year),
    /// livelihood and data status; indexes are taken modulo what the demo data has.
    type VariedProject = (usize, Vec<usize>, Vec<(bool, i32)>, bool, usize);

    /// Demo projects copied with random recipients, lines, livelihood and status, and demo
    /// figures copied to random areas and spans.
    fn varied_demo(projects: &[VariedProject], figures: &[(usize, usize, i32, i32)]) -> ReadModel {
        let mut resources = crate::seed::demo_resources().unwrap();
        let areas: Vec<ResourceName> = resources
            .iter()
            .filter_map(|r| match r {
                Resource::Area(area) => Some(area.name.clone()),
                _ => None,
            })
            .collect();
        let demo: Vec<Project> = resources
            .iter()
            .filter_map(|r| match r {
                Resource::Project(p) if !p.funding_lines.is_empty() => Some(p.clone()),
                _ => None,
            })
            .collect();
        let computable: Vec<&ResourceName> = resources
            .iter()
            .filter_map(|r| match r {
                Resource::Indicator(i) if i.record_measure.is_some() => Some(&i.name),
                _ => None,
            })
            .collect();
        let reported: Vec<Observation> = resources
            .iter()
            .filter_map(|r| match r {
                Resource::Observation(o)
                    if o.status == DataStatus::Reported && computable.contains(&&o.indicator) =>
                {
                    Some(o.clone())
                }
                _ => None,
            })
            .collect();
        for (i, (copied, recipients, lines, livelihood, status)) in projects.iter().enumerate() {
            let mut project = demo[copied % demo.len()].clone();
            project.name = ResourceName::new(Collection::Projects, &format!("varied-{i}")).unwrap();
            for (recipient, area) in project.recipients.iter_mut().zip(recipients) {
                recipient.area = areas[area % areas.len()].clone();
            }
            let template = project.funding_lines[0].clone();
            project.funding_lines = lines
                .iter()
                .map(|&(spent, year)| FundingLine {
                    funding_type: [FundingType::Commitment, FundingType::Expenditure]
                        [usize::from(spent)],
                    year,
                    ..template.clone()
                })
                .collect();
            project.livelihood = *livelihood;
            project.data_status = DataStatus::ALL[status % DataStatus::ALL.len()];
            resources.push(Resource::Project(project));
        }
        for (i, &(copied, area, first, length)) in figures.iter().enumerate() {
            let mut figure = reported[copied % reported.len()].clone();
            figure.name =
                ResourceName::new(Collection::Observations, &format!("varied-{i}")).unwrap();
            figure.area = areas[area % areas.len()].clone();
            figure.period = match length {
                0 => first.to_string(),
                _ => format!("{first}/{}", first + length),
            };
            resources.push(Resource::Observation(figure));
        }
        ReadModel::from_resources(1, resources)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn every_figure_equals_its_definition(
            projects in prop::collection::vec(
                (
                    any::<usize>(),
                    prop::collection::vec(any::<usize>(), 3),
                    prop::collection::vec((any::<bool>(), 2012i32..2024), 0..5),
                    any::<bool>(),
                    any::<usize>(),
                ),
                0..30,
            ),
            figures in prop::collection::vec(
                (any::<usize>(), any::<usize>(), 2012i32..2024, 0i32..4),
                0..12,
            ),
        ) {
            let model = varied_demo(&projects, &figures);
            let report = reconcile(
                &model,
                "",
                Decimal::from(5),
                &SeriesChoice::default(),
                &Interrupt::default(),
            ).unwrap();
            prop_assert!(report.reconciliations.len() >= figures.len());
            for reconciliation in &report.reconciliations {
                let observation = reconciliation.reported.clone();
                let indicator = &model.indicators[&observation.indicator];
                let figure = Pending {
                    span: Period::years_of(&observation.period).unwrap(),
                    measure: indicator.record_measure.unwrap(),
                    indicator,
                    observation,
                };
                let (value, projects, status) = by_definition(&model, &figure);
                prop_assert_eq!(reconciliation.computed, value, "{}", figure.observation.name);
                prop_assert!(
                    reconciliation.method.contains(&format!(" {projects} projects")),
                    "{}: {} is not of {projects} projects", figure.observation.name,
                    reconciliation.method
                );
                prop_assert_eq!(reconciliation.input_status, status);
            }
        }
    }
}
