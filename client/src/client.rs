//! A connection to pairing-aid with the settings every call shares.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use tonic::codec::CompressionEncoding;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::v1;
use crate::v1::analytics_service_client::AnalyticsServiceClient;
use crate::v1::area_service_client::AreaServiceClient;
use crate::v1::indicator_service_client::IndicatorServiceClient;
use crate::v1::observation_service_client::ObservationServiceClient;
use crate::v1::pairing_service_client::PairingServiceClient;
use crate::v1::party_service_client::PartyServiceClient;
use crate::v1::project_service_client::ProjectServiceClient;
use crate::v1::record_service_client::RecordServiceClient;
use crate::{Error, RetryPolicy};

/// Adds the bearer token and the default deadline to every call.
#[derive(Clone, Default)]
pub struct CallSettings {
    authorization: Option<MetadataValue<Ascii>>,
    /// The `grpc-timeout` of the default deadline, written once rather than on every call.
    deadline: Option<MetadataValue<Ascii>>,
}

/// `deadline` as a `grpc-timeout` value: at most eight digits in the finest unit they fit,
/// truncated, as the gRPC HTTP/2 protocol asks and tonic's `Request::set_timeout` writes.
fn grpc_timeout(deadline: Duration) -> MetadataValue<Ascii> {
    const UNITS: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    let nanos = deadline.as_nanos();
    let (count, unit) = UNITS
        .iter()
        .map(|&(nanos_per_unit, unit)| (nanos / nanos_per_unit, unit))
        .find(|&(count, _)| count <= 99_999_999)
        .unwrap_or((99_999_999, 'H'));
    format!("{count}{unit}")
        .parse()
        .expect("digits and a letter are valid header text")
}

impl Interceptor for CallSettings {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(authorization) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", authorization.clone());
        }
        if let Some(deadline) = &self.deadline
            && request.metadata().get("grpc-timeout").is_none()
        {
            request
                .metadata_mut()
                .insert("grpc-timeout", deadline.clone());
        }
        Ok(request)
    }
}

/// The channel every generated stub of a [`Client`] runs on.
pub type Transport = InterceptedService<Channel, CallSettings>;

/// Settings for [`Client`]; start from [`Client::builder`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    endpoints: Vec<String>,
    token: Option<String>,
    deadline: Option<Duration>,
    tls: Option<ClientTlsConfig>,
    compression: bool,
    max_message_bytes: usize,
    retry: RetryPolicy,
    connect_timeout: Duration,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoints: Vec::new(),
            token: None,
            deadline: Some(Duration::from_secs(30)),
            tls: None,
            compression: false,
            max_message_bytes: 16 * 1024 * 1024,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl ClientBuilder {
    /// Adds a server, e.g. `http://127.0.0.1:50051`; with several, calls are balanced over
    /// them (HTTP/2 would otherwise pin every call to one pod).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoints.push(url.into());
        self
    }

    /// Sends `authorization: Bearer <token>` with every call.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The deadline of calls that set none themselves; `None` waits forever.
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Trusts servers whose certificate chains to this PEM CA (for `https://` endpoints).
    pub fn tls_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.ca_certificate(Certificate::from_pem(pem)));
        self
    }

    /// Trusts the operating system's root certificates.
    pub fn tls_native_roots(mut self) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.with_native_roots());
        self
    }

    /// Presents this PEM certificate and key to servers that require client certificates.
    pub fn tls_identity(
        mut self,
        certificate_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.identity(Identity::from_pem(certificate_pem, key_pem)));
        self
    }

    /// The name to check the server's certificate against, if not the endpoint's host.
    pub fn tls_domain(mut self, name: impl Into<String>) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.domain_name(name));
        self
    }

    /// Compresses requests and accepts compressed responses with gzip.
    pub fn compression(mut self, enabled: bool) -> Self {
        self.compression = enabled;
        self
    }

    /// The largest message sent or received.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// How calls that fail with UNAVAILABLE are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Connects. With one endpoint the connection is made now, so a wrong address fails here;
    /// with several, connections are made as calls need them.
    pub async fn connect(self) -> Result<Client, Error> {
        let mut endpoints = Vec::with_capacity(self.endpoints.len());
        for url in &self.endpoints {
            let mut endpoint = Endpoint::from_shared(url.clone())
                .map_err(|e| Error::Config(format!("{url}: {e}")))?
                .connect_timeout(self.connect_timeout)
                .tcp_nodelay(true);
            if let Some(tls) = &self.tls {
                endpoint = endpoint.tls_config(tls.clone())?;
            }
            endpoints.push(endpoint);
        }
        let channel = match endpoints.len() {
            0 => return Err(Error::Config("no endpoint".into())),
            1 => endpoints.remove(0).connect().await?,
            _ => Channel::balance_list(endpoints.into_iter()),
        };
        let authorization = match &self.token {
            Some(token) => Some(
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| Error::Config("the token is not valid header text".into()))?,
            ),
            None => None,
        };
        let settings = CallSettings {
            authorization,
            deadline: self.deadline.map(grpc_timeout),
        };
        Ok(Client {
            transport: InterceptedService::new(channel, settings),
            compression: self.compression,
            max_message_bytes: self.max_message_bytes,
            retry: self.retry,
        })
    }
}

