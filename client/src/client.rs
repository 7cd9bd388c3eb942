//! A connection to pairing-aid: the [`Client`] type and its per-service stubs.
//!
//! What the client does beyond single calls lives beside it: connection settings in
//! `builder`, paged listings in `listing`, retried writes in `write`, resumable imports in
//! `import` and the resuming change feed in `watch`.

use std::future::Future;

use crate::builder::CallSettings;
use crate::channel::ServerChannel;
use crate::v1::analytics_service_client::AnalyticsServiceClient;
use crate::v1::area_service_client::AreaServiceClient;
use crate::v1::indicator_service_client::IndicatorServiceClient;
use crate::v1::observation_service_client::ObservationServiceClient;
use crate::v1::pairing_service_client::PairingServiceClient;
use crate::v1::party_service_client::PartyServiceClient;
use crate::v1::project_service_client::ProjectServiceClient;
use crate::v1::record_service_client::RecordServiceClient;
use crate::{ClientBuilder, Error, RetryPolicy};
use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;

/// The channel every generated stub of a [`Client`] runs on.
pub type Transport = InterceptedService<ServerChannel, CallSettings>;

/// A connection to pairing-aid. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Transport,
    pub(crate) compression: bool,
    pub(crate) max_message_bytes: usize,
    pub(crate) retry: RetryPolicy,
}

/// Defines one accessor per service, each a generated stub on the client's transport with its
/// message-size and compression settings.
macro_rules! stubs {
    ($($(#[$doc:meta])* $name:ident: $stub:ident,)*) => {$(
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
    )*};
}

impl Client {
    /// The connection with the client's call settings (token, deadline), for calls the
    /// generated stubs do not make, such as reading a stream's raw bytes.
    pub fn transport(&self) -> Transport {
        self.transport.clone()
    }

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

    stubs! {
        /// Parties: get, list, create, update, delete.
        parties: PartyServiceClient,
        /// Areas: get, list, create, update, delete.
        areas: AreaServiceClient,
        /// Pairings: get, list, create, update, delete.
        pairings: PairingServiceClient,
        /// Projects: get, list, create, update, delete.
        projects: ProjectServiceClient,
        /// Indicators: get, list, create, update, delete.
        indicators: IndicatorServiceClient,
        /// Observations: get, list, create, update, delete.
        observations: ObservationServiceClient,
        /// Batches, import, export and the change feed.
        records: RecordServiceClient,
        /// Funding summaries, series, roll-ups, rankings, reconciliation.
        analytics: AnalyticsServiceClient,
    }
}
