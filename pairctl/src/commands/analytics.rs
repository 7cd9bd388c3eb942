//! `pairctl funding summary`, `series` and `reconcile`: the analytics service's figures as
//! tables.

use clap::ValueEnum;
use pairing_aid_client::{Client, v1};

use crate::Failure;
use crate::cli::{ChoiceArg, DerivationArg, Dimension, FundingCommand, Level, SeriesArgs};
use crate::enums::ShortName;
use crate::output::{Cell, Output, print};
use crate::rows;

/// Prints funding summed by the dimensions asked for, with an `(other)` and a `(total)` row,
/// and says on standard error which currency conversions went into it.
pub async fn funding(
    client: &Client,
    command: FundingCommand,
    read_at: Option<v1::ReadAt>,
    output: Output,
) -> Result<(), Failure> {
    let FundingCommand::Summary {
        by,
        filter,
        from,
        to,
        currency,
        rate_series,
        level,
        top,
    } = command;
    let request = v1::SummarizeFundingRequest {
        filter,
        group_by: by
            .iter()
            .map(|d| {
                i32::from(match d {
                    Dimension::Party => v1::FundingDimension::Party,
                    Dimension::Area => v1::FundingDimension::Area,
                    Dimension::Field => v1::FundingDimension::Field,
                    Dimension::Livelihood => v1::FundingDimension::Livelihood,
                    Dimension::Status => v1::FundingDimension::ProjectStatus,
                    Dimension::Year => v1::FundingDimension::Year,
                    Dimension::Type => v1::FundingDimension::FundingType,
                    Dimension::DataStatus => v1::FundingDimension::DataStatus,
                })
            })
            .collect(),
        area_level: match level {
            Level::Region => v1::AreaLevel::Region,
            Level::Prefecture => v1::AreaLevel::Prefecture,
            Level::County => v1::AreaLevel::County,
        }
        .into(),
        start_year: from.unwrap_or(0),
        end_year: to.unwrap_or(0),
        currency_code: currency,
        exchange_rate_series: rate_series,
        top_n: top,
        read_at,
        ..Default::default()
    };
    let summary = client
        .analytics()
        .summarize_funding(request)
        .await?
        .into_inner();
    let mut columns: Vec<String> = by
        .iter()
        .filter_map(|d| d.to_possible_value())
        .map(|v| v.get_name().to_owned())
        .collect();
    columns.extend(["amount", "share", "projects", "status", "coverage"].map(String::from));
    let total = summary.total.clone().unwrap_or_default();
    let rows: Vec<Vec<Cell>> = summary
        .groups
        .iter()
        .chain(std::iter::once(&total))
        .enumerate()
        .map(|(i, g)| {
            let mut row: Vec<Cell> = if g.other || i == summary.groups.len() {
                let label = if g.other { "(other)" } else { "(total)" };
                (0..by.len())
                    .map(|k| {
                        Cell::from(if k == 0 {
                            label.to_owned()
                        } else {
                            String::new()
                        })
                    })
                    .collect()
            } else {
                g.keys
                    .iter()
                    .map(|k| Cell::from(k.display_name.clone()))
                    .collect()
            };
            row.extend([
                rows::money(&g.amount),
                Cell::from(g.share.clone()),
                Cell::from(g.project_count.to_string()),
                Cell::from(status_name(g.status)),
                Cell::from(coverage(g)),
            ]);
            row
        })
        .collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    print(output, &columns, &rows).map_err(Failure::Usage)?;
    for conversion in &summary.conversions {
        eprintln!(
            "converted {} ({}): factor {} from {}",
            conversion.year, conversion.description, conversion.factor, conversion.observation
        );
    }
    Ok(())
}

fn status_name(status: i32) -> String {
    v1::DataStatus::try_from(status).map_or_else(|_| status.to_string(), |s| s.short())
}

