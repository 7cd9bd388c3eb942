//! The six resource kinds pairctl lists, reads and writes: where each sits in a record and
//! which calls of its service list, get, create, update and delete it. What the commands do
//! with them is the same for every kind (`commands::crud`).

use pairing_aid_client::v1::{self, record};
use pairing_aid_client::{Client, Error, Listing};

use crate::protojson::Message;
use crate::rows::Row;

/// A resource kind that pairctl lists, reads and writes.
pub trait Resource: Message + Row + Send + 'static {
    /// The resource from a record, if the record holds this kind.
    fn from_record(record: record::Resource) -> Option<Self>;
    /// Sets the etag an update is conditional on.
    fn set_etag(&mut self, etag: String);
    /// Every resource matching `filter`, in `order_by` order, page by page, as the record
    /// stands or stood at `read_at`.
    fn list(
        client: &Client,
        filter: String,
        order_by: String,
        read_at: Option<v1::ReadAt>,
    ) -> Listing<Self>;
    /// The resource named `name` as it stands or stood at `read_at`, read under the client's
    /// retry policy.
    async fn get(
        client: &Client,
        name: String,
        read_at: Option<v1::ReadAt>,
    ) -> Result<Option<Self>, Error>;
    /// Creates `resource`, for `reason` (kept in its history); the resource as stored.
    async fn create(client: &Client, resource: Self, reason: String)
    -> Result<Option<Self>, Error>;
    /// Replaces the fields `mask` names (every field if empty); the resource as stored.
    async fn update(
        client: &Client,
        resource: Self,
        mask: Vec<String>,
        reason: String,
    ) -> Result<Option<Self>, Error>;
    /// Deletes `name`, only if unchanged since `etag` when one is given; the revision of the
    /// delete.
    async fn delete(
        client: &Client,
        name: String,
        etag: String,
        reason: String,
    ) -> Result<i64, Error>;
}

/// Implements [`Resource`] for each kind from one row: the kind (also its record variant), the
/// client's stub accessor and the response field holding the resource, then each call with its
/// request message.
macro_rules! resources {
    ($($kind:ident: $stub:ident.$field:ident, $list:ident($list_request:ident), $get:ident($get_request:ident), $create:ident($create_request:ident), $update:ident($update_request:ident), $delete:ident($delete_request:ident);)*) => {$(
        impl Resource for v1::$kind {
            fn from_record(record: record::Resource) -> Option<Self> {
                match record {
                    record::Resource::$kind(resource) => Some(resource),
                    _ => None,
                }
            }

            fn set_etag(&mut self, etag: String) {
                self.etag = etag;
            }

            fn list(
                client: &Client,
                filter: String,
                order_by: String,
                read_at: Option<v1::ReadAt>,
            ) -> Listing<Self> {
                client.$list(v1::$list_request {
                    filter,
                    order_by,
                    read_at,
                    ..Default::default()
                })
            }

            async fn get(
                client: &Client,
                name: String,
                read_at: Option<v1::ReadAt>,
            ) -> Result<Option<Self>, Error> {
                let request = v1::$get_request {
                    name,
                    read_at,
                    ..Default::default()
                };
                let response = client
                    .retrying(|| {
                        let mut stub = client.$stub();
                        let request = request.clone();
                        async move { stub.$get(request).await.map_err(Error::from) }
                    })
                    .await?;
                Ok(response.into_inner().$field)
            }

            async fn create(
                client: &Client,
                resource: Self,
                reason: String,
            ) -> Result<Option<Self>, Error> {
                let request = v1::$create_request {
                    $field: Some(resource),
                    reason,
                    ..Default::default()
                };
                let response = client
                    .write(request, |client, r| async move {
                        client.$stub().$create(r).await
                    })
                    .await?;
                Ok(response.$field)
            }

            async fn update(
                client: &Client,
                resource: Self,
                mask: Vec<String>,
                reason: String,
            ) -> Result<Option<Self>, Error> {
                let request = v1::$update_request {
                    $field: Some(resource),
                    update_mask: Some(pairing_aid_client::prost_types::FieldMask { paths: mask }),
                    request_id: String::new(),
                    reason,
                };
                let response = client
                    .write(request, |client, r| async move {
                        client.$stub().$update(r).await
                    })
                    .await?;
                Ok(response.$field)
            }

            async fn delete(
                client: &Client,
                name: String,
                etag: String,
                reason: String,
            ) -> Result<i64, Error> {
                let request = v1::$delete_request {
                    name,
                    etag,
                    request_id: String::new(),
                    reason,
                };
                let response = client
                    .write(request, |client, r| async move {
                        client.$stub().$delete(r).await
                    })
                    .await?;
                Ok(response.revision)
            }
        }
    )*};
}

resources! {
    Party: parties.party, list_parties(ListPartiesRequest), get_party(GetPartyRequest), create_party(CreatePartyRequest), update_party(UpdatePartyRequest), delete_party(DeletePartyRequest);
    Area: areas.area, list_areas(ListAreasRequest), get_area(GetAreaRequest), create_area(CreateAreaRequest), update_area(UpdateAreaRequest), delete_area(DeleteAreaRequest);
    Pairing: pairings.pairing, list_pairings(ListPairingsRequest), get_pairing(GetPairingRequest), create_pairing(CreatePairingRequest), update_pairing(UpdatePairingRequest), delete_pairing(DeletePairingRequest);
    Project: projects.project, list_projects(ListProjectsRequest), get_project(GetProjectRequest), create_project(CreateProjectRequest), update_project(UpdateProjectRequest), delete_project(DeleteProjectRequest);
    Indicator: indicators.indicator, list_indicators(ListIndicatorsRequest), get_indicator(GetIndicatorRequest), create_indicator(CreateIndicatorRequest), update_indicator(UpdateIndicatorRequest), delete_indicator(DeleteIndicatorRequest);
    Observation: observations.observation, list_observations(ListObservationsRequest), get_observation(GetObservationRequest), create_observation(CreateObservationRequest), update_observation(UpdateObservationRequest), delete_observation(DeleteObservationRequest);
}
