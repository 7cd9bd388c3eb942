//! Bulk writes, import, export and the change feed.

use std::pin::Pin;
use std::sync::Arc;

use sha2::Digest as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use pairing_aid_client::v1 as pb;

use super::admission::Cost;
use super::auth::{Caller, Role, require};
use super::convert::{decode, encode};
use super::encoded::EncodedExport;
use super::pb::record_service_server::RecordService;
use super::resources::{page_size_or_default, resource_revision};
use super::{Api, ApiError, caller_key, commit_note, request_key};
use crate::changes::{
    CommitNote, Committed, Ledger, LogError, Write, WriteError, WriteOp, WriteRequest,
};
use crate::domain::{Collection, Resource, Violations};
use crate::query::interrupt::{Interrupt, Interrupted};

/// Records per chunk of an export.
const EXPORT_CHUNK: usize = 500;

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The one rule for batch sizes: 1 to `max` records, for batch upserts and import batches.
fn check_batch_size(size: usize, max: usize, field: &str) -> Result<(), ApiError> {
    if size == 0 || size > max {
        return Err(ApiError::invalid(
            "BATCH_SIZE",
            field,
            format!("a batch holds 1 to {max} records, got {size}"),
        ));
    }
    Ok(())
}

/// One batch upsert: who asks, through which method, with which request, its records under
/// which field.
struct BatchCall<'a, M> {
    caller: &'a Caller,
    method: &'a str,
    field: &'a str,
    message: &'a M,
    note: CommitNote,
}

impl Api {
    /// Upserts `items` all or none, each decoded by `decode`; violations are reported as
    /// `field[i]....`. Answers with the stored items `encode` picks and the revision.
    async fn batch_upsert<M: prost::Message, Wire, Stored>(
        &self,
        call: BatchCall<'_, M>,
        items: &[Wire],
        decode: impl Fn(&Wire) -> (Resource, Violations),
        encode: impl Fn(&Resource) -> Option<Stored>,
    ) -> Result<(Vec<Stored>, i64), ApiError> {
        let BatchCall {
            caller,
            method,
            field,
            message,
            note,
        } = call;
        check_batch_size(items.len(), self.limits.max_batch, field)?;
        let ops = items
            .iter()
            .map(|item| {
                let (resource, violations) = decode(item);
                (WriteOp::Upsert(resource).into(), violations)
            })
            .collect();
        let committed = self
            .write(
                caller,
                method,
                note,
                message,
                |_| Ok(ops),
                |i| format!("{field}[{i}]"),
            )
            .await?;
        let stored = stored_resources(&committed).filter_map(encode).collect();
        Ok((stored, committed.revision))
    }
}

fn stored_resources(committed: &Committed) -> impl Iterator<Item = &Resource> {
    committed.writes.iter().filter_map(|w| match w {
        Write::Put(resource) => Some(resource.as_ref()),
        Write::Delete(_) => None,
    })
}

/// An import batch checked and decoded, ready to commit.
struct PreparedBatch {
    sequence: i64,
    /// The write, or the rows refused before validation could run.
    write: Result<WriteRequest, Vec<(usize, Violations)>>,
}

/// Checks and decodes one import batch; runs ahead of commits so decoding overlaps them.
fn prepare_batch(
    caller: &Caller,
    max_batch: usize,
    batch: pb::ImportRecordsRequest,
) -> Result<PreparedBatch, ApiError> {
    if batch.import_id.is_empty() {
        return Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            "import_id",
            "is required",
        ));
    }
    if batch.batch_sequence <= 0 {
        return Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            "batch_sequence",
            "must be 1 or more",
        ));
    }
    check_batch_size(batch.records.len(), max_batch, "records")?;
    let id = format!("{}/{}", batch.import_id, batch.batch_sequence);
    let note = commit_note(&id, &batch.reason)?;
    // Names and sizes identify a batch well enough to catch a different batch sent under the
    // same sequence number, at a fraction of the cost of re-encoding and hashing it whole.
    let request = request_key(caller, "ImportRecords", &id, |hasher| {
        for record in &batch.records {
            hasher.update(record_name(record).as_bytes());
            hasher.update(prost::Message::encoded_len(record).to_le_bytes());
        }
    })?;
    let mut empty = Vec::new();
    let mut ops = Vec::with_capacity(batch.records.len());
    for (index, record) in batch.records.iter().enumerate() {
        match decode::record(record) {
            Some((resource, mut violations)) => {
                if is_reference_data(&resource) && caller.role < Role::Admin {
                    violations.push(
                        "resource",
                        "parties, areas and indicators need the admin role",
                    );
                }
                ops.push((WriteOp::Upsert(resource).into(), violations));
            }
            None => empty.push((index, single("resource", "a record holds one resource"))),
        }
    }
    let write = if empty.is_empty() {
        Ok(WriteRequest {
            subject: caller.subject.clone(),
            ops,
            request,
            note,
        })
    } else {
        Err(empty)
    };
    Ok(PreparedBatch {
        sequence: batch.batch_sequence,
        write,
    })
}

