//! Get, List, Create, Update and Delete for every collection. Each collection's five methods
//! have the same shape, so one macro writes them; what differs is passed in.

use std::borrow::Cow;

use tonic::{Request, Response, Status};

use pairing_aid_client::v1 as pb;

use super::admission::Cost;
use super::auth::{Role, require};
use super::convert::decode::{self, request_name, request_name_at};
use super::convert::encode::{self, Answers, GetAnswer};
use super::pb as server;
use super::{Api, ApiError, commit_note, expected_revision};
use crate::changes::{Before, Committed, Version, Write};
use crate::changes::{Edit, WriteOp};
use crate::domain::{self, Collection, Resource, ResourceName};
use crate::query::listing::{Budget, ListQuery, list};
use crate::query::model::{ReadModel, Table};

/// Default and largest page sizes (AIP-158).
const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;
/// Most bytes of items in one page: a page of large records ends early, with a token for the
/// rest, so an answer stays far within a message and a request's memory budget.
const MAX_PAGE_BYTES: usize = 4 << 20;

/// The fields of a resource an update may replace; every other field is set by the service.
trait Writable {
    #[cfg(test)]
    const WRITABLE: &'static [&'static str];

    /// The writable fields whose values differ between two versions, as update masks name them.
    fn changed_fields(before: &Self, after: &Self) -> Vec<&'static str>;
}

/// The fields the service sets on every resource, which no write can.
#[cfg(test)]
const OUTPUT_ONLY: [&str; 5] = ["name", "etag", "revision", "create_time", "update_time"];

/// The item of `table` named `name`.
fn find<'t, T: Clone>(
    table: &'t dyn Table<T>,
    name: &ResourceName,
) -> Result<Cow<'t, T>, ApiError> {
    table.find(name).ok_or_else(|| not_found(name))
}

/// What a read of a resource there is none of answers.
fn not_found(name: &ResourceName) -> ApiError {
    ApiError::NotFound {
        name: name.to_string(),
    }
}

/// A listing request's page size checked, with its other fields.
fn list_query(
    page_size: i32,
    page_token: &str,
    filter: &str,
    order_by: &str,
) -> Result<ListQuery, ApiError> {
    Ok(ListQuery {
        page_size: page_size_or_default(page_size, DEFAULT_PAGE_SIZE)?,
        page_token: page_token.to_owned(),
        filter: filter.to_owned(),
        order_by: order_by.to_owned(),
    })
}

/// The gRPC method a request message is for: `ListProjectsRequest` is for `ListProjects`.
/// Evaluated at compile time (`const { .. }` at its uses): trimming it on every call cost a
/// Get about 0.4 % of its instructions.
const fn method_name(request: &'static str) -> &'static str {
    let (method, suffix) = request.as_bytes().split_at(request.len() - "Request".len());
    assert!(
        matches!(suffix, b"Request"),
        "a request message's name ends in Request"
    );
    match std::str::from_utf8(method) {
        Ok(method) => method,
        Err(_) => panic!("a prefix of an identifier is UTF-8"),
    }
}

/// What a listing reads: the page, when it walks the name order unfiltered; the whole
/// collection, when it filters or sorts.
fn listing_cost(query: &ListQuery) -> impl FnOnce(usize) -> Cost + use<> {
    let walks_pages = query.filter.trim().is_empty() && query.order_by.trim().is_empty();
    let page_size = query.page_size;
    move |collection_size| {
        Cost::Rows(if walks_pages {
            page_size
        } else {
            collection_size
        })
    }
}

/// `page_size` per AIP-158: 0 is the default, too large is capped, negative is an error.
pub(super) fn page_size_or_default(page_size: i32, default: usize) -> Result<usize, ApiError> {
    match page_size {
        size if size < 0 => Err(ApiError::invalid(
            "INVALID_PAGE_SIZE",
            "page_size",
            format!("must not be negative, got {size}"),
        )),
        0 => Ok(default),
        size => Ok((size as usize).min(MAX_PAGE_SIZE)),
    }
}

/// The name of a resource to create: `{collection}/{id}` from the id field, or the name as sent.
fn name_to_create(
    collection: Collection,
    name: &str,
    id: &str,
    id_field: &str,
) -> Result<String, ApiError> {
    match (name.is_empty(), id.is_empty()) {
        (true, true) => Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            id_field,
            "is required",
        )),
        (_, false) => {
            let from_id = format!("{}/{id}", collection.segment());
            if !name.is_empty() && name != from_id {
                return Err(ApiError::invalid(
                    "INVALID_ARGUMENT",
                    id_field,
                    format!("names {from_id} but the resource is named {name}"),
                ));
            }
            Ok(from_id)
        }
        (false, true) => Ok(name.to_owned()),
    }
}

