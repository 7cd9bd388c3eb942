//! The gRPC surface: authentication, request decoding, proto <-> domain mapping, and errors
//! as `Status`.

pub mod admission;
mod analytics;
pub mod auth;
mod convert;
pub mod deadlines;
pub mod encoded;
mod error;
pub mod limit;
pub mod pb;
pub mod peer;
mod records;
mod resources;
pub mod restate;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tonic::Request;
use tonic::codegen::http;

pub use error::ApiError;

use crate::changes::{CommitNote, Committed, Edit, Ledger, RequestKey, WriteRequest};
use crate::domain::ReadPoint;
use crate::domain::Violations;
use crate::query::interrupt::Interrupt;
use crate::query::model::{ReadModel, SharedModel};
use admission::{Admission, Cost};
use auth::Caller;

/// Limits that keep one client from harming the others.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most records in one batch upsert or import batch.
    pub max_batch: usize,
    /// Longest a read waits for `min_revision` when the call sets no deadline.
    pub max_revision_wait: Duration,
    /// Most change streams open at once.
    pub max_watchers: usize,
    /// Largest answer sent, in bytes (the server's message size limit).
    pub max_answer_bytes: usize,
    /// Most resources a record may hold for listings and analytics at a past revision.
    pub max_past_record: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch: 1000,
            max_revision_wait: Duration::from_secs(30),
            max_watchers: 256,
            max_answer_bytes: 16 << 20,
            max_past_record: 1_000_000,
        }
    }
}

/// Every pairing.v1 service, sharing one ledger and read model.
#[derive(Clone)]
pub struct Api {
    ledger: Arc<Ledger>,
    limits: Limits,
    watchers: Arc<Semaphore>,
    admission: Arc<Admission>,
}

impl Api {
    /// The API over `ledger`, its heavy calls run as `admission` admits them.
    pub fn new(ledger: Arc<Ledger>, limits: Limits, admission: Admission) -> Self {
        let watchers = Arc::new(Semaphore::new(limits.max_watchers));
        Api {
            ledger,
            limits,
            watchers,
            admission: Arc::new(admission),
        }
    }

    /// Waits until the read model has `min_revision`, within the call's deadline.
    async fn at_revision<T>(
        &self,
        request: &Request<T>,
        min_revision: i64,
    ) -> Result<(), ApiError> {
        if min_revision <= 0 || self.ledger.applied_revision() >= min_revision {
            return Ok(());
        }
        // Answer before tonic's own timer for the deadline fires: that one reports CANCELLED,
        // and a busy server starts this wait a little after the call arrived.
        let wait = deadline(request)
            .map(|d| d.saturating_sub((d / 20).max(Duration::from_millis(50))))
            .unwrap_or(self.limits.max_revision_wait)
            .min(self.limits.max_revision_wait);
        self.ledger
            .wait_for(min_revision, wait)
            .await
            .map_err(|reached| {
                ApiError::DeadlineExceeded(format!(
                    "the service has applied revision {reached}, not yet {min_revision}"
                ))
            })
    }

    /// The revision `point` reads at (none: the record as it stands), once the read model has
    /// `min_revision` and that revision: a later one is waited for as `min_revision` is.
    async fn revision_to_read<T>(
        &self,
        request: &Request<T>,
        min_revision: i64,
        point: ReadPoint,
    ) -> Result<Option<i64>, ApiError> {
        self.at_revision(request, min_revision).await?;
        let revision = self.ledger.revision_of(point).await?;
        if let Some(revision) = revision {
            self.at_revision(request, revision).await?;
        }
        Ok(revision)
    }

    /// Answers a read of one resource from the record as it stands, once `revision_to_read`
    /// has found that is what was asked. One row is light work by admission's measure
    /// (`Cost::Rows(1)`), so it is read here and now: `read_at` would find the read point a
    /// second time and take its way to the pool and back to a past record, which a read of
    /// now never needs (about 500 of our own instructions a GetProject, though the call's
    /// total moved by less than its spread: docs/BENCHMARKS.md, issue 21).
    fn read_one<R: prost::Message>(
        &self,
        answer: impl FnOnce(&ReadModel) -> Result<R, ApiError>,
    ) -> Result<tonic::Response<R>, tonic::Status> {
        let answer = answer(&self.ledger.model().read())?;
        let limit = self.limits.max_answer_bytes;
        Ok(tonic::Response::new(within(limit, answer)?))
    }

