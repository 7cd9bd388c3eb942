//! The analytics service: decodes questions, asks the read model, encodes computed answers.

use tonic::{Request, Response, Status};

use pairing_aid_client::v1 as pb;

use super::admission::Cost;
use super::convert::analytics as convert;
use super::convert::decode;
use super::pb::analytics_service_server::AnalyticsService;
use super::{Api, ApiError, caller_key, within};
use crate::changes::PastCount;
use crate::domain::{ReadPoint, ResourceName};
use crate::query::analytics::{self, AnalyticsError, FundingQuery, SeriesChoice};
use crate::query::interrupt::Interrupt;
use crate::query::model::ReadModel;
use crate::telemetry;

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
            AnalyticsError::Interrupted(interrupted) => interrupted.into(),
            AnalyticsError::MissingSeries(message) => ApiError::FailedPrecondition {
                reason: "MISSING_SERIES",
                message,
            },
            too_many @ AnalyticsError::TooManyGroups { .. } => ApiError::ResourceExhausted {
                reason: "TOO_MANY_GROUPS",
                message: too_many.to_string(),
            },
        }
    }
}

impl Api {
    /// A summary at a past `revision` from the read model as it stands, the projects changed
    /// since counted back as they stood: none if the cube cannot answer the question so, or
    /// more than projects changed since; the caller then reads the whole record as it stood.
    async fn past_summary<T>(
        &self,
        request: &Request<T>,
        revision: i64,
        query: &FundingQuery,
    ) -> Result<Option<pb::SummarizeFundingResponse>, ApiError> {
        if revision >= self.ledger.applied_revision() {
            return Ok(None);
        }
        let counted = match self.ledger.past_funding(revision).await? {
            PastCount::Journal => None,
            PastCount::Read(counted) => Some(counted),
            PastCount::Whole => {
                count_past_summary("record");
                return Ok(None);
            }
        };
        let source = if counted.is_some() { "log" } else { "journal" };
        let live = self.ledger.model().clone();
        let cost = Cost::Rows(analytics::summary_rows(&live.read(), query)?);
        let (query, limit) = (query.clone(), self.limits.max_answer_bytes);
        let answer = move |interrupt: &Interrupt| {
            let model = live.read();
            let counted = counted.as_deref();
            let Some(summary) =
                analytics::summarize_past(&model, revision, counted, &query, interrupt)?
            else {
                return Ok(None);
            };
            let mut answer = convert::summary(&model, &summary, &query.currency)?;
            answer.revision = revision;
            within(limit, answer).map(Some)
        };
        let answer = self
            .admission
            .run(|| caller_key(request), "SummarizeFunding", cost, answer)
            .await?;
        count_past_summary(if answer.is_some() { source } else { "record" });
        Ok(answer)
    }
}

/// Counts a summary at a past revision by where the projects as they stood came from.
fn count_past_summary(source: &str) {
    telemetry::metrics()
        .past_summaries
        .with_label_values(&[source])
        .inc();
}

#[tonic::async_trait]
impl AnalyticsService for Api {
    async fn summarize_funding(
        &self,
        request: Request<pb::SummarizeFundingRequest>,
    ) -> Result<Response<pb::SummarizeFundingResponse>, Status> {
        let r = request.get_ref();
        let query = convert::funding_query(r)?;
        let point = decode::read_point(r.read_at.as_ref(), None)?;
        let at = self
            .revision_to_read(&request, r.min_revision, point)
            .await?;
        if let Some(revision) = at
            && let Some(answer) = self.past_summary(&request, revision, &query).await?
        {
            return Ok(Response::new(answer));
        }
        let estimate = query.clone();
        let cost = move |model: &_| Ok(Cost::Rows(analytics::summary_rows(model, &estimate)?));
        self.read_at(
            &request,
            r.min_revision,
            at.map_or(ReadPoint::Now, ReadPoint::Revision),
            "SummarizeFunding",
            cost,
            move |model, interrupt| {
                let summary = analytics::summarize(model, &query, interrupt)?;
                convert::summary(model, &summary, &query.currency)
            },
        )
        .await
    }

    async fn get_indicator_series(
        &self,
        request: Request<pb::GetIndicatorSeriesRequest>,
    ) -> Result<Response<pb::GetIndicatorSeriesResponse>, Status> {
        let query = convert::series_query(request.get_ref())?;
        // A series reads its areas' observations of one indicator, a few dozen each.
        let cost = |_: &_| Ok(Cost::Rows(0));
        self.read_at(
            &request,
            request.get_ref().min_revision,
            decode::read_point(request.get_ref().read_at.as_ref(), None)?,
            "GetIndicatorSeries",
            cost,
            move |model, _| Ok(convert::series(model, &analytics::series(model, &query)?)),
        )
        .await
    }

