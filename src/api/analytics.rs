//! The analytics service: decodes questions, asks the read model, encodes computed answers.

use tonic::{Request, Response, Status};

use pairing_aid_client::v1 as pb;

use super::convert::analytics as convert;
use super::pb::analytics_service_server::AnalyticsService;
use super::{Api, ApiError};
use crate::query::analytics::{self, AnalyticsError};

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

#[tonic::async_trait]
impl AnalyticsService for Api {
    async fn summarize_funding(
        &self,
        request: Request<pb::SummarizeFundingRequest>,
    ) -> Result<Response<pb::SummarizeFundingResponse>, Status> {
        let r = request.get_ref();
        let query = convert::funding_query(r)?;
        self.read_at(&request, r.min_revision, |model| {
            let summary = analytics::summarize(model, &query)?;
            Ok(convert::summary(model, &summary, &query.currency))
        })
        .await
    }

    async fn get_indicator_series(
        &self,
        request: Request<pb::GetIndicatorSeriesRequest>,
    ) -> Result<Response<pb::GetIndicatorSeriesResponse>, Status> {
        let query = convert::series_query(request.get_ref())?;
        self.read_at(&request, request.get_ref().min_revision, |model| {
            Ok(convert::series(model, &analytics::series(model, &query)?))
        })
        .await
    }

    async fn get_latest_observations(
        &self,
        request: Request<pb::GetLatestObservationsRequest>,
    ) -> Result<Response<pb::GetLatestObservationsResponse>, Status> {
        let r = request.get_ref();
        let (indicator, areas) = convert::latest_query(r)?;
        self.read_at(&request, r.min_revision, |model| {
            let latest = analytics::latest(model, &indicator, &areas, r.skip_zero)?;
            Ok(pb::GetLatestObservationsResponse {
                observations: convert::observations(&latest),
                revision: model.revision,
            })
        })
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
        self.read_at(&request, r.min_revision, |model| {
            let values = analytics::roll_up(model, &indicator, &r.period, level)?;
            Ok(convert::rolled_up(model, &values))
        })
        .await
    }

    async fn rank_areas(
        &self,
        request: Request<pb::RankAreasRequest>,
    ) -> Result<Response<pb::RankAreasResponse>, Status> {
        let r = request.get_ref();
        let indicator = convert::indicator(&r.indicator)?;
        let level = convert::area_level(r.level, "level")?;
        self.read_at(&request, r.min_revision, |model| {
            let ranked = analytics::rank_areas(model, &indicator, &r.period, level, r.ascending)?;
            Ok(pb::RankAreasResponse {
                observations: convert::observations(&ranked),
                revision: model.revision,
            })
        })
        .await
    }

    async fn reconcile_reported_figures(
        &self,
        request: Request<pb::ReconcileReportedFiguresRequest>,
    ) -> Result<Response<pb::ReconcileReportedFiguresResponse>, Status> {
        let r = request.get_ref();
        let tolerance = convert::about_tolerance(r)?;
        self.read_at(&request, r.min_revision, |model| {
            let report = analytics::reconcile(model, &r.filter, tolerance)?;
            Ok(convert::reconciliation(model, &report))
        })
        .await
    }
}
