//! Connection settings: the builder, and the token and default deadline every call carries.

use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::{Client, Error, RetryPolicy};

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
