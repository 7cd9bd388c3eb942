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
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let query = convert::funding_query(request.get_ref())?;
        let model = self.ledger.model().read();
        let summary = analytics::summarize(&model, &query).map_err(ApiError::from)?;
        Ok(Response::new(convert::summary(
            &model,
            &summary,
            &query.currency,
        )))
    }

    async fn get_indicator_series(
        &self,
        request: Request<pb::GetIndicatorSeriesRequest>,
    ) -> Result<Response<pb::GetIndicatorSeriesResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let query = convert::series_query(request.get_ref())?;
        let model = self.ledger.model().read();
        let series = analytics::series(&model, &query).map_err(ApiError::from)?;
        Ok(Response::new(convert::series(&model, &series)))
    }

    async fn get_latest_observations(
        &self,
        request: Request<pb::GetLatestObservationsRequest>,
    ) -> Result<Response<pb::GetLatestObservationsResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let r = request.get_ref();
        let (indicator, areas) = convert::latest_query(r)?;
        let model = self.ledger.model().read();
        let latest =
            analytics::latest(&model, &indicator, &areas, r.skip_zero).map_err(ApiError::from)?;
        Ok(Response::new(pb::GetLatestObservationsResponse {
            observations: latest
                .iter()
                .map(super::convert::encode::observation)
                .collect(),
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
        let indicator = convert::indicator(&r.indicator)?;
        let level = convert::area_level(r.level, "level")?
            .ok_or_else(|| ApiError::invalid("INVALID_ARGUMENT", "level", "is required"))?;
        let model = self.ledger.model().read();
        let values =
            analytics::roll_up(&model, &indicator, &r.period, level).map_err(ApiError::from)?;
        Ok(Response::new(convert::rolled_up(&model, &values)))
    }

    async fn rank_areas(
        &self,
        request: Request<pb::RankAreasRequest>,
    ) -> Result<Response<pb::RankAreasResponse>, Status> {
        self.at_revision(&request, request.get_ref().min_revision)
            .await?;
        let r = request.get_ref();
        let indicator = convert::indicator(&r.indicator)?;
        let level = convert::area_level(r.level, "level")?;
        let model = self.ledger.model().read();
        let ranked = analytics::rank_areas(&model, &indicator, &r.period, level, r.ascending)
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::RankAreasResponse {
            observations: ranked
                .iter()
                .map(super::convert::encode::observation)
                .collect(),
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
        let tolerance = convert::about_tolerance(r)?;
        let model = self.ledger.model().read();
        let report = analytics::reconcile(&model, &r.filter, tolerance).map_err(ApiError::from)?;
        Ok(Response::new(convert::reconciliation(&model, &report)))
    }
}