/// What a group's amount rests on: `reported 0.2, synthetic 0.8` (shares of the amount).
fn coverage(group: &v1::FundingGroup) -> String {
    group
        .coverage
        .iter()
        .map(|part| format!("{} {}", status_name(part.status), part.share))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints an indicator's observations in each area, and the figures derived from them.
pub async fn series(
    client: &Client,
    args: SeriesArgs,
    read_at: Option<v1::ReadAt>,
    output: Output,
) -> Result<(), Failure> {
    let SeriesArgs {
        indicator,
        areas,
        derive,
        from,
        to,
        preferred_sources,
        choose,
    } = args;
    let request = v1::GetIndicatorSeriesRequest {
        indicator,
        areas,
        read_at,
        choice: Some(v1::ObservationChoice {
            preferred_sources,
            rule: match choose {
                ChoiceArg::LatestPublication => v1::ObservationRule::LatestPublication,
                ChoiceArg::LastWritten => v1::ObservationRule::LastWritten,
            }
            .into(),
        }),
        start_period: from.unwrap_or_default(),
        end_period: to.unwrap_or_default(),
        derivations: derive
            .iter()
            .map(|d| {
                i32::from(match d {
                    DerivationArg::Yoy => v1::Derivation::YearOnYear,
                    DerivationArg::Cagr => v1::Derivation::Cagr,
                    DerivationArg::Index => v1::Derivation::Index,
                    DerivationArg::Doubling => v1::Derivation::DoublingTime,
                })
            })
            .collect(),
        ..Default::default()
    };
    let response = client
        .analytics()
        .get_indicator_series(request)
        .await?
        .into_inner();
    let mut rows = Vec::new();
    for series in &response.series {
        for o in &series.observations {
            rows.push(cells([
                series.area.clone(),
                o.period.clone(),
                "value".into(),
                o.value.clone(),
                o.status().short(),
            ]));
        }
        for c in &series.competing {
            rows.push(cells([
                series.area.clone(),
                c.period.clone(),
                "chosen".into(),
                format!(
                    "{} over {} ({})",
                    c.chosen,
                    c.passed_over.join(", "),
                    c.reason
                ),
                String::new(),
            ]));
        }
        for d in &series.derived {
            let what = d.derivation().short();
            rows.push(cells([
                series.area.clone(),
                d.period.clone(),
                what,
                format!("{} {}", d.value, d.unit),
                "computed".into(),
            ]));
        }
    }
    print(
        output,
        &["area", "period", "figure", "value", "status"],
        &rows,
    )
    .map_err(Failure::Usage)
}

/// Prints each reported aggregate beside the same figure computed from the projects.
pub async fn reconcile(
    client: &Client,
    filter: String,
    rate_series: String,
    read_at: Option<v1::ReadAt>,
    output: Output,
) -> Result<(), Failure> {
    let request = v1::ReconcileReportedFiguresRequest {
        filter,
        exchange_rate_series: rate_series,
        read_at,
        ..Default::default()
    };
    let report = client
        .analytics()
        .reconcile_reported_figures(request)
        .await?
        .into_inner();
    let rows: Vec<Vec<Cell>> = report
        .reconciliations
        .iter()
        .map(|r| {
            let reported = r.reported.clone().unwrap_or_default();
            cells([
                reported.name.clone(),
                format!("{} {}", reported.qualifier().short(), reported.value),
                r.computed_value.clone(),
                r.difference_percent.clone(),
                r.qualifier_satisfied.to_string(),
                r.independent.to_string(),
                r.input_status().short(),
            ])
        })
        .collect();
    print(
        output,
        &[
            "reported",
            "as_reported",
            "computed",
            "difference_percent",
            "agrees",
            "independent",
            "computed_from",
        ],
        &rows,
    )
    .map_err(Failure::Usage)
}

/// Prints each checked figure beside what the figures it relates to imply, with the
/// arithmetic and, where they disagree, the likely reason.
pub async fn check_consistency(
    client: &Client,
    filter: String,
    about_tolerance: String,
    read_at: Option<v1::ReadAt>,
    output: Output,
) -> Result<(), Failure> {
    let request = v1::CheckConsistencyRequest {
        filter,
        about_tolerance_percent: about_tolerance,
        read_at,
        ..Default::default()
    };
    let report = client
        .analytics()
        .check_consistency(request)
        .await?
        .into_inner();
    let rows: Vec<Vec<Cell>> = report
        .checks
        .iter()
        .map(|c| {
            let checked = c.checked.clone().unwrap_or_default();
            cells([
                checked.name.clone(),
                format!("{} {}", checked.qualifier().short(), checked.value),
                c.implied_value.clone(),
                c.difference_percent.clone(),
                c.consistent.to_string(),
                c.independent.to_string(),
                c.arithmetic.clone(),
                c.explanation.clone(),
            ])
        })
        .collect();
    print(
        output,
        &[
            "checked",
            "as_stated",
            "implied",
            "difference_percent",
            "consistent",
            "independent",
            "arithmetic",
            "explanation",
        ],
        &rows,
    )
    .map_err(Failure::Usage)
}

/// Prints the places a name or code finds, and by what.
pub async fn resolve(
    client: &Client,
    query: String,
    read_at: Option<v1::ReadAt>,
    output: Output,
) -> Result<(), Failure> {
    let request = v1::ResolvePlacesRequest {
        query,
        read_at,
        ..Default::default()
    };
    let found = client.areas().resolve_places(request).await?.into_inner();
    let rows: Vec<Vec<Cell>> = found
        .matches
        .iter()
        .map(|m| {
            let by = if m.language.is_empty() {
                m.scheme().short()
            } else {
                m.language.clone()
            };
            cells([
                m.place.clone(),
                m.display_name.clone(),
                m.matched_text.clone(),
                by,
            ])
        })
        .collect();
    print(output, &["place", "display_name", "matched", "by"], &rows).map_err(Failure::Usage)
}

/// A row of text cells.
fn cells<const N: usize>(texts: [String; N]) -> Vec<Cell> {
    texts.into_iter().map(Cell::from).collect()
}
