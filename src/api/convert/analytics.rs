//! Analytics questions from `pairing.v1` requests, and their answers as responses.

use rust_decimal::Decimal;

use pairing_aid_client::v1 as pb;

use super::decode::request_name;
use super::encode::{self, enum_value};
use super::variant;
use crate::api::error::ApiError;
use crate::domain::{
    self, AreaLevel, ChoiceRule, Collection, DataStatus, FigureChoice, Labelled, ResourceName,
    check_currency,
};
use crate::query::analytics::{
    Competition, ConsistencyCheck, ConversionUsed, Derived, Dimension, FundingQuery, GroupKey,
    GroupTotal, Picked, ReconciliationReport, RolledUp, SeriesChoice, SeriesQuery, StatusCoverage,
    Summary,
};
use crate::query::model::ReadModel;

/// Tolerance for `ABOUT` figures when the request names none, in percent.
const DEFAULT_ABOUT_TOLERANCE: i64 = 5;

/// One labelled enum value of a request, or why it is not one.
fn required<E: Labelled>(raw: i32, field: &str, what: &str) -> Result<E, ApiError> {
    variant(raw).ok_or_else(|| {
        ApiError::invalid("INVALID_ARGUMENT", field, format!("{raw} is not a {what}"))
    })
}

/// Each value of a repeated enum field.
fn each_required<E: Labelled>(raws: &[i32], field: &str, what: &str) -> Result<Vec<E>, ApiError> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| required(*raw, &format!("{field}[{i}]"), what))
        .collect()
}

fn names(
    collection: Collection,
    values: &[String],
    field: &str,
) -> Result<Vec<ResourceName>, ApiError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| request_name(collection, v, &format!("{field}[{i}]")))
        .collect()
}

/// An area level, or `None` when unset.
pub fn area_level(raw: i32, field: &str) -> Result<Option<AreaLevel>, ApiError> {
    (raw != 0)
        .then(|| required(raw, field, "known level"))
        .transpose()
}

/// An indicator's name, or `None` when empty.
pub fn optional_name(value: &str, field: &str) -> Result<Option<ResourceName>, ApiError> {
    (!value.is_empty())
        .then(|| request_name(Collection::Indicators, value, field))
        .transpose()
}

fn optional_text(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

fn optional_year(year: i32) -> Option<i32> {
    (year != 0).then_some(year)
}

/// The funding summary a request asks for.
pub fn funding_query(request: &pb::SummarizeFundingRequest) -> Result<FundingQuery, ApiError> {
    let group_by: Vec<Dimension> = each_required(&request.group_by, "group_by", "dimension")?;
    if let Some(repeated) = (1..group_by.len()).find(|i| group_by[..*i].contains(&group_by[*i])) {
        return Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            &format!("group_by[{repeated}]"),
            "each dimension may appear once",
        ));
    }
    let mut funding_types = each_required(&request.funding_types, "funding_types", "funding type")?;
    if funding_types.is_empty() {
        funding_types.push(domain::FundingType::Expenditure);
    }
    let currency = if request.currency_code.is_empty() {
        "CNY".to_owned()
    } else {
        request.currency_code.clone()
    };
    check_currency(&currency)
        .map_err(|reason| ApiError::invalid("INVALID_ARGUMENT", "currency_code", reason))?;
    let (start_year, end_year) = (
        optional_year(request.start_year),
        optional_year(request.end_year),
    );
    if let (Some(start), Some(end)) = (start_year, end_year)
        && start > end
    {
        return Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            "end_year",
            format!("{end} is before start_year {start}"),
        ));
    }
    if request.top_n < 0 {
        return Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            "top_n",
            "must not be negative",
        ));
    }
    Ok(FundingQuery {
        filter: request.filter.clone(),
        group_by,
        area_level: area_level(request.area_level, "area_level")?.unwrap_or(AreaLevel::Prefecture),
        funding_types,
        start_year,
        end_year,
        currency,
        price_base_year: optional_year(request.price_base_year),
        series: SeriesChoice {
            exchange_rate: optional_name(&request.exchange_rate_series, "exchange_rate_series")?,
            deflator: optional_name(&request.deflator_series, "deflator_series")?,
        },
        top_n: (request.top_n > 0).then_some(request.top_n as usize),
    })
}