    async fn get_latest_observations(
        &self,
        request: Request<pb::GetLatestObservationsRequest>,
    ) -> Result<Response<pb::GetLatestObservationsResponse>, Status> {
        let r = request.get_ref();
        let (indicator, areas) = convert::latest_query(r)?;
        let choice = convert::figure_choice(r.choice.as_ref())?;
        let skip_zero = r.skip_zero;
        let cost = indicator_cost(indicator.clone());
        self.read_at(
            &request,
            r.min_revision,
            decode::read_point(r.read_at.as_ref(), None)?,
            "GetLatestObservations",
            cost,
            move |model, _| {
                let latest = analytics::latest(model, &indicator, &areas, skip_zero, &choice)?;
                Ok(pb::GetLatestObservationsResponse {
                    observations: convert::observations(&latest.observations),
                    competing: convert::competing(&latest.competing),
                    revision: model.revision,
                })
            },
        )
        .await
    }

    async fn roll_up_indicator(
        &self,
        request: Request<pb::RollUpIndicatorRequest>,
    ) -> Result<Response<pb::RollUpIndicatorResponse>, Status> {
        let r = request.get_ref();
        let indicator = convert::indicator(&r.indicator)?;
        let level = convert::area_level(r.level, "level")?
            .ok_or_else(|| ApiError::invalid("INVALID_ARGUMENT", "level", "is required"))?;
        let period = r.period.clone();
        let choice = convert::figure_choice(r.choice.as_ref())?;
        let cost = indicator_cost(indicator.clone());
        self.read_at(
            &request,
            r.min_revision,
            decode::read_point(r.read_at.as_ref(), None)?,
            "RollUpIndicator",
            cost,
            move |model, _| {
                let values = analytics::roll_up(model, &indicator, &period, level, &choice)?;
                Ok(convert::rolled_up(model, &values))
            },
        )
        .await
    }

    async fn rank_areas(
        &self,
        request: Request<pb::RankAreasRequest>,
    ) -> Result<Response<pb::RankAreasResponse>, Status> {
        let r = request.get_ref();
        let indicator = convert::indicator(&r.indicator)?;
        let level = convert::area_level(r.level, "level")?;
        let (period, ascending) = (r.period.clone(), r.ascending);
        let choice = convert::figure_choice(r.choice.as_ref())?;
        let cost = indicator_cost(indicator.clone());
        self.read_at(
            &request,
            r.min_revision,
            decode::read_point(r.read_at.as_ref(), None)?,
            "RankAreas",
            cost,
            move |model, _| {
                let ranked =
                    analytics::rank_areas(model, &indicator, &period, level, ascending, &choice)?;
                Ok(convert::ranking(model, &ranked))
            },
        )
        .await
    }

    async fn reconcile_reported_figures(
        &self,
        request: Request<pb::ReconcileReportedFiguresRequest>,
    ) -> Result<Response<pb::ReconcileReportedFiguresResponse>, Status> {
        let r = request.get_ref();
        let tolerance = convert::about_tolerance(&r.about_tolerance_percent)?;
        let series = SeriesChoice {
            exchange_rate: convert::optional_name(&r.exchange_rate_series, "exchange_rate_series")?,
            deflator: None,
        };
        let filter = r.filter.clone();
        // Every reported figure is checked against every project.
        let cost = |_: &_| Ok(Cost::Scan);
        self.read_at(
            &request,
            r.min_revision,
            decode::read_point(r.read_at.as_ref(), None)?,
            "ReconcileReportedFigures",
            cost,
            move |model, interrupt| {
                let report = analytics::reconcile(model, &filter, tolerance, &series, interrupt)?;
                Ok(convert::reconciliation(model, &report))
            },
        )
        .await
    }

    async fn check_consistency(
        &self,
        request: Request<pb::CheckConsistencyRequest>,
    ) -> Result<Response<pb::CheckConsistencyResponse>, Status> {
        let r = request.get_ref();
        let tolerance = convert::about_tolerance(&r.about_tolerance_percent)?;
        let filter = r.filter.clone();
        // At most every observation of a related indicator or an exchange rate is read.
        let cost = |model: &_| Ok(Cost::Rows(analytics::consistency_rows(model)));
        self.read_at(
            &request,
            r.min_revision,
            decode::read_point(r.read_at.as_ref(), None)?,
            "CheckConsistency",
            cost,
            move |model, interrupt| {
                let checks = analytics::check_consistency(model, &filter, tolerance, interrupt)?;
                Ok(convert::consistency(model, &checks))
            },
        )
        .await
    }
}

/// The cost of reading every observation of `indicator`.
fn indicator_cost(indicator: ResourceName) -> impl FnOnce(&ReadModel) -> Result<Cost, ApiError> {
    move |model| Ok(Cost::Rows(model.observations.count_of(&indicator)))
}