/// Batches committed together at most, sharing one fsync.
const GROUP_BATCHES: usize = 8;

/// Commits prepared batches as one group (each its own revision) and says how each went, in
/// order; rejected rows are an answer, not an error.
async fn commit_batches(
    ledger: &Ledger,
    batches: Vec<PreparedBatch>,
) -> Result<Vec<pb::ImportRecordsResponse>, ApiError> {
    let mut sequences = Vec::with_capacity(batches.len());
    let mut outcomes: Vec<Option<Result<Arc<Committed>, WriteError>>> =
        Vec::with_capacity(batches.len());
    let mut requests = Vec::new();
    for batch in batches {
        sequences.push(batch.sequence);
        match batch.write {
            Ok(request) => {
                requests.push(request);
                outcomes.push(None);
            }
            Err(rejected) => outcomes.push(Some(Err(WriteError::Invalid(rejected)))),
        }
    }
    let mut written = ledger.write_group(requests).await.into_iter();
    let mut responses = Vec::with_capacity(sequences.len());
    for (sequence, outcome) in sequences.into_iter().zip(outcomes) {
        let outcome = outcome
            .or_else(|| written.next())
            .expect("a result per batch");
        let mut response = pb::ImportRecordsResponse {
            batch_sequence: sequence,
            ..Default::default()
        };
        let rows = crate::telemetry::metrics();
        match outcome {
            Ok(committed) => {
                response.revision = committed.revision;
                response.accepted_count = committed.writes.len() as i32;
                response.replayed = committed.replayed;
                rows.import_rows
                    .with_label_values(&["accepted"])
                    .inc_by(committed.writes.len() as u64);
            }
            Err(WriteError::Invalid(invalid)) => {
                rows.import_rows
                    .with_label_values(&["rejected"])
                    .inc_by(invalid.len() as u64);
                response.violations = invalid
                    .into_iter()
                    .flat_map(|(index, violations)| {
                        violations.0.into_iter().map(move |v| pb::RecordViolation {
                            index: index as i32,
                            field: v.field,
                            description: v.reason,
                        })
                    })
                    .collect();
            }
            Err(other) => return Err(ApiError::from_write(other, |i| format!("records[{i}]"))),
        }
        responses.push(response);
    }
    Ok(responses)
}

/// The record as it stood at `revision`, read from the change log a chunk at a time. The first
/// chunk is read before the stream starts, so a revision the log no longer keeps is the call's
/// error rather than the stream's.
async fn export_at(
    ledger: Arc<Ledger>,
    collections: Vec<Collection>,
    revision: i64,
) -> Result<Response<ResponseStream<EncodedExport>>, Status> {
    let mut chunks = ChunksAt {
        ledger,
        collections: collections.into_iter(),
        collection: None,
        after: None,
        revision,
    };
    let first = chunks.next().await.map_err(ApiError::from)?;
    let (sender, receiver) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut next = Ok(first);
        loop {
            let chunk = match next {
                Ok(Some(chunk)) => Ok(EncodedExport::from(&chunk)),
                Ok(None) => return,
                Err(error) => Err(Status::from(ApiError::from(error))),
            };
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                return;
            }
            next = chunks.next().await;
        }
    });
    Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
}

/// The chunks of an export at a past revision, collection by collection in name order.
struct ChunksAt {
    ledger: Arc<Ledger>,
    collections: std::vec::IntoIter<Collection>,
    collection: Option<Collection>,
    /// The last name sent of `collection`.
    after: Option<String>,
    revision: i64,
}

impl ChunksAt {
    async fn next(&mut self) -> Result<Option<pb::ExportRecordsResponse>, LogError> {
        loop {
            let collection = match self.collection {
                Some(collection) => collection,
                None => match self.collections.next() {
                    Some(collection) => *self.collection.insert(collection),
                    None => return Ok(None),
                },
            };
            let resources = self
                .ledger
                .resources_at(
                    collection,
                    self.after.as_deref(),
                    self.revision,
                    EXPORT_CHUNK,
                )
                .await?;
            let Some(last) = resources.last() else {
                self.collection = None;
                self.after = None;
                continue;
            };
            self.after = Some(last.name().to_string());
            return Ok(Some(pb::ExportRecordsResponse {
                records: resources.iter().map(encode::record).collect(),
                revision: self.revision,
            }));
        }
    }
}

fn record_name(record: &pb::Record) -> &str {
    use pb::record::Resource as R;
    match &record.resource {
        Some(R::Party(r)) => &r.name,
        Some(R::Area(r)) => &r.name,
        Some(R::Pairing(r)) => &r.name,
        Some(R::Project(r)) => &r.name,
        Some(R::Indicator(r)) => &r.name,
        Some(R::Observation(r)) => &r.name,
        None => "",
    }
}