/// The series a request asks for.
pub fn series_query(request: &pb::GetIndicatorSeriesRequest) -> Result<SeriesQuery, ApiError> {
    Ok(SeriesQuery {
        indicator: request_name(Collection::Indicators, &request.indicator, "indicator")?,
        areas: names(Collection::Areas, &request.areas, "areas")?,
        start_period: optional_text(&request.start_period),
        end_period: optional_text(&request.end_period),
        derivations: each_required(&request.derivations, "derivations", "derivation")?,
        index_base_period: optional_text(&request.index_base_period),
        choice: figure_choice(request.choice.as_ref())?,
    })
}

/// How a request chooses among competing observations; unset: the latest publication.
pub fn figure_choice(choice: Option<&pb::ObservationChoice>) -> Result<FigureChoice, ApiError> {
    let Some(choice) = choice else {
        return Ok(FigureChoice::default());
    };
    if let Some(blank) = choice
        .preferred_sources
        .iter()
        .position(|s| s.trim().is_empty())
    {
        return Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            &format!("choice.preferred_sources[{blank}]"),
            "names no source: give a source title or publisher",
        ));
    }
    Ok(FigureChoice {
        preferred_sources: choice.preferred_sources.clone(),
        rule: if choice.rule == 0 {
            ChoiceRule::default()
        } else {
            required(choice.rule, "choice.rule", "known rule")?
        },
    })
}

/// The competitions behind an answer, as the wire carries them.
pub fn competing(competitions: &[Competition]) -> Vec<pb::CompetingFigures> {
    competitions
        .iter()
        .map(|c| pb::CompetingFigures {
            area: c.area.to_string(),
            period: c.period.clone(),
            chosen: c.chosen.to_string(),
            passed_over: c.passed_over.iter().map(ToString::to_string).collect(),
            reason: c.reason.clone(),
        })
        .collect()
}

/// The indicator and areas a request for the latest observations names.
pub fn latest_query(
    request: &pb::GetLatestObservationsRequest,
) -> Result<(ResourceName, Vec<ResourceName>), ApiError> {
    Ok((
        request_name(Collection::Indicators, &request.indicator, "indicator")?,
        names(Collection::Areas, &request.areas, "areas")?,
    ))
}

/// The indicator a roll-up or a ranking names.
pub fn indicator(name: &str) -> Result<ResourceName, ApiError> {
    request_name(Collection::Indicators, name, "indicator")
}

/// The tolerance for `ABOUT` figures a reconciliation request sets.
pub fn about_tolerance(text: &str) -> Result<Decimal, ApiError> {
    if text.is_empty() {
        return Ok(Decimal::from(DEFAULT_ABOUT_TOLERANCE));
    }
    text.parse::<Decimal>()
        .ok()
        .filter(|t| !t.is_sign_negative())
        .ok_or_else(|| {
            ApiError::invalid(
                "INVALID_ARGUMENT",
                "about_tolerance_percent",
                "must be a non-negative decimal such as \"5\"",
            )
        })
}

fn decimal_string(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Whole units google.type.Money holds at most.
const MAX_MONEY_UNITS: i64 = i64::MAX;

/// A group's amount as the wire carries it, or OUT_OF_RANGE naming the group: money never
/// saturates silently.
fn money(
    amount: Decimal,
    currency: &str,
    group: impl FnOnce() -> String,
) -> Result<pairing_aid_client::pb::google::r#type::Money, ApiError> {
    if amount.abs().trunc() > Decimal::from(MAX_MONEY_UNITS) {
        return Err(ApiError::OutOfRange {
            reason: "AMOUNT_OUT_OF_RANGE",
            message: format!(
                "{} adds up to {amount} {currency}, more than google.type.Money holds \
                 ({MAX_MONEY_UNITS} units); narrow the question or ask in another currency",
                group()
            ),
        });
    }
    Ok(encode::money(&domain::Money {
        currency: currency.to_owned(),
        amount,
    }))
}

/// The proto name of a labelled value, such as `SUPPORT_FIELD_HEALTH_CARE`.
fn proto_name<E: Labelled, P: TryFrom<i32>>(value: E, name: impl Fn(&P) -> &'static str) -> String {
    P::try_from(enum_value(value))
        .map(|p| name(&p))
        .unwrap_or("UNKNOWN")
        .to_owned()
}