/// The only resource a single-resource write stored.
fn stored(committed: &Committed) -> Result<&Resource, ApiError> {
    match committed.writes.first() {
        Some(Write::Put(resource)) => Ok(resource),
        _ => Err(ApiError::Internal {
            message: format!("revision {} holds no stored resource", committed.revision),
        }),
    }
}

/// The writable fields `after` changed from `before` (from nothing: the fields it set).
fn changed_fields(before: Option<&Resource>, after: &Resource) -> Vec<&'static str> {
    macro_rules! diff {
        ($after:expr, $variant:ident, $encode:ident) => {{
            let before = match before {
                Some(Resource::$variant(before)) => encode::$encode(before),
                _ => Default::default(),
            };
            pb::$variant::changed_fields(&before, &encode::$encode($after))
        }};
    }
    match after {
        Resource::Party(after) => diff!(after, Party, party),
        Resource::Area(after) => diff!(after, Area, area),
        Resource::Pairing(after) => diff!(after, Pairing, pairing),
        Resource::Project(after) => diff!(after, Project, project),
        Resource::Indicator(after) => diff!(after, Indicator, indicator),
        Resource::Observation(after) => diff!(after, Observation, observation),
    }
}

/// One version of a resource's history, with what stood before it, as the wire carries it.
pub(super) fn resource_revision((version, before): (&Version, Before<'_>)) -> pb::ResourceRevision {
    let (kind, changed, dropped) = match (before, &version.resource) {
        (_, None) => (pb::RevisionKind::Delete, Vec::new(), false),
        (Before::Nothing | Before::Version(None), Some(after)) => {
            (pb::RevisionKind::Create, changed_fields(None, after), false)
        }
        (Before::Version(Some(before)), Some(after)) => (
            pb::RevisionKind::Update,
            changed_fields(Some(before), after),
            false,
        ),
        (Before::Dropped, Some(_)) => (pb::RevisionKind::Update, Vec::new(), true),
    };
    pb::ResourceRevision {
        revision: version.revision,
        commit_time: encode::timestamp(Some(version.commit_time)),
        subject: version.subject.clone(),
        request_id: version.note.request_id.clone(),
        reason: version.note.reason.clone(),
        kind: kind.into(),
        changed_fields: changed.into_iter().map(str::to_owned).collect(),
        earlier_revisions_dropped: dropped,
        record: version.resource.as_ref().map(encode::record),
    }
}

/// The response to a create or an update: the resource as stored, and the revision.
macro_rules! stored_response {
    ($response:ident, $singular:ident, $variant:ident, $committed:expr) => {{
        let committed = $committed;
        let Resource::$variant(item) = stored(&committed)? else {
            return Err(ApiError::Internal {
                message: "stored another kind".into(),
            }
            .into());
        };
        Ok(Response::new(pb::$response {
            $singular: Some(encode::$singular(item)),
            revision: committed.revision,
        }))
    }};
}

/// Replaces the fields of `target` named by `mask` (all writable fields if empty or `*`).
macro_rules! merge_masked {
    ($target:ident, $source:ident, $mask:expr, [$($field:ident),+]) => {{
        let paths: Vec<String> = $mask.map(|m| m.paths.clone()).unwrap_or_default();
        let mut unknown = Vec::new();
        let star_with_others = paths.len() > 1 && paths.iter().any(|p| p == "*");
        if star_with_others {
            // Refused below, before any field is touched.
        } else if paths.is_empty() || paths[0] == "*" {
            $( $target.$field = $source.$field.clone(); )+
        } else {
            for path in &paths {
                match path.as_str() {
                    $( stringify!($field) => $target.$field = $source.$field.clone(), )+
                    other => unknown.push(other.to_owned()),
                }
            }
        }
        if star_with_others {
            Err(ApiError::invalid(
                "INVALID_UPDATE_MASK",
                "update_mask",
                "`*` stands alone: it already names every writable field",
            ))
        } else if unknown.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(
                "INVALID_UPDATE_MASK",
                "update_mask",
                format!(
                    "cannot update {}; writable fields are: {}",
                    unknown.join(", "),
                    [$(stringify!($field)),+].join(", ")
                ),
            ))
        }
    }};
}

