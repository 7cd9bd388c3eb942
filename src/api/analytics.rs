//! The analytics service: decodes questions, asks the read model, encodes computed answers.

use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use pairing_aid_client::v1 as pb;

use super::convert::{AREA_LEVELS, FUNDING_TYPES, encode};
use super::pb::analytics_service_server::AnalyticsService;
use super::resources::parse_name;
use super::{Api, ApiError};
use crate::domain::{self, AreaLevel, Collection, ResourceName};
use crate::query::analytics::{
    AnalyticsError, ConversionUsed, Derivation, Dimension, FundingQuery, GroupKey, GroupTotal,
    SeriesQuery,
};
use crate::query::model::ReadModel;

impl From<AnalyticsError> for ApiError {
    fn from(error: AnalyticsError) -> Self {
        match error {
            AnalyticsError::Invalid { field, reason } => {
                ApiError::invalid("INVALID_ARGUMENT", &field, reason)
            }
            AnalyticsError::Filter(e) => {
                ApiError::invalid("INVALID_FILTER", "filter", e.to_string())
            }
            AnalyticsError::NotFound(name) => ApiError::NotFound {
                name: name.to_string(),
            },
            not_summable @ AnalyticsError::NotSummable { .. } => {
                ApiError::invalid("NOT_SUMMABLE", "indicator", not_summable.to_string())
            }
            AnalyticsError::MissingSeries(message) => ApiError::FailedPrecondition {
                reason: "MISSING_SERIES",
                message,
            },
        }
    }
}

fn names(
    collection: Collection,
    values: &[String],
    field: &str,
) -> Result<Vec<ResourceName>, ApiError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| parse_name(collection, v, &format!("{field}[{i}]")))
        .collect()
}

fn area_level(raw: i32, field: &str) -> Result<Option<AreaLevel>, ApiError> {
    if raw == 0 {
        return Ok(None);
    }
    usize::try_from(raw - 1)
        .ok()
        .and_then(|i| AREA_LEVELS.get(i).copied())
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                "INVALID_ARGUMENT",
                field,
                format!("{raw} is not a known level"),
            )
        })
}

fn decimal_string(value: Decimal) -> String {
    value.normalize().to_string()
}

fn money(amount: Decimal, currency: &str) -> pairing_aid_client::pb::google::r#type::Money {
    encode::money(&domain::Money {
        currency: currency.to_owned(),
        amount,
    })
}

fn dimension(raw: i32, field: &str) -> Result<Dimension, ApiError> {
    Ok(match pb::FundingDimension::try_from(raw) {
        Ok(pb::FundingDimension::Party) => Dimension::Party,
        Ok(pb::FundingDimension::Area) => Dimension::Area,
        Ok(pb::FundingDimension::Field) => Dimension::Field,
        Ok(pb::FundingDimension::Livelihood) => Dimension::Livelihood,
        Ok(pb::FundingDimension::ProjectStatus) => Dimension::ProjectStatus,
        Ok(pb::FundingDimension::Year) => Dimension::Year,
        Ok(pb::FundingDimension::FundingType) => Dimension::FundingType,
        _ => {
            return Err(ApiError::invalid(
                "INVALID_ARGUMENT",
                field,
                format!("{raw} is not a dimension"),
            ));
        }
    })
}

fn funding_query(request: &pb::SummarizeFundingRequest) -> Result<FundingQuery, ApiError> {
    let mut group_by = Vec::new();
    for (i, raw) in request.group_by.iter().enumerate() {
        let field = format!("group_by[{i}]");
        let dimension = dimension(*raw, &field)?;
        if group_by.contains(&dimension) {
            return Err(ApiError::invalid(
                "INVALID_ARGUMENT",
                &field,
                "each dimension may appear once",
            ));
        }
        group_by.push(dimension);
    }
    let mut funding_types = Vec::new();
    for (i, raw) in request.funding_types.iter().enumerate() {
        let funding_type = usize::try_from(raw - 1)
            .ok()
            .and_then(|i| FUNDING_TYPES.get(i).copied());
        funding_types.push(funding_type.ok_or_else(|| {
            ApiError::invalid(
                "INVALID_ARGUMENT",
                &format!("funding_types[{i}]"),
                format!("{raw} is not a funding type"),
            )
        })?);
    }
    if funding_types.is_empty() {
        funding_types.push(domain::FundingType::Expenditure);
    }
    let currency = if request.currency_code.is_empty() {
        "CNY".to_owned()
    } else {
        request.currency_code.clone()
    };
    if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            "currency_code",
            format!("{currency:?} is not a three-letter ISO 4217 code"),
        ));
    }
    let year = |y: i32| (y != 0).then_some(y);
    if let (Some(start), Some(end)) = (year(request.start_year), year(request.end_year))
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
        start_year: year(request.start_year),
        end_year: year(request.end_year),
        currency,
        price_base_year: year(request.price_base_year),
        top_n: (request.top_n > 0).then_some(request.top_n as usize),
    })
}