fn single(field: &str, reason: &str) -> Violations {
    let mut violations = Violations::default();
    violations.push(field, reason);
    violations
}

fn is_reference_data(resource: &Resource) -> bool {
    matches!(
        resource,
        Resource::Party(_) | Resource::Area(_) | Resource::Indicator(_)
    )
}

#[tonic::async_trait]
impl RecordService for Api {
    async fn batch_upsert_projects(
        &self,
        request: Request<pb::BatchUpsertProjectsRequest>,
    ) -> Result<Response<pb::BatchUpsertProjectsResponse>, Status> {
        let caller = require(&request, Role::Write)?;
        let message = request.get_ref();
        let (projects, revision) = self
            .batch_upsert(
                BatchCall {
                    caller: &caller,
                    method: "BatchUpsertProjects",
                    field: "projects",
                    message,
                    note: commit_note(&message.request_id, &message.reason)?,
                },
                &message.projects,
                |p| {
                    let (project, violations) = decode::project(p);
                    (Resource::Project(project), violations)
                },
                |stored| match stored {
                    Resource::Project(p) => Some(encode::project(p)),
                    _ => None,
                },
            )
            .await?;
        Ok(Response::new(pb::BatchUpsertProjectsResponse {
            projects,
            revision,
        }))
    }

    async fn batch_upsert_observations(
        &self,
        request: Request<pb::BatchUpsertObservationsRequest>,
    ) -> Result<Response<pb::BatchUpsertObservationsResponse>, Status> {
        let caller = require(&request, Role::Write)?;
        let message = request.get_ref();
        let (observations, revision) = self
            .batch_upsert(
                BatchCall {
                    caller: &caller,
                    method: "BatchUpsertObservations",
                    field: "observations",
                    message,
                    note: commit_note(&message.request_id, &message.reason)?,
                },
                &message.observations,
                |o| {
                    let (observation, violations) = decode::observation(o);
                    (Resource::Observation(observation), violations)
                },
                |stored| match stored {
                    Resource::Observation(o) => Some(encode::observation(o)),
                    _ => None,
                },
            )
            .await?;
        Ok(Response::new(pb::BatchUpsertObservationsResponse {
            observations,
            revision,
        }))
    }

    type ImportRecordsStream = ResponseStream<pb::ImportRecordsResponse>;