macro_rules! resource_service {
    (
        $service:ident in $module:ident, $collection:ident, $variant:ident, role $role:ident,
        $singular:ident / $plural:ident, id field $id_field:ident,
        get $get:ident($get_request:ident),
        list $list:ident($list_request:ident) -> $list_response:ident,
        create $create:ident($create_request:ident) -> $create_response:ident,
        update $update:ident($update_request:ident) -> $update_response:ident,
        delete $delete:ident($delete_request:ident) -> $delete_response:ident,
        writable [$($field:ident),+ $(,)?]
        $(, more { $($more:item)* })?
    ) => {
        impl Writable for pb::$variant {
            #[cfg(test)]
            const WRITABLE: &'static [&'static str] = &[$(stringify!($field)),+];

            fn changed_fields(before: &Self, after: &Self) -> Vec<&'static str> {
                let mut changed = Vec::new();
                $( if before.$field != after.$field { changed.push(stringify!($field)); } )+
                changed
            }
        }

        #[tonic::async_trait]
        impl server::$module::$service for Api {
            async fn $get(
                &self,
                request: Request<pb::$get_request>,
            ) -> Result<Response<<domain::$variant as GetAnswer>::Answer>, Status> {
                let r = request.get_ref();
                let (name, at) = request_name_at(Collection::$collection, &r.name, "name")?;
                let point = decode::read_point(r.read_at.as_ref(), at)?;
                // An earlier revision is read from the change log.
                if let Some(revision) = self.revision_to_read(&request, r.min_revision, point).await? {
                    let found = self.ledger.version_at(&name, revision).await.map_err(ApiError::from)?;
                    let Some(Resource::$variant(item)) = found else {
                        // Named as asked: `name@revision` if so, as a read of now would be otherwise.
                        return Err(ApiError::NotFound { name: r.name.clone() }.into());
                    };
                    return Ok(Response::new(item.get_answer()));
                }
                self.read_one(|model| {
                    Answers::<domain::$variant>::answer(&model.$plural, &name)
                        .ok_or_else(|| not_found(&name))
                })
            }

            async fn $list(
                &self,
                request: Request<pb::$list_request>,
            ) -> Result<Response<pb::$list_response>, Status> {
                let r = request.get_ref();
                let query = list_query(r.page_size, &r.page_token, &r.filter, &r.order_by)?;
                let cost = listing_cost(&query);
                let cost = move |model: &ReadModel| Ok(cost(Table::len(&model.$plural)));
                let point = decode::read_point(r.read_at.as_ref(), None)?;
                self.read_at(&request, r.min_revision, point, const { method_name(stringify!($list_request)) }, cost, move |model, interrupt| {
                    let size_of = |item: &_| prost::Message::encoded_len(&encode::$singular(item));
                    let budget = Budget { max_bytes: MAX_PAGE_BYTES, size_of: &size_of };
                    let page = list(&model.$plural, model, &query, &budget, interrupt)?;
                    Ok(pb::$list_response {
                        $plural: page.items.iter().map(encode::$singular).collect(),
                        next_page_token: page.next_page_token,
                        total_size: i32::try_from(page.total_size).unwrap_or(i32::MAX),
                        revision: page.revision,
                    })
                }).await
            }

            async fn $create(
                &self,
                request: Request<pb::$create_request>,
            ) -> Result<Response<pb::$create_response>, Status> {
                let caller = require(&request, Role::$role)?;
                let message = request.get_ref();
                let prefix = stringify!($singular);
                let committed = self
                    .write(&caller, stringify!($create), commit_note(&message.request_id, &message.reason)?, message, |_| {
                        let mut incoming = message.$singular.clone().unwrap_or_default();
                        incoming.name = name_to_create(
                            Collection::$collection,
                            &incoming.name,
                            &message.$id_field,
                            stringify!($id_field),
                        )?;
                        let (resource, violations) = decode::$singular(&incoming);
                        Ok(vec![(WriteOp::Create(Resource::$variant(resource)).into(), violations)])
                    }, |_| prefix.to_owned())
                    .await?;
                stored_response!($create_response, $singular, $variant, committed)
            }

            async fn $update(
                &self,
                request: Request<pb::$update_request>,
            ) -> Result<Response<pb::$update_response>, Status> {
                let caller = require(&request, Role::$role)?;
                let message = request.get_ref();
                let prefix = stringify!($singular);
                let committed = self
                    .write(&caller, stringify!($update), commit_note(&message.request_id, &message.reason)?, message, |model| {
                        let incoming = message
                            .$singular
                            .as_ref()
                            .ok_or_else(|| ApiError::invalid("INVALID_ARGUMENT", prefix, "is required"))?;
                        let name = request_name(Collection::$collection, &incoming.name, concat!(stringify!($singular), ".name"))?;
                        let current = find(&model.$plural, &name)?;
                        let expected_revision = expected_revision(
                            &incoming.etag,
                            current.meta.revision,
                            concat!(stringify!($singular), ".etag"),
                        )?;
                        let mut merged = encode::$singular(&*current);
                        merge_masked!(merged, incoming, message.update_mask.as_ref(), [$($field),+])?;
                        if incoming.etag.is_empty() {
                            // No etag: the fields go into whatever version is current when the
                            // write commits, so a concurrent write neither aborts nor is lost.
                            let (incoming, mask) = (incoming.clone(), message.update_mask.clone());
                            let rebase = move |current: &Resource| {
                                let mut merged = match current {
                                    Resource::$variant(current) => encode::$singular(current),
                                    _ => merged,
                                };
                                // The mask merged cleanly above; it names the same fields.
                                let _ = merge_masked!(merged, incoming, mask.as_ref(), [$($field),+]);
                                let (resource, violations) = decode::$singular(&merged);
                                (Resource::$variant(resource), violations)
                            };
                            return Ok(vec![(Edit::Rebase { name, rebase: Box::new(rebase) }, Default::default())]);
                        }
                        let (resource, violations) = decode::$singular(&merged);
                        let resource = Resource::$variant(resource);
                        Ok(vec![(WriteOp::Replace { resource, expected_revision }.into(), violations)])
                    }, |_| prefix.to_owned())
                    .await?;
                stored_response!($update_response, $singular, $variant, committed)
            }

            async fn $delete(
                &self,
                request: Request<pb::$delete_request>,
            ) -> Result<Response<pb::$delete_response>, Status> {
                let caller = require(&request, Role::$role)?;
                let message = request.get_ref();
                let committed = self
                    .write(&caller, stringify!($delete), commit_note(&message.request_id, &message.reason)?, message, |model| {
                        let name = request_name(Collection::$collection, &message.name, "name")?;
                        let expected_revision = if message.etag.is_empty() {
                            None
                        } else {
                            let current = find(&model.$plural, &name)?;
                            Some(expected_revision(&message.etag, current.meta.revision, "etag")?)
                        };
                        Ok(vec![(WriteOp::Delete { name, expected_revision }.into(), Default::default())])
                    }, |_| String::new())
                    .await?;
                Ok(Response::new(pb::$delete_response { revision: committed.revision }))
            }

            $($($more)*)?
        }
    };
}