fn enum_name<E: TryFrom<i32>>(ordinal: u8, name: impl Fn(E) -> &'static str) -> String {
    E::try_from(encode::enum_value(ordinal))
        .map(name)
        .unwrap_or("UNKNOWN")
        .to_owned()
}

/// "SUPPORT_FIELD_HEALTH_CARE" with prefix "SUPPORT_FIELD_" reads "Health care".
fn readable(name: &str, prefix: &str) -> String {
    let words = name
        .trim_start_matches(prefix)
        .replace('_', " ")
        .to_lowercase();
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn group_key(model: &ReadModel, key: &GroupKey) -> pb::GroupKey {
    let (dimension, value, display_name) = match key {
        GroupKey::Party(name) => (
            pb::FundingDimension::Party,
            name.to_string(),
            model
                .parties
                .get(name)
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
        ),
        GroupKey::Area(name) => (
            pb::FundingDimension::Area,
            name.to_string(),
            model
                .areas
                .get(name)
                .map(|a| a.display_name.clone())
                .unwrap_or_default(),
        ),
        GroupKey::Field(field) => {
            let value = enum_name(*field as u8, |e: pb::SupportField| e.as_str_name());
            let display = readable(&value, "SUPPORT_FIELD_");
            (pb::FundingDimension::Field, value, display)
        }
        GroupKey::Livelihood(livelihood) => (
            pb::FundingDimension::Livelihood,
            livelihood.to_string(),
            if *livelihood {
                "Livelihood"
            } else {
                "Not livelihood"
            }
            .to_owned(),
        ),
        GroupKey::ProjectStatus(status) => {
            let value = enum_name(*status as u8, |e: pb::ProjectStatus| e.as_str_name());
            let display = readable(&value, "PROJECT_STATUS_");
            (pb::FundingDimension::ProjectStatus, value, display)
        }
        GroupKey::Year(year) => (
            pb::FundingDimension::Year,
            year.to_string(),
            year.to_string(),
        ),
        GroupKey::FundingType(funding_type) => {
            let value = enum_name(*funding_type as u8, |e: pb::FundingType| e.as_str_name());
            let display = readable(&value, "FUNDING_TYPE_");
            (pb::FundingDimension::FundingType, value, display)
        }
    };
    pb::GroupKey {
        dimension: dimension.into(),
        value,
        display_name,
    }
}

fn funding_group(model: &ReadModel, group: &GroupTotal, currency: &str) -> pb::FundingGroup {
    pb::FundingGroup {
        keys: group.keys.iter().map(|k| group_key(model, k)).collect(),
        other: group.other,
        amount: Some(money(group.amount, currency)),
        project_count: group.projects as i64,
        line_count: group.lines as i64,
        share: decimal_string(group.share),
    }
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

fn derivation(raw: i32, field: &str) -> Result<Derivation, ApiError> {
    Ok(match pb::Derivation::try_from(raw) {
        Ok(pb::Derivation::YearOnYear) => Derivation::YearOnYear,
        Ok(pb::Derivation::Cagr) => Derivation::Cagr,
        Ok(pb::Derivation::Index) => Derivation::Index,
        Ok(pb::Derivation::DoublingTime) => Derivation::DoublingTime,
        _ => {
            return Err(ApiError::invalid(
                "INVALID_ARGUMENT",
                field,
                format!("{raw} is not a derivation"),
            ));
        }
    })
}

fn derived(figure: &crate::query::analytics::Derived) -> pb::DerivedFigure {
    pb::DerivedFigure {
        derivation: match figure.derivation {
            Derivation::YearOnYear => pb::Derivation::YearOnYear,
            Derivation::Cagr => pb::Derivation::Cagr,
            Derivation::Index => pb::Derivation::Index,
            Derivation::DoublingTime => pb::Derivation::DoublingTime,
        }
        .into(),
        period: figure.period.clone(),
        value: decimal_string(figure.value),
        unit: figure.unit.to_owned(),
        inputs: figure.inputs.iter().map(ToString::to_string).collect(),
        status: pb::DataStatus::Computed.into(),
        qualifier: encode::enum_value(figure.qualifier as u8),
        input_status: encode::enum_value(figure.input_status as u8),
    }
}

fn optional_text(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

#[tonic::async_trait]
impl AnalyticsService for Api {
    async fn summarize_funding(
        &self,
        request: Request<pb::SummarizeFundingRequest>,
    ) -> Result<Response<pb::SummarizeFundingResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let query = funding_query(request.get_ref())?;
        let model = self.ledger.model().read();
        let summary = crate::query::analytics::summarize(&model, &query).map_err(ApiError::from)?;
        Ok(Response::new(pb::SummarizeFundingResponse {
            groups: summary
                .groups
                .iter()
                .map(|g| funding_group(&model, g, &query.currency))
                .collect(),
            total: Some(funding_group(&model, &summary.total, &query.currency)),
            conversions: summary.conversions.iter().map(conversion).collect(),
            revision: model.revision,
        }))
    }

    async fn get_indicator_series(
        &self,
        request: Request<pb::GetIndicatorSeriesRequest>,
    ) -> Result<Response<pb::GetIndicatorSeriesResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let r = request.get_ref();
        let query = SeriesQuery {
            indicator: parse_name(Collection::Indicators, &r.indicator, "indicator")?,
            areas: names(Collection::Areas, &r.areas, "areas")?,
            start_period: optional_text(&r.start_period),
            end_period: optional_text(&r.end_period),
            derivations: r
                .derivations
                .iter()
                .enumerate()
                .map(|(i, d)| derivation(*d, &format!("derivations[{i}]")))
                .collect::<Result<_, _>>()?,
            index_base_period: optional_text(&r.index_base_period),
        };
        let model = self.ledger.model().read();
        let series = crate::query::analytics::series(&model, &query).map_err(ApiError::from)?;
        Ok(Response::new(pb::GetIndicatorSeriesResponse {
            series: series
                .iter()
                .map(|s| pb::IndicatorSeries {
                    area: s.area.to_string(),
                    observations: s.observations.iter().map(encode::observation).collect(),
                    derived: s.derived.iter().map(derived).collect(),
                })
                .collect(),
            revision: model.revision,
        }))
    }

    async fn get_latest_observations(
        &self,
        request: Request<pb::GetLatestObservationsRequest>,
    ) -> Result<Response<pb::GetLatestObservationsResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let r = request.get_ref();
        let indicator = parse_name(Collection::Indicators, &r.indicator, "indicator")?;
        let areas = names(Collection::Areas, &r.areas, "areas")?;
        let model = self.ledger.model().read();
        let latest = crate::query::analytics::latest(&model, &indicator, &areas, r.skip_zero)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetLatestObservationsResponse {
            observations: latest.iter().map(encode::observation).collect(),
            revision: model.revision,
        }))
    }

    async fn roll_up_indicator(
        &self,
        request: Request<pb::RollUpIndicatorRequest>,
    ) -> Result<Response<pb::RollUpIndicatorResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let r = request.get_ref();
        let indicator = parse_name(Collection::Indicators, &r.indicator, "indicator")?;
        let level = area_level(r.level, "level")?
            .ok_or_else(|| ApiError::invalid("INVALID_ARGUMENT", "level", "is required"))?;
        let model = self.ledger.model().read();
        let values = crate::query::analytics::roll_up(&model, &indicator, &r.period, level)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::RollUpIndicatorResponse {
            values: values
                .iter()
                .map(|v| pb::RolledUpValue {
                    area: v.area.to_string(),
                    reported_value: v.reported.map(decimal_string).unwrap_or_default(),
                    computed_value: decimal_string(v.computed),
                    inputs: v.inputs.iter().map(ToString::to_string).collect(),
                    qualifier: encode::enum_value(v.qualifier as u8),
                    input_status: encode::enum_value(v.input_status as u8),
                })
                .collect(),
            revision: model.revision,
        }))
    }

    async fn rank_areas(
        &self,
        request: Request<pb::RankAreasRequest>,
    ) -> Result<Response<pb::RankAreasResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let r = request.get_ref();
        let indicator = parse_name(Collection::Indicators, &r.indicator, "indicator")?;
        let level = area_level(r.level, "level")?;
        let model = self.ledger.model().read();
        let ranked =
            crate::query::analytics::rank_areas(&model, &indicator, &r.period, level, r.ascending)
                .map_err(ApiError::from)?;
        Ok(Response::new(pb::RankAreasResponse {
            observations: ranked.iter().map(encode::observation).collect(),
            revision: model.revision,
        }))
    }

    async fn reconcile_reported_figures(
        &self,
        request: Request<pb::ReconcileReportedFiguresRequest>,
    ) -> Result<Response<pb::ReconcileReportedFiguresResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let r = request.get_ref();
        let tolerance = if r.about_tolerance_percent.is_empty() {
            Decimal::from(5)
        } else {
            r.about_tolerance_percent
                .parse::<Decimal>()
                .ok()
                .filter(|t| !t.is_sign_negative())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "INVALID_ARGUMENT",
                        "about_tolerance_percent",
                        "must be a non-negative decimal such as \"5\"",
                    )
                })?
        };
        let model = self.ledger.model().read();
        let report = crate::query::analytics::reconcile(&model, &r.filter, tolerance)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ReconcileReportedFiguresResponse {
            reconciliations: report
                .reconciliations
                .iter()
                .map(|c| pb::Reconciliation {
                    reported: Some(encode::observation(&c.reported)),
                    computed_value: decimal_string(c.computed),
                    difference: decimal_string(c.difference),
                    difference_percent: c
                        .difference_percent
                        .map(decimal_string)
                        .unwrap_or_default(),
                    qualifier_satisfied: c.satisfied,
                    method: c.method.clone(),
                    input_status: encode::enum_value(c.input_status as u8),
                })
                .collect(),
            conversions: report.conversions.iter().map(conversion).collect(),
            revision: model.revision,
        }))
    }
}