/// A connection to pairing-aid. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    compression: bool,
    max_message_bytes: usize,
    retry: RetryPolicy,
}

macro_rules! stub {
    ($(#[$doc:meta])* $name:ident: $stub:ident) => {
        $(#[$doc])*
        pub fn $name(&self) -> $stub<Transport> {
            let mut stub = $stub::new(self.transport.clone())
                .max_decoding_message_size(self.max_message_bytes)
                .max_encoding_message_size(self.max_message_bytes);
            if self.compression {
                stub = stub
                    .send_compressed(CompressionEncoding::Gzip)
                    .accept_compressed(CompressionEncoding::Gzip);
            }
            stub
        }
    };
}

/// Pages of a listing, fetched as they are consumed.
pub struct Listing<T> {
    fetch: Box<dyn FnMut(String) -> PageFuture<T> + Send>,
}

type PageFuture<T> = Pin<Box<dyn Future<Output = Result<(Vec<T>, String), Error>> + Send>>;

/// A stream of items or changes, boxed so callers can poll it without pinning it themselves.
pub type ItemStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

impl<T: Send + 'static> Listing<T> {
    /// Every item of every page, in order; the next page is fetched when the last is used up.
    pub fn items(self) -> ItemStream<T> {
        struct State<T> {
            fetch: Box<dyn FnMut(String) -> PageFuture<T> + Send>,
            next: Option<String>,
            buffered: VecDeque<T>,
        }
        let state = State {
            fetch: self.fetch,
            next: Some(String::new()),
            buffered: VecDeque::new(),
        };
        Box::pin(stream::unfold(state, |mut state| async move {
            loop {
                if let Some(item) = state.buffered.pop_front() {
                    return Some((Ok(item), state));
                }
                let token = state.next.take()?;
                match (state.fetch)(token).await {
                    Ok((items, next)) => {
                        state.buffered.extend(items);
                        state.next = (!next.is_empty()).then_some(next);
                    }
                    Err(error) => return Some((Err(error), state)),
                }
            }
        }))
    }
}

macro_rules! listing {
    ($(#[$doc:meta])* $name:ident: $stub:ident . $call:ident ($request:ident) -> $item:ident . $field:ident) => {
        $(#[$doc])*
        pub fn $name(&self, request: v1::$request) -> Listing<v1::$item> {
            let client = self.clone();
            Listing {
                fetch: Box::new(move |page_token| {
                    let client = client.clone();
                    let request = v1::$request { page_token, ..request.clone() };
                    Box::pin(async move {
                        client
                            .retry
                            .run(|| {
                                let mut stub = client.$stub();
                                let request = request.clone();
                                async move { stub.$call(request).await.map_err(Error::from) }
                            })
                            .await
                            .map(|page| {
                                let page = page.into_inner();
                                (page.$field, page.next_page_token)
                            })
                    })
                }),
            }
        }
    };
}

impl Client {
    /// Connects to one endpoint with default settings.
    pub async fn connect(endpoint: impl Into<String>) -> Result<Client, Error> {
        Client::builder().endpoint(endpoint).connect().await
    }

    /// Settings to connect with.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The retry policy calls made through [`Client::retrying`] and listings follow.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Runs `call` with the client's retry policy. Only use it for reads, and for writes that
    /// carry a `request_id`: a retried write without one may be applied twice.
    pub async fn retrying<T, F, Fut>(&self, call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.retry.run(call).await
    }

    stub!(/// Parties: get, list, create, update, delete.
        parties: PartyServiceClient);
    stub!(/// Areas: get, list, create, update, delete.
        areas: AreaServiceClient);
    stub!(/// Pairings: get, list, create, update, delete.
        pairings: PairingServiceClient);
    stub!(/// Projects: get, list, create, update, delete.
        projects: ProjectServiceClient);
    stub!(/// Indicators: get, list, create, update, delete.
        indicators: IndicatorServiceClient);
    stub!(/// Observations: get, list, create, update, delete.
        observations: ObservationServiceClient);
    stub!(/// Batches, import, export and the change feed.
        records: RecordServiceClient);
    stub!(/// Funding summaries, series, roll-ups, rankings, reconciliation.
        analytics: AnalyticsServiceClient);

    listing!(/// Every party matching `request`, page by page.
        list_parties: parties.list_parties(ListPartiesRequest) -> Party.parties);
    listing!(/// Every area matching `request`, page by page.
        list_areas: areas.list_areas(ListAreasRequest) -> Area.areas);
    listing!(/// Every pairing matching `request`, page by page.
        list_pairings: pairings.list_pairings(ListPairingsRequest) -> Pairing.pairings);
    listing!(/// Every project matching `request`, page by page.
        list_projects: projects.list_projects(ListProjectsRequest) -> Project.projects);
    listing!(/// Every indicator matching `request`, page by page.
        list_indicators: indicators.list_indicators(ListIndicatorsRequest) -> Indicator.indicators);
    listing!(/// Every observation matching `request`, page by page.
        list_observations: observations.list_observations(ListObservationsRequest) -> Observation.observations);

    /// Every change after `start_revision`, then live ones, as one stream that reconnects
    /// (with the retry policy's backoff) after a retryable failure and resumes after the last
    /// revision it delivered, so no change is lost or repeated.
    pub fn watch(&self, start_revision: i64) -> ItemStream<v1::Change> {
        struct State {
            client: Client,
            after: i64,
            changes: Option<tonic::Streaming<v1::WatchChangesResponse>>,
            pending: VecDeque<v1::Change>,
            failures: u32,
        }
        let state = State {
            client: self.clone(),
            after: start_revision,
            changes: None,
            pending: VecDeque::new(),
            failures: 0,
        };
        Box::pin(stream::unfold(state, |mut state| async move {
            loop {
                if let Some(change) = state.pending.pop_front() {
                    state.after = state.after.max(change.revision);
                    return Some((Ok(change), state));
                }
                let received = match state.changes.as_mut() {
                    Some(changes) => changes.message().await.map_err(Error::from),
                    None => {
                        let request = v1::WatchChangesRequest {
                            start_revision: state.after,
                        };
                        let mut stub = state.client.records();
                        match stub.watch_changes(request).await {
                            Ok(response) => {
                                state.changes = Some(response.into_inner());
                                continue;
                            }
                            Err(status) => Err(Error::from(status)),
                        }
                    }
                };
                match received {
                    Ok(Some(message)) => {
                        state.failures = 0;
                        state.pending.extend(
                            message
                                .changes
                                .into_iter()
                                .filter(|c| c.revision > state.after),
                        );
                    }
                    // The server ended the stream (it is shutting down): reconnect.
                    Ok(None) => state.changes = None,
                    Err(error)
                        if error.is_retryable()
                            && state.failures + 1 < state.client.retry.max_attempts =>
                    {
                        state.changes = None;
                        state.failures += 1;
                        let wait = state
                            .client
                            .retry
                            .initial_backoff
                            .saturating_mul(1 << state.failures.min(6));
                        tokio::time::sleep(wait.min(state.client.retry.max_backoff)).await;
                    }
                    Err(error) => return Some((Err(error), state)),
                }
            }
        }))
    }
}

/// A write request with a `request_id`, which makes retrying it safe.
pub trait Idempotent {
    /// The request's `request_id`.
    fn request_id_mut(&mut self) -> &mut String;
}

macro_rules! idempotent {
    ($($request:ident),* $(,)?) => {$(
        impl Idempotent for v1::$request {
            fn request_id_mut(&mut self) -> &mut String {
                &mut self.request_id
            }
        }
    )*};
}

idempotent!(
    CreatePartyRequest,
    UpdatePartyRequest,
    DeletePartyRequest,
    CreateAreaRequest,
    UpdateAreaRequest,
    DeleteAreaRequest,
    CreatePairingRequest,
    UpdatePairingRequest,
    DeletePairingRequest,
    CreateProjectRequest,
    UpdateProjectRequest,
    DeleteProjectRequest,
    CreateIndicatorRequest,
    UpdateIndicatorRequest,
    DeleteIndicatorRequest,
    CreateObservationRequest,
    UpdateObservationRequest,
    DeleteObservationRequest,
    BatchUpsertProjectsRequest,
    BatchUpsertObservationsRequest,
);

impl Client {
    /// Sends a write under the retry policy. A request without a `request_id` gets a fresh one
    /// first, so a write retried after a lost answer is applied once.
    ///
    /// ```no_run
    /// # async fn run(client: pairing_aid_client::Client) -> Result<(), pairing_aid_client::Error> {
    /// use pairing_aid_client::v1;
    /// let request = v1::DeleteProjectRequest {
    ///     name: "projects/old-project".into(),
    ///     ..Default::default()
    /// };
    /// let deleted = client
    ///     .write(request, |client, request| async move {
    ///         client.projects().delete_project(request).await
    ///     })
    ///     .await?;
    /// println!("deleted at revision {}", deleted.revision);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write<Request, Response, Call, Sent>(
        &self,
        mut request: Request,
        call: Call,
    ) -> Result<Response, Error>
    where
        Request: Idempotent + Clone,
        Call: Fn(Client, Request) -> Sent,
        Sent: Future<Output = Result<tonic::Response<Response>, tonic::Status>>,
    {
        if request.request_id_mut().is_empty() {
            *request.request_id_mut() = crate::new_request_id();
        }
        self.retrying(|| {
            let sent = call(self.clone(), request.clone());
            async move {
                sent.await
                    .map(tonic::Response::into_inner)
                    .map_err(Error::from)
            }
        })
        .await
    }
}

/// What an import did so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportProgress {
    /// Batches acknowledged.
    pub batches: u64,
    /// Records committed.
    pub accepted: u64,
    /// Records refused, with the batch and position they had and why.
    pub rejected: Vec<RejectedRecord>,
}

/// One refused record of an import.
#[derive(Clone, Debug, PartialEq)]
pub struct RejectedRecord {
    /// Position of the record in the whole import, from 0.
    pub position: u64,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub description: String,
}

/// Batches sent but not yet acknowledged, and the source of the batches still to send.
struct ImportQueue {
    import_id: String,
    source: tokio::sync::Mutex<Pin<Box<dyn Stream<Item = Vec<v1::Record>> + Send>>>,
    unacknowledged: std::sync::Mutex<VecDeque<SentBatch>>,
    /// Sequence number and first record position of the next batch taken from the source.
    next: std::sync::Mutex<(i64, u64)>,
    exhausted: AtomicBool,
}

/// A batch kept until the server acknowledges it, to resend it after a reconnect.
#[derive(Clone)]
struct SentBatch {
    sequence: i64,
    first_position: u64,
    records: Vec<v1::Record>,
}

impl ImportQueue {
    fn request(&self, batch: SentBatch) -> v1::ImportRecordsRequest {
        v1::ImportRecordsRequest {
            import_id: self.import_id.clone(),
            batch_sequence: batch.sequence,
            records: batch.records,
        }
    }

    fn unacknowledged(&self) -> MutexGuard<'_, VecDeque<SentBatch>> {
        self.unacknowledged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The requests of one attempt: every unacknowledged batch again, then new batches pulled
    /// from the source as the server takes them.
    fn outbound(self: &Arc<Self>) -> impl Stream<Item = v1::ImportRecordsRequest> + Send + use<> {
        let resent: Vec<_> = self
            .unacknowledged()
            .iter()
            .map(|batch| self.request(batch.clone()))
            .collect();
        let fresh = stream::unfold(Arc::clone(self), |queue| async move {
            let Some(records) = queue.source.lock().await.next().await else {
                queue.exhausted.store(true, Ordering::SeqCst);
                return None;
            };
            let batch = {
                let mut next = queue.next.lock().unwrap_or_else(PoisonError::into_inner);
                let batch = SentBatch {
                    sequence: next.0,
                    first_position: next.1,
                    records,
                };
                *next = (next.0 + 1, next.1 + batch.records.len() as u64);
                batch
            };
            queue.unacknowledged().push_back(batch.clone());
            Some((queue.request(batch), queue))
        });
        stream::iter(resent).chain(fresh)
    }

    /// Forgets batches up to `sequence`; the first position of batch `sequence`.
    fn acknowledge(&self, sequence: i64) -> Option<u64> {
        let mut unacknowledged = self.unacknowledged();
        let mut first_position = None;
        while unacknowledged
            .front()
            .is_some_and(|batch| batch.sequence <= sequence)
        {
            let batch = unacknowledged.pop_front()?;
            if batch.sequence == sequence {
                first_position = Some(batch.first_position);
            }
        }
        first_position
    }

    fn finished(&self) -> bool {
        self.exhausted.load(Ordering::SeqCst) && self.unacknowledged().is_empty()
    }
}

impl Client {
    /// Imports `records` in batches of `batch_size` under `import_id`, calling `progress`
    /// after each acknowledged batch. See [`Client::import_stream`].
    pub async fn import(
        &self,
        import_id: &str,
        records: impl IntoIterator<Item = v1::Record, IntoIter: Send + 'static>,
        batch_size: usize,
        progress: impl FnMut(&ImportProgress),
    ) -> Result<ImportProgress, Error> {
        self.import_stream(import_id, stream::iter(records), batch_size, progress)
            .await
    }

    /// Imports the records of a stream in batches of `batch_size` under `import_id`, calling
    /// `progress` after each acknowledged batch. Records are pulled only as fast as the server
    /// takes them, and only unacknowledged batches are held in memory. Each batch is all or
    /// none; a refused batch is reported and the import goes on. After a retryable failure the
    /// import reconnects and resends from the first unacknowledged batch; the server replays
    /// batches it already has.
    ///
    /// ```no_run
    /// # async fn run(client: pairing_aid_client::Client) -> Result<(), pairing_aid_client::Error> {
    /// use pairing_aid_client::v1;
    /// let (sender, receiver) = tokio::sync::mpsc::channel::<v1::Record>(1000);
    /// tokio::spawn(async move {
    ///     // Records arrive from elsewhere, e.g. another service.
    ///     let _ = sender.send(v1::Record::default()).await;
    /// });
    /// let records = futures_util::stream::unfold(receiver, |mut receiver| async move {
    ///     receiver.recv().await.map(|record| (record, receiver))
    /// });
    /// let report = client
    ///     .import_stream("nightly-2026-11-29", records, 500, |p| eprintln!("{} accepted", p.accepted))
    ///     .await?;
    /// println!("{} rejected", report.rejected.len());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn import_stream(
        &self,
        import_id: &str,
        records: impl Stream<Item = v1::Record> + Send + 'static,
        batch_size: usize,
        mut progress: impl FnMut(&ImportProgress),
    ) -> Result<ImportProgress, Error> {
        let queue = Arc::new(ImportQueue {
            import_id: import_id.to_owned(),
            source: tokio::sync::Mutex::new(Box::pin(records.chunks(batch_size.max(1)))),
            unacknowledged: std::sync::Mutex::new(VecDeque::new()),
            next: std::sync::Mutex::new((1, 0)),
            exhausted: AtomicBool::new(false),
        });
        let mut report = ImportProgress::default();
        let mut attempt = 1;
        while !queue.finished() {
            let result = async {
                let mut acks = self
                    .records()
                    .import_records(queue.outbound())
                    .await?
                    .into_inner();
                while let Some(ack) = acks.message().await? {
                    let Some(first_position) = queue.acknowledge(ack.batch_sequence) else {
                        continue;
                    };
                    report.batches += 1;
                    report.accepted += ack.accepted_count as u64;
                    report
                        .rejected
                        .extend(ack.violations.into_iter().map(|v| RejectedRecord {
                            position: first_position + v.index as u64,
                            field: v.field,
                            description: v.description,
                        }));
                    progress(&report);
                }
                if queue.finished() {
                    Ok(())
                } else {
                    Err(tonic::Status::unavailable(
                        "the server ended the import before acknowledging every batch",
                    ))
                }
            }
            .await
            .map_err(Error::from);
            match result {
                Ok(()) => {}
                Err(error) if error.is_retryable() && attempt < self.retry.max_attempts => {
                    attempt += 1;
                    tokio::time::sleep(
                        self.retry
                            .initial_backoff
                            .saturating_mul(1 << attempt.min(6))
                            .min(self.retry.max_backoff),
                    )
                    .await;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_header_is_what_tonic_writes_for_the_same_duration() {
        for deadline in [
            Duration::from_nanos(1),
            Duration::from_nanos(99_999_999),
            Duration::from_micros(123_456),
            Duration::from_millis(250),
            Duration::from_secs(30),
            Duration::from_secs(100_000),
            Duration::from_secs(7 * 24 * 3600),
            Duration::from_secs(200_000_000),
        ] {
            let mut request = tonic::Request::new(());
            request.set_timeout(deadline);
            assert_eq!(
                request.metadata().get("grpc-timeout"),
                Some(&grpc_timeout(deadline)),
                "{deadline:?}"
            );
        }
    }
}