    async fn import_records(
        &self,
        request: Request<Streaming<pb::ImportRecordsRequest>>,
    ) -> Result<Response<Self::ImportRecordsStream>, Status> {
        let caller = require(&request, Role::Write)?;
        let mut inbound = request.into_inner();
        let ledger = self.ledger.clone();
        let max_batch = self.limits.max_batch;
        // Two stages: batches are received and decoded while earlier ones commit, and the
        // batches that are ready when a commit starts go together, sharing one fsync.
        let (prepared_sender, mut prepared) =
            mpsc::channel::<Result<PreparedBatch, Status>>(GROUP_BATCHES);
        tokio::spawn(async move {
            while let Some(batch) = inbound.next().await {
                let batch =
                    batch.and_then(|b| prepare_batch(&caller, max_batch, b).map_err(Status::from));
                let failed = batch.is_err();
                if prepared_sender.send(batch).await.is_err() || failed {
                    return;
                }
            }
        });
        let (sender, receiver) = mpsc::channel(2 * GROUP_BATCHES);
        tokio::spawn(async move {
            while let Some(first) = prepared.recv().await {
                let mut group = vec![first];
                while group.len() < GROUP_BATCHES
                    && let Ok(next) = prepared.try_recv()
                {
                    group.push(next);
                }
                // A malformed message ends the stream after the batches before it.
                let failure = group.iter().position(Result::is_err);
                let failed = failure.map(|i| group.split_off(i).remove(0).err().expect("an error"));
                let batches: Vec<PreparedBatch> =
                    group.into_iter().map(|b| b.expect("checked")).collect();
                let replies = match commit_batches(&ledger, batches).await {
                    Ok(responses) => responses.into_iter().map(Ok).collect(),
                    Err(error) => vec![Err(Status::from(error))],
                };
                let stop = replies.iter().any(Result::is_err) || failed.is_some();
                for reply in replies.into_iter().chain(failed.map(Err)) {
                    if sender.send(reply).await.is_err() {
                        return;
                    }
                }
                if stop {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    type ExportRecordsStream = ResponseStream<EncodedExport>;

    async fn export_records(
        &self,
        request: Request<pb::ExportRecordsRequest>,
    ) -> Result<Response<Self::ExportRecordsStream>, Status> {
        let message = request.get_ref();
        if message.revision < 0 {
            return Err(ApiError::invalid(
                "INVALID_REVISION",
                "revision",
                format!(
                    "must be 0 (now) or a revision from 1, got {}",
                    message.revision
                ),
            )
            .into());
        }
        let named = (message.revision > 0).then_some(message.revision);
        let point = decode::read_point(message.read_at.as_ref(), named)?;
        let at = self
            .revision_to_read(&request, message.min_revision, point)
            .await?;
        let mut collections = Vec::new();
        for (i, segment) in request.get_ref().collections.iter().enumerate() {
            let collection = Collection::from_segment(segment).ok_or_else(|| {
                ApiError::invalid(
                    "INVALID_ARGUMENT",
                    &format!("collections[{i}]"),
                    format!("{segment:?} is not a collection; expected parties, areas, pairings, projects, indicators or observations"),
                )
            })?;
            collections.push(collection);
        }
        if collections.is_empty() {
            collections = Collection::ALL.to_vec();
        }
        collections.sort_by_key(|c| Collection::ALL.iter().position(|a| a == c));
        if let Some(revision) = at {
            return export_at(self.ledger.clone(), collections, revision).await;
        }
        let revision = self.ledger.model().read().revision;
        let model = self.ledger.model().clone();
        let admission = self.admission.clone();
        let caller = caller_key(&request);
        let (sender, receiver) = mpsc::channel(2);
        tokio::spawn(async move {
            // A chunk at a time, each under its own read of the model, after the last name
            // sent: memory follows the chunk, and writes wait for one chunk at most.
            let chunks = sender.clone();
            let export = move |interrupt: &Interrupt| {
                for collection in collections {
                    let mut after: Option<String> = None;
                    loop {
                        interrupt.check()?;
                        let records: Vec<pb::Record> = {
                            let model = model.read();
                            model
                                .resources_after(collection, after.as_deref())
                                .take(EXPORT_CHUNK)
                                .map(|r| encode::record(&r))
                                .collect()
                        };
                        let Some(last) = records.last() else {
                            break;
                        };
                        after = Some(record_name(last).to_owned());
                        let chunk = pb::ExportRecordsResponse { records, revision };
                        if chunks
                            .blocking_send(Ok(EncodedExport::from(&chunk)))
                            .is_err()
                        {
                            return Err(Interrupted.into());
                        }
                    }
                }
                Ok(())
            };
            if let Err(error) = admission
                .run(|| caller, "ExportRecords", Cost::Scan, export)
                .await
            {
                let _ = sender.send(Err(Status::from(error))).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    type WatchChangesStream = ResponseStream<pb::WatchChangesResponse>;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let start = request.get_ref().start_revision.max(0);
        let scope = decode::change_scope(request.get_ref().scope.as_ref(), "scope")?;
        let permit =
            self.watchers
                .clone()
                .try_acquire_owned()
                .map_err(|_| ApiError::ResourceExhausted {
                    reason: "TOO_MANY_WATCHERS",
                    message: format!(
                        "{} change streams are open, the most this server allows",
                        self.limits.max_watchers
                    ),
                })?;
        let feed = self.ledger.watch(start).await.map_err(ApiError::from)?;
        let changes = ReceiverStream::new(feed).filter_map(move |committed| {
            // The stream holds the watcher's place until the watcher goes away.
            let _held = &permit;
            match committed {
                Ok(committed) => {
                    let changes = encode::changes_in(&committed, &scope);
                    // A commit with nothing in scope is not sent at all.
                    (!changes.is_empty()).then_some(Ok(pb::WatchChangesResponse { changes }))
                }
                Err(error) => Some(Err(Status::from(ApiError::from(error)))),
            }
        });
        Ok(Response::new(Box::pin(changes)))
    }

    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Result<Response<pb::ListChangesResponse>, Status> {
        let message = request.get_ref();
        let page_size = page_size_or_default(message.page_size, 100)?;
        let scope = decode::change_scope(message.scope.as_ref(), "scope")?;
        let page = self
            .ledger
            .list_changes(
                message.after_revision,
                &message.page_token,
                page_size,
                &scope,
            )
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListChangesResponse {
            changes: page
                .commits
                .iter()
                .flat_map(|c| encode::changes_in(c, &scope))
                .collect(),
            next_page_token: page.next_page_token,
            revision: page.revision,
        }))
    }

    async fn list_resource_revisions(
        &self,
        request: Request<pb::ListResourceRevisionsRequest>,
    ) -> Result<Response<pb::ListResourceRevisionsResponse>, Status> {
        let message = request.get_ref();
        let name = decode::any_request_name(&message.name, "name")?;
        let page_size = page_size_or_default(message.page_size, 50)?;
        let page = self
            .ledger
            .history(&name, &message.page_token, page_size)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListResourceRevisionsResponse {
            revisions: page.entries().map(resource_revision).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
