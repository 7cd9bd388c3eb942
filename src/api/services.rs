//! The read services: Get and List for every collection, answered from the read model.

use std::collections::BTreeMap;

use tonic::{Request, Response, Status};

use pairing_aid_client::v1 as pb;

use super::ApiError;
use super::convert;
use crate::domain::{Collection, ResourceName};
use crate::query::{ListQuery, Listed, Page, ReadModel, SharedModel, list};
use crate::server::pb as server;

/// Default and largest page sizes (AIP-158).
const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

/// Serves the read side of every collection.
#[derive(Clone)]
pub struct ReadService {
    model: SharedModel,
}

impl ReadService {
    /// A service reading from `model`.
    pub fn new(model: SharedModel) -> Self {
        ReadService { model }
    }

    fn get<T: Clone>(
        &self,
        collection: Collection,
        name: &str,
        table: impl Fn(&ReadModel) -> &BTreeMap<ResourceName, T>,
    ) -> Result<T, ApiError> {
        let name = ResourceName::parse(collection, name, "name").map_err(|v| {
            ApiError::InvalidArgument {
                reason: "INVALID_NAME",
                violations: vec![v],
            }
        })?;
        let model = self.model.read();
        table(&model)
            .get(&name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                name: name.to_string(),
            })
    }

    fn list<T: Listed>(
        &self,
        request: ListRequest<'_>,
        table: impl Fn(&ReadModel) -> &BTreeMap<ResourceName, T>,
    ) -> Result<Page<T>, ApiError> {
        let page_size = match request.page_size {
            size if size < 0 => {
                return Err(ApiError::invalid(
                    "INVALID_PAGE_SIZE",
                    "page_size",
                    format!("must not be negative, got {size}"),
                ));
            }
            0 => DEFAULT_PAGE_SIZE,
            size => (size as usize).min(MAX_PAGE_SIZE),
        };
        let query = ListQuery {
            page_size,
            page_token: request.page_token.to_owned(),
            filter: request.filter.to_owned(),
            order_by: request.order_by.to_owned(),
        };
        let model = self.model.read();
        Ok(list(table(&model).values(), &model, &query)?)
    }
}

/// The fields every List request shares.
struct ListRequest<'a> {
    page_size: i32,
    page_token: &'a str,
    filter: &'a str,
    order_by: &'a str,
}

/// Implements Get and List of one collection; every collection's pair has the same shape.
macro_rules! read_service {
    (
        $service:ident in $module:ident for $collection:ident:
        $get:ident($get_request:ident) -> $get_response:ident { $singular:ident },
        $list:ident($list_request:ident) -> $list_response:ident { $plural:ident },
        $convert:path
    ) => {
        #[tonic::async_trait]
        impl server::$module::$service for ReadService {
            async fn $get(
                &self,
                request: Request<pb::$get_request>,
            ) -> Result<Response<pb::$get_response>, Status> {
                let item = self.get(Collection::$collection, &request.get_ref().name, |m| {
                    &m.$plural
                })?;
                Ok(Response::new(pb::$get_response {
                    $singular: Some($convert(&item)),
                }))
            }

            async fn $list(
                &self,
                request: Request<pb::$list_request>,
            ) -> Result<Response<pb::$list_response>, Status> {
                let request = request.get_ref();
                let page = self.list(
                    ListRequest {
                        page_size: request.page_size,
                        page_token: &request.page_token,
                        filter: &request.filter,
                        order_by: &request.order_by,
                    },
                    |m| &m.$plural,
                )?;
                Ok(Response::new(pb::$list_response {
                    $plural: page.items.iter().map($convert).collect(),
                    next_page_token: page.next_page_token,
                    total_size: i32::try_from(page.total_size).unwrap_or(i32::MAX),
                    revision: page.revision,
                }))
            }
        }
    };
}

read_service!(PartyService in party_service_server for Parties:
    get_party(GetPartyRequest) -> GetPartyResponse { party },
    list_parties(ListPartiesRequest) -> ListPartiesResponse { parties },
    convert::party);
read_service!(AreaService in area_service_server for Areas:
    get_area(GetAreaRequest) -> GetAreaResponse { area },
    list_areas(ListAreasRequest) -> ListAreasResponse { areas },
    convert::area);
read_service!(PairingService in pairing_service_server for Pairings:
    get_pairing(GetPairingRequest) -> GetPairingResponse { pairing },
    list_pairings(ListPairingsRequest) -> ListPairingsResponse { pairings },
    convert::pairing);
read_service!(ProjectService in project_service_server for Projects:
    get_project(GetProjectRequest) -> GetProjectResponse { project },
    list_projects(ListProjectsRequest) -> ListProjectsResponse { projects },
    convert::project);
read_service!(IndicatorService in indicator_service_server for Indicators:
    get_indicator(GetIndicatorRequest) -> GetIndicatorResponse { indicator },
    list_indicators(ListIndicatorsRequest) -> ListIndicatorsResponse { indicators },
    convert::indicator);
read_service!(ObservationService in observation_service_server for Observations:
    get_observation(GetObservationRequest) -> GetObservationResponse { observation },
    list_observations(ListObservationsRequest) -> ListObservationsResponse { observations },
    convert::observation);