    /// Answers a read of `class` from the record at `point` (as it stands, or as it stood at a
    /// past revision or time), once the read model has `min_revision`: at once if what `cost`
    /// reads off the model is light, on the heavy-work pool otherwise.
    async fn read_at<T, R: prost::Message + 'static>(
        &self,
        request: &Request<T>,
        min_revision: i64,
        point: ReadPoint,
        class: &'static str,
        cost: impl FnOnce(&ReadModel) -> Result<Cost, ApiError>,
        answer: impl Fn(&ReadModel, &Interrupt) -> Result<R, ApiError> + Send + Sync + 'static,
    ) -> Result<tonic::Response<R>, tonic::Status> {
        let revision = self.revision_to_read(request, min_revision, point).await?;
        let cost = cost(&self.ledger.model().read())?;
        let answer = Arc::new(answer);
        let limit = self.limits.max_answer_bytes;
        let mut source = match revision {
            Some(revision) if revision < self.ledger.applied_revision() => {
                Source::Past(self.past_record(request, class, revision).await?)
            }
            _ => Source::Live(self.ledger.model().clone()),
        };
        loop {
            let job = {
                let (answer, source) = (answer.clone(), source.clone());
                move |interrupt: &Interrupt| {
                    let read = |model: &ReadModel| within(limit, answer(model, interrupt)?);
                    match source {
                        Source::Past(model) => read(&model).map(Some),
                        Source::Live(live) => {
                            let model = live.read();
                            // Asked at the newest revision, which a commit has just passed.
                            if revision.is_some_and(|revision| model.revision != revision) {
                                return Ok(None);
                            }
                            read(&model).map(Some)
                        }
                    }
                }
            };
            let answered = self
                .admission
                .run(|| caller_key(request), class, cost, job)
                .await?;
            // No answer: the read was at a revision a commit has just passed; read the record
            // as it stood then (a read of the record as it stands always answers).
            if let Some(answer) = answered {
                return Ok(tonic::Response::new(answer));
            }
            if let Some(revision) = revision {
                source = Source::Past(self.past_record(request, class, revision).await?);
            }
        }
    }

    /// The whole record as it stood at `revision`, for a read of `class`, if it is small
    /// enough to build beside today's (`Limits::max_past_record`). Building it is the work of
    /// a scan: on the heavy-work pool, where it waits its turn behind the caller's other heavy
    /// calls, yields to light ones and stops when the caller goes away.
    async fn past_record<T>(
        &self,
        request: &Request<T>,
        class: &'static str,
        revision: i64,
    ) -> Result<Arc<ReadModel>, ApiError> {
        let size = self.ledger.model().read().resource_count();
        let most = self.limits.max_past_record;
        if size > most {
            return Err(ApiError::FailedPrecondition {
                reason: "PAST_RECORD_TOO_LARGE",
                message: format!(
                    "listings and analytics at a past revision build the whole record as it \
                     stood then; this record holds {size} resources, more than the {most} this \
                     service builds (--max-past-record). Gets and ExportRecords read at any \
                     revision"
                ),
            });
        }
        let (ledger, runtime) = (self.ledger.clone(), tokio::runtime::Handle::current());
        let build = move |interrupt: &Interrupt| {
            Ok(runtime.block_on(ledger.past_model(revision, interrupt))?)
        };
        self.admission
            .run(|| caller_key(request), class, Cost::Scan, build)
            .await
    }

    /// Applies the ops `build` makes from the current record, once per request id.
    async fn write<M: prost::Message>(
        &self,
        caller: &Caller,
        method: &str,
        note: CommitNote,
        message: &M,
        build: impl FnOnce(&ReadModel) -> Result<Vec<(Edit, Violations)>, ApiError>,
        prefix: impl Fn(usize) -> String,
    ) -> Result<Arc<Committed>, ApiError> {
        let request = request_key(caller, method, &note.request_id, |h| {
            h.update(message.encode_to_vec())
        })?;
        if let Some(key) = &request
            && let Some(earlier) = self.ledger.replay(key).await?
        {
            return Ok(earlier);
        }
        let ops = build(&self.ledger.model().read())?;
        self.ledger
            .write(WriteRequest {
                subject: caller.subject.clone(),
                ops,
                request,
                note,
            })
            .await
            .map_err(|e| ApiError::from_write(e, prefix))
    }
}