resource_service!(PartyService in party_service_server, Parties, Party, role Admin,
    party / parties, id field party_id,
    get get_party(GetPartyRequest),
    list list_parties(ListPartiesRequest) -> ListPartiesResponse,
    create create_party(CreatePartyRequest) -> CreatePartyResponse,
    update update_party(UpdatePartyRequest) -> UpdatePartyResponse,
    delete delete_party(DeletePartyRequest) -> DeletePartyResponse,
    writable [kind, display_name, home_area, codes, provenance]);

resource_service!(AreaService in area_service_server, Areas, Area, role Admin,
area / areas, id field area_id,
get get_area(GetAreaRequest),
list list_areas(ListAreasRequest) -> ListAreasResponse,
create create_area(CreateAreaRequest) -> CreateAreaResponse,
update update_area(UpdateAreaRequest) -> UpdateAreaResponse,
delete delete_area(DeleteAreaRequest) -> DeleteAreaResponse,
writable [display_name, level, parent, names, codes, provenance],
more {
    async fn resolve_places(
        &self,
        request: Request<pb::ResolvePlacesRequest>,
    ) -> Result<Response<pb::ResolvePlacesResponse>, Status> {
        let r = request.get_ref();
        let (query, date, limit) = decode::place_query(r)?;
        // One lookup in the places' sorted keys.
        let cost = |_: &ReadModel| Ok(Cost::Rows(limit));
        let point = decode::read_point(r.read_at.as_ref(), None)?;
        self.read_at(&request, r.min_revision, point, "ResolvePlaces", cost, move |model, _| {
            let found = model.places.resolve(&query, date, limit);
            Ok(encode::place_matches(model, &query, &found))
        })
        .await
    }
});