/// A label as people read it: `HEALTH_CARE` reads "Health care".
fn readable(label: &str) -> String {
    let words = label.replace('_', " ").to_lowercase();
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The display name of a party or an area; empty if it is gone.
fn display_name(model: &ReadModel, name: &ResourceName) -> String {
    let found = match name.collection() {
        Collection::Parties => model.parties.get(name).map(|p| &p.display_name),
        Collection::Areas => model.areas.get(name).map(|a| &a.display_name),
        _ => None,
    };
    found.cloned().unwrap_or_default()
}

fn group_key(model: &ReadModel, key: &GroupKey) -> pb::GroupKey {
    let labelled = |value: String, label: &str| (value, readable(label));
    let (dimension, (value, display_name)) = match key {
        GroupKey::Party(name) => (
            Dimension::Party,
            (name.to_string(), display_name(model, name)),
        ),
        GroupKey::Area(name) => (
            Dimension::Area,
            (name.to_string(), display_name(model, name)),
        ),
        GroupKey::Field(field) => (
            Dimension::Field,
            labelled(
                proto_name(*field, pb::SupportField::as_str_name),
                field.label(),
            ),
        ),
        GroupKey::Livelihood(livelihood) => (
            Dimension::Livelihood,
            (
                livelihood.to_string(),
                if *livelihood {
                    "Livelihood"
                } else {
                    "Not livelihood"
                }
                .to_owned(),
            ),
        ),
        GroupKey::ProjectStatus(status) => (
            Dimension::ProjectStatus,
            labelled(
                proto_name(*status, pb::ProjectStatus::as_str_name),
                status.label(),
            ),
        ),
        GroupKey::Year(year) => (Dimension::Year, (year.to_string(), year.to_string())),
        GroupKey::FundingType(funding_type) => (
            Dimension::FundingType,
            labelled(
                proto_name(*funding_type, pb::FundingType::as_str_name),
                funding_type.label(),
            ),
        ),
        GroupKey::DataStatus(status) => (
            Dimension::DataStatus,
            labelled(
                proto_name(*status, pb::DataStatus::as_str_name),
                status.label(),
            ),
        ),
    };
    pb::GroupKey {
        dimension: enum_value(dimension),
        value,
        display_name,
    }
}

fn funding_group(
    model: &ReadModel,
    group: &GroupTotal,
    currency: &str,
) -> Result<pb::FundingGroup, ApiError> {
    let keys: Vec<pb::GroupKey> = group.keys.iter().map(|k| group_key(model, k)).collect();
    let label = || match (keys.is_empty(), group.other) {
        (_, true) => "the group of all others".to_owned(),
        (true, false) => "the total".to_owned(),
        (false, false) => {
            let values: Vec<&str> = keys.iter().map(|k| k.value.as_str()).collect();
            format!("the group {}", values.join(" x "))
        }
    };
    let amount = money(group.amount, currency, label)?;
    Ok(pb::FundingGroup {
        amount: Some(amount),
        keys,
        other: group.other,
        project_count: group.projects as i64,
        line_count: group.lines as i64,
        share: decimal_string(group.share),
        status: group.status.map_or(0, enum_value),
        coverage: status_coverage(&group.coverage),
    })
}

fn status_coverage(coverage: &[StatusCoverage]) -> Vec<pb::StatusCoverage> {
    coverage
        .iter()
        .map(|part| pb::StatusCoverage {
            status: enum_value(part.status),
            value: decimal_string(part.value),
            count: part.count as i64,
            share: decimal_string(part.share),
        })
        .collect()
}

fn conversion(used: &ConversionUsed) -> pb::Conversion {
    let observation = encode::observation(&used.observation);
    pb::Conversion {
        description: used.description.clone(),
        year: used.year,
        factor: decimal_string(used.factor.round_dp(12)),
        observation: observation.name,
        period: observation.period,
        status: observation.status,
        provenance: observation.provenance,
    }
}

/// A funding summary, its amounts in `currency`.
pub fn summary(
    model: &ReadModel,
    summary: &Summary,
    currency: &str,
) -> Result<pb::SummarizeFundingResponse, ApiError> {
    Ok(pb::SummarizeFundingResponse {
        groups: summary
            .groups
            .iter()
            .map(|g| funding_group(model, g, currency))
            .collect::<Result<_, _>>()?,
        total: Some(funding_group(model, &summary.total, currency)?),
        conversions: summary.conversions.iter().map(conversion).collect(),
        revision: model.revision,
    })
}

fn derived(figure: &Derived) -> pb::DerivedFigure {
    pb::DerivedFigure {
        derivation: enum_value(figure.derivation),
        period: figure.period.clone(),
        value: decimal_string(figure.value),
        unit: figure.unit.to_owned(),
        inputs: figure.inputs.iter().map(ToString::to_string).collect(),
        status: enum_value(DataStatus::Computed),
        qualifier: enum_value(figure.qualifier),
        input_status: enum_value(figure.input_status),
    }
}

/// Series with their derived figures.
pub fn series(
    model: &ReadModel,
    series: &[crate::query::analytics::Series],
) -> pb::GetIndicatorSeriesResponse {
    pb::GetIndicatorSeriesResponse {
        series: series
            .iter()
            .map(|s| pb::IndicatorSeries {
                area: s.area.to_string(),
                observations: s.observations.iter().map(encode::observation).collect(),
                derived: s.derived.iter().map(derived).collect(),
                competing: competing(&s.competing),
            })
            .collect(),
        revision: model.revision,
    }
}

/// Observations as the wire carries them.
pub fn observations(observations: &[domain::Observation]) -> Vec<pb::Observation> {
    observations.iter().map(encode::observation).collect()
}

/// Areas ranked, with what the order rests on.
pub fn ranking(model: &ReadModel, ranked: &Picked) -> pb::RankAreasResponse {
    pb::RankAreasResponse {
        observations: observations(&ranked.observations),
        competing: competing(&ranked.competing),
        status: enum_value(ranked.status()),
        coverage: status_coverage(&ranked.coverage()),
        revision: model.revision,
    }
}

/// Values rolled up the hierarchy.
pub fn rolled_up(
    model: &ReadModel,
    (values, competitions): &(Vec<RolledUp>, Vec<Competition>),
) -> pb::RollUpIndicatorResponse {
    pb::RollUpIndicatorResponse {
        competing: competing(competitions),
        values: values
            .iter()
            .map(|v| pb::RolledUpValue {
                area: v.area.to_string(),
                reported_value: v.reported.map(decimal_string).unwrap_or_default(),
                computed_value: decimal_string(v.computed),
                inputs: v.inputs.iter().map(ToString::to_string).collect(),
                qualifier: enum_value(v.qualifier),
                input_status: enum_value(v.input_status),
                coverage: status_coverage(&v.coverage),
            })
            .collect(),
        revision: model.revision,
    }
}

/// Reported figures beside what the records compute.
pub fn reconciliation(
    model: &ReadModel,
    report: &ReconciliationReport,
) -> pb::ReconcileReportedFiguresResponse {
    pb::ReconcileReportedFiguresResponse {
        reconciliations: report
            .reconciliations
            .iter()
            .map(|c| pb::Reconciliation {
                reported: Some(encode::observation(&c.reported)),
                computed_value: decimal_string(c.computed),
                difference: decimal_string(c.difference),
                difference_percent: c.difference_percent.map(decimal_string).unwrap_or_default(),
                qualifier_satisfied: c.satisfied,
                method: c.method.clone(),
                input_status: enum_value(c.input_status),
                independent: c.independent,
            })
            .collect(),
        conversions: report.conversions.iter().map(conversion).collect(),
        revision: model.revision,
    }
}

/// The consistency checks as the wire carries them.
pub fn consistency(model: &ReadModel, checks: &[ConsistencyCheck]) -> pb::CheckConsistencyResponse {
    pb::CheckConsistencyResponse {
        checks: checks
            .iter()
            .map(|c| pb::ConsistencyCheck {
                relation: enum_value(c.relation),
                checked: Some(encode::observation(&c.checked)),
                inputs: observations(&c.inputs),
                implied_value: decimal_string(c.implied),
                difference_percent: c.difference_percent.map(decimal_string).unwrap_or_default(),
                consistent: c.consistent,
                independent: c.independent,
                arithmetic: c.arithmetic.clone(),
                explanation: c.explanation.clone(),
            })
            .collect(),
        revision: model.revision,
    }
}