/// The record a read is answered from.
#[derive(Clone)]
enum Source {
    /// As it stands, moving on with every commit.
    Live(SharedModel),
    /// As it stood at a past revision.
    Past(Arc<ReadModel>),
}

/// `answer` if it fits in `limit` bytes; otherwise RESOURCE_EXHAUSTED saying how to ask for
/// less, where tonic would fail to encode it and send a bare OUT_OF_RANGE.
fn within<R: prost::Message>(limit: usize, answer: R) -> Result<R, ApiError> {
    let size = answer.encoded_len();
    if size <= limit {
        return Ok(answer);
    }
    Err(ApiError::ResourceExhausted {
        reason: "ANSWER_TOO_LARGE",
        message: format!(
            "the answer is {size} bytes, more than the {limit} bytes a message may have; ask for \
             less: a smaller page_size, fewer group_by dimensions or a top_n, a narrower filter"
        ),
    })
}

/// Who a call is for admission's fairness: its token's subject, else its peer's address.
fn caller_key<T>(request: &Request<T>) -> String {
    match (
        request.extensions().get::<Caller>(),
        peer::address(request.extensions()),
    ) {
        (Some(caller), _) => format!("subject:{}", caller.subject),
        (None, Some(peer)) => format!("peer:{}", peer.ip()),
        (None, None) => "anonymous".to_owned(),
    }
}

/// The store key of a request id: scoped by caller and method, with the request's digest.
/// `digest` feeds what identifies the request's content, usually its whole encoding.
fn request_key(
    caller: &Caller,
    method: &str,
    request_id: &str,
    digest: impl FnOnce(&mut Sha256),
) -> Result<Option<RequestKey>, ApiError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    if request_id.len() > 128 {
        return Err(ApiError::invalid(
            "INVALID_REQUEST_ID",
            "request_id",
            "must be at most 128 characters",
        ));
    }
    let mut hasher = Sha256::new();
    digest(&mut hasher);
    let digest = hasher.finalize();
    Ok(Some(RequestKey {
        id: format!("{}/{method}/{request_id}", caller.subject),
        fingerprint: digest.iter().map(|b| format!("{b:02x}")).collect(),
    }))
}

/// What a write request says of itself, kept in the log: its request id and reason.
fn commit_note(request_id: &str, reason: &str) -> Result<CommitNote, ApiError> {
    CommitNote::check_reason(reason)
        .map_err(|problem| ApiError::invalid("INVALID_REASON", "reason", problem))?;
    Ok(CommitNote {
        request_id: request_id.to_owned(),
        reason: reason.to_owned(),
    })
}

/// Looked up by this constant, not by its name as text, which is parsed on every lookup.
static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// The deadline the client set with `grpc-timeout`, if any.
fn deadline<T>(request: &Request<T>) -> Option<Duration> {
    let headers: &http::HeaderMap = request.metadata().as_ref();
    let value = headers.get(&GRPC_TIMEOUT)?.to_str().ok()?;
    let (amount, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = amount.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The etag's revision, checked against the resource's current one.
fn expected_revision(etag: &str, current: i64, field: &str) -> Result<i64, ApiError> {
    if etag.is_empty() {
        return Ok(current);
    }
    let revision = etag
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix('r')
        .and_then(|r| r.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "INVALID_ETAG",
                field,
                format!("{etag:?} is not an etag this service issued"),
            )
        })?;
    if revision != current {
        return Err(ApiError::Aborted(format!(
            "etag {etag} is stale: the resource is now at revision {current}; read it again"
        )));
    }
    Ok(revision)
}