resource_service!(PairingService in pairing_service_server, Pairings, Pairing, role Write,
    pairing / pairings, id field pairing_id,
    get get_pairing(GetPairingRequest),
    list list_pairings(ListPairingsRequest) -> ListPairingsResponse,
    create create_pairing(CreatePairingRequest) -> CreatePairingResponse,
    update update_pairing(UpdatePairingRequest) -> UpdatePairingResponse,
    delete delete_pairing(DeletePairingRequest) -> DeletePairingResponse,
    writable [party, area, start_year, end_year, fields, status, provenance]);

resource_service!(ProjectService in project_service_server, Projects, Project, role Write,
    project / projects, id field project_id,
    get get_project(GetProjectRequest),
    list list_projects(ListProjectsRequest) -> ListProjectsResponse,
    create create_project(CreateProjectRequest) -> CreateProjectResponse,
    update update_project(UpdateProjectRequest) -> UpdateProjectResponse,
    delete delete_project(DeleteProjectRequest) -> DeleteProjectResponse,
    writable [title, description, pairing, party, recipients, field, livelihood, status,
        planned_start_date, planned_end_date, actual_start_date, actual_end_date, outputs,
        funding_lines, data_status, provenance]);

resource_service!(IndicatorService in indicator_service_server, Indicators, Indicator, role Admin,
    indicator / indicators, id field indicator_id,
    get get_indicator(GetIndicatorRequest),
    list list_indicators(ListIndicatorsRequest) -> ListIndicatorsResponse,
    create create_indicator(CreateIndicatorRequest) -> CreateIndicatorResponse,
    update update_indicator(UpdateIndicatorRequest) -> UpdateIndicatorResponse,
    delete delete_indicator(DeleteIndicatorRequest) -> DeleteIndicatorResponse,
    writable [code, display_name, description, unit, unit_multiplier, frequency, measure_kind,
        summable, price_basis, price_base_year, topic, record_measure, series_role, relation,
        provenance]);

resource_service!(ObservationService in observation_service_server, Observations, Observation, role Write,
    observation / observations, id field observation_id,
    get get_observation(GetObservationRequest),
    list list_observations(ListObservationsRequest) -> ListObservationsResponse,
    create create_observation(CreateObservationRequest) -> CreateObservationResponse,
    update update_observation(UpdateObservationRequest) -> UpdateObservationResponse,
    delete delete_observation(DeleteObservationRequest) -> DeleteObservationResponse,
    writable [indicator, area, period, value, qualifier, status, reading, provenance,
        derived_from]);

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// A field added to a resource's message is either writable or set by the service: one
    /// left out of the update's list could be created but never updated.
    #[test]
    fn every_field_of_every_resource_is_writable_or_output_only() {
        let set = prost_types::FileDescriptorSet::decode(pairing_aid_client::FILE_DESCRIPTOR_SET)
            .unwrap();
        let writable: [(&str, &[&str]); 6] = [
            ("Party", pb::Party::WRITABLE),
            ("Area", pb::Area::WRITABLE),
            ("Pairing", pb::Pairing::WRITABLE),
            ("Project", pb::Project::WRITABLE),
            ("Indicator", pb::Indicator::WRITABLE),
            ("Observation", pb::Observation::WRITABLE),
        ];
        for (message, writable) in writable {
            let descriptor = set
                .file
                .iter()
                .filter(|f| f.package() == "pairing.v1")
                .flat_map(|f| &f.message_type)
                .find(|m| m.name() == message)
                .unwrap();
            let mut fields: Vec<&str> = descriptor.field.iter().map(|f| f.name()).collect();
            fields.retain(|f| !OUTPUT_ONLY.contains(f));
            fields.sort_unstable();
            let mut listed = writable.to_vec();
            listed.sort_unstable();
            assert_eq!(fields, listed, "{message}");
        }
    }
}
